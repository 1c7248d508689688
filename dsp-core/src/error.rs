//! Error types. Each variant says what was wrong and carries the numbers
//! (expected against actual) a caller needs to fix it.

use core::fmt;

use crate::config::Profile;

/// A configuration the engine cannot run with.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigError {
    /// Only 44.1, 48, 88.2 and 96 kHz are supported.
    UnsupportedSampleRate { rate: u32 },
    /// The profile's band does not fit below this rate's Nyquist frequency.
    RateTooLowForProfile {
        profile: Profile,
        rate: u32,
        min_rate: u32,
    },
    /// 1 to 8 channels are supported.
    ChannelCount { channels: u16 },
    /// The channel mask selects no channel, or one the stream does not have.
    ChannelMask { mask: u8, channels: u16 },
    /// IDs are 1 to 20 bytes.
    IdLength { len: usize },
    /// The level must lie in `MIN_LEVEL_DBFS..=MAX_LEVEL_DBFS`.
    Level { dbfs: f32 },
    /// The interval must lie in 500 ms ..= 1 hour.
    Interval { ms: u32 },
    /// The interval must leave room for a whole burst.
    IntervalShorterThanBurst { interval_ms: u32, burst_ms: u32 },
    /// The start offset must lie in 0 ..= 1 hour.
    Offset { ms: u32 },
    /// The sync threshold must be finite and within the documented range.
    SyncThreshold { value: f32 },
    /// `set_config` cannot change the stream format (rate or channel count)
    /// under a running embedder: the caller's buffers change with it.
    StreamFormatChange {
        from_rate: u32,
        to_rate: u32,
        from_channels: u16,
        to_channels: u16,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::config::{MAX_LEVEL_DBFS, MIN_LEVEL_DBFS};
        match *self {
            ConfigError::UnsupportedSampleRate { rate } => write!(
                f,
                "sample rate {rate} Hz is not supported (use 44100, 48000, 88200 or 96000)"
            ),
            ConfigError::RateTooLowForProfile {
                profile,
                rate,
                min_rate,
            } => write!(
                f,
                "profile {} needs a sample rate of at least {min_rate} Hz, got {rate} Hz",
                profile.name()
            ),
            ConfigError::ChannelCount { channels } => {
                write!(f, "{channels} channels: 1 to 8 are supported")
            }
            ConfigError::ChannelMask { mask, channels } => write!(
                f,
                "channel mask {mask:#010b} selects no channel of a {channels}-channel stream"
            ),
            ConfigError::IdLength { len } => {
                write!(f, "an ID must be 1 to 20 bytes, got {len}")
            }
            ConfigError::Level { dbfs } => write!(
                f,
                "level {dbfs} dBFS is outside {MIN_LEVEL_DBFS}..={MAX_LEVEL_DBFS} dBFS"
            ),
            ConfigError::Interval { ms } => write!(
                f,
                "interval {ms} ms is outside 500 ms ..= 3600000 ms (1 hour)"
            ),
            ConfigError::IntervalShorterThanBurst {
                interval_ms,
                burst_ms,
            } => write!(
                f,
                "interval {interval_ms} ms is shorter than the {burst_ms} ms burst; \
                 use a longer interval or back-to-back bursts"
            ),
            ConfigError::Offset { ms } => {
                write!(
                    f,
                    "start offset {ms} ms is outside 0 ..= 3600000 ms (1 hour)"
                )
            }
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
            ConfigError::SyncThreshold { value } => write!(
                f,
                "sync threshold {value} is outside {}..={}",
                crate::detector::MIN_SYNC_THRESHOLD,
                crate::detector::MAX_SYNC_THRESHOLD
            ),
        }
    }
}

/// A block the engine cannot process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProcessError {
    /// Interleaved blocks must hold whole frames.
    PartialFrame { len: usize, channels: u16 },
    /// `process_into` needs an output exactly as long as the input.
    OutputLength { expected: usize, actual: usize },
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

impl core::error::Error for ConfigError {}
impl core::error::Error for ProcessError {}
