//! Preamble search: a correlator against the keyed preamble waveform that
//! tolerates the carrier offsets of ±1800 ppm clock errors.
//!
//! The 64-symbol reference is cut into 8 segments of 8 symbols. Each new
//! baseband sample gives 8 segment correlations `c_s`; a 16-point DFT across
//! segments turns a carrier offset into a bin (bin width = symbol rate / 128,
//! ±8 bins), so no frequency hypotheses are searched one by one. The metric
//!
//! x = max_k |C_k|² · M / (E_y · E_p)
//!
//! is normalised by the window's energy `E_y`: in white noise of any level it
//! is about exponentially distributed with mean 1, for a clean aligned
//! preamble it approaches M (the reference length, ~256). Signals shaped like
//! the mark (its own data, other keys' marks) reach ~M/6. A crossing of the
//! threshold opens a window that stays open while the metric keeps rising and
//! for M/4 samples after its highest value; that value wins, and its
//! neighbours in time and frequency give sub-sample timing and sub-bin
//! frequency. For a burst length afterwards, hits weaker than 0.3 of it are
//! taken as its sidelobes.

use super::super::burst::{known_bit, precoded};
use super::super::modulator::{sincos_quarter, PhaseTrack};
use crate::config::Phy;
use crate::key::KeySchedule;
use crate::layout::{SymbolRole, MAX_BURST_SYMBOLS, PREAMBLE_SYMBOLS, RAMP_SYMBOLS};
use crate::math::{cos_turns, Complex};

use super::ring::Ring;

const SEGMENTS: usize = 8;
const BINS: usize = 16;
/// Longest reference: 64 symbols at 4.09 samples per symbol.
pub(crate) const MAX_REFERENCE: usize = 264;
/// Re-sum the window energy from scratch this often.
const ENERGY_REFRESH: u32 = 1024;
/// A strong burst's own data correlates with the preamble at up to ~1/6 of its
/// peak; hits below this share of the last peak, within a burst of it, are its sidelobes.
const SIDELOBE_RATIO: f32 = 0.3;

/// A preamble found: where it starts and how far off the carrier is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SyncHit {
    /// Baseband index of the first preamble sample (integer part) ...
    pub start: u64,
    /// ... plus this fraction (−0.5..0.5).
    pub start_frac: f32,
    /// Carrier offset in Hz.
    pub freq_hz: f32,
    pub metric: f32,
}

#[derive(Debug, Clone, Copy)]
struct Peak {
    end: u64,
    metric: f32,
    before: f32,
    /// Metric one sample after the peak (0 until it arrives). Plain `f32`:
    /// no `Option` niche, so an idle search is all zero bytes (see `Detector`).
    after: f32,
    bin: i32,
    sides: [f32; 2],
}

#[derive(Clone)]
pub(crate) struct PreambleSearch {
    reference: [Complex; MAX_REFERENCE],
    len: usize,
    bounds: [usize; SEGMENTS + 1],
    ref_energy: f32,
    twiddle: [Complex; SEGMENTS],
    bin_hz: f32,
    threshold: f32,
    /// Energy of the current window and samples since it was last re-summed.
    energy: f64,
    energy_age: u32,
    prev_metric: f32,
    peak: Option<Peak>,
    /// After a hit, weaker hits (the burst's own sidelobes) are ignored for a burst length.
    suppress_until: u64,
    suppress_below: f32,
    suppress_span: u64,
    window: u64,
}

impl PreambleSearch {
    pub const fn unconfigured() -> PreambleSearch {
        PreambleSearch {
            reference: [Complex::ZERO; MAX_REFERENCE],
            len: 0,
            bounds: [0; SEGMENTS + 1],
            ref_energy: 0.0,
            twiddle: [Complex::ZERO; SEGMENTS],
            bin_hz: 0.0,
            threshold: 0.0,
            energy: 0.0,
            energy_age: 0,
            prev_metric: 0.0,
            peak: None,
            suppress_until: 0,
            suppress_below: 0.0,
            suppress_span: 0,
            window: 0,
        }
    }

    pub fn configure(&mut self, phy: &Phy, keys: &KeySchedule, threshold: f32) {
        let sps = phy.sample_rate as f32 / (phy.decimation * phy.symbol_rate) as f32;
        let len = ((PREAMBLE_SYMBOLS as f32 * sps) as usize).min(MAX_REFERENCE);
        let d = |k: usize| -> i8 {
            if k < PREAMBLE_SYMBOLS {
                let bit = known_bit(keys, 0, SymbolRole::Preamble(k)).unwrap_or(0);
                1 - 2 * bit as i8
            } else {
                0
            }
        };
        let a = |k: usize| precoded(d, k);
        let mut track = PhaseTrack::start(a);
        let mut energy = 0.0;
        for i in 0..len {
            let t = i as f32 / sps;
            while track.symbol() < t as usize {
                track.advance(a);
            }
            let tau = t - track.symbol() as f32;
            let (s, c) = sincos_quarter(tau);
            let phase = track.interval().phase(tau, s, c);
            let ramp_pos = t / RAMP_SYMBOLS as f32;
            let env = if ramp_pos < 1.0 {
                0.5 - 0.5 * cos_turns((ramp_pos * (1u32 << 31) as f32) as u32)
            } else {
                1.0
            };
            self.reference[i] = Complex::from_turns(phase).scale(env);
            energy += env * env;
        }
        self.len = len;
        for (s, b) in self.bounds.iter_mut().enumerate() {
            *b = s * len / SEGMENTS;
        }
        self.ref_energy = energy;
        for (k, w) in self.twiddle.iter_mut().enumerate() {
            *w = Complex::from_turns(
                ((k as u64) << 32).wrapping_div(BINS as u64).wrapping_neg() as u32
            );
        }
        let fb = phy.sample_rate as f32 / phy.decimation as f32;
        self.bin_hz = fb / (2.0 * len as f32);
        self.threshold = threshold;
        self.window = (len / 4) as u64;
        self.suppress_span = (MAX_BURST_SYMBOLS as f32 * sps) as u64;
        self.reset();
    }

    pub fn reset(&mut self) {
        self.energy = 0.0;
        self.energy_age = 0;
        self.prev_metric = 0.0;
        self.peak = None;
        self.suppress_until = 0;
        self.suppress_below = 0.0;
    }

    pub fn reference_len(&self) -> usize {
        self.len
    }

    /// Look at the window ending with the newest sample (`ring.len() - 1`).
    pub fn push(&mut self, ring: &Ring) -> Option<SyncHit> {
        let newest = ring.len() - 1;
        let m = self.len as u64;
        // Window energy as a running sum in f64, re-summed from scratch every
        // ENERGY_REFRESH samples. (In f32 the sum drifts by ~1e-5 of past loud
        // passages, which would swamp quiet ones.)
        self.energy += ring.get(newest).norm_sqr() as f64;
        if newest >= m {
            self.energy -= ring.get(newest - m).norm_sqr() as f64;
        }
        if newest + 1 < m {
            return None;
        }
        let start = newest + 1 - m;
        self.energy_age += 1;
        if self.energy_age >= ENERGY_REFRESH {
            self.energy_age = 0;
            let (a, b) = ring.slices(start, self.len);
            self.energy = a.iter().chain(b).map(|v| v.norm_sqr() as f64).sum();
        }
        let (metric, bin, sides) = self.metric(ring, start, self.energy.max(0.0) as f32);
        let hit = self.track_peak(newest, metric, bin, sides);
        self.prev_metric = metric;
        hit
    }

    fn metric(&self, ring: &Ring, start: u64, energy: f32) -> (f32, i32, [f32; 2]) {
        if energy.is_nan() || energy <= 1e-30 {
            return (0.0, 0, [0.0; 2]);
        }
        let mut seg = [Complex::ZERO; SEGMENTS];
        for (s, c) in seg.iter_mut().enumerate() {
            let (lo, hi) = (self.bounds[s], self.bounds[s + 1]);
            let (a, b) = ring.slices(start + lo as u64, hi - lo);
            let reference = &self.reference[lo..hi];
            let mut acc = Complex::ZERO;
            for (y, p) in a.iter().chain(b).zip(reference) {
                acc.re += y.re * p.re + y.im * p.im;
                acc.im += y.im * p.re - y.re * p.im;
            }
            *c = acc;
        }
        // 16-point DFT of the 8 segment sums: even bins are the 8-point DFT
        // of c_s, odd bins that of c_s·e^{−jπs/8}.
        let mut odd = seg;
        for (s, c) in odd.iter_mut().enumerate() {
            *c = *c * self.twiddle[s];
        }
        let (even, odd) = (fft8(seg), fft8(odd));
        let mut power = [0.0f32; BINS];
        for i in 0..SEGMENTS {
            power[2 * i] = even[i].norm_sqr();
            power[2 * i + 1] = odd[i].norm_sqr();
        }
        let (best, peak) =
            power.iter().enumerate().fold(
                (0, 0.0f32),
                |(bi, bp), (i, &p)| if p > bp { (i, p) } else { (bi, bp) },
            );
        let scale = self.len as f32 / (energy * self.ref_energy);
        let bin = if best >= BINS / 2 {
            best as i32 - BINS as i32
        } else {
            best as i32
        };
        let sides = [
            power[(best + BINS - 1) % BINS] * scale,
            power[(best + 1) % BINS] * scale,
        ];
        (peak * scale, bin, sides)
    }

    fn track_peak(&mut self, now: u64, metric: f32, bin: i32, sides: [f32; 2]) -> Option<SyncHit> {
        let fresh = Peak {
            end: now,
            metric,
            before: self.prev_metric,
            after: 0.0,
            bin,
            sides,
        };
        match self.peak.as_mut() {
            Some(peak) => {
                if now == peak.end + 1 {
                    peak.after = metric;
                }
                if metric > peak.metric {
                    *peak = fresh;
                    None
                } else if now - peak.end > self.window {
                    let done = *peak;
                    self.peak = None;
                    self.suppress_until = done.end + self.suppress_span;
                    self.suppress_below = done.metric * SIDELOBE_RATIO;
                    Some(self.hit(&done))
                } else {
                    None
                }
            }
            None => {
                let floor = if now < self.suppress_until {
                    self.threshold.max(self.suppress_below)
                } else {
                    self.threshold
                };
                if metric >= floor {
                    self.peak = Some(fresh);
                }
                None
            }
        }
    }

    fn hit(&self, peak: &Peak) -> SyncHit {
        let dt = parabolic(peak.before, peak.metric, peak.after);
        let df = parabolic(peak.sides[0], peak.metric, peak.sides[1]);
        SyncHit {
            start: peak.end + 1 - self.len as u64,
            start_frac: dt,
            freq_hz: (peak.bin as f32 + df) * self.bin_hz,
            metric: peak.metric,
        }
    }

    /// A peak still open at the end of a stream.
    pub fn flush(&mut self) -> Option<SyncHit> {
        let peak = self.peak.take()?;
        Some(self.hit(&peak))
    }
}

/// 8-point DFT (X_k = Σ x_s e^{−j2πsk/8}), radix-2 decimation in frequency.
fn fft8(mut x: [Complex; 8]) -> [Complex; 8] {
    const H: f32 = core::f32::consts::FRAC_1_SQRT_2;
    let w = [
        Complex::new(1.0, 0.0),
        Complex::new(H, -H),
        Complex::new(0.0, -1.0),
        Complex::new(-H, -H),
    ];
    for i in 0..4 {
        let (a, b) = (x[i], x[i + 4]);
        x[i] = a + b;
        x[i + 4] = (a - b) * w[i];
    }
    for j in [0, 4] {
        for i in 0..2 {
            let (a, b) = (x[j + i], x[j + i + 2]);
            x[j + i] = a + b;
            x[j + i + 2] = (a - b) * w[2 * i];
        }
    }
    for j in [0, 2, 4, 6] {
        let (a, b) = (x[j], x[j + 1]);
        x[j] = a + b;
        x[j + 1] = a - b;
    }
    // Outputs come out in bit-reversed order.
    [x[0], x[4], x[2], x[6], x[1], x[5], x[3], x[7]]
}

/// Vertex offset (−0.5..0.5) of the parabola through three equally spaced values.
pub(crate) fn parabolic(left: f32, centre: f32, right: f32) -> f32 {
    let denom = left - 2.0 * centre + right;
    if denom.is_nan() || denom >= 0.0 {
        return 0.0;
    }
    (0.5 * (left - right) / denom).clamp(-0.5, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft8_matches_the_definition() {
        let x: [Complex; 8] =
            core::array::from_fn(|i| Complex::new(i as f32 * 0.3 - 1.0, (i * i) as f32 * 0.1));
        let fast = fft8(x);
        for (k, f) in fast.iter().enumerate() {
            let mut d = Complex::ZERO;
            for (s, v) in x.iter().enumerate() {
                d += *v
                    * Complex::from_turns(
                        ((s * k % 8) as u32).wrapping_mul(1 << 29).wrapping_neg(),
                    );
            }
            assert!(
                (f.re - d.re).abs() < 1e-4 && (f.im - d.im).abs() < 1e-4,
                "bin {k}: {f:?} vs {d:?}"
            );
        }
    }

    #[test]
    fn parabola_vertex() {
        assert_eq!(parabolic(1.0, 2.0, 1.0), 0.0);
        assert!((parabolic(1.0, 2.0, 1.5) - 0.1667).abs() < 1e-3);
        assert_eq!(parabolic(f32::NAN, 1.0, 1.0), 0.0);
    }
}
