//! Channel impairments and models: what happens to a marked signal on its
//! way to a monitor, computed here (no external tools; those are in
//! [`codec`](crate::codec)). All take and return mono `f32` at a given rate.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};
use rustfft::num_complex::Complex32;
use rustfft::FftPlanner;

use crate::rng::Rng;
use crate::synth;

/// Mean power of `x` between `lo` and `hi` Hz (Welch, Hann, 8192-point).
pub fn band_power(x: &[f32], fs: u32, lo: f32, hi: f32) -> f64 {
    const N: usize = 8192;
    if x.len() < N {
        let mut padded = x.to_vec();
        padded.resize(N, 0.0);
        return band_power(&padded, fs, lo, hi) * N as f64 / x.len().max(1) as f64;
    }
    let mut planner = FftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(N);
    let window: Vec<f32> = (0..N)
        .map(|i| 0.5 - 0.5 * libm::cosf(std::f32::consts::TAU * i as f32 / N as f32))
        .collect();
    let w_power: f64 = window.iter().map(|w| (*w as f64).powi(2)).sum::<f64>() / N as f64;
    let bin = fs as f64 / N as f64;
    let (k_lo, k_hi) = (
        (lo as f64 / bin).ceil() as usize,
        ((hi as f64 / bin).floor() as usize).min(N / 2),
    );
    let mut total = 0.0f64;
    let mut segments = 0usize;
    let mut buf = vec![Complex32::new(0.0, 0.0); N];
    let mut start = 0;
    while start + N <= x.len() {
        for (b, (v, w)) in buf.iter_mut().zip(x[start..start + N].iter().zip(&window)) {
            *b = Complex32::new(v * w, 0.0);
        }
        fft.process(&mut buf);
        let mut p = 0.0f64;
        for (k, c) in buf.iter().enumerate().take(k_hi + 1).skip(k_lo) {
            // One-sided: double every bin but DC and Nyquist.
            let scale = if k == 0 || k == N / 2 { 1.0 } else { 2.0 };
            p += scale * c.norm_sqr() as f64;
        }
        total += p / (N as f64 * N as f64 * w_power);
        segments += 1;
        start += N / 2;
    }
    total / segments.max(1) as f64
}

/// Kind of added noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    White,
    Pink,
}

/// Where a mark lives and how strong it is: the reference of an in-band SNR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InBand {
    pub low_hz: f32,
    pub high_hz: f32,
    /// Power of the mark during its bursts (see [`mark_power`]).
    pub mark_power: f64,
}

/// Add noise at `snr_db` below the mark's power, measured in its band.
pub fn add_noise_at_snr(
    x: &mut [f32],
    fs: u32,
    band: &InBand,
    snr_db: f64,
    noise: Noise,
    seed: u64,
) {
    let power = band.mark_power / 10f64.powf(snr_db / 10.0);
    add_band_noise(x, fs, band.low_hz, band.high_hz, power, noise, seed);
}

/// Add noise whose power between `lo` and `hi` Hz is `band_power`.
pub fn add_band_noise(
    x: &mut [f32],
    fs: u32,
    lo: f32,
    hi: f32,
    band_power_target: f64,
    noise: Noise,
    seed: u64,
) {
    let mut n = match noise {
        Noise::White => synth::white_noise(x.len(), 0.1, seed),
        Noise::Pink => synth::pink_noise(x.len(), 0.1, seed),
    };
    let measured = band_power(&n, fs, lo, hi);
    let g = (band_power_target / measured).sqrt() as f32;
    for (v, e) in x.iter_mut().zip(n.iter_mut()) {
        *v += g * *e;
    }
}

/// Power of a constant-envelope mark of peak level `dbfs`.
pub fn mark_power(dbfs: f32) -> f64 {
    let a = 10f64.powf(dbfs as f64 / 20.0);
    a * a / 2.0
}

pub fn gain_db(x: &mut [f32], db: f32) {
    let g = 10f32.powf(db / 20.0);
    x.iter_mut().for_each(|v| *v *= g);
}

/// Round to 16 bits with TPDF dither (clipping at full scale).
pub fn requantize_16(x: &[f32], seed: u64) -> Vec<i16> {
    let mut r = Rng::new(seed);
    x.iter()
        .map(|v| {
            let d = r.uniform() - r.uniform();
            (v * 32768.0 + d).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// Resample with rubato's sinc resampler (256 taps, Blackman-Harris, cut-off
/// `cutoff` of the lower Nyquist, or rubato's own choice with `None`).
pub fn resample(x: &[f32], fs_in: f64, fs_out: f64, cutoff: Option<f32>) -> Vec<f32> {
    let params = SincInterpolationParameters {
        sinc_len: 256,
        f_cutoff: cutoff,
        interpolation: SincInterpolationType::Cubic,
        oversampling_factor: 256,
        window: WindowFunction::BlackmanHarris2,
    };
    let mut resampler =
        Async::<f32>::new_sinc(fs_out / fs_in, 1.1, &params, 1024, 1, FixedAsync::Input)
            .expect("valid resampler parameters");
    let input = InterleavedSlice::new(x, 1, x.len()).expect("mono slice");
    resampler
        .process_all(&input, x.len(), None)
        .expect("resampling a whole clip")
        .take_data()
}

/// The signal as heard through a sample clock `ppm` parts per million fast:
/// every frequency up by `ppm`, every duration down by it.
pub fn clock_drift(x: &[f32], ppm: f64) -> Vec<f32> {
    resample(x, 1.0 + ppm * 1e-6, 1.0, Some(0.99))
}

/// `marked − original`, subtracted in f64 so the residual is the mark's
/// alone, not the rounding of two nearly equal f32s.
pub fn residual(marked: &[f32], original: &[f32]) -> Vec<f32> {
    marked
        .iter()
        .zip(original)
        .map(|(&a, &b)| (a as f64 - b as f64) as f32)
        .collect()
}

/// `x` with everything above `hi` Hz removed: a brick wall over the whole
/// signal's spectrum (one FFT, in f64), so nothing leaks from above.
pub fn low_passed(x: &[f32], fs: u32, hi: f32) -> Vec<f32> {
    use rustfft::num_complex::Complex64;
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    let mut planner = FftPlanner::<f64>::new();
    let mut buf: Vec<Complex64> = x.iter().map(|&v| Complex64::new(v as f64, 0.0)).collect();
    planner.plan_fft_forward(n).process(&mut buf);
    let cut = (hi as f64 * n as f64 / fs as f64).floor() as usize;
    for (k, b) in buf.iter_mut().enumerate() {
        if k.min(n - k) > cut {
            *b = Complex64::new(0.0, 0.0);
        }
    }
    planner.plan_fft_inverse(n).process(&mut buf);
    buf.iter().map(|c| (c.re / n as f64) as f32).collect()
}

/// RMS of each whole `window_s` window of `x`, in dB relative to full scale
/// (1.0): the 16-bit quantisation floor is −101 dBFS.
pub fn window_levels_db(x: &[f32], fs: u32, window_s: f32) -> Vec<f32> {
    let w = ((fs as f32 * window_s) as usize).max(1);
    x.chunks_exact(w)
        .map(|c| {
            let p = c.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / w as f64;
            (10.0 * p.max(1e-30).log10()) as f32
        })
        .collect()
}

/// A small speaker driven hard: y = x + 0.1x² + 0.05x³, at 4× oversampling
/// so the products above Nyquist do not fold back.
pub fn speaker(x: &[f32], fs: u32) -> Vec<f32> {
    let (fs, up) = (fs as f64, 4.0 * fs as f64);
    let bent: Vec<f32> = resample(x, fs, up, Some(0.95))
        .iter()
        .map(|&v| v + 0.1 * v * v + 0.05 * v * v * v)
        .collect();
    resample(&bent, up, fs, Some(0.95))
}

/// A synthetic room: the direct sound, then exponentially decaying noise
/// (reverberant energy equal to the direct sound's) from 5 ms on.
pub fn room_impulse(rt60: f32, fs: u32, seed: u64) -> Vec<f32> {
    let fs = fs as f32;
    let n = (rt60 * fs * 1.2) as usize;
    let mut r = Rng::new(seed ^ 0x5EED);
    let decay = -6.908 / (rt60 * fs);
    let onset = fs as usize / 200;
    let mut h: Vec<f32> = (0..n)
        .map(|i| {
            if i < onset {
                0.0
            } else {
                r.gaussian() * (decay * (i - onset) as f32).exp()
            }
        })
        .collect();
    let tail: f32 = h.iter().map(|v| v * v).sum();
    let g = 1.0 / tail.sqrt();
    h.iter_mut().for_each(|v| *v *= g);
    h[0] = 1.0;
    // Keep the overall level: direct + reverberant energy = 2, scale to 1.
    h.iter_mut()
        .for_each(|v| *v *= std::f32::consts::FRAC_1_SQRT_2);
    h
}

/// Linear convolution by FFT, trimmed to the input's length.
pub fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    let n = (x.len() + h.len()).next_power_of_two();
    let mut planner = FftPlanner::<f32>::new();
    let (fwd, inv) = (planner.plan_fft_forward(n), planner.plan_fft_inverse(n));
    let pad = |v: &[f32]| {
        let mut b: Vec<Complex32> = v.iter().map(|&s| Complex32::new(s, 0.0)).collect();
        b.resize(n, Complex32::new(0.0, 0.0));
        b
    };
    let (mut a, mut b) = (pad(x), pad(h));
    fwd.process(&mut a);
    fwd.process(&mut b);
    for (p, q) in a.iter_mut().zip(&b) {
        *p *= q;
    }
    inv.process(&mut a);
    a[..x.len()].iter().map(|c| c.re / n as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` samples of a sine at `freq` and amplitude `amp`.
    fn tone(freq: f32, amp: f32, fs: u32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (std::f32::consts::TAU * freq * i as f32 / fs as f32).sin())
            .collect()
    }

    #[test]
    fn band_power_of_a_tone_is_half_its_square_amplitude() {
        let fs = 48_000;
        let x = tone(1000.0, 0.5, fs, 96_000);
        let p = band_power(&x, fs, 900.0, 1100.0);
        assert!((p - 0.125).abs() < 0.002, "{p}");
        assert!(band_power(&x, fs, 2000.0, 20_000.0) < 1e-6);
    }

    #[test]
    fn white_noise_power_is_spread_evenly() {
        let fs = 48_000;
        let x = synth::white_noise(480_000, 0.1, 9);
        let p = band_power(&x, fs, 20_000.0, 21_600.0);
        let expected = 0.01 * 1600.0 / 24_000.0;
        assert!((p / expected - 1.0).abs() < 0.05, "{p} vs {expected}");
    }

    #[test]
    fn resampling_round_trip_keeps_a_20k_tone() {
        let x = tone(20_500.0, 0.5, 48_000, 96_000);
        let down = resample(&x, 48_000.0, 44_100.0, None);
        assert!((down.len() as f64 - 88_200.0).abs() < 2.0, "{}", down.len());
        let back = resample(&down, 44_100.0, 48_000.0, None);
        let p = band_power(&back[4800..91_200], 48_000, 20_400.0, 20_600.0);
        // rubato's own cut-off (~0.95 of 22.05 kHz) costs about 1.5 dB here.
        assert!(p > 0.06, "20.5 kHz lost: {p}");
    }

    #[test]
    fn drift_moves_a_tone_by_the_ppm() {
        let fs = 48_000;
        let x = tone(1000.0, 1.0, fs, 192_000);
        let y = clock_drift(&x, 1000.0);
        assert!(
            (y.len() as f64 - 192_000.0 / 1.001).abs() < 3.0,
            "{}",
            y.len()
        );
        // Count zero crossings: 1001 Hz instead of 1000 Hz.
        let crossings = y[1000..190_000]
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        let freq = crossings as f64 * fs as f64 / 189_000.0;
        assert!((freq - 1001.0).abs() < 0.5, "{freq}");
    }

    #[test]
    fn convolution_with_a_delta_is_identity() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.1).sin()).collect();
        let y = convolve(&x, &[1.0]);
        assert!(x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-4));
    }

    #[test]
    fn room_impulse_keeps_energy_near_one() {
        let h = room_impulse(0.5, 48_000, 1);
        let e: f32 = h.iter().map(|v| v * v).sum();
        assert!((e - 1.0).abs() < 0.01, "{e}");
    }
}
