//! 48 kHz ↔ 16 kHz: two linear-phase Kaiser low-passes, built at compile
//! time with the same deterministic arithmetic everywhere.
//!
//! * **Interpolation** (the mark out, 16 → 48 kHz): 97 taps, β = 5.65,
//!   cut-off 8 kHz: flat to the mark's top edge (7 kHz) and 57 dB down
//!   from 9 kHz, where the first image of a 7 kHz mark component lands.
//! * **Decimation** (the programme in, for the masking model, the embedder's
//!   ISS and the detector): 49 taps, cut-off 8.5 kHz: flat to 7 kHz; what
//!   it lets alias (content above ~10 kHz folding below 6 kHz, 40 dB down
//!   or more) is the same for embedder and detector, so ISS still cancels it.
//!
//! Both lengths are odd with a delay that is a whole number of 16 kHz
//! samples (48 and 24 stream samples), which keeps every frame of the mark
//! on the 48 kHz sample grid.

use super::spectrum::const_sin_turns;

/// Stream samples per mark sample.
pub(crate) const RATIO: usize = 3;
/// Interpolation filter length and delay (stream samples).
pub(crate) const TAPS: usize = 97;
pub(crate) const DELAY: usize = TAPS / 2;
/// Decimation filter length and delay (stream samples).
pub(crate) const ANALYSIS_TAPS: usize = 49;
pub(crate) const ANALYSIS_DELAY: usize = ANALYSIS_TAPS / 2;
const _: () = assert!(DELAY % RATIO == 0 && ANALYSIS_DELAY % RATIO == 0);

/// Decimation taps (unit DC gain).
pub(crate) static ANALYSIS: [f32; ANALYSIS_TAPS] = kaiser(9.0 / 48.0);

/// Taps per decimation phase.
pub(crate) const DECIMATION_TAPS: usize = ANALYSIS_TAPS.div_ceil(RATIO);
/// The decimator split by input phase: output n = Σ_r Σ_j
/// `DECIMATION[r][j]`·x[3(n + j) + r], x from the oldest tap. Missing taps
/// of the shorter phases are zero.
pub(crate) static DECIMATION: [[f32; DECIMATION_TAPS]; RATIO] = decimation_phases();

const fn decimation_phases() -> [[f32; DECIMATION_TAPS]; RATIO] {
    let mut out = [[0.0f32; DECIMATION_TAPS]; RATIO];
    let mut i = 0;
    while i < ANALYSIS_TAPS {
        out[i % RATIO][i / RATIO] = ANALYSIS[i];
        i += 1;
    }
    out
}

/// Taps per interpolation phase.
pub(crate) const PHASE_TAPS: usize = TAPS.div_ceil(RATIO);
/// The interpolator split by output phase p = (n + delay) mod 3 and
/// reversed, ×3: output = dot(POLYPHASE[p], the 33 mark samples ending with
/// the newest), oldest first. Missing taps of the shorter phases are zero.
pub(crate) static POLYPHASE: [[f32; PHASE_TAPS]; RATIO] = polyphase();

const fn polyphase() -> [[f32; PHASE_TAPS]; RATIO] {
    let mut out = [[0.0f32; PHASE_TAPS]; RATIO];
    let mut p = 0;
    while p < RATIO {
        // Tap i = p + 3j reads the mark sample j steps before the newest.
        let mut j = 0;
        while j < PHASE_TAPS {
            let i = p + RATIO * j;
            if i < TAPS {
                out[p][PHASE_TAPS - 1 - j] = LOWPASS_TAPS[i] * RATIO as f32;
            }
            j += 1;
        }
        p += 1;
    }
    out
}

/// Interpolation taps (unit DC gain; applied ×3 to the zero-stuffed mark).
const LOWPASS_TAPS: [f32; TAPS] = kaiser(1.0 / 6.0);

/// Kaiser-windowed sinc with cut-off `cutoff` cycles per sample.
const fn kaiser<const TAPS: usize>(cutoff: f32) -> [f32; TAPS] {
    const BETA: f32 = 5.65;
    let delay = TAPS / 2;
    let mut h = [0.0f32; TAPS];
    let mut sum = 0.0f32;
    let norm = bessel_i0(BETA);
    let mut i = 0;
    while i < TAPS {
        let t = i as f32 - delay as f32;
        let sinc = if i == delay {
            2.0 * cutoff
        } else {
            const_sin_turns(cutoff * t) / (core::f32::consts::PI * t)
        };
        let r = t / delay as f32;
        let window = bessel_i0(BETA * const_sqrt(1.0 - r * r)) / norm;
        h[i] = sinc * window;
        sum += h[i];
        i += 1;
    }
    let mut i = 0;
    while i < TAPS {
        h[i] /= sum;
        i += 1;
    }
    h
}

/// Modified Bessel function I0 by its series (const).
const fn bessel_i0(x: f32) -> f32 {
    let mut sum = 1.0f32;
    let mut term = 1.0f32;
    let half = x * 0.5;
    let mut k = 1.0f32;
    while k < 40.0 {
        term *= (half / k) * (half / k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// FIR outputs `out[k] = Σ h[i]·x[k + i]` (`out.len()` a multiple of 4),
/// each summed from 0 in tap order, so every target gets the same bits:
/// where there are vector units the taps run across a row of outputs,
/// elsewhere (Cortex-M) four outputs at a time slide through registers.
#[inline]
pub(crate) fn fir<const N: usize>(h: &[f32; N], x: &[f32], out: &mut [f32]) {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fir_rows(h, x, out);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    for (k, o) in out.chunks_exact_mut(4).enumerate() {
        fir4(h, &x[4 * k..], o);
    }
}

/// [`fir`] one tap at a time across all outputs (vectorises).
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code)
)]
#[inline(always)]
pub(crate) fn fir_rows<const N: usize>(h: &[f32; N], x: &[f32], out: &mut [f32]) {
    let m = out.len();
    out.fill(0.0);
    for (i, &hi) in h.iter().enumerate() {
        for (a, &v) in out.iter_mut().zip(&x[i..i + m]) {
            *a += hi * v;
        }
    }
}

/// Four outputs of an FIR: `out[k] = Σ h[i]·x[k + i]`, each summed from
/// 0 in tap order (the same bits as one output at a time). The window of
/// `x` slides through registers, so each tap costs one load of `x`, one of
/// `h` and four multiply-adds.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
#[inline(always)]
pub(crate) fn fir4<const N: usize>(h: &[f32; N], x: &[f32], out: &mut [f32]) {
    let x = &x[..N + 3];
    let (mut a0, mut a1, mut a2, mut a3) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    let (mut x0, mut x1, mut x2) = (x[0], x[1], x[2]);
    for i in 0..N {
        let x3 = x[i + 3];
        let hi = h[i];
        a0 += hi * x0;
        a1 += hi * x1;
        a2 += hi * x2;
        a3 += hi * x3;
        (x0, x1, x2) = (x1, x2, x3);
    }
    out[..4].copy_from_slice(&[a0, a1, a2, a3]);
}

/// Σ h[i]·x[i] with four interleaved partial sums: a fixed order of
/// operations (the same bits on every target) that compilers can still
/// vectorise.
#[inline]
pub(crate) fn dot(h: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let (hc, xc) = (h.chunks_exact(4), x.chunks_exact(4));
    let (hr, xr) = (hc.remainder(), xc.remainder());
    for (a, b) in hc.zip(xc) {
        for j in 0..4 {
            acc[j] += a[j] * b[j];
        }
    }
    let mut tail = 0.0f32;
    for (a, b) in hr.iter().zip(xr) {
        tail += a * b;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Square root by Newton's method (const; inputs in [0, 1]).
const fn const_sqrt(x: f32) -> f32 {
    if x <= 0.0 {
        return 0.0;
    }
    let mut y = if x > 0.25 { x } else { 0.5 };
    let mut i = 0;
    while i < 30 {
        y = 0.5 * (y + x / y);
        i += 1;
    }
    y
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn both_fir_forms_give_the_same_bits() {
        // The host (rows) and Cortex-M (four at a time) must agree exactly.
        let mut seed = 7u32;
        let x: std::vec::Vec<f32> = (0..200)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
            })
            .collect();
        for taps in [&POLYPHASE[0], &POLYPHASE[1], &POLYPHASE[2]] {
            let (mut rows, mut fours) = ([0.0f32; 64], [0.0f32; 64]);
            fir_rows(taps, &x, &mut rows);
            for (k, o) in fours.chunks_exact_mut(4).enumerate() {
                fir4(taps, &x[4 * k..], o);
            }
            assert_eq!(rows.map(f32::to_bits), fours.map(f32::to_bits));
            assert!(rows.iter().any(|v| *v != 0.0));
        }
    }

    fn response_db(f_hz: f32) -> f32 {
        response(&LOWPASS_TAPS, f_hz)
    }

    fn response(taps: &[f32], f_hz: f32) -> f32 {
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, h) in taps.iter().enumerate() {
            let w = std::f64::consts::TAU * f_hz as f64 / 48_000.0 * i as f64;
            re += *h as f64 * w.cos();
            im -= *h as f64 * w.sin();
        }
        (10.0 * (re * re + im * im).log10()) as f32
    }

    #[test]
    fn passes_the_mark_band_and_stops_its_images() {
        for f in [300.0, 1000.0, 4000.0, 7000.0] {
            assert!(response_db(f).abs() < 0.1, "{f} Hz: {} dB", response_db(f));
        }
        for f in [9000.0, 9500.0, 12_000.0, 16_000.0, 23_000.0] {
            assert!(response_db(f) < -55.0, "{f} Hz: {} dB", response_db(f));
        }
        assert!(
            (LOWPASS_TAPS[DELAY - 5] - LOWPASS_TAPS[DELAY + 5]).abs() < 1e-9,
            "linear phase"
        );
        for f in [300.0, 4000.0, 7000.0] {
            assert!(response(&ANALYSIS, f).abs() < 0.1, "analysis {f} Hz");
        }
        for f in [12_000.0, 16_000.0, 22_000.0] {
            assert!(
                response(&ANALYSIS, f) < -45.0,
                "analysis {f} Hz: {}",
                response(&ANALYSIS, f)
            );
        }
    }
}
