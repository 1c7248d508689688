//! Which sample rate the engine runs at for a given input.
//!
//! The ultrasonic layer runs at 44.1, 48, 88.2 and 96 kHz; the robust layer
//! at 48 kHz only. Audio at a rate the profile runs at is processed as it
//! is. Other rates high enough for the profile are resampled (rubato): to
//! the nearest engine rate that fits, or to 48 kHz for the robust layer,
//! and the user is told. Rates below what the profile needs cannot carry
//! the band at all: that is an error naming the rate needed.

use anyhow::{bail, Result};
use dsp_core::config::SAMPLE_RATES;
use dsp_core::{robust, Layer, Phy, Profile};

/// Lowest rate that holds the robust band (344 Hz-7 kHz) below its Nyquist
/// frequency, with room for the resampler's transition.
pub const ROBUST_MIN_RATE: u32 = 16_000;
/// Top of the robust band, Hz.
pub const ROBUST_HIGH_HZ: f64 = 7_000.0;

/// Highest input rate taken: eight times the engine's top rate (768 kHz).
/// Beyond that a header is wrong, not the audio, and resampling it would
/// only waste memory.
pub const MAX_RATE: u32 = 8 * SAMPLE_RATES[SAMPLE_RATES.len() - 1];

/// Lowest input rate any profile can use (the robust layer's).
pub const MIN_RATE: u32 = ROBUST_MIN_RATE;

/// Refuse a sample rate no profile could ever use, naming the range.
pub fn check_rate(rate: u32) -> Result<()> {
    if rate == 0 || rate > MAX_RATE {
        bail!("sample rate {rate} Hz is out of range: hushmark takes {MIN_RATE} to {MAX_RATE} Hz");
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatePlan {
    /// The engine runs at the input's own rate.
    Direct(u32),
    /// The input must be resampled to `to`.
    Resample { from: u32, to: u32 },
}

impl RatePlan {
    pub fn engine_rate(self) -> u32 {
        match self {
            RatePlan::Direct(r) => r,
            RatePlan::Resample { to, .. } => to,
        }
    }
}

pub fn plan(profile: Profile, rate: u32) -> Result<RatePlan> {
    if rate == 0 {
        bail!("the audio has no sample rate");
    }
    check_rate(rate)?;
    if profile.layer() == Layer::Robust {
        return robust_plan(rate);
    }
    let min = profile.min_sample_rate();
    if rate < min {
        let phy = Phy::new(profile, min)?;
        let why = if (rate as f64 / 2.0) < phy.band.high_hz as f64 {
            format!(
                " (the mark reaches {:.1} kHz; {rate} Hz audio holds nothing above {:.2} kHz)",
                phy.band.high_hz as f64 / 1000.0,
                rate as f64 / 2000.0
            )
        } else {
            String::new()
        };
        bail!("sample rate {rate} Hz is too low for profile {profile}: it needs at least {min} Hz{why}");
    }
    if SAMPLE_RATES.contains(&rate) {
        return Ok(RatePlan::Direct(rate));
    }
    let to = SAMPLE_RATES
        .iter()
        .copied()
        .filter(|&r| r >= min)
        .min_by_key(|&r| (r as i64 - rate as i64).unsigned_abs())
        .expect("some engine rate fits every profile");
    Ok(RatePlan::Resample { from: rate, to })
}

fn robust_plan(rate: u32) -> Result<RatePlan> {
    let to = robust::STREAM_RATE;
    if rate < ROBUST_MIN_RATE {
        bail!(
            "sample rate {rate} Hz is too low for profile robust: it needs at least \
             {ROBUST_MIN_RATE} Hz (the mark reaches {:.1} kHz; {rate} Hz audio holds nothing above {:.2} kHz)",
            ROBUST_HIGH_HZ / 1000.0,
            rate as f64 / 2000.0
        );
    }
    Ok(if rate == to {
        RatePlan::Direct(rate)
    } else {
        RatePlan::Resample { from: rate, to }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_rates_run_directly() {
        assert_eq!(
            plan(Profile::Ultrasonic, 44_100).unwrap(),
            RatePlan::Direct(44_100)
        );
        assert_eq!(
            plan(Profile::UltrasonicWide, 96_000).unwrap(),
            RatePlan::Direct(96_000)
        );
    }

    #[test]
    fn other_rates_go_to_the_nearest_that_fits() {
        let r = |p, f| plan(p, f).unwrap().engine_rate();
        assert_eq!(r(Profile::Ultrasonic, 192_000), 96_000);
        assert_eq!(r(Profile::Ultrasonic, 50_000), 48_000);
        assert_eq!(r(Profile::Ultrasonic, 46_000), 44_100);
        assert_eq!(r(Profile::UltrasonicWide, 70_000), 88_200);
        assert_eq!(r(Profile::NearUltrasonic, 64_000), 48_000);
    }

    #[test]
    fn the_robust_layer_runs_at_48k_from_any_rate_that_holds_its_band() {
        assert_eq!(
            plan(Profile::Robust, 48_000).unwrap(),
            RatePlan::Direct(48_000)
        );
        for rate in [16_000, 44_100, 88_200, 96_000, 192_000] {
            assert_eq!(
                plan(Profile::Robust, rate).unwrap(),
                RatePlan::Resample {
                    from: rate,
                    to: 48_000
                }
            );
        }
        let e = plan(Profile::Robust, 8_000).unwrap_err().to_string();
        assert!(e.contains("at least 16000 Hz"), "{e}");
    }

    #[test]
    fn low_rates_name_the_rate_needed() {
        let e = plan(Profile::Ultrasonic, 22_050).unwrap_err().to_string();
        assert!(e.contains("at least 44100 Hz"), "{e}");
        let e = plan(Profile::UltrasonicWide, 44_100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 48000 Hz"), "{e}");
    }
}
