//! Channel impairments: what happens to a marked signal on its way to a
//! monitor. All take and return mono `f32` at a given rate.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_power_of_a_tone_is_half_its_square_amplitude() {
        let fs = 48_000;
        let x: Vec<f32> = (0..96_000)
            .map(|i| 0.5 * (std::f32::consts::TAU * 1000.0 * i as f32 / fs as f32).sin())
            .collect();
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
        let fs = 48_000.0;
        let x: Vec<f32> = (0..96_000)
            .map(|i| 0.5 * (std::f32::consts::TAU * 20_500.0 * i as f32 / fs).sin())
            .collect();
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
        let x: Vec<f32> = (0..192_000)
            .map(|i| (std::f32::consts::TAU * 1000.0 * i as f32 / fs as f32).sin())
            .collect();
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
}
