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

use crate::burst::{known_bit, precoded};
use crate::config::Phy;
use crate::key::KeySchedule;
use crate::layout::{SymbolRole, MAX_BURST_SYMBOLS, PREAMBLE_SYMBOLS, RAMP_SYMBOLS};
use crate::math::{cos_turns, Complex};
use crate::modulator::{sincos_quarter, PhaseTrack};

use super::ring::Ring;

const SEGMENTS: usize = 8;
const BINS: usize = 16;
/// Longest reference: 64 symbols at 4.09 samples per symbol.
pub(crate) const MAX_REFERENCE: usize = 264;
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
    after: Option<f32>,
    bin: i32,
    sides: [f32; 2],
}

#[derive(Clone)]
pub(crate) struct Sync {
    reference: [Complex; MAX_REFERENCE],
    len: usize,
    bounds: [usize; SEGMENTS + 1],
    ref_energy: f32,
    twiddle: [Complex; BINS],
    bin_hz: f32,
    threshold: f32,
    prev_metric: f32,
    peak: Option<Peak>,
    /// After a hit, weaker hits (the burst's own sidelobes) are ignored for a burst length.
    suppress_until: u64,
    suppress_below: f32,
    suppress_span: u64,
    window: u64,
}

impl Sync {
    pub const fn unconfigured() -> Sync {
        Sync {
            reference: [Complex::ZERO; MAX_REFERENCE],
            len: 0,
            bounds: [0; SEGMENTS + 1],
            ref_energy: 0.0,
            twiddle: [Complex::ZERO; BINS],
            bin_hz: 0.0,
            threshold: 0.0,
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
        if newest + 1 < self.len as u64 {
            return None;
        }
        let (metric, bin, sides) = self.metric(ring, newest + 1 - self.len as u64);
        let hit = self.track_peak(newest, metric, bin, sides);
        self.prev_metric = metric;
        hit
    }

    fn metric(&self, ring: &Ring, start: u64) -> (f32, i32, [f32; 2]) {
        // The window energy is summed afresh each time: a running sum in f32
        // drifts by ~1e-5 of past loud passages, which swamps quiet ones.
        let mut energy = 0.0f32;
        let mut seg = [Complex::ZERO; SEGMENTS];
        for (s, c) in seg.iter_mut().enumerate() {
            let (lo, hi) = (self.bounds[s], self.bounds[s + 1]);
            let (a, b) = ring.slices(start + lo as u64, hi - lo);
            let reference = &self.reference[lo..hi];
            let mut acc = Complex::ZERO;
            for (y, p) in a.iter().chain(b).zip(reference) {
                acc.re += y.re * p.re + y.im * p.im;
                acc.im += y.im * p.re - y.re * p.im;
                energy += y.re * y.re + y.im * y.im;
            }
            *c = acc;
        }
        if energy.is_nan() || energy <= 1e-30 {
            return (0.0, 0, [0.0; 2]);
        }
        let mut power = [0.0f32; BINS];
        for (k, p) in power.iter_mut().enumerate() {
            let mut acc = Complex::ZERO;
            for (s, c) in seg.iter().enumerate() {
                acc += *c * self.twiddle[(s * k) % BINS];
            }
            *p = acc.norm_sqr();
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
            after: None,
            bin,
            sides,
        };
        match self.peak.as_mut() {
            Some(peak) => {
                if now == peak.end + 1 {
                    peak.after = Some(metric);
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
        let dt = parabolic(peak.before, peak.metric, peak.after.unwrap_or(0.0));
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

/// Vertex offset (−0.5..0.5) of the parabola through three equally spaced values.
pub(crate) fn parabolic(left: f32, centre: f32, right: f32) -> f32 {
    let denom = left - 2.0 * centre + right;
    if denom.is_nan() || denom >= 0.0 {
        return 0.0;
    }
    (0.5 * (left - right) / denom).clamp(-0.5, 0.5)
}
