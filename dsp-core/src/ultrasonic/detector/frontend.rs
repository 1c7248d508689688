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
const KAISER_BETA: f32 = 7.86;

#[derive(Clone)]
pub(crate) struct FrontEnd {
    /// `coef[r * 8 + j]` = tap `r + j·D`, mixer included.
    coef: [Complex; MAX_TAPS],
    acc: [Complex; TAPS_PER_PHASE],
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
            coef: [Complex::ZERO; MAX_TAPS],
            acc: [Complex::ZERO; TAPS_PER_PHASE],
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
                self.coef[r * TAPS_PER_PHASE + j] = Complex::from_turns(turns).scale(h[i] / sum);
            }
        }
        self.decimation = d;
        self.nco_step = increment.wrapping_mul(d as u32);
        self.reset();
    }

    pub fn reset(&mut self) {
        self.acc = [Complex::ZERO; TAPS_PER_PHASE];
        self.phase = 0;
        self.groups = 0;
    }

    /// Input time of output `b` is `b·D + centre_offset()`.
    pub fn centre_offset(&self) -> f32 {
        (TAPS_PER_PHASE * self.decimation - 1) as f32 / 2.0
            - ((TAPS_PER_PHASE - 1) * self.decimation) as f32
    }

    /// Feed one input sample; returns a baseband output when one completes.
    #[inline]
    pub fn push(&mut self, x: f32) -> Option<Complex> {
        let row = &self.coef[self.phase * TAPS_PER_PHASE..(self.phase + 1) * TAPS_PER_PHASE];
        let newest = (self.groups % TAPS_PER_PHASE as u64) as usize;
        for (j, c) in row.iter().enumerate() {
            // Output groups − j lives in slot (groups − j) mod 8.
            let slot = (newest + TAPS_PER_PHASE - j) % TAPS_PER_PHASE;
            self.acc[slot].re += c.re * x;
            self.acc[slot].im += c.im * x;
        }
        self.phase += 1;
        if self.phase < self.decimation {
            return None;
        }
        self.phase = 0;
        let done_slot = (newest + 1) % TAPS_PER_PHASE;
        let acc = core::mem::take(&mut self.acc[done_slot]);
        // This output's first input is x[(groups − 7)·D]; the NCO phase is taken there.
        let first_group = (self.groups as u32).wrapping_sub(TAPS_PER_PHASE as u32 - 1);
        self.groups += 1;
        let nco = Complex::from_turns(first_group.wrapping_mul(self.nco_step).wrapping_neg());
        Some(acc * nco)
    }
}
