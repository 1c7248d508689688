//! Sample formats: `f32` (full scale ±1.0), `i16`, and `i32` holding 24-bit
//! samples right-justified (full scale ±2^23, as ALSA `S24_LE`, SAI FIFOs and
//! 24-bit WAV readers deliver them).

/// A PCM sample the engine can read and mark.
pub trait Sample: Copy {
    /// The mark in this format's own units, worked out once per frame and
    /// added to every marked channel.
    type Offset: Copy;

    /// The value as a fraction of full scale. Non-finite floats come back as
    /// they are; callers decide what to do with them.
    fn to_unit(self) -> f32;

    /// A fraction of full scale in this format: rounded to the nearest step
    /// and clamped to full scale; NaN becomes 0. The inverse of
    /// [`to_unit`](Sample::to_unit), exactly, for every integer sample.
    fn from_unit(unit: f32) -> Self;

    /// A mark (fraction of full scale) in this format's units.
    fn offset(mark: f32) -> Self::Offset;

    /// `self + offset`, with the offset cut back so the result never exceeds
    /// full scale. The programme itself is never changed: a sample already at
    /// or beyond full scale stays as it is.
    fn add_offset(self, offset: Self::Offset) -> Self;

    /// The sample's bits, for delay lines that must give it back exactly
    /// (NaN payloads included).
    fn to_bits(self) -> u32;

    /// The sample [`to_bits`](Sample::to_bits) gave.
    fn from_bits(bits: u32) -> Self;

    /// `self + mark` (mark as a fraction of full scale), as `add_offset`.
    #[inline]
    fn add_mark(self, mark: f32) -> Self {
        self.add_offset(Self::offset(mark))
    }

    /// The largest `to_unit(x).abs()` of `samples` (0 for none). Integer
    /// formats find it in their own units, converting once: the same value,
    /// at a third of the cost on Cortex-M.
    #[inline]
    fn peak(samples: &[Self]) -> f32 {
        samples
            .iter()
            .fold(0.0, |p, x| crate::math::max_f32(p, x.to_unit().abs()))
    }
}

/// The largest magnitude of integer samples, as a fraction of `full_scale`:
/// conversion to `f32` is monotonic, so this is the peak of their `to_unit`.
#[inline(always)]
fn integer_peak<T: Copy + Ord + Default>(
    samples: &[T],
    to_f32: impl Fn(T) -> f32,
    full_scale: f32,
) -> f32 {
    let (lo, hi) = samples
        .iter()
        .fold((T::default(), T::default()), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    crate::math::max_f32(-to_f32(lo), to_f32(hi)) * (1.0 / full_scale)
}

impl Sample for f32 {
    type Offset = f32;

    #[inline(always)]
    fn to_bits(self) -> u32 {
        f32::to_bits(self)
    }

    #[inline(always)]
    fn from_bits(bits: u32) -> f32 {
        f32::from_bits(bits)
    }

    #[inline(always)]
    fn to_unit(self) -> f32 {
        self
    }

    #[inline(always)]
    fn from_unit(unit: f32) -> f32 {
        unit
    }

    #[inline(always)]
    fn offset(mark: f32) -> f32 {
        mark
    }

    #[inline(always)]
    fn add_offset(self, mark: f32) -> f32 {
        if self.abs() <= 1.0 {
            (self + mark).clamp(-1.0, 1.0)
        } else {
            // Beyond full scale (or NaN): no room for the mark.
            self
        }
    }
}

impl Sample for i16 {
    #[inline(always)]
    fn to_bits(self) -> u32 {
        self as u16 as u32
    }

    #[inline(always)]
    fn from_bits(bits: u32) -> i16 {
        bits as u16 as i16
    }

    type Offset = i32;

    #[inline(always)]
    fn to_unit(self) -> f32 {
        self as f32 * (1.0 / 32_768.0)
    }

    #[inline]
    fn from_unit(unit: f32) -> i16 {
        integer_from_unit(unit, 32_768.0) as i16
    }

    #[inline(always)]
    fn offset(mark: f32) -> i32 {
        round_to_units(mark, 32_768.0)
    }

    #[inline]
    fn peak(samples: &[i16]) -> f32 {
        integer_peak(samples, f32::from, 32_768.0)
    }

    #[inline(always)]
    fn add_offset(self, d: i32) -> i16 {
        (self as i32)
            .saturating_add(d)
            .clamp(i16::MIN as i32, i16::MAX as i32) as i16
    }
}

/// Full scale of 24-bit samples in an `i32`.
pub const I24_FULL_SCALE: i32 = 1 << 23;

impl Sample for i32 {
    #[inline(always)]
    fn to_bits(self) -> u32 {
        self as u32
    }

    #[inline(always)]
    fn from_bits(bits: u32) -> i32 {
        bits as i32
    }

    type Offset = i32;

    #[inline(always)]
    fn to_unit(self) -> f32 {
        self as f32 * (1.0 / I24_FULL_SCALE as f32)
    }

    #[inline]
    fn from_unit(unit: f32) -> i32 {
        integer_from_unit(unit, I24_FULL_SCALE as f32)
    }

    #[inline(always)]
    fn offset(mark: f32) -> i32 {
        round_to_units(mark, I24_FULL_SCALE as f32)
    }

    #[inline]
    fn peak(samples: &[i32]) -> f32 {
        integer_peak(samples, |x| x as f32, I24_FULL_SCALE as f32)
    }

    #[inline(always)]
    fn add_offset(self, d: i32) -> i32 {
        let (min, max) = (-I24_FULL_SCALE, I24_FULL_SCALE - 1);
        if self < min || self > max {
            return self;
        }
        self.saturating_add(d).clamp(min, max)
    }
}

/// `unit · full_scale` rounded and clamped to `-full_scale ..= full_scale - 1`.
/// Rounds half away from zero, as `roundf` does, without its call: the
/// bounds are integers, so clamping first gives the same result, and below
/// 2^23 the fraction `x − trunc(x)` is exact (above, x is whole).
#[inline]
fn integer_from_unit(unit: f32, full_scale: f32) -> i32 {
    if unit.is_nan() {
        return 0;
    }
    let x = (unit * full_scale).clamp(-full_scale, full_scale - 1.0);
    let whole = x as i32;
    let frac = x - whole as f32;
    whole + (frac >= 0.5) as i32 - (frac <= -0.5) as i32
}

/// Round to nearest (ties to even) by adding and removing 1.5·2^23: exact
/// IEEE arithmetic, two instructions where a rounding branch costs more.
/// Marks are below 2^22 units in every format; `as` saturates beyond and
/// maps NaN to 0.
#[inline(always)]
fn round_to_units(mark: f32, full_scale: f32) -> i32 {
    const SHIFT: f32 = 12_582_912.0;
    ((mark * full_scale + SHIFT) - SHIFT) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow_peak<S: Sample>(samples: &[S]) -> f32 {
        samples
            .iter()
            .map(|x| x.to_unit().abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn integer_peaks_equal_the_peak_of_their_units() {
        let i16s: [&[i16]; 5] = [
            &[],
            &[0, 0],
            &[3, -7, 5],
            &[i16::MIN, 12],
            &[-1, i16::MAX, -i16::MAX],
        ];
        for s in i16s {
            assert_eq!(i16::peak(s), slow_peak(s), "{s:?}");
        }
        let i32s: [&[i32]; 4] = [
            &[1, -2, 3],
            &[-I24_FULL_SCALE, I24_FULL_SCALE - 1],
            &[i32::MIN, 5],
            &[i32::MAX, -(1 << 24) - 1],
        ];
        for s in i32s {
            assert_eq!(i32::peak(s), slow_peak(s), "{s:?}");
        }
        assert_eq!(f32::peak(&[0.25, -0.5, 0.125]), 0.5);
    }

    #[test]
    fn conversion_rounds_exactly_as_roundf_does() {
        let reference = |unit: f32, fs: f32| -> i32 {
            if unit.is_nan() {
                return 0;
            }
            libm::roundf(unit * fs).clamp(-fs, fs - 1.0) as i32
        };
        let mut x = -1.5f32;
        let mut checked = 0;
        while x < 1.5 {
            for fs in [32_768.0, I24_FULL_SCALE as f32] {
                // Halves, their neighbours and everything between.
                for v in [
                    x,
                    f32::from_bits(x.to_bits() + 1),
                    f32::from_bits(x.to_bits() - 1),
                ] {
                    assert_eq!(integer_from_unit(v, fs), reference(v, fs), "{v} at {fs}");
                    checked += 1;
                }
            }
            x += 0.5 / 32_768.0 * 0.731;
        }
        // Exact ties at 16 bits, beyond full scale too.
        for k in -40_000..40_000 {
            let v = (k as f32 + 0.5) / 32_768.0;
            assert_eq!(
                integer_from_unit(v, 32_768.0),
                reference(v, 32_768.0),
                "{v}"
            );
        }
        for v in [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e30,
            -1e30,
            0.5 / 32_768.0,
        ] {
            assert_eq!(
                integer_from_unit(v, 32_768.0),
                reference(v, 32_768.0),
                "{v}"
            );
        }
        assert!(checked > 100_000);
    }

    #[test]
    fn marks_never_push_past_full_scale() {
        assert_eq!(32_000i16.add_mark(0.1), i16::MAX);
        assert_eq!((-32_768i16).add_mark(-0.1), i16::MIN);
        assert_eq!(0i16.add_mark(0.001), 33);
        assert_eq!((I24_FULL_SCALE - 1).add_mark(0.5), I24_FULL_SCALE - 1);
        assert_eq!(0.99f32.add_mark(0.1), 1.0);
        assert_eq!((-0.99f32).add_mark(-0.1), -1.0);
    }

    #[test]
    fn out_of_range_programme_is_left_alone() {
        assert_eq!(1.5f32.add_mark(0.01), 1.5);
        assert!(f32::NAN.add_mark(0.01).is_nan());
        assert_eq!(f32::INFINITY.add_mark(0.01), f32::INFINITY);
        assert_eq!(i32::MAX.add_mark(0.01), i32::MAX);
        assert_eq!(0i16.add_mark(f32::NAN), 0);
    }

    #[test]
    fn unit_conversion_is_exact_at_full_scale() {
        assert_eq!(i16::MIN.to_unit(), -1.0);
        assert_eq!((-I24_FULL_SCALE).to_unit(), -1.0);
    }

    #[test]
    fn from_unit_inverts_to_unit_and_clamps() {
        for v in i16::MIN..=i16::MAX {
            assert_eq!(i16::from_unit(v.to_unit()), v);
        }
        for v in [
            -I24_FULL_SCALE,
            -12_345,
            0,
            1,
            4_000_000,
            I24_FULL_SCALE - 1,
        ] {
            assert_eq!(i32::from_unit(v.to_unit()), v);
        }
        assert_eq!(i16::from_unit(1.0), i16::MAX);
        assert_eq!(i16::from_unit(-7.0), i16::MIN);
        assert_eq!(i16::from_unit(f32::NAN), 0);
        assert_eq!(i32::from_unit(f32::INFINITY), I24_FULL_SCALE - 1);
        assert_eq!(i16::from_unit(0.5 / 32_768.0 + 1e-7), 1);
        assert_eq!(f32::from_unit(0.25), 0.25);
    }
}
