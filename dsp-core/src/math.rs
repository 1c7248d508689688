//! Deterministic arithmetic shared by the embedder and the detector.
//!
//! Phases are `u32` fractions of a turn (2^32 = 2π), so they wrap exactly and a
//! phase at sample `n` is `n * increment` in wrapping arithmetic: seeking costs
//! nothing and no error accumulates. Sines come from a fixed polynomial built
//! only from `+` and `*`, never from a platform libm, so a Cortex-M and an x86
//! host produce the same bits for the same input.

use core::ops::{Add, AddAssign, Mul, Sub};

/// 2^32 / 2π: radians to `u32` turns.
pub(crate) const TURNS_PER_RADIAN: f32 = 683_565_275.576_431_6;

/// Sine of a phase given in `u32` turns.
#[inline(always)]
pub(crate) fn sin_turns(phase: u32) -> f32 {
    // Fold [-π, π) onto [-π/2, π/2] with sin(π - x) = sin(x), all in i32:
    // 2^31 - q wraps to the right value on both sides, and i32 → f32 is one
    // instruction on Cortex-M (i64 → f32 is a library call).
    const HALF_PI: i32 = 1 << 30;
    let q = phase as i32;
    let folded = if !(-HALF_PI..=HALF_PI).contains(&q) {
        0x8000_0000u32.wrapping_sub(phase) as i32
    } else {
        q
    };
    sin_poly(folded as f32 * (core::f32::consts::PI / 2_147_483_648.0))
}

/// Cosine of a phase given in `u32` turns.
#[inline]
pub(crate) fn cos_turns(phase: u32) -> f32 {
    sin_turns(phase.wrapping_add(1 << 30))
}

/// Odd Taylor polynomial of degree 11: error below 6e-8 on [-π/2, π/2].
#[inline(always)]
fn sin_poly(x: f32) -> f32 {
    let x2 = x * x;
    let p = -2.505_210_8e-8_f32;
    let p = p * x2 + 2.755_731_9e-6;
    let p = p * x2 - 1.984_127e-4;
    let p = p * x2 + 8.333_333e-3;
    let p = p * x2 - 1.666_666_7e-1;
    x + x * x2 * p
}

/// Radians (any finite value of moderate size) to wrapping `u32` turns.
#[inline]
pub(crate) fn radians_to_turns(rad: f32) -> u32 {
    // Callers keep |rad| below 2^31 / TURNS_PER_RADIAN ≈ 3.1; fold larger values.
    let folded = rad - libm::roundf(rad * (1.0 / core::f32::consts::TAU)) * core::f32::consts::TAU;
    (folded * TURNS_PER_RADIAN) as i32 as u32
}

/// The larger of two numbers that are never NaN. `f32::max` is a library
/// call on Cortex-M4/M7 (no `vmaxnm` before Armv8); this is a compare.
#[inline(always)]
pub(crate) fn max_f32(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// The smaller of two numbers that are never NaN (see [`max_f32`]).
#[inline(always)]
pub(crate) fn min_f32(a: f32, b: f32) -> f32 {
    if a < b {
        a
    } else {
        b
    }
}

/// ⌊x⌋ for |x| < 2^31, without a library call.
#[inline(always)]
pub(crate) fn floor_i32(x: f32) -> i32 {
    let t = x as i32;
    t - ((t as f32) > x) as i32
}

/// Amplitude ratio of a level in dB.
pub(crate) fn db_to_amplitude(db: f32) -> f32 {
    libm::powf(10.0, db / 20.0)
}

/// Power ratio to dB, with a floor so silence gives a finite number.
pub(crate) fn power_to_db(power: f32) -> f32 {
    10.0 * libm::log10f(power.max(1e-30))
}

/// A complex number with `f32` parts; just what the detector needs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Complex {
    pub re: f32,
    pub im: f32,
}

impl Complex {
    pub const ZERO: Complex = Complex { re: 0.0, im: 0.0 };

    #[inline]
    pub const fn new(re: f32, im: f32) -> Self {
        Complex { re, im }
    }

    /// e^{jθ} for a phase in `u32` turns.
    #[inline]
    pub fn from_turns(phase: u32) -> Self {
        Complex::new(cos_turns(phase), sin_turns(phase))
    }

    /// e^{jθ} for a phase in radians.
    #[inline]
    pub fn from_radians(rad: f32) -> Self {
        Complex::from_turns(radians_to_turns(rad))
    }

    #[inline]
    pub fn norm_sqr(self) -> f32 {
        self.re * self.re + self.im * self.im
    }

    #[inline]
    pub fn scale(self, k: f32) -> Self {
        Complex::new(self.re * k, self.im * k)
    }

    /// Argument in radians.
    pub fn arg(self) -> f32 {
        libm::atan2f(self.im, self.re)
    }

    /// Multiplication by j^k.
    #[inline]
    pub fn mul_j_pow(self, k: usize) -> Self {
        match k & 3 {
            0 => self,
            1 => Complex::new(-self.im, self.re),
            2 => Complex::new(-self.re, -self.im),
            _ => Complex::new(self.im, -self.re),
        }
    }
}

impl Add for Complex {
    type Output = Complex;
    #[inline]
    fn add(self, o: Complex) -> Complex {
        Complex::new(self.re + o.re, self.im + o.im)
    }
}

impl Sub for Complex {
    type Output = Complex;
    #[inline]
    fn sub(self, o: Complex) -> Complex {
        Complex::new(self.re - o.re, self.im - o.im)
    }
}

impl AddAssign for Complex {
    #[inline]
    fn add_assign(&mut self, o: Complex) {
        self.re += o.re;
        self.im += o.im;
    }
}

impl Mul for Complex {
    type Output = Complex;
    #[inline]
    fn mul(self, o: Complex) -> Complex {
        Complex::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
}

/// Modified Bessel function of the first kind, order 0 (Kaiser window).
pub(crate) fn bessel_i0(x: f32) -> f32 {
    let mut sum = 1.0f32;
    let mut term = 1.0f32;
    let half = x * 0.5;
    let mut k = 1.0f32;
    while k < 64.0 {
        term *= (half / k) * (half / k);
        sum += term;
        if term < sum * 1e-9 {
            break;
        }
        k += 1.0;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_matches_libm_over_a_turn() {
        let mut worst = 0.0f32;
        for i in 0..=65_536u64 {
            let phase = (i * (1u64 << 16)) as u32;
            let rad = phase as f64 * core::f64::consts::TAU / 4_294_967_296.0;
            let exact = libm::sin(rad) as f32;
            worst = worst.max((sin_turns(phase) - exact).abs());
            let exact_cos = libm::cos(rad) as f32;
            worst = worst.max((cos_turns(phase) - exact_cos).abs());
        }
        assert!(worst < 3e-7, "worst error {worst}");
    }

    #[test]
    fn radians_round_trip_through_turns() {
        for &rad in &[0.0f32, 0.5, -0.5, 3.0, -3.0, 6.0, -6.0, 12.5] {
            let back = Complex::from_radians(rad);
            assert!((back.re - libm::cosf(rad)).abs() < 1e-5);
            assert!((back.im - libm::sinf(rad)).abs() < 1e-5);
        }
    }

    #[test]
    fn bessel_matches_known_values() {
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-6);
        assert!((bessel_i0(1.0) - 1.266_066).abs() < 1e-5);
        assert!((bessel_i0(8.0) - 427.564_12).abs() < 1e-2);
    }
}
