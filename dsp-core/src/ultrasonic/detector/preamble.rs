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
//!
//! The correlations run [`BATCH`] windows at a time: new baseband samples are
//! staged (they are the newest of a structure-of-arrays history), then the
//! staged windows are correlated together, side by side in the inner loops
//! (a SIMD lane each on hosts; fewer loads on an MCU), and their spectra
//! taken. Each window's sums keep the order of a window-at-a-time loop, so
//! the metrics are the same to the bit. The detector stages at most a batch
//! and always drains the stage before `process` returns, so hits, and
//! everything after them, happen on the same sample with the same ring as
//! before.

use super::super::burst::{known_bit, precoded};
use super::super::modulator::{sincos_quarter, PhaseTrack};
use crate::config::Phy;
use crate::key::KeySchedule;
use crate::layout::{SymbolRole, MAX_BURST_SYMBOLS, PREAMBLE_SYMBOLS, RAMP_SYMBOLS};
use crate::math::{cos_turns, Complex};

use super::ring::Ring;

pub(crate) const SEGMENTS: usize = 8;
pub(crate) const BINS: usize = 16;
/// Longest reference: 64 symbols at 4.09 samples per symbol.
pub(crate) const MAX_REFERENCE: usize = 264;
/// Windows correlated together (two SSE/NEON vectors of `f32`).
pub(crate) const BATCH: usize = 8;
/// Baseband history for the batched correlation, structure of arrays: the
/// last reference length and the stage, compacted to the front when full
/// (every ~120 samples: a copy of ~2 values per sample).
const HISTORY: usize = MAX_REFERENCE + 16 * BATCH;
/// Reads stop at the fill; the slack keeps a full batch's slices in bounds.
const HISTORY_SLACK: usize = BATCH;
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

/// One complex value for each window of a batch: real parts in `0..BATCH`,
/// imaginary parts in `BATCH..2·BATCH`, so that an operation on all of them
/// is one loop of one shape, which vectorises across the windows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lanes([f32; LANE_VALUES]);

/// Real and imaginary part of each window of a batch.
const LANE_VALUES: usize = 2 * BATCH;

impl Lanes {
    pub const ZERO: Lanes = Lanes([0.0; LANE_VALUES]);

    /// Store `value` in lane `b` (nothing past the batch).
    fn set(&mut self, b: usize, value: Complex) {
        if b < BATCH {
            self.0[b] = value.re;
            self.0[BATCH + b] = value.im;
        }
    }

    /// Lane `b` (`< BATCH`) as a complex value.
    #[inline(always)]
    fn get(&self, b: usize) -> Complex {
        Complex::new(self.0[b], self.0[BATCH + b])
    }
}

/// The 8 segment correlations of each window of a batch.
type Segments = [Lanes; SEGMENTS];
/// The 16 bins' power of each window of a batch: `[bin][window]`.
type Spectra = [[f32; BATCH]; BINS];

#[derive(Clone)]
pub(crate) struct PreambleSearch {
    reference: [Complex; MAX_REFERENCE],
    history_re: [f32; HISTORY + HISTORY_SLACK],
    history_im: [f32; HISTORY + HISTORY_SLACK],
    /// Samples held in `history_*`; the `staged` newest are not yet scored.
    history_len: usize,
    staged: usize,
    /// The staged windows' spectra, once [`PreambleSearch::analyse_stage`] ran.
    spectra: Spectra,
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
            history_re: [0.0; HISTORY + HISTORY_SLACK],
            history_im: [0.0; HISTORY + HISTORY_SLACK],
            history_len: 0,
            staged: 0,
            spectra: [[0.0; BATCH]; BINS],
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
        // Windows reaching before the stream's first sample are never scored;
        // zeros there keep every read in bounds.
        self.history_re[..self.len].fill(0.0);
        self.history_im[..self.len].fill(0.0);
        self.history_len = self.len;
        self.staged = 0;
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

    /// Stage a new baseband sample; true when the stage is full and must be
    /// drained: [`PreambleSearch::analyse_stage`], then for each staged
    /// sample in order, into the ring and [`PreambleSearch::push`].
    #[inline]
    pub fn stage(&mut self, y: Complex) -> bool {
        if self.history_len == HISTORY {
            let keep = self.len + self.staged;
            let from = HISTORY - keep;
            self.history_re.copy_within(from..HISTORY, 0);
            self.history_im.copy_within(from..HISTORY, 0);
            self.history_len = keep;
        }
        self.history_re[self.history_len] = y.re;
        self.history_im[self.history_len] = y.im;
        self.history_len += 1;
        self.staged += 1;
        self.staged == BATCH
    }

    /// Baseband samples staged and not yet scored.
    pub fn staged(&self) -> usize {
        self.staged
    }

    /// The `b`-th staged sample (`b < staged()`), oldest first.
    pub fn staged_sample(&self, b: usize) -> Complex {
        let i = self.history_len - self.staged + b;
        Complex::new(self.history_re[i], self.history_im[i])
    }

    /// Forget the staged samples (after they have been pushed).
    pub fn clear_stage(&mut self) {
        self.staged = 0;
    }

    /// Correlate the staged windows and take their spectra, for `push`.
    pub fn analyse_stage(&mut self) {
        let mut segments = [Lanes::ZERO; SEGMENTS];
        // A partial stage (the end of a short block) in smaller groups, so a
        // block of a few samples costs what it did window by window.
        let mut lane = 0;
        while lane < self.staged {
            let left = self.staged - lane;
            // Lanes past the stage are computed and dropped (at most 3).
            lane += if left > BATCH / 2 {
                self.correlate_lanes::<BATCH>(lane, &mut segments)
            } else if left > 1 {
                self.correlate_lanes::<{ BATCH / 2 }>(lane, &mut segments)
            } else {
                self.correlate_lanes::<1>(lane, &mut segments)
            };
        }
        self.spectra = self.spectra_of(&segments);
    }

    /// `L` windows from staged lane `first` (those past the stage are
    /// garbage and not stored); returns `L`.
    fn correlate_lanes<const L: usize>(&self, first: usize, out: &mut Segments) -> usize {
        // History index of the first sample of that lane's window.
        let base = self.history_len - self.staged + first + 1 - self.len;
        for (s, bounds) in self.bounds.windows(2).enumerate() {
            let (lo, hi) = (bounds[0], bounds[1]);
            let (re, im) = (&self.history_re[base + lo..], &self.history_im[base + lo..]);
            let acc = correlate_part::<L>(&self.reference[lo..hi], re, im);
            for b in 0..L {
                out[s].set(first + b, Complex::new(acc.0[b], acc.0[BATCH + b]));
            }
        }
        L
    }

    /// The 16-bin power spectrum across segments of each window of the batch.
    #[allow(clippy::needless_range_loop)]
    fn spectra_of(&self, segments: &Segments) -> Spectra {
        let mut out = [[0.0f32; BATCH]; BINS];
        // One window per iteration, in plain complex arithmetic: a loop the
        // compiler vectorises across the windows.
        for b in 0..BATCH {
            let seg: [Complex; SEGMENTS] = core::array::from_fn(|s| segments[s].get(b));
            // 16-point DFT of the 8 segment sums: even bins are the 8-point
            // DFT of c_s, odd bins that of c_s·e^{−jπs/8}.
            let mut odd = seg;
            for (s, c) in odd.iter_mut().enumerate() {
                *c = *c * self.twiddle[s];
            }
            let (even, odd) = (fft8(seg), fft8(odd));
            for i in 0..SEGMENTS {
                out[2 * i][b] = even[i].norm_sqr();
                out[2 * i + 1][b] = odd[i].norm_sqr();
            }
        }
        out
    }

    /// Score the window ending with the newest ring sample (`ring.len() - 1`),
    /// the `b`-th staged one.
    pub fn push(&mut self, ring: &Ring, b: usize) -> Option<SyncHit> {
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
        let power: [f32; BINS] = core::array::from_fn(|k| self.spectra[k][b]);
        let (metric, bin, sides) = self.metric(&power, self.energy.max(0.0) as f32);
        let hit = self.track_peak(newest, metric, bin, sides);
        self.prev_metric = metric;
        hit
    }

    fn metric(&self, power: &[f32; BINS], energy: f32) -> (f32, i32, [f32; 2]) {
        if energy.is_nan() || energy <= 1e-30 {
            return (0.0, 0, [0.0; 2]);
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

/// `Σ_i y[i + b]·conj(reference[i])` for windows `b < L` (`L ≤ BATCH`),
/// summed in order of `i`.
///
/// With SIMD (x86-64, AArch64) real and imaginary parts share one pass: the
/// imaginary part `y_im·p_re − y_re·p_im` is taken as `y_im·p_re +
/// (−y_re)·p_im` (the same IEEE result), so all 16 sums have one shape and
/// the loads of `y` serve both. A scalar FPU (Cortex-M) runs two plain passes
/// instead, which it does in fewer instructions. Both give the same bits (the
/// QEMU self-test compares the firmware with the host).
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn correlate_part<const L: usize>(reference: &[Complex], re: &[f32], im: &[f32]) -> Lanes {
    let mut acc = [0.0f32; LANE_VALUES];
    // (p_i, y_re[i..i + L], y_im[i..i + L]) for each tap i.
    let taps = reference
        .iter()
        .zip(re.windows(L).zip(im.windows(L)))
        .filter_map(|(p, (re, im))| Some((p, re.first_chunk::<L>()?, im.first_chunk::<L>()?)));
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        for (p, y_re, y_im) in taps {
            let mut y = [0.0f32; LANE_VALUES];
            let mut y_cross = [0.0f32; LANE_VALUES];
            for b in 0..L {
                y[b] = y_re[b];
                y[BATCH + b] = y_im[b];
                y_cross[b] = y_im[b];
                y_cross[BATCH + b] = -y_re[b];
            }
            for k in 0..LANE_VALUES {
                acc[k] += y[k] * p.re + y_cross[k] * p.im;
            }
        }
    } else {
        let (acc_re, acc_im) = acc.split_at_mut(BATCH);
        for (p, y_re, y_im) in taps.clone() {
            for b in 0..L {
                acc_re[b] += y_re[b] * p.re + y_im[b] * p.im;
            }
        }
        for (p, y_re, y_im) in taps {
            for b in 0..L {
                acc_im[b] += y_im[b] * p.re - y_re[b] * p.im;
            }
        }
    }
    Lanes(acc)
}

/// 8-point DFT (X_k = Σ x_s e^{−j2πsk/8}), radix-2 decimation in frequency.
#[inline(always)]
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
