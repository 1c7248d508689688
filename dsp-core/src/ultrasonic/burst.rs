//! The channel bits of one burst: frame → code → interleave → scramble → place.
//!
//! Data symbol `j` of the burst carries `coded ⊕ scramble(j)`, where `coded`
//! is block B's coded bit `i` at `j = interleave(i, 76)` or block A's coded bit
//! `i` at `j = 76 + interleave(i, len_A)`. Preamble, pilot and tail symbols are
//! keyed constants. Pilots, tail and scrambling come in 4 variants; burst `k`
//! uses variant `k mod 4` (see `key.rs`). Bit 0 is sent as +1, bit 1 as −1.

use crate::fec::{encode, interleaved_position};
use crate::frame::{seal_b_bound, SealedA};
use crate::key::{KeySchedule, VARIANTS};
use crate::layout::{
    known_bit_index, FrameClass, SymbolRole, B_CODED, MAX_BURST_SYMBOLS, MAX_DATA_SYMBOLS,
};

const SYMBOL_WORDS: usize = MAX_BURST_SYMBOLS.div_ceil(64);
const DATA_WORDS: usize = MAX_DATA_SYMBOLS.div_ceil(64);

/// Channel bits (`d_k`) of a whole burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BurstBits {
    bits: [u64; SYMBOL_WORDS],
    class: FrameClass,
}

impl BurstBits {
    /// Burst `counter` of `sealed`, bound to the programme's `fingerprint`.
    pub fn build(ks: &KeySchedule, sealed: &SealedA, counter: u16, fingerprint: u8) -> BurstBits {
        let class = sealed.class;
        let variant = counter as usize % VARIANTS;
        let mut data = [0u64; DATA_WORDS];
        let mut put = |j: usize, bit: u8| data[j / 64] |= (bit as u64) << (j % 64);
        let b = seal_b_bound(ks, &sealed.mac, counter, fingerprint);
        encode(&b, |i, c| put(interleaved_position(i, B_CODED), c));
        let n_a = class.a_coded();
        encode(sealed.as_bytes(), |i, c| {
            put(B_CODED + interleaved_position(i, n_a), c)
        });

        let mut bits = [0u64; SYMBOL_WORDS];
        for k in 0..class.total_symbols() {
            let bit = match class.role(k) {
                SymbolRole::Data(j) => {
                    (((data[j / 64] >> (j % 64)) & 1) as u8) ^ ks.scramble_bit(variant, j)
                }
                role => known_bit(ks, variant, role).unwrap_or(0),
            };
            bits[k / 64] |= (bit as u64) << (k % 64);
        }
        BurstBits { bits, class }
    }

    /// Symbol `k` as ±1; 0 past the end of the burst.
    #[inline]
    pub fn symbol(&self, k: usize) -> i8 {
        if k >= self.class.total_symbols() {
            return 0;
        }
        1 - 2 * ((self.bits[k / 64] >> (k % 64)) & 1) as i8
    }
}

/// Bit of a known (preamble, pilot or tail) symbol in `variant`; `None` for data.
pub(crate) fn known_bit(ks: &KeySchedule, variant: usize, role: SymbolRole) -> Option<u8> {
    match role {
        SymbolRole::Preamble(i) => Some(ks.preamble_bit(i)),
        SymbolRole::Data(_) => None,
        other => known_bit_index(other).map(|i| ks.known_bit(variant, i)),
    }
}

/// Precoded CPM symbol `a_k = d_k · d_{k-1}` (with `d_{-1} = +1`), so the
/// Laurent principal component of the CPM signal carries `d_k` itself.
#[inline]
pub(crate) fn precoded(d: impl Fn(usize) -> i8, k: usize) -> i8 {
    let prev = if k == 0 { 1 } else { d(k - 1) };
    d(k) * prev
}
