//! The modulation: binary continuous-phase modulation (CPM) with modulation
//! index h = 1/2 and a raised-cosine frequency pulse four symbols long (4RC).
//!
//! The envelope is constant, so a speaker's 2nd/3rd-order nonlinearity maps
//! the mark only to DC and to multiples of the carrier, never into the
//! audible band; the phase is smooth to its second derivative, so the spectrum
//! falls ~97 dB by 2.5 symbol rates from the carrier (numbers in the crate docs).
//!
//! Phase: θ(t) = π Σ_k a_k q(t − kT), with q(t) = t/(8T) − sin(πt/(2T))/(4π) on
//! [0, 4T] and 1/2 after. In symbol interval n (τ = t/T − n ∈ [0, 1)) the four
//! symbols n−3..n are active and the rest have settled at ±π/2 each:
//!
//! θ = (π/2) Σ_{k≤n−4} a_k + (π/8)(τS + C) − ¼[(a_n − a_{n−2}) sin x + (a_{n−1} − a_{n−3}) cos x]
//!
//! with x = πτ/2, S = a_n + a_{n−1} + a_{n−2} + a_{n−3}, C = a_{n−1} + 2a_{n−2} + 3a_{n−3}.
//! The transmitted mark is `A · env(t) · sin(2π f_c t + θ(t))`, with t = 0 at
//! the first sample of the burst.

use core::f32::consts::PI;

use crate::math::{cos_turns, sin_turns, TURNS_PER_RADIAN};

/// Length of the frequency pulse in symbols.
pub(crate) const PULSE_SYMBOLS: usize = 4;

/// Phase coefficients of one symbol interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Interval {
    /// Settled symbols plus the constant term, in turns.
    base: u32,
    slope: f32,
    k_sin: f32,
    k_cos: f32,
}

impl Interval {
    /// `a[i]` is symbol `n − i`.
    fn new(settled: u32, a: [i8; PULSE_SYMBOLS]) -> Interval {
        let [a0, a1, a2, a3] = a.map(f32::from);
        let c = a1 + 2.0 * a2 + 3.0 * a3;
        let constant = (PI / 8.0) * c;
        Interval {
            base: settled.wrapping_add((constant * TURNS_PER_RADIAN) as i32 as u32),
            slope: (PI / 8.0) * (a0 + a1 + a2 + a3),
            k_sin: -0.25 * (a0 - a2),
            k_cos: -0.25 * (a1 - a3),
        }
    }

    /// Data phase in turns at τ, given sin and cos of x = πτ/2.
    #[inline(always)]
    pub fn phase(&self, tau: f32, sin_x: f32, cos_x: f32) -> u32 {
        // |slope·τ| ≤ π/2 and the sine terms ≤ 0.71, so this fits an i32.
        let rad = self.slope * tau + self.k_sin * sin_x + self.k_cos * cos_x;
        self.base
            .wrapping_add((rad * TURNS_PER_RADIAN) as i32 as u32)
    }
}

/// Walks the symbol intervals of a burst in order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct PhaseTrack {
    /// Current interval.
    n: usize,
    /// Phase of the settled symbols (k ≤ n − 4), in turns.
    settled: u32,
    interval: Interval,
}

impl PhaseTrack {
    /// At the start of symbol 0. `a(k)` is the precoded symbol k (0 if absent).
    pub fn start(a: impl Fn(usize) -> i8) -> PhaseTrack {
        PhaseTrack {
            n: 0,
            settled: 0,
            interval: Interval::new(0, [a(0), 0, 0, 0]),
        }
    }

    pub fn symbol(&self) -> usize {
        self.n
    }

    /// Move to the next symbol interval.
    pub fn advance(&mut self, a: impl Fn(usize) -> i8) {
        if self.n >= PULSE_SYMBOLS - 1 {
            let done = a(self.n + 1 - PULSE_SYMBOLS);
            self.settled = self
                .settled
                .wrapping_add((done as i32 as u32).wrapping_mul(1 << 30));
        }
        self.n += 1;
        let n = self.n;
        let at = |i: usize| if n >= i { a(n - i) } else { 0 };
        self.interval = Interval::new(self.settled, [at(0), at(1), at(2), at(3)]);
    }

    #[inline]
    pub fn interval(&self) -> &Interval {
        &self.interval
    }
}

/// sin and cos of x = πτ/2 for τ in [0, 1].
#[inline]
pub(crate) fn sincos_quarter(tau: f32) -> (f32, f32) {
    let turns = (tau * (1u32 << 30) as f32) as u32;
    (sin_turns(turns), cos_turns(turns))
}

/// Amplitude envelope: raised-cosine ramps of `ramp` samples at both ends of
/// a burst of `len` samples; `step` = 2^31 / `ramp` (see [`ramp_step`]).
#[inline]
pub(crate) fn envelope(pos: u32, len: u32, ramp: u32, step: u32) -> f32 {
    let i = if pos < ramp {
        pos
    } else if pos + ramp > len {
        len.saturating_sub(pos)
    } else {
        return 1.0;
    };
    if i == 0 {
        // Exactly silent at the ends, whatever the sine polynomial's last bit.
        return 0.0;
    }
    // 0.5 − 0.5 cos(π i / ramp); i < ramp, so i·step < 2^31.
    0.5 - 0.5 * cos_turns(i.wrapping_mul(step))
}

/// Phase step of the ramp per sample, in turns: π / `ramp`.
pub(crate) const fn ramp_step(ramp: u32) -> u32 {
    let r = if ramp == 0 { 1 } else { ramp };
    ((1u64 << 31) / r as u64) as u32
}

/// Phase response q(t) (t in symbols), 0..1/2.
pub(crate) fn phase_response(t: f32) -> f32 {
    let l = PULSE_SYMBOLS as f32;
    if t <= 0.0 {
        0.0
    } else if t >= l {
        0.5
    } else {
        t / (2.0 * l) - libm::sinf(2.0 * PI * t / l) / (4.0 * PI)
    }
}

/// Laurent's principal pulse C0(t) (t in symbols, support [0, 5)): the
/// matched filter for the linear (offset-QPSK-like) view of h = 1/2 CPM.
pub(crate) fn laurent_c0(t: f32) -> f32 {
    let l = PULSE_SYMBOLS as f32;
    if !(0.0..l + 1.0).contains(&t) {
        return 0.0;
    }
    let psi = |u: f32| -> f32 {
        if (0.0..l).contains(&u) {
            libm::sinf(PI * phase_response(u))
        } else if (l..2.0 * l).contains(&u) {
            libm::sinf(PI * phase_response(2.0 * l - u))
        } else {
            0.0
        }
    };
    (0..PULSE_SYMBOLS).map(|i| psi(t + i as f32)).product()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols(k: usize) -> i8 {
        // An arbitrary deterministic ±1 pattern.
        if (k * 7 + k / 3) % 5 < 2 {
            -1
        } else {
            1
        }
    }

    fn turns_to_rad(t: u32) -> f32 {
        t as i32 as f32 / TURNS_PER_RADIAN
    }

    #[test]
    fn phase_is_continuous_across_symbol_boundaries() {
        let mut track = PhaseTrack::start(symbols);
        for _ in 0..40 {
            let (s1, c1) = sincos_quarter(1.0);
            let end = track.interval().phase(1.0, s1, c1);
            track.advance(symbols);
            let (s0, c0) = sincos_quarter(0.0);
            let start = track.interval().phase(0.0, s0, c0);
            let jump = turns_to_rad(end.wrapping_sub(start)).abs();
            assert!(jump < 1e-5, "jump {jump} at symbol {}", track.symbol());
        }
    }

    #[test]
    fn phase_matches_the_defining_sum() {
        // θ(t) = π Σ a_k q(t − k), evaluated directly, for t within symbol 9.
        let mut track = PhaseTrack::start(symbols);
        for _ in 0..9 {
            track.advance(symbols);
        }
        for &tau in &[0.0f32, 0.25, 0.5, 0.9] {
            let t = 9.0 + tau;
            let direct: f32 = (0..=9)
                .map(|k| PI * symbols(k) as f32 * phase_response(t - k as f32))
                .sum();
            let (s, c) = sincos_quarter(tau);
            let got = turns_to_rad(track.interval().phase(tau, s, c));
            let diff = turns_to_rad(((got - direct) * TURNS_PER_RADIAN) as i64 as u32);
            assert!(diff.abs() < 1e-4, "tau {tau}: {got} vs {direct}");
        }
    }

    #[test]
    fn envelope_ramps_smoothly_and_is_flat_in_between() {
        let step = ramp_step(100);
        assert_eq!(envelope(0, 1000, 100, step), 0.0);
        assert!((envelope(50, 1000, 100, step) - 0.5).abs() < 1e-6);
        assert_eq!(envelope(500, 1000, 100, step), 1.0);
        assert!((envelope(950, 1000, 100, step) - 0.5).abs() < 1e-6);
        assert!(envelope(999, 1000, 100, step) < 1e-3);
        assert_eq!(envelope(1000, 1000, 100, step), 0.0);
    }

    #[test]
    fn laurent_pulse_is_symmetric_and_peaks_in_the_middle() {
        let peak = laurent_c0(2.5);
        assert!((peak - 0.839).abs() < 1e-3, "{peak}");
        for i in 0..50 {
            let t = i as f32 * 0.05;
            assert!((laurent_c0(t) - laurent_c0(5.0 - t)).abs() < 1e-5);
            assert!(laurent_c0(t) <= peak);
        }
        assert_eq!(laurent_c0(-0.1), 0.0);
        assert_eq!(laurent_c0(5.0), 0.0);
    }
}
