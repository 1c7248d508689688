//! The psychoacoustic model: how loud the mark may be in each bin of a
//! frame, from the programme's own spectrum (simultaneous masking in the
//! style of Johnston's model, the one MPEG's psychoacoustic model 1 grew
//! from), then limited in time so the mark never precedes an onset.
//!
//! 1. **Critical bands.** The frame's power spectrum (bins 1..=256 of the
//!    16 kHz domain, 31.25 Hz apart) is summed into 1-Bark bands
//!    (z = 13·atan(0.00076 f) + 3.5·atan((f / 7500)²), 22 bands to 8 kHz).
//! 2. **Spreading.** Band energies are spread over neighbouring bands with
//!    Schroeder's function (+25 dB/Bark below a masker, −10 dB/Bark above),
//!    normalised by the spreading gain of a flat spectrum.
//! 3. **Tonality.** Each band's spectral flatness (geometric over
//!    arithmetic mean of its bins) sets α ∈ [0, 1] (−25 dB or flatter than
//!    that: fully tonal). A tone masks less than noise, so the threshold
//!    sits α·(14.5 + z) + (1 − α)·5.5 dB below the spread energy.
//! 4. **Quiet.** Frames whose in-band power is under [`SILENCE_DB`] below
//!    a full-scale sine carry no mark at all. The threshold in quiet is *not*
//!    used to raise the mark in quiet bins: how loud a file plays is unknown,
//!    and a mark above the programme's own level in a quiet passage is
//!    measurably worse (ViSQOL on quiet real programme).
//! 5. **Time.** The band threshold used for frame m is the smaller of
//!    frame m's and frame m−1's: no pre-echo before an onset (backward
//!    masking is short), a tail of at most one hop after an offset (forward
//!    masking lasts ~100 ms).
//!
//! The mark's amplitude in a bin is then √(threshold · 10^(MMR/10)), MMR
//! the mark-to-mask ratio (default [`DEFAULT_MMR_DB`]). Everything runs in
//! `log2` so a frame costs one fast log and one fast exp per bin.
//!
//! [`measure`] checks what this achieves on a marked stream: the mark as
//! the model's own analysis sees it, band by band, against the threshold
//! of the programme in the same window (the evidence tools report it).

use super::spectrum::{exp2_fast, log2_fast};
use super::{FIRST_BIN, LAST_BIN, MARK_RATE};

/// Bark bands up to 8 kHz.
pub(crate) const BANDS: usize = 22;
/// Bins of the 512-point frame the model reads (DC excluded).
const MODEL_BINS: usize = 256;
pub use crate::config::{
    DEFAULT_ROBUST_MMR_DB as DEFAULT_MMR_DB, MAX_ROBUST_MMR_DB as MAX_MMR_DB,
    MIN_ROBUST_MMR_DB as MIN_MMR_DB,
};
/// Frames quieter than this (in-band power against a full-scale sine's
/// peak bin, dB) are silence: no mark, and the detector ignores them.
pub const SILENCE_DB: f32 = -70.0;
/// log2 of 10 / 10: dB to log2 units of power.
pub(crate) const DB_TO_LOG2: f32 = 0.332_192_8;

/// Power of a full-scale sine's peak bin in this STFT (sqrt-Hann, N = 512):
/// (Σ w / 2)² with Σ w = N·2/π.
pub(crate) const FULL_SCALE_BIN_POWER: f32 = 26_561.0;

/// Tables that depend only on the bin grid, built once.
#[derive(Clone, PartialEq)]
pub(crate) struct Model {
    /// Band of bin k (k = 1..=256 at index k − 1).
    band_of: [u8; MODEL_BINS],
    /// log2 of the number of bins in each band.
    log2_bins: [f32; BANDS],
    bins: [u8; BANDS],
    /// Spreading in power, by band distance `maskee − masker + BANDS`.
    spread: [f32; 2 * BANDS],
    /// log2 of the spreading gain of a flat spectrum per band.
    log2_norm: [f32; BANDS],
    /// log2 of the silence floor (sum of in-band bin powers).
    log2_silence: f32,
}

impl Model {
    pub const fn zeroed() -> Model {
        Model {
            band_of: [0; MODEL_BINS],
            log2_bins: [0.0; BANDS],
            bins: [0; BANDS],
            spread: [0.0; 2 * BANDS],
            log2_norm: [0.0; BANDS],
            log2_silence: 0.0,
        }
    }

    pub fn new() -> Model {
        let mut m = Model::zeroed();
        let bin_hz = MARK_RATE as f32 / 512.0;
        for k in 1..=MODEL_BINS {
            let f = k as f32 * bin_hz;
            let z =
                13.0 * libm::atanf(0.000_76 * f) + 3.5 * libm::atanf((f / 7500.0) * (f / 7500.0));
            let b = (z as usize).min(BANDS - 1);
            m.band_of[k - 1] = b as u8;
            m.bins[b] += 1;
        }
        for b in 0..BANDS {
            m.log2_bins[b] = log2_fast(m.bins[b].max(1) as f32);
        }
        for (i, s) in m.spread.iter_mut().enumerate() {
            let dz = i as f32 - BANDS as f32 + 0.474;
            let db = 15.81 + 7.5 * dz - 17.5 * libm::sqrtf(1.0 + dz * dz);
            *s = libm::powf(10.0, db / 10.0);
        }
        for b in 0..BANDS {
            let mut gain = 0.0;
            for masker in 0..BANDS {
                gain += m.spread[b + BANDS - masker];
            }
            m.log2_norm[b] = log2_fast(gain);
        }
        m.log2_silence = log2_fast(FULL_SCALE_BIN_POWER) + SILENCE_DB * DB_TO_LOG2;
        m
    }

    /// Band thresholds (log2 power) of one frame from its power spectrum
    /// `power[k]` (k = 0..=256), or `None` for a silent frame.
    pub fn band_thresholds(&self, power: &[f32; 257]) -> Option<[f32; BANDS]> {
        let mut energy = [0.0f32; BANDS];
        let mut log_sum = [0.0f32; BANDS];
        let mut in_band = 0.0f32;
        for (k, &p) in power.iter().enumerate().skip(1) {
            let b = self.band_of[k - 1] as usize;
            energy[b] += p;
            log_sum[b] += log2_fast(p + 1e-20);
            if (FIRST_BIN..=LAST_BIN).contains(&k) {
                in_band += p;
            }
        }
        // log2_fast maps NaN to −126: silent.
        if log2_fast(in_band) < self.log2_silence {
            return None;
        }
        let mut out = [0.0f32; BANDS];
        for (b, o) in out.iter_mut().enumerate() {
            let mut spread = 0.0f32;
            for (masker, &e) in energy.iter().enumerate() {
                spread += e * self.spread[b + BANDS - masker];
            }
            let log_mean = log2_fast(energy[b] / self.bins[b].max(1) as f32 + 1e-20);
            let flatness_db = (log_sum[b] / self.bins[b].max(1) as f32 - log_mean) / DB_TO_LOG2;
            let alpha = (flatness_db / -25.0).clamp(0.0, 1.0);
            let offset_db = alpha * (14.5 + b as f32) + (1.0 - alpha) * 5.5;
            *o = log2_fast(spread + 1e-20) - self.log2_norm[b] - offset_db * DB_TO_LOG2;
        }
        Some(out)
    }

    /// Mark amplitude per in-band bin from band thresholds (already limited
    /// in time), with the mark-to-mask ratio `mmr_log2` (log2 power units).
    pub fn amplitudes(&self, bands: &[f32; BANDS], mmr_log2: f32, out: &mut [f32]) {
        for (i, a) in out.iter_mut().enumerate() {
            let k = FIRST_BIN + i;
            let b = self.band_of[k - 1] as usize;
            let per_bin = bands[b] - self.log2_bins[b];
            *a = exp2_fast(0.5 * (per_bin + mmr_log2));
        }
    }
}

/// One frame of [`measure`]: for each Bark band holding in-band bins, the
/// mark's power and the mask's, summed over those bins (same units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskFrame {
    /// Frame index (centred at stream sample `start + 768·frame`).
    pub frame: u64,
    /// The model calls the programme silent here: no mask, so `mask` is 0.
    pub silent: bool,
    /// (mark power, mask power) per band, lowest band first.
    pub bands: [(f32, f32); MASK_BANDS],
}

/// Bark bands that hold in-band bins (344 Hz–7 kHz): bands 3..=20.
pub const MASK_BANDS: usize = 18;
const FIRST_MASK_BAND: usize = 3;

/// Measure the mark-to-mask ratio a marked stream achieves: the mark
/// (`marked − original`) is analysed by the embedder's own STFT on its
/// frame grid (`start`: the schedule's start, stream samples), and each
/// band's power is set against the simultaneous masking threshold this
/// model computes from `original` in the same window (steps 1–4; the time
/// rule is the embedder's margin, not part of the mask). Mono, 48 kHz, equal lengths (the output already
/// aligned for the embedder's latency). Evidence, not the hot path: one
/// call per frame of `each`, no state kept.
pub fn measure(original: &[f32], marked: &[f32], start: u64, mut each: impl FnMut(&MaskFrame)) {
    use super::rate::{ANALYSIS, ANALYSIS_DELAY, RATIO};
    use super::spectrum::{fft, unpack_pair, WINDOW};
    use super::{FRAME, HOP};
    use microfft::Complex32;

    let model = Model::new();
    let len = original.len().min(marked.len()) as i64;
    let at = |x: &[f32], n: i64| {
        if (0..len).contains(&n) {
            x[n as usize]
        } else {
            0.0
        }
    };
    let frames = (len - start as i64 - (HOP * RATIO) as i64).max(0) as u64 / (HOP * RATIO) as u64;
    for k in 0..frames {
        // Decimated programme (re) and mark (im) over mark times centre ± 256.
        let first = (k * HOP as u64) as i64 - HOP as i64;
        let mut z = [Complex32::new(0.0, 0.0); FRAME];
        for (n, zn) in z.iter_mut().enumerate() {
            let oldest = start as i64 + RATIO as i64 * (first + n as i64) - ANALYSIS_DELAY as i64;
            let (mut x, mut d) = (0.0f32, 0.0f32);
            for (i, &h) in ANALYSIS.iter().enumerate() {
                let t = oldest + i as i64;
                let xo = at(original, t);
                x += h * xo;
                d += h * (at(marked, t) - xo);
            }
            *zn = Complex32::new(x * WINDOW[n], d * WINDOW[n]);
        }
        fft(&mut z);
        let mut power = [0.0f32; 257];
        let mut mark = [0.0f32; 257];
        for (i, (p, m)) in power.iter_mut().zip(mark.iter_mut()).enumerate() {
            let (x, d) = unpack_pair(&z, i);
            (*p, *m) = (x.norm_sqr(), d.norm_sqr());
        }
        let used = model.band_thresholds(&power);
        let mut out = MaskFrame {
            frame: k,
            silent: used.is_none(),
            bands: [(0.0, 0.0); MASK_BANDS],
        };
        for (kbin, &m) in mark.iter().enumerate().take(LAST_BIN + 1).skip(FIRST_BIN) {
            let b = model.band_of[kbin - 1] as usize;
            let slot = &mut out.bands[b - FIRST_MASK_BAND];
            slot.0 += m;
            if let Some(t) = used {
                slot.1 += exp2_fast(t[b] - model.log2_bins[b]);
            }
        }
        each(&out);
    }
}

impl core::fmt::Debug for Model {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Model")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spectrum(f: impl Fn(usize) -> f32) -> [f32; 257] {
        core::array::from_fn(f)
    }

    #[test]
    fn silence_has_no_threshold_and_noise_masks_more_than_a_tone() {
        let m = Model::new();
        assert!(m.band_thresholds(&[0.0; 257]).is_none());
        assert!(m.band_thresholds(&[1e-9; 257]).is_none());
        // Same band energy around 2 kHz (bin 64): flat noise vs one tone.
        let noise = spectrum(|_| 10.0);
        let band = m.band_of[63] as usize;
        let nb = m.bins[band] as f32;
        let tone = spectrum(|k| if k == 64 { 10.0 * nb } else { 1e-6 });
        let tn = m.band_thresholds(&noise).unwrap()[band];
        let tt = m.band_thresholds(&tone).unwrap()[band];
        assert!(tn - tt > 8.0 * DB_TO_LOG2 * 0.9, "noise {tn} tone {tt}");
        let mut a = [0.0f32; LAST_BIN + 1 - FIRST_BIN];
        m.amplitudes(&m.band_thresholds(&noise).unwrap(), 0.0, &mut a);
        // Noise at 10 per bin: threshold a few dB below it.
        let p = a[64 - FIRST_BIN] * a[64 - FIRST_BIN];
        let db = 10.0 * libm::log10f(p / 10.0);
        assert!((-12.0..-3.0).contains(&db), "mark {db} dB re programme");
    }

    #[test]
    fn the_measured_bands_are_exactly_those_with_in_band_bins() {
        let m = Model::new();
        assert_eq!(m.band_of[FIRST_BIN - 1] as usize, FIRST_MASK_BAND);
        assert_eq!(
            m.band_of[LAST_BIN - 1] as usize,
            FIRST_MASK_BAND + MASK_BANDS - 1
        );
    }
}
