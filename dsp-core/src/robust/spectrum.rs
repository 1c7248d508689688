//! Transforms and small deterministic math for the robust layer: the
//! analysis/synthesis window, 512-point FFTs (microfft, radix 2, tables in
//! flash), phase quantisation and a fast `log2`. Everything is plain `f32`
//! `+ − × ÷` in a fixed order, so a Cortex-M and an x86 host compute the
//! same bits.

use microfft::Complex32;

use super::FRAME;

/// Periodic sqrt-Hann window: analysis and synthesis. Their product, the
/// periodic Hann window, overlap-adds to exactly 1 at hop `FRAME / 2`.
pub(crate) static WINDOW: [f32; FRAME] = window();

const fn window() -> [f32; FRAME] {
    let mut w = [0.0f32; FRAME];
    let mut n = 0;
    while n < FRAME {
        // sin(π n / N) is sqrt(0.5 − 0.5 cos(2π n / N)).
        w[n] = const_sin_turns(n as f32 / (2 * FRAME) as f32);
        n += 1;
    }
    w
}

/// Bin `k` of two real frames transformed at once (the first as the real
/// part, the second as the imaginary part of one FFT):
/// X = (Z_k + conj Z_{N−k}) / 2, Y = (Z_k − conj Z_{N−k}) / 2j.
#[inline]
pub(crate) fn unpack_pair(z: &[Complex32; FRAME], k: usize) -> (Complex32, Complex32) {
    let a = z[k];
    let b = z[(FRAME - k) % FRAME].conj();
    (
        Complex32::new(0.5 * (a.re + b.re), 0.5 * (a.im + b.im)),
        Complex32::new(0.5 * (a.im - b.im), -0.5 * (a.re - b.re)),
    )
}

/// cos and sin of `p / 256` turns.
pub(crate) static UNIT: [(f32, f32); 256] = unit_circle();

const fn unit_circle() -> [(f32, f32); 256] {
    let mut t = [(0.0f32, 0.0f32); 256];
    let mut p = 0;
    while p < 256 {
        let turns = p as f32 / 256.0;
        t[p] = (const_sin_turns(turns + 0.25), const_sin_turns(turns));
        p += 1;
    }
    t
}

/// sin(2π·x) for finite x of moderate size, by folding onto [−1/4, 1/4]
/// and an odd polynomial (error below 1e-7); usable in `const` contexts.
pub(crate) const fn const_sin_turns(x: f32) -> f32 {
    let whole = x as i32 as f32;
    let mut t = x - whole; // (−1, 1)
    if t < 0.0 {
        t += 1.0; // [0, 1)
    }
    if t > 0.75 {
        t -= 1.0;
    } else if t > 0.25 {
        t = 0.5 - t;
    }
    let r = t * core::f32::consts::TAU;
    let r2 = r * r;
    let p = -2.505_210_8e-8_f32;
    let p = p * r2 + 2.755_731_9e-6;
    let p = p * r2 - 1.984_127e-4;
    let p = p * r2 + 8.333_333e-3;
    let p = p * r2 - 1.666_666_7e-1;
    r + r * r2 * p
}

/// In-place forward 512-point complex FFT (X_k = Σ x_n e^{−j2πnk/N}).
#[inline]
pub(crate) fn fft(x: &mut [Complex32; FRAME]) {
    let _ = microfft::complex::cfft_512(x);
}

/// In-place unnormalised inverse FFT (x_n = Σ X_k e^{+j2πnk/N}), by
/// conjugation around the forward transform (no division per element).
#[inline]
pub(crate) fn ifft_unscaled(x: &mut [Complex32; FRAME]) {
    for v in x.iter_mut() {
        v.im = -v.im;
    }
    fft(x);
    for v in x.iter_mut() {
        v.im = -v.im;
    }
}

/// atan2(y, x) in turns, in [0, 1).
#[inline]
pub(crate) fn atan2_turns(y: f32, x: f32) -> f32 {
    let (ax, ay) = (x.abs(), y.abs());
    let (num, den, swap) = if ay > ax {
        (ax, ay, true)
    } else {
        (ay, ax, false)
    };
    if den <= 0.0 || den.is_nan() {
        return 0.0;
    }
    let r = num / den; // [0, 1]
                       // atan(r) ≈ r·(π/4 + 0.2732·(1 − r)) (max error 0.0038 rad), in turns.
    let mut a = r * (0.125 + 0.043_48 * (1.0 - r));
    if swap {
        a = 0.25 - a;
    }
    if x < 0.0 {
        a = 0.5 - a;
    }
    if y < 0.0 {
        a = 1.0 - a;
    }
    if a >= 1.0 {
        a -= 1.0;
    }
    a
}

/// log2(x) for finite x > 0 (error below 0.005), from the exponent bits
/// and a quadratic in the mantissa; 0 and below give −126.
#[inline]
pub(crate) fn log2_fast(x: f32) -> f32 {
    if x.is_nan() || x <= 1.2e-38 {
        return -126.0;
    }
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xFF) as i32 - 127;
    let m = f32::from_bits((bits & 0x007F_FFFF) | 0x3F80_0000); // [1, 2)
    exponent as f32 + (-0.344_845 * m + 2.024_658) * m - 1.674_873
}

/// 2^x for x in about [−126, 127] (relative error below 0.4 %).
#[inline]
pub(crate) fn exp2_fast(x: f32) -> f32 {
    let x = x.clamp(-126.0, 127.0);
    let floor = crate::math::floor_i32(x);
    let f = x - floor as f32;
    // 2^f on [0, 1): quadratic fit.
    let p = (0.343_146 * f + 0.656_854) * f + 1.0;
    f32::from_bits(((floor + 127) as u32) << 23) * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_sqrt_hann_and_its_square_overlap_adds_to_one() {
        for n in 0..FRAME / 2 {
            let a = WINDOW[n] * WINDOW[n] + WINDOW[n + FRAME / 2] * WINDOW[n + FRAME / 2];
            assert!((a - 1.0).abs() < 1e-6, "n {n}: {a}");
        }
        assert_eq!(WINDOW[0], 0.0);
        assert!((WINDOW[FRAME / 2] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn fft_pair_round_trips() {
        let mut x = [Complex32::new(0.0, 0.0); FRAME];
        for (n, v) in x.iter_mut().enumerate() {
            *v = Complex32::new((n as f32 * 0.37).sin(), (n as f32 * 0.11).cos());
        }
        let orig = x;
        fft(&mut x);
        ifft_unscaled(&mut x);
        for (a, b) in x.iter().zip(orig.iter()) {
            assert!((a.re / FRAME as f32 - b.re).abs() < 1e-4);
            assert!((a.im / FRAME as f32 - b.im).abs() < 1e-4);
        }
    }

    #[test]
    fn phases_and_logs_are_close_to_libm() {
        for i in 0..720 {
            let rad = i as f32 * core::f32::consts::PI / 360.0;
            let (s, c) = (libm::sinf(rad), libm::cosf(rad));
            let t = atan2_turns(s * 3.0, c * 3.0);
            let want = rad / core::f32::consts::TAU;
            let err = (t - want + 0.5).rem_euclid(1.0) - 0.5;
            assert!(err.abs() < 0.3 / 360.0, "angle {i}/2 deg: {t} vs {want}");
            let u = UNIT[(i * 256 / 720) % 256];
            let r = (i * 256 / 720) as f32 / 256.0 * core::f32::consts::TAU;
            assert!((u.0 - libm::cosf(r)).abs() < 1e-6 && (u.1 - libm::sinf(r)).abs() < 1e-6);
        }
        assert_eq!(atan2_turns(0.0, 0.0), 0.0);
        assert!((atan2_turns(-1e-9, -1.0) - 0.5).abs() < 1e-6);
        for x in [1e-30f32, 1e-3, 0.7, 1.0, 3.0, 1e6, 3.4e38] {
            assert!((log2_fast(x) - libm::log2f(x)).abs() < 0.005, "log2 {x}");
        }
        for x in [-100.0f32, -3.3, 0.0, 0.5, 7.9, 100.0] {
            let r = exp2_fast(x) / libm::exp2f(x);
            assert!((r - 1.0).abs() < 0.004, "exp2 {x}: {r}");
        }
        assert_eq!(log2_fast(0.0), -126.0);
        assert_eq!(log2_fast(f32::NAN), -126.0);
    }
}
