//! Forward error correction: the K = 7, rate-1/2 convolutional code with
//! generators 171/133 (octal), zero-terminated, decoded by a soft-decision
//! Viterbi decoder; and the interleaver that spreads each block over the burst.
//!
//! Encoder register: bit 0 is the newest input, bit 6 the oldest. For input
//! `u` in state `s` (the last six inputs), `reg = (s << 1 | u) & 0x7F` and the
//! two coded bits are the parities of `reg & 0o171` then `reg & 0o133`.

use crate::layout::{CONSTRAINT_LENGTH, TAIL_BITS};

const G0: u8 = 0o171;
const G1: u8 = 0o133;
const STATES: usize = 1 << (CONSTRAINT_LENGTH - 1);
/// Most trellis steps of any block (long block A: 200 info + 6 tail bits).
pub(crate) const MAX_STEPS: usize = crate::layout::FrameClass::Long.a_info_bits() + TAIL_BITS;
/// Stride of the interleaver; coprime with every block length.
const INTERLEAVE_STRIDE: usize = 37;

#[inline]
const fn outputs(reg: u8) -> (u8, u8) {
    (
        ((reg & G0).count_ones() & 1) as u8,
        ((reg & G1).count_ones() & 1) as u8,
    )
}

/// Coded bit pair `c0 | c1 << 1` of every register value (no popcount on Cortex-M4).
const OUTPUT_PAIRS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut reg = 0;
    while reg < 128 {
        let (c0, c1) = outputs(reg as u8);
        t[reg] = c0 | (c1 << 1);
        reg += 1;
    }
    t
};

/// Read bit `i` (MSB first) of a byte string.
#[inline]
pub(crate) fn bit_of(bytes: &[u8], i: usize) -> u8 {
    (bytes[i / 8] >> (7 - i % 8)) & 1
}

/// Encode `info` (MSB first) plus the zero tail; calls `emit(index, bit)` for
/// each of the `2 * (8 * info.len() + 6)` coded bits in order.
pub(crate) fn encode(info: &[u8], mut emit: impl FnMut(usize, u8)) {
    let mut state = 0u8;
    let steps = info.len() * 8 + TAIL_BITS;
    for t in 0..steps {
        let u = if t < info.len() * 8 {
            bit_of(info, t)
        } else {
            0
        };
        let reg = ((state << 1) | u) & 0x7F;
        let (c0, c1) = outputs(reg);
        emit(2 * t, c0);
        emit(2 * t + 1, c1);
        state = reg & 0x3F;
    }
}

/// Where coded bit `i` of an `n`-bit block is sent.
#[inline]
pub(crate) const fn interleaved_position(i: usize, n: usize) -> usize {
    (i * INTERLEAVE_STRIDE) % n
}

/// Result of a Viterbi decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Coded bits whose hard decision disagreed with the decoded path.
    pub corrected_bits: u16,
}

/// Soft-decision Viterbi decoder with its working memory.
#[derive(Clone)]
pub(crate) struct Viterbi {
    decisions: [u64; MAX_STEPS],
    metrics: [f32; STATES],
    next: [f32; STATES],
}

impl Viterbi {
    pub const fn new() -> Self {
        Viterbi {
            decisions: [0; MAX_STEPS],
            metrics: [0.0; STATES],
            next: [0.0; STATES],
        }
    }

    /// Decode `llr.len() / 2` trellis steps (LLR > 0 means coded bit 0) into
    /// `out` (MSB first, `llr.len() / 2 - 6` info bits). Returns `None` if the
    /// sizes do not fit.
    pub fn decode(&mut self, llr: &[f32], out: &mut [u8]) -> Option<Decoded> {
        let steps = llr.len() / 2;
        if llr.len() % 2 != 0 || steps > MAX_STEPS || steps <= TAIL_BITS {
            return None;
        }
        let info_bits = steps - TAIL_BITS;
        if out.len() * 8 < info_bits {
            return None;
        }
        self.metrics = [f32::NEG_INFINITY; STATES];
        self.metrics[0] = 0.0;
        for t in 0..steps {
            let (l0, l1) = (llr[2 * t], llr[2 * t + 1]);
            // Branch metric of each coded pair: + for a 0 bit, − for a 1 bit.
            let pair = [l0 + l1, -l0 + l1, l0 - l1, -l0 - l1];
            let mut decision = 0u64;
            for ns in 0..STATES {
                let (p0, p1) = (ns >> 1, (ns >> 1) | 32);
                let m0 = self.metrics[p0] + pair[OUTPUT_PAIRS[ns] as usize];
                let m1 = self.metrics[p1] + pair[OUTPUT_PAIRS[ns | 64] as usize];
                if m1 > m0 {
                    decision |= 1 << ns;
                    self.next[ns] = m1;
                } else {
                    self.next[ns] = m0;
                }
            }
            self.decisions[t] = decision;
            core::mem::swap(&mut self.metrics, &mut self.next);
            if t % 32 == 31 {
                let best = self
                    .metrics
                    .iter()
                    .fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                if best.is_finite() {
                    self.metrics.iter_mut().for_each(|m| *m -= best);
                }
            }
        }
        // Zero tail: the path ends in state 0.
        out.iter_mut().for_each(|b| *b = 0);
        let mut state = 0usize;
        for t in (0..steps).rev() {
            let b = ((self.decisions[t] >> state) & 1) as usize;
            if t < info_bits && state & 1 == 1 {
                out[t / 8] |= 0x80 >> (t % 8);
            }
            state = (state >> 1) | (b << 5);
        }
        let mut corrected = 0u16;
        encode(&out[..info_bits.div_ceil(8)], |i, bit| {
            let l = llr[i];
            if (l < 0.0 && bit == 0) || (l > 0.0 && bit == 1) {
                corrected += 1;
            }
        });
        Some(Decoded {
            corrected_bits: corrected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{FrameClass, B_CODED};

    fn coded(info: &[u8]) -> ([f32; 2 * MAX_STEPS], usize) {
        let mut llr = [0.0f32; 2 * MAX_STEPS];
        let mut n = 0;
        encode(info, |i, b| {
            llr[i] = if b == 0 { 1.0 } else { -1.0 };
            n = i + 1;
        });
        (llr, n)
    }

    #[test]
    fn clean_blocks_decode_with_no_corrections() {
        let info: [u8; 25] = core::array::from_fn(|i| (i as u8).wrapping_mul(73) ^ 0x5A);
        let (llr, n) = coded(&info);
        assert_eq!(n, FrameClass::Long.a_coded());
        let mut out = [0u8; 25];
        let d = Viterbi::new().decode(&llr[..n], &mut out).unwrap();
        assert_eq!(out, info);
        assert_eq!(d.corrected_bits, 0);
    }

    #[test]
    fn corrects_scattered_errors() {
        let info: [u8; 4] = [0xDE, 0xAD, 0xBE, 0xEF];
        let (mut llr, n) = coded(&info);
        assert_eq!(n, B_CODED);
        for i in [3usize, 17, 30, 44, 58, 71] {
            llr[i] = -llr[i];
        }
        let mut out = [0u8; 4];
        let d = Viterbi::new().decode(&llr[..n], &mut out).unwrap();
        assert_eq!(out, info);
        assert_eq!(d.corrected_bits, 6);
    }

    #[test]
    fn rejects_bad_sizes() {
        let mut out = [0u8; 2];
        assert!(Viterbi::new().decode(&[0.0; 5], &mut out).is_none());
        assert!(Viterbi::new().decode(&[0.0; 8], &mut out).is_none());
        assert!(Viterbi::new().decode(&[0.0; 200], &mut out).is_none());
    }

    #[test]
    fn interleaver_is_a_permutation_for_every_block() {
        for n in [
            B_CODED,
            FrameClass::Short.a_coded(),
            FrameClass::Long.a_coded(),
        ] {
            let mut seen = [false; 512];
            for i in 0..n {
                let p = interleaved_position(i, n);
                assert!(!seen[p]);
                seen[p] = true;
            }
        }
    }
}
