//! Front end: real input → complex baseband at about four samples per symbol.
//!
//! One polyphase FIR does mixing, low-pass filtering and decimation by `D`
//! at once. With `h` a Kaiser-windowed low-pass (cut-off 2 symbol rates,
//! ~80 dB stop band, `8·D` taps):
//!
//! y[m] = e^{−jω·mD} · Σ_i x[mD + i] · h[i] e^{−jωi}
//!
//! so the taps carry the mixer and only one NCO value is needed per output.
//! The sum runs in transposed form: each input sample adds into the eight
//! outputs it belongs to, so no input history is stored.
//! Outputs are numbered by the group of `D` inputs that completes them, from
//! the first group on (earlier input counts as silence), so a burst at the very
//! start of a stream is seen whole: output `b` describes input time
//! `b·D + centre_offset()`, and `centre_offset()` is negative.

use core::f32::consts::PI;

use crate::config::Phy;
use crate::math::{bessel_i0, Complex};

pub(crate) const TAPS_PER_PHASE: usize = 8;
/// Largest decimation of any supported profile and rate (96 kHz, 600 Bd).
pub(crate) const MAX_DECIMATION: usize = 40;
const MAX_TAPS: usize = TAPS_PER_PHASE * MAX_DECIMATION;
/// One phase's taps (or the open outputs) as interleaved re, im.
const ROW: usize = 2 * TAPS_PER_PHASE;
const KAISER_BETA: f32 = 7.86;

#[derive(Clone)]
pub(crate) struct FrontEnd {
    /// `coef[r][2j]`, `coef[r][2j + 1]`: real and imaginary part of tap
    /// `r + j·D`, mixer included.
    coef: [[f32; ROW]; MAX_DECIMATION],
    /// `acc[2j]`, `acc[2j + 1]`: the output that completes `7 − j` groups
    /// from now; shifted by one output as each group ends. Flat and in a
    /// fixed order, so the update is one vectorisable loop whose sums keep
    /// their scalar order.
    acc: [f32; ROW],
    decimation: usize,
    /// Input index within the current group of `D`.
    phase: usize,
    /// Groups of `D` inputs seen.
    groups: u64,
    /// NCO step per output, in turns.
    nco_step: u32,
}

impl FrontEnd {
    pub const fn unconfigured() -> FrontEnd {
        FrontEnd {
            coef: [[0.0; ROW]; MAX_DECIMATION],
            acc: [0.0; ROW],
            decimation: 0,
            phase: 0,
            groups: 0,
            nco_step: 0,
        }
    }

    pub fn configure(&mut self, phy: &Phy) {
        let d = phy.decimation as usize;
        let taps = TAPS_PER_PHASE * d;
        let increment = phy.carrier_increment();
        let cutoff = 2.0 * phy.symbol_rate as f32 / phy.sample_rate as f32; // cycles/sample
        let centre = (taps - 1) as f32 / 2.0;
        let norm = bessel_i0(KAISER_BETA);
        let mut h = [0.0f32; MAX_TAPS];
        let mut sum = 0.0f32;
        for (i, tap) in h.iter_mut().enumerate().take(taps) {
            let t = i as f32 - centre;
            let sinc = if t == 0.0 {
                2.0 * cutoff
            } else {
                libm::sinf(2.0 * PI * cutoff * t) / (PI * t)
            };
            let r = 2.0 * t / (taps - 1) as f32;
            let window = bessel_i0(KAISER_BETA * libm::sqrtf((1.0 - r * r).max(0.0))) / norm;
            *tap = sinc * window;
            sum += *tap;
        }
        for r in 0..d {
            for j in 0..TAPS_PER_PHASE {
                let i = r + j * d;
                // e^{−jωi}, with the phase reduced exactly in turns.
                let turns = increment.wrapping_mul(i as u32).wrapping_neg();
                let tap = Complex::from_turns(turns).scale(h[i] / sum);
                self.coef[r][2 * j] = tap.re;
                self.coef[r][2 * j + 1] = tap.im;
            }
        }
        self.decimation = d;
        self.nco_step = increment.wrapping_mul(d as u32);
        self.reset();
    }

    pub fn reset(&mut self) {
        self.acc = [0.0; ROW];
        self.phase = 0;
        self.groups = 0;
    }

    /// Input time of output `b` is `b·D + centre_offset()`.
    pub fn centre_offset(&self) -> f32 {
        (TAPS_PER_PHASE * self.decimation - 1) as f32 / 2.0
            - ((TAPS_PER_PHASE - 1) * self.decimation) as f32
    }

    /// Feed input samples; writes the baseband outputs they complete to
    /// `out` and returns how many (at most `x.len() / D + 1`; `out` as long
    /// as `x` always suffices).
    pub fn push_block(&mut self, mut x: &[f32], out: &mut [Complex]) -> usize {
        // The open outputs stay in registers for the whole block.
        let mut acc = self.acc;
        let mut done = 0;
        while !x.is_empty() {
            let take = (self.decimation - self.phase).min(x.len());
            let (group, rest) = x.split_at(take);
            let rows = self.coef.get(self.phase..self.phase + take).unwrap_or(&[]);
            for (row, &v) in rows.iter().zip(group) {
                for k in 0..ROW {
                    acc[k] += row[k] * v;
                }
            }
            x = rest;
            self.phase += take;
            if self.phase < self.decimation {
                break;
            }
            self.phase = 0;
            let completed = Complex::new(acc[ROW - 2], acc[ROW - 1]);
            acc.copy_within(..ROW - 2, 2);
            acc[..2].fill(0.0);
            // This output's first input is x[(groups − 7)·D]; the NCO phase is taken there.
            let first_group = (self.groups as u32).wrapping_sub(TAPS_PER_PHASE as u32 - 1);
            self.groups += 1;
            let nco = Complex::from_turns(first_group.wrapping_mul(self.nco_step).wrapping_neg());
            if let Some(slot) = out.get_mut(done) {
                *slot = completed * nco;
                done += 1;
            }
        }
        self.acc = acc;
        done
    }
}
