//! Error types. Each variant says what was wrong and carries the numbers
//! (expected against actual) a caller needs to fix it; messages are built
//! from the limits in [`config`](crate::config), never restated.

use core::fmt;

use crate::config::{
    Id, Profile, MAX_CHANNELS, MAX_INTERVAL_MS, MAX_LEVEL_DBFS, MAX_SYNC_THRESHOLD,
    MIN_INTERVAL_MS, MIN_LEVEL_DBFS, MIN_SYNC_THRESHOLD, SAMPLE_RATES,
};

/// A configuration the engine cannot run with.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigError {
    /// Only the rates in [`SAMPLE_RATES`] are supported.
    UnsupportedSampleRate {
        /// The rate asked for, Hz.
        rate: u32,
    },
    /// The profile's band does not fit below this rate's Nyquist frequency.
    RateTooLowForProfile {
        /// The profile asked for.
        profile: Profile,
        /// The rate asked for, Hz.
        rate: u32,
        /// The lowest supported rate that carries the profile, Hz.
        min_rate: u32,
    },
    /// 1 to [`MAX_CHANNELS`] channels are supported.
    ChannelCount {
        /// The channel count asked for.
        channels: u16,
    },
    /// The channel mask selects no channel, or one the stream does not have.
    ChannelMask {
        /// The mask asked for.
        mask: u8,
        /// Channels the stream has.
        channels: u16,
    },
    /// IDs are 1 to [`Id::MAX_LEN`] bytes.
    IdLength {
        /// The length given, bytes.
        len: usize,
    },
    /// The level must lie in `MIN_LEVEL_DBFS..=MAX_LEVEL_DBFS`.
    Level {
        /// The level asked for.
        dbfs: f32,
    },
    /// The interval must lie in `MIN_INTERVAL_MS..=MAX_INTERVAL_MS`.
    Interval {
        /// The interval asked for.
        ms: u32,
    },
    /// The interval must leave room for a whole burst.
    IntervalShorterThanBurst {
        /// The interval asked for.
        interval_ms: u32,
        /// The burst the ID needs in this profile.
        burst_ms: u32,
    },
    /// The start offset must lie in `0..=MAX_INTERVAL_MS`.
    Offset {
        /// The offset asked for.
        ms: u32,
    },
    /// The sync threshold must be finite and within
    /// `MIN_SYNC_THRESHOLD..=MAX_SYNC_THRESHOLD`.
    SyncThreshold {
        /// The threshold asked for.
        value: f32,
    },
    /// A configuration needs at least one profile.
    NoProfile,
    /// One embedder or detector runs one ultrasonic band.
    TwoBands {
        /// One band asked for.
        a: Profile,
        /// The other.
        b: Profile,
    },
    /// The profile is not an ultrasonic band (it has no [`Phy`](crate::Phy)).
    NotUltrasonic {
        /// The profile asked for.
        profile: Profile,
    },
    /// The robust mark-to-mask ratio must lie in
    /// `MIN_MMR_DB..=MAX_MMR_DB` (see [`robust`](crate::robust)).
    RobustStrength {
        /// The ratio asked for, dB.
        mmr_db: f32,
    },
    /// The robust embedder marks mono or stereo streams.
    RobustChannels {
        /// Channels asked for.
        channels: u16,
    },
    /// `set_config` cannot change the stream format (rate or channel count)
    /// under a running embedder: the caller's buffers change with it.
    StreamFormatChange {
        /// Rate in force, Hz.
        from_rate: u32,
        /// Rate asked for, Hz.
        to_rate: u32,
        /// Channels in force.
        from_channels: u16,
        /// Channels asked for.
        to_channels: u16,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::UnsupportedSampleRate { rate } => {
                write!(f, "sample rate {rate} Hz is not supported (use ")?;
                for (i, r) in SAMPLE_RATES.iter().enumerate() {
                    let sep = match i {
                        0 => "",
                        i if i + 1 == SAMPLE_RATES.len() => " or ",
                        _ => ", ",
                    };
                    write!(f, "{sep}{r}")?;
                }
                f.write_str(")")
            }
            ConfigError::RateTooLowForProfile {
                profile,
                rate,
                min_rate,
            } => {
                if profile.layer() == crate::config::Layer::Robust {
                    write!(
                        f,
                        "profile robust runs at {min_rate} Hz, got {rate} Hz (resample first)"
                    )
                } else {
                    write!(
                        f,
                        "profile {} needs a sample rate of at least {min_rate} Hz, got {rate} Hz",
                        profile.name()
                    )
                }
            }
            ConfigError::ChannelCount { channels } => {
                write!(f, "{channels} channels: 1 to {MAX_CHANNELS} are supported")
            }
            ConfigError::ChannelMask { mask, channels } => write!(
                f,
                "channel mask {mask:#010b} selects no channel of a {channels}-channel stream"
            ),
            ConfigError::IdLength { len } => {
                write!(f, "an ID must be 1 to {} bytes, got {len}", Id::MAX_LEN)
            }
            ConfigError::Level { dbfs } => write!(
                f,
                "level {dbfs} dBFS is outside {MIN_LEVEL_DBFS}..={MAX_LEVEL_DBFS} dBFS"
            ),
            ConfigError::Interval { ms } => write!(
                f,
                "interval {ms} ms is outside {MIN_INTERVAL_MS} ms ..= {MAX_INTERVAL_MS} ms ({})",
                Hours(MAX_INTERVAL_MS)
            ),
            ConfigError::IntervalShorterThanBurst {
                interval_ms,
                burst_ms,
            } => write!(
                f,
                "interval {interval_ms} ms is shorter than the {burst_ms} ms burst; \
                 use a longer interval or back-to-back bursts"
            ),
            ConfigError::Offset { ms } => write!(
                f,
                "start offset {ms} ms is outside 0 ..= {MAX_INTERVAL_MS} ms ({})",
                Hours(MAX_INTERVAL_MS)
            ),
            ConfigError::StreamFormatChange {
                from_rate,
                to_rate,
                from_channels,
                to_channels,
            } => write!(
                f,
                "cannot switch a running embedder from {from_rate} Hz × {from_channels} to \
                 {to_rate} Hz × {to_channels}; create a new embedder for a new stream format"
            ),
            ConfigError::NoProfile => f.write_str("no profile given: name one, e.g. ultrasonic"),
            ConfigError::TwoBands { a, b } => write!(
                f,
                "{a} and {b} are both ultrasonic bands; one mark takes one (add robust, not a second band)"
            ),
            ConfigError::NotUltrasonic { profile } => {
                write!(f, "{profile} is not an ultrasonic band")
            }
            ConfigError::RobustStrength { mmr_db } => write!(
                f,
                "robust mark-to-mask ratio {mmr_db} dB is outside {}..={} dB",
                crate::config::MIN_ROBUST_MMR_DB,
                crate::config::MAX_ROBUST_MMR_DB
            ),
            ConfigError::RobustChannels { channels } => write!(
                f,
                "the robust layer marks mono or stereo streams, not {channels} channels \
                 (downmix, or use an ultrasonic profile)"
            ),
            ConfigError::SyncThreshold { value } => write!(
                f,
                "sync threshold {value} is outside {MIN_SYNC_THRESHOLD}..={MAX_SYNC_THRESHOLD}"
            ),
        }
    }
}

/// Milliseconds as "1 hour" / "2 hours".
struct Hours(u32);

impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = self.0 / 3_600_000;
        write!(f, "{h} hour{}", if h == 1 { "" } else { "s" })
    }
}

/// A block the engine cannot process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ProcessError {
    /// Interleaved blocks must hold whole frames.
    PartialFrame {
        /// Samples in the block.
        len: usize,
        /// Channels per frame.
        channels: u16,
    },
    /// `process_into` needs an output exactly as long as the input.
    OutputLength {
        /// The input's length, samples.
        expected: usize,
        /// The output's length, samples.
        actual: usize,
    },
    /// A `Detector::unconfigured()` was used before `configure`.
    Unconfigured,
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ProcessError::PartialFrame { len, channels } => write!(
                f,
                "block of {len} samples is not a whole number of {channels}-channel frames"
            ),
            ProcessError::OutputLength { expected, actual } => write!(
                f,
                "output holds {actual} samples, expected {expected} (same as the input)"
            ),
            ProcessError::Unconfigured => {
                f.write_str("the detector has not been configured (call `configure` first)")
            }
        }
    }
}

/// Text that is not an ID ([`Id::from_hex`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ParseIdError {
    /// No hex digits (after an optional `0x`).
    Empty,
    /// A character that is not a hex digit.
    NotHex {
        /// 1-based, counted after any `0x`.
        position: usize,
        /// The character.
        found: char,
    },
    /// An odd number of digits is not a whole number of bytes.
    OddDigits {
        /// Digits given.
        digits: usize,
    },
    /// More than [`Id::MAX_LEN`] bytes.
    TooLong {
        /// Bytes given.
        bytes: usize,
    },
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = Id::MAX_LEN;
        match *self {
            ParseIdError::Empty => write!(
                f,
                "no hex digits (an ID is 1 to {max} bytes of hex, e.g. 0x2a or a \
                 {}-digit contract address)",
                2 * max
            ),
            ParseIdError::NotHex { position, found } => {
                write!(f, "{found:?} at position {position} is not a hex digit")
            }
            ParseIdError::OddDigits { digits } => write!(
                f,
                "{digits} hex digits is not a whole number of bytes (write 0x0a, not 0xa)"
            ),
            ParseIdError::TooLong { bytes } => write!(
                f,
                "{bytes} bytes; an ID is 1 to {max} bytes ({} hex digits)",
                2 * max
            ),
        }
    }
}

/// Text that is not a set of profiles (`ultrasonic+robust`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ParseProfileError {
    /// The name at this position (0-based, between `+`) is no profile.
    Unknown {
        /// Position of the name.
        index: usize,
    },
    /// A profile named twice.
    Repeated {
        /// The profile.
        profile: Profile,
    },
}

impl fmt::Display for ParseProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseProfileError::Unknown { index } => {
                write!(f, "name {} is not a profile (", index + 1)?;
                for (i, p) in Profile::ALL.iter().enumerate() {
                    write!(f, "{}{}", if i > 0 { ", " } else { "" }, p.name())?;
                }
                f.write_str(")")
            }
            ParseProfileError::Repeated { profile } => write!(f, "{profile} is named twice"),
        }
    }
}

/// Text that is not a key ([`Key::from_hex`](crate::Key::from_hex)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ParseKeyError {
    /// A character that is not a hex digit.
    NotHex {
        /// 1-based, counted after any `0x`.
        position: usize,
        /// The character.
        found: char,
    },
    /// Not exactly 32 hex digits.
    Length {
        /// Digits given.
        digits: usize,
    },
}

impl fmt::Display for ParseKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (digits, bits) = (2 * crate::Key::LEN, 8 * crate::Key::LEN);
        match *self {
            ParseKeyError::NotHex { position, found } => write!(
                f,
                "column {position}: {found:?} is not a hex digit (a key is {digits} hex digits, \
                 {bits} bits)"
            ),
            ParseKeyError::Length { digits: n } => write!(
                f,
                "has {n} hex digits; a key is exactly {digits} ({bits} bits)"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}
impl core::error::Error for ProcessError {}
impl core::error::Error for ParseIdError {}
impl core::error::Error for ParseKeyError {}
impl core::error::Error for ParseProfileError {}
