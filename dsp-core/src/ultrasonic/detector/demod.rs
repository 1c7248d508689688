//! Coherent demodulation of one candidate burst.
//!
//! Laurent's decomposition writes h = 1/2 CPM as offset-QPSK: symbol k is the
//! pulse C0(t − kT) times j^{k+1}·d_k (thanks to the precoding). So a matched
//! filter with C0 at each symbol, rotated by (−j)^{k+1}, gives d_k on the real
//! axis; the rest of the CPM signal is ISI about 12 dB down.
//!
//! A sample-clock error ε scales time and frequency together: the carrier
//! moves by ε·f_c and symbols shrink by 1/(1+ε). So one number, the carrier
//! offset, also sets the symbol period, and the burst is demodulated along
//! `t_k = t_0 + k·T/(1+ε)` with the carrier offset removed sample by sample.
//!
//! Steps: refine t_0 on the preamble; estimate the residual offset by a
//! periodogram over preamble and pilot groups (no phase unwrapping, so it
//! holds at low SNR), once per pilot variant on the same matched-filter
//! outputs, keeping the variant whose pilots add most energy; recompute with
//! that offset; fit the phase, then amplitude and noise on the known symbols;
//! emit LLRs for the data symbols.

use core::f32::consts::TAU;

use super::super::burst::known_bit;
use super::super::modulator::laurent_c0;
use crate::config::Phy;
use crate::key::KeySchedule;
use crate::layout::{FrameClass, SymbolRole, MAX_PILOT_GROUPS, PILOTS_PER_GROUP, PREAMBLE_SYMBOLS};
use crate::math::Complex;

use super::preamble::parabolic;
use super::ring::Ring;

const C0_STEPS_PER_SYMBOL: usize = 32;
const C0_SPAN: usize = 5;
const C0_LEN: usize = C0_SPAN * C0_STEPS_PER_SYMBOL + 2;
/// Preamble symbols under the ramp are left out of estimates.
const FIRST_USED_PREAMBLE: usize = 8;
const PREAMBLE_GROUP: usize = 8;
const PREAMBLE_GROUPS: usize = (PREAMBLE_SYMBOLS - FIRST_USED_PREAMBLE) / PREAMBLE_GROUP;
const MAX_GROUPS: usize = PREAMBLE_GROUPS + MAX_PILOT_GROUPS;
/// Known symbols used for estimates: preamble from symbol 8, and pilots.
const MAX_KNOWN: usize =
    PREAMBLE_SYMBOLS - FIRST_USED_PREAMBLE + MAX_PILOT_GROUPS * PILOTS_PER_GROUP;
/// Largest LLR magnitude passed on (keeps sums of combined bursts sane).
pub(crate) const LLR_LIMIT: f32 = 40.0;

/// Where a burst is and how it was received.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    /// Baseband index that `offset` is relative to.
    pub base: u64,
    /// Start of symbol 0 relative to `base`, in baseband samples.
    pub offset: f32,
    /// Carrier offset in Hz.
    pub freq_hz: f32,
    /// Carrier phase (rad) at symbol 0, after the offset is removed.
    pub phase: f32,
    /// Mean of the real-axis matched-filter output on known symbols.
    pub amplitude: f32,
    /// Its variance about that mean (noise + ISI).
    pub noise: f32,
    /// Pilot and scrambling variant (burst counter mod 4).
    pub variant: usize,
}

impl Estimate {
    /// Per-symbol SNR A²/σ² on the real axis (= 2·Es/N0).
    pub fn symbol_snr(&self) -> f32 {
        if self.noise > 0.0 {
            self.amplitude * self.amplitude / self.noise
        } else {
            0.0
        }
    }
}

#[derive(Clone)]
pub(crate) struct Demod {
    c0: [f32; C0_LEN],
    /// Nominal baseband samples per symbol.
    sps: f32,
    carrier_hz: f32,
    /// Baseband sample rate.
    fb: f32,
}

impl Demod {
    pub const fn unconfigured() -> Demod {
        Demod {
            c0: [0.0; C0_LEN],
            sps: 0.0,
            carrier_hz: 0.0,
            fb: 0.0,
        }
    }

    pub fn configure(&mut self, phy: &Phy) {
        for (i, c) in self.c0.iter_mut().enumerate() {
            *c = laurent_c0(i as f32 / C0_STEPS_PER_SYMBOL as f32);
        }
        self.fb = phy.sample_rate as f32 / phy.decimation as f32;
        self.sps = self.fb / phy.symbol_rate as f32;
        self.carrier_hz = phy.carrier_hz as f32;
    }

    /// Received symbol period in baseband samples.
    fn period(&self, est: &Estimate) -> f32 {
        self.sps / (1.0 + est.freq_hz / self.carrier_hz)
    }

    /// Baseband samples needed after `base` to demodulate every symbol of `class`.
    pub fn span(&self, class: FrameClass) -> u64 {
        let last = class.pilot_symbol_index(class.pilot_groups() - 1, PILOTS_PER_GROUP - 1);
        ((last + C0_SPAN + 2) as f32 * self.sps * 1.002) as u64 + 2
    }

    /// Matched-filter output for symbol `k`, before phase correction.
    fn output(&self, ring: &Ring, est: &Estimate, k: usize) -> Complex {
        let period = self.period(est);
        let t_k = est.offset + k as f32 * period;
        // Offsets from `base` stay small (a burst is < 2600 samples): i32 and
        // f32 arithmetic, no 64-bit conversions in the inner loop.
        let lo = libm::ceilf(t_k) as i32;
        let hi = libm::floorf(t_k + C0_SPAN as f32 * period) as i32;
        let omega = TAU * est.freq_hz / self.fb;
        let mut rot = Complex::from_radians(-omega * lo as f32);
        let step = Complex::from_radians(-omega);
        let scale = C0_STEPS_PER_SYMBOL as f32 / period;
        let mut acc = Complex::ZERO;
        let mut samples = ring.iter_from(est.base as i64 + lo as i64);
        for m in lo..=hi {
            let y = samples.next().unwrap_or(Complex::ZERO);
            let u = (m as f32 - t_k) * scale;
            let i = u as usize;
            if i + 1 < C0_LEN {
                let f = u - i as f32;
                let w = self.c0[i] + (self.c0[i + 1] - self.c0[i]) * f;
                acc += (y * rot).scale(w);
            }
            rot = rot * step;
        }
        acc
    }

    /// Output of symbol k turned so that `d_k` lies on the real axis (before
    /// the carrier phase is removed).
    fn aligned(&self, ring: &Ring, est: &Estimate, k: usize) -> Complex {
        self.output(ring, est, k).mul_j_pow(3 * (k + 1))
    }

    /// Move `est.offset` to the best timing within ±0.6 baseband samples,
    /// judged by the preamble's energy after matched filtering.
    pub fn refine_timing(&self, ring: &Ring, keys: &KeySchedule, est: &mut Estimate) {
        const STEPS: [f32; 5] = [-0.6, -0.3, 0.0, 0.3, 0.6];
        let mut scores = [0.0f32; 5];
        for (score, dt) in scores.iter_mut().zip(STEPS) {
            let mut trial = *est;
            trial.offset += dt;
            let mut total = 0.0;
            for g in (FIRST_USED_PREAMBLE..PREAMBLE_SYMBOLS).step_by(PREAMBLE_GROUP) {
                let mut acc = Complex::ZERO;
                for k in g..g + PREAMBLE_GROUP {
                    let d = known_value(keys, 0, SymbolRole::Preamble(k));
                    acc += self.aligned(ring, &trial, k).scale(d);
                }
                total += acc.norm_sqr();
            }
            *score = total;
        }
        let best = (0..5).fold(0, |b, i| if scores[i] > scores[b] { i } else { b });
        let frac = if best == 0 || best == 4 {
            0.0
        } else {
            parabolic(scores[best - 1], scores[best], scores[best + 1])
        };
        est.offset += STEPS[best] + frac * 0.3;
    }

    /// Matched-filter outputs of a class's known symbols (preamble from
    /// symbol 8, then every pilot) under `est`. The variants share them: only
    /// the signs the known symbols carry differ.
    pub fn known(&self, ring: &Ring, est: &Estimate, class: FrameClass, known: &mut Known) {
        for ((k, _), out) in known_symbols(class).zip(known.out.iter_mut()) {
            *out = self.aligned(ring, est, k);
        }
    }

    /// Estimate the residual carrier offset and the phase from `known`
    /// (computed under `est`), for `est.variant`, searching ±`span_bins` sync
    /// bins (bin = symbol rate / 128). Moves `est.freq_hz` and sets
    /// `est.phase`; returns the coherent energy of the known symbols at the
    /// offset found (with the right variant the pilots add to it, with a wrong
    /// one they do not) and the residual found, in cycles per symbol.
    pub fn fit(
        &self,
        known: &Known,
        keys: &KeySchedule,
        class: FrameClass,
        est: &mut Estimate,
        span_bins: f32,
    ) -> (f32, f32) {
        // Groups: preamble by 8, pilots by 2; each a phasor and its time (symbols).
        let mut groups = [(Complex::ZERO, 0.0f32); MAX_GROUPS];
        let mut n = 0;
        let mut last_group = usize::MAX;
        for (i, (_, role)) in known_symbols(class).enumerate() {
            let (group, t) = match role {
                SymbolRole::Preamble(p) => {
                    let g = (p - FIRST_USED_PREAMBLE) / PREAMBLE_GROUP;
                    let first = FIRST_USED_PREAMBLE + g * PREAMBLE_GROUP;
                    (g, first as f32 + (PREAMBLE_GROUP as f32 - 1.0) / 2.0)
                }
                SymbolRole::Pilot(g, _) => (
                    PREAMBLE_GROUPS + g,
                    class.pilot_symbol_index(g, 0) as f32 + 0.5,
                ),
                _ => continue,
            };
            if group != last_group {
                groups[n] = (Complex::ZERO, t);
                n += 1;
                last_group = group;
            }
            let d = known_value(keys, est.variant, role);
            groups[n - 1].0 += known.out[i].scale(d);
        }
        let groups = &groups[..n];
        let extent = groups[n - 1].1 - groups[0].1;
        // Cycles per symbol: bins are 1/128 cycle per symbol.
        let span = span_bins / 128.0;
        let step = 1.0 / (4.0 * extent);
        let steps = (span / step) as i32;
        let power = |nu: f32| -> (f32, Complex) {
            let mut acc = Complex::ZERO;
            for &(g, t) in groups {
                acc += g * Complex::from_radians(-TAU * frac_part(nu * t));
            }
            (acc.norm_sqr(), acc)
        };
        // Periodogram over the grid by recurrence: one complex multiply per
        // group and step instead of a sine and cosine.
        let mut at = [Complex::ZERO; MAX_GROUPS];
        let mut turn = [Complex::ZERO; MAX_GROUPS];
        let first_nu = -(steps as f32) * step;
        for (i, &(_, t)) in groups.iter().enumerate() {
            at[i] = Complex::from_radians(-TAU * frac_part(first_nu * t));
            turn[i] = Complex::from_radians(-TAU * frac_part(step * t));
        }
        let mut best = (0i32, -1.0f32);
        let mut prev = f32::NAN;
        let mut around = [0.0f32; 3];
        for s in -steps..=steps {
            let mut acc = Complex::ZERO;
            for (i, &(g, _)) in groups.iter().enumerate() {
                acc += g * at[i];
                at[i] = at[i] * turn[i];
            }
            let p = acc.norm_sqr();
            if p > best.1 {
                best = (s, p);
                around = [prev, p, f32::NAN];
            } else if s == best.0 + 1 {
                around[2] = p;
            }
            prev = p;
        }
        let frac = if around[0].is_finite() && around[2].is_finite() {
            parabolic(around[0], around[1], around[2])
        } else {
            0.0
        };
        let nu = (best.0 as f32 + frac) * step;
        let (energy, acc) = power(nu);
        // A residual rotation of ν cycles per symbol is ν·Rs Hz more carrier offset.
        est.freq_hz += nu * self.fb / self.sps;
        est.phase = acc.arg();
        (energy, nu)
    }

    /// Amplitude and noise from `known`, which was computed before a fit
    /// that found residual `nu` (cycles per symbol) and set `est.phase`.
    pub fn measure(
        &self,
        known: &Known,
        keys: &KeySchedule,
        class: FrameClass,
        nu: f32,
        est: &mut Estimate,
    ) {
        let (mut n, mut sum, mut sum_sq) = (0.0f32, 0.0f32, 0.0f32);
        for (i, (k, role)) in known_symbols(class).enumerate() {
            let derot = Complex::from_radians(-est.phase - TAU * frac_part(nu * k as f32));
            let v = (known.out[i] * derot).re * known_value(keys, est.variant, role);
            n += 1.0;
            sum += v;
            sum_sq += v * v;
        }
        let mean = sum / n;
        est.amplitude = mean;
        est.noise = (sum_sq / n - mean * mean)
            .max(mean * mean * 1e-4)
            .max(1e-30);
    }

    /// LLRs (positive = channel bit 0) of data symbols `0..out.len()`.
    pub fn soft_bits(&self, ring: &Ring, est: &Estimate, out: &mut [f32]) {
        let derot = Complex::from_radians(-est.phase);
        let gain = 2.0 * est.amplitude / est.noise;
        for (j, llr) in out.iter_mut().enumerate() {
            let k = FrameClass::data_symbol_index(j);
            let v = (self.aligned(ring, est, k) * derot).re * gain;
            *llr = if v.is_finite() {
                v.clamp(-LLR_LIMIT, LLR_LIMIT)
            } else {
                0.0
            };
        }
    }
}

/// Matched-filter outputs of a class's known symbols, in [`known_symbols`] order.
#[derive(Clone)]
pub(crate) struct Known {
    out: [Complex; MAX_KNOWN],
}

impl Known {
    pub const fn new() -> Known {
        Known {
            out: [Complex::ZERO; MAX_KNOWN],
        }
    }
}

/// The known symbols estimates use, as (symbol index, role): preamble from
/// symbol 8, then each pilot of `class`.
fn known_symbols(class: FrameClass) -> impl Iterator<Item = (usize, SymbolRole)> {
    let preamble = (FIRST_USED_PREAMBLE..PREAMBLE_SYMBOLS).map(|k| (k, SymbolRole::Preamble(k)));
    let pilots = (0..class.pilot_groups()).flat_map(move |g| {
        (0..PILOTS_PER_GROUP)
            .map(move |i| (class.pilot_symbol_index(g, i), SymbolRole::Pilot(g, i)))
    });
    preamble.chain(pilots)
}

/// ±1 of a known symbol.
fn known_value(keys: &KeySchedule, variant: usize, role: SymbolRole) -> f32 {
    1.0 - 2.0 * known_bit(keys, variant, role).unwrap_or(0) as f32
}

/// x − round(x): keeps phase arguments small.
fn frac_part(x: f32) -> f32 {
    x - libm::roundf(x)
}
