//! Configuration: band profiles, the physical parameters they imply at each
//! sample rate, IDs, keys, channel masks and the burst schedule.

use core::fmt;
use core::str::FromStr;

use crate::error::{ConfigError, ParseIdError, ParseKeyError, ParseProfileError};
use crate::hex::{self, Digits};
use crate::layout::FrameClass;

/// Default mark level: peak amplitude of the (constant-envelope) mark in dBFS.
///
/// −30 dBFS costs 0.28 dB of headroom, keeps the in-band SNR ~75 dB above
/// 16-bit dither (the detector needs about −4 dB), leaves enough level for
/// AAC at 256 kbit/s to keep coding the band, and puts the audible-band residual
/// (≥ 90 dB below the mark) under −120 dBFS, far below any DAC's noise floor.
pub const DEFAULT_LEVEL_DBFS: f32 = -30.0;
/// Quietest accepted level.
pub const MIN_LEVEL_DBFS: f32 = -80.0;
/// Loudest accepted level: a constant ultrasonic signal any louder risks tweeters.
pub const MAX_LEVEL_DBFS: f32 = -12.0;
/// Default burst interval.
pub const DEFAULT_INTERVAL_MS: u32 = 2_000;
/// Shortest interval.
pub const MIN_INTERVAL_MS: u32 = 500;
/// Longest interval, and the latest start offset: one hour.
pub const MAX_INTERVAL_MS: u32 = 3_600_000;
/// Most channels a stream may have.
pub const MAX_CHANNELS: u16 = 8;
/// The stream rate the robust layer runs at (others: resample first).
/// Re-exported as [`robust::STREAM_RATE`](crate::robust::STREAM_RATE).
pub const ROBUST_STREAM_RATE: u32 = 48_000;
/// Default mark-to-mask ratio of the robust layer, dB: the mark sits this
/// far from the masking threshold. Chosen on real programme (REPORT.md):
/// ViSQOL's minimum over the 10 clips is 4.720 at −4 dB, 4.716 at −3 and
/// 4.712 at −2 (goal ≥ 4.70); from −4 to −3 dB periods found under pink
/// noise 10 dB below the programme rise from 57 to 78 of 140, under a
/// voice-over from 116 to 121, after Opus 64k from 132 to 137. Re-exported
/// as `robust::DEFAULT_MMR_DB`.
pub const DEFAULT_ROBUST_MMR_DB: f32 = -3.0;
/// Quietest accepted mark-to-mask ratio, dB (`robust::MIN_MMR_DB`).
pub const MIN_ROBUST_MMR_DB: f32 = -20.0;
/// Loudest accepted mark-to-mask ratio, dB: at the threshold itself
/// (`robust::MAX_MMR_DB`).
pub const MAX_ROBUST_MMR_DB: f32 = 0.0;
/// Supported sample rates.
pub const SAMPLE_RATES: [u32; 4] = [44_100, 48_000, 88_200, 96_000];
/// Default preamble threshold (normalised correlation, see
/// [`Detector`](crate::Detector)): about one false sync per 10 s of noise;
/// every false sync is then rejected by the pilot gate or the MAC.
pub const DEFAULT_SYNC_THRESHOLD: f32 = 11.0;
/// Lowest accepted preamble threshold: below it noise floods the decoder.
pub const MIN_SYNC_THRESHOLD: f32 = 6.0;
/// Highest accepted preamble threshold: above it only clean bursts sync.
pub const MAX_SYNC_THRESHOLD: f32 = 100.0;

/// Which of the engine's two marks a profile belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Layer {
    /// A keyed CPM burst above (or near) 20 kHz ([`ultrasonic`](crate::ultrasonic)).
    Ultrasonic,
    /// A masked in-band mark at 344 Hz–7 kHz ([`robust`](crate::robust)).
    Robust,
}

/// A mark the engine can make: the ultrasonic layer in one of its bands, or
/// the robust layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Profile {
    /// 20.0–21.6 kHz: inside a 48 kHz DAC's passband (ends near 21.77 kHz),
    /// survives 48k→44.1k→48k resampling and AAC at 256 kbit/s.
    #[default]
    Ultrasonic,
    /// 20 kHz up to 0.46·fs: for digital chains and 88.2/96 kHz systems. The
    /// symbol rate grows with the band, so bursts are shorter; needs ≥ 48 kHz.
    UltrasonicWide,
    /// 18.0–19.4 kHz: survives MP3 at 192 kbit/s and up, AAC at 256k. Some
    /// listeners, mostly young ones, can hear energy here.
    NearUltrasonic,
    /// The in-band layer under the programme's masking threshold: survives
    /// MP3, AAC, Opus, Vorbis, MP2, AC-3 and E-AC-3 at broadcast and
    /// streaming rates, rooms and re-recording. Runs at 48 kHz.
    Robust,
}

impl Profile {
    /// Every profile, in the order command lines list them.
    pub const ALL: [Profile; 4] = [
        Profile::Ultrasonic,
        Profile::UltrasonicWide,
        Profile::NearUltrasonic,
        Profile::Robust,
    ];

    /// The ultrasonic layer's bands.
    pub const ULTRASONIC: [Profile; 3] = [
        Profile::Ultrasonic,
        Profile::UltrasonicWide,
        Profile::NearUltrasonic,
    ];

    /// The name used on command lines and in file formats.
    pub const fn name(self) -> &'static str {
        match self {
            Profile::Ultrasonic => "ultrasonic",
            Profile::UltrasonicWide => "ultrasonic-wide",
            Profile::NearUltrasonic => "near-ultrasonic",
            Profile::Robust => "robust",
        }
    }

    /// The profile with this [`name`](Profile::name), if any.
    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The layer the profile's mark belongs to.
    pub const fn layer(self) -> Layer {
        match self {
            Profile::Robust => Layer::Robust,
            _ => Layer::Ultrasonic,
        }
    }

    /// Lowest supported sample rate that fits the profile.
    pub const fn min_sample_rate(self) -> u32 {
        match self {
            Profile::Ultrasonic | Profile::NearUltrasonic => 44_100,
            Profile::UltrasonicWide | Profile::Robust => 48_000,
        }
    }

    /// Whether the engine runs the profile at `rate` (the robust layer runs
    /// at 48 kHz only; hosts resample other rates).
    pub const fn runs_at(self, rate: u32) -> bool {
        let supported = matches!(rate, 44_100 | 48_000 | 88_200 | 96_000);
        match self {
            Profile::Robust => rate == ROBUST_STREAM_RATE,
            _ => supported && rate >= self.min_sample_rate(),
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of profiles: what an embedder marks (at most one ultrasonic band,
/// and optionally the robust layer: `ultrasonic+robust` is a set-top box's
/// recommended setting) or what a detector searches. Written as names
/// joined by `+`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Profiles(u8);

impl Profiles {
    /// No profile.
    pub const NONE: Profiles = Profiles(0);

    /// Just `profile`.
    pub const fn only(profile: Profile) -> Profiles {
        Profiles(profile.bit())
    }

    /// This set and `profile`.
    pub const fn with(self, profile: Profile) -> Profiles {
        Profiles(self.0 | profile.bit())
    }

    /// Whether `profile` is in the set.
    pub const fn contains(self, profile: Profile) -> bool {
        self.0 & profile.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The profiles in the set, in [`Profile::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Profile> {
        Profile::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// The first ultrasonic-layer profile in the set.
    pub fn ultrasonic(self) -> Option<Profile> {
        self.iter().find(|p| p.layer() == Layer::Ultrasonic)
    }

    /// Whether the robust layer is in the set.
    pub const fn robust(self) -> bool {
        self.contains(Profile::Robust)
    }

    /// Check a set one embedder or detector can run: not empty, at most one
    /// ultrasonic band, every profile runnable at `rate`.
    pub fn check(self, rate: u32) -> Result<(), ConfigError> {
        if self.is_empty() {
            return Err(ConfigError::NoProfile);
        }
        let mut ultrasonic = self.iter().filter(|p| p.layer() == Layer::Ultrasonic);
        if let (Some(a), Some(b)) = (ultrasonic.next(), ultrasonic.next()) {
            return Err(ConfigError::TwoBands { a, b });
        }
        for p in self.iter() {
            if !SAMPLE_RATES.contains(&rate) {
                return Err(ConfigError::UnsupportedSampleRate { rate });
            }
            if !p.runs_at(rate) {
                return Err(ConfigError::RateTooLowForProfile {
                    profile: p,
                    rate,
                    min_rate: p.min_sample_rate(),
                });
            }
        }
        Ok(())
    }
}

impl Default for Profiles {
    /// The ultrasonic layer in its default band.
    fn default() -> Profiles {
        Profiles::only(Profile::Ultrasonic)
    }
}

impl From<Profile> for Profiles {
    fn from(p: Profile) -> Profiles {
        Profiles::only(p)
    }
}

impl fmt::Display for Profiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            f.write_str(p.name())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Profiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Profiles({self})")
    }
}

impl FromStr for Profiles {
    type Err = ParseProfileError;

    /// Names joined by `+`, e.g. `ultrasonic+robust`.
    fn from_str(text: &str) -> Result<Profiles, ParseProfileError> {
        let mut set = Profiles::NONE;
        for (i, name) in text.split('+').enumerate() {
            let p =
                Profile::from_name(name.trim()).ok_or(ParseProfileError::Unknown { index: i })?;
            if set.contains(p) {
                return Err(ParseProfileError::Repeated { profile: p });
            }
            set = set.with(p);
        }
        Ok(set)
    }
}

/// A frequency band in Hz, `low_hz..=high_hz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Band {
    /// Lowest frequency, Hz.
    pub low_hz: u32,
    /// Highest frequency, Hz.
    pub high_hz: u32,
}

impl Band {
    /// Width, Hz.
    pub const fn width_hz(&self) -> u32 {
        self.high_hz - self.low_hz
    }
}

/// Physical parameters of the signal for one profile at one sample rate.
///
/// Carrier and symbol rate are physical (Hz), not per-sample, so a mark made
/// at 48 kHz and resampled to 44.1 kHz is the same signal to the detector.
/// Only `ultrasonic-wide` changes with the rate, because its band does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Phy {
    /// The profile these parameters realise.
    pub profile: Profile,
    /// Stream sample rate, Hz.
    pub sample_rate: u32,
    /// Band the mark occupies.
    pub band: Band,
    /// Centre of the CPM signal.
    pub carrier_hz: u32,
    /// Symbols (channel bits) per second.
    pub symbol_rate: u32,
    /// Detector front-end decimation: baseband runs at about 4 samples per symbol.
    pub decimation: u32,
}

impl Phy {
    /// All zero: what an unconfigured ultrasonic embedder or detector holds.
    pub(crate) const UNCONFIGURED: Phy = Phy {
        profile: Profile::Ultrasonic,
        sample_rate: 0,
        band: Band {
            low_hz: 0,
            high_hz: 0,
        },
        carrier_hz: 0,
        symbol_rate: 0,
        decimation: 0,
    };

    /// The parameters of `profile` at `sample_rate`, or why it cannot run there.
    pub fn new(profile: Profile, sample_rate: u32) -> Result<Phy, ConfigError> {
        if profile.layer() != Layer::Ultrasonic {
            return Err(ConfigError::NotUltrasonic { profile });
        }
        if !SAMPLE_RATES.contains(&sample_rate) {
            return Err(ConfigError::UnsupportedSampleRate { rate: sample_rate });
        }
        if sample_rate < profile.min_sample_rate() {
            return Err(ConfigError::RateTooLowForProfile {
                profile,
                rate: sample_rate,
                min_rate: profile.min_sample_rate(),
            });
        }
        let (band, carrier_hz, symbol_rate) = match profile {
            Profile::Ultrasonic => (band(20_000, 21_600), 20_500, 600),
            Profile::NearUltrasonic => (band(18_000, 19_400), 18_700, 600),
            // Band 20 kHz..0.46·fs; carrier and rate keep the nearest spectral
            // edge 2.5 symbol rates from the audible limit, as in `ultrasonic`.
            Profile::UltrasonicWide => match sample_rate {
                48_000 => (band(20_000, 22_080), 21_000, 800),
                88_200 => (band(20_000, 40_572), 30_200, 4_410),
                _ => (band(20_000, 44_160), 32_000, 4_800),
            },
            Profile::Robust => unreachable_robust(),
        };
        let decimation = sample_rate / (4 * symbol_rate);
        Ok(Phy {
            profile,
            sample_rate,
            band,
            carrier_hz,
            symbol_rate,
            decimation,
        })
    }

    /// Length of a burst in samples.
    pub fn burst_samples(&self, class: FrameClass) -> u64 {
        let symbols = class.total_symbols() as u64;
        (symbols * self.sample_rate as u64).div_ceil(self.symbol_rate as u64)
    }

    /// Length of a burst in milliseconds, rounded up.
    pub fn burst_ms(&self, class: FrameClass) -> u32 {
        (class.total_symbols() as u64 * 1000).div_ceil(self.symbol_rate as u64) as u32
    }

    /// Phase increment of the carrier per sample, in `u32` turns.
    pub(crate) fn carrier_increment(&self) -> u32 {
        ((self.carrier_hz as u64) << 32).div_euclid(self.sample_rate as u64) as u32
    }

    /// Milliseconds to samples, rounded to nearest.
    pub(crate) fn ms_to_samples(&self, ms: u32) -> u64 {
        (ms as u64 * self.sample_rate as u64 + 500) / 1000
    }
}

/// `Phy::new` returned early for the robust profile.
const fn unreachable_robust() -> (Band, u32, u32) {
    (band(0, 0), 0, 1)
}

const fn band(low_hz: u32, high_hz: u32) -> Band {
    Band { low_hz, high_hz }
}

/// A transaction ID: 1 to 20 opaque bytes (a 20-byte contract address is the
/// main case). Never personal data: it names a transaction.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Id {
    len: u8,
    bytes: [u8; Id::MAX_LEN],
}

impl Id {
    /// Longest ID, bytes.
    pub const MAX_LEN: usize = 20;

    /// A placeholder for engines not yet configured (all zero bytes, so
    /// their `static`s land in `.bss`; never handed to users).
    pub(crate) const ZERO: Id = Id {
        len: 0,
        bytes: [0; Id::MAX_LEN],
    };

    /// An ID of 1 to [`Id::MAX_LEN`] bytes.
    pub fn new(bytes: &[u8]) -> Result<Id, ConfigError> {
        if bytes.is_empty() || bytes.len() > Id::MAX_LEN {
            return Err(ConfigError::IdLength { len: bytes.len() });
        }
        let mut id = Id {
            len: bytes.len() as u8,
            bytes: [0; Id::MAX_LEN],
        };
        id.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(id)
    }

    /// The ID's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    #[allow(clippy::len_without_is_empty)] // an Id is never empty
    /// Length in bytes (1 to 20).
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// The frame class (and so the burst length) this ID needs.
    pub fn class(&self) -> FrameClass {
        FrameClass::for_id_len(self.len())
    }

    /// Parse 1 to 20 bytes of hex (2 to 40 digits, either case), with or
    /// without `0x`; surrounding whitespace is ignored. Also `str::parse`.
    pub fn from_hex(text: &str) -> Result<Id, ParseIdError> {
        let mut bytes = [0u8; Id::MAX_LEN];
        let n = hex::parse(text, &mut bytes).map_err(|e| match e {
            Digits::Empty => ParseIdError::Empty,
            Digits::NotHex { position, found } => ParseIdError::NotHex { position, found },
            Digits::Odd { digits } => ParseIdError::OddDigits { digits },
            Digits::TooLong { digits } => ParseIdError::TooLong { bytes: digits / 2 },
        })?;
        Id::new(&bytes[..n]).map_err(|_| ParseIdError::Empty)
    }
}

impl FromStr for Id {
    type Err = ParseIdError;

    fn from_str(text: &str) -> Result<Id, ParseIdError> {
        Id::from_hex(text)
    }
}

impl fmt::Display for Id {
    /// Lowercase hex without `0x`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Id {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "{=[u8]:02x}", self.as_bytes())
    }
}

/// The 128-bit secret key. Spreading, sync, scrambling, encryption and the MAC
/// all derive from it through SipHash-2-4 (see the crate docs, "Keys").
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key([u8; Key::LEN]);

impl Key {
    /// Key length, bytes.
    pub const LEN: usize = 16;

    /// The public test key of the test vectors, the demo and the self-tests:
    /// bytes 00 01 … 0f. Anyone can read and forge marks made with it, so
    /// never use it for real content.
    pub const PUBLIC_TEST: Key = Key([
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
        0x0f,
    ]);

    /// A key from its bytes.
    pub const fn from_bytes(bytes: [u8; Key::LEN]) -> Key {
        Key(bytes)
    }

    /// The key's bytes.
    pub const fn as_bytes(&self) -> &[u8; Key::LEN] {
        &self.0
    }

    /// Parse exactly 32 hex digits (either case, optional `0x`, surrounding
    /// whitespace ignored), as key files hold them.
    pub fn from_hex(text: &str) -> Result<Key, ParseKeyError> {
        let mut bytes = [0u8; Key::LEN];
        match hex::parse(text, &mut bytes) {
            Ok(Key::LEN) => Ok(Key(bytes)),
            Ok(n) => Err(ParseKeyError::Length { digits: 2 * n }),
            Err(Digits::Empty) => Err(ParseKeyError::Length { digits: 0 }),
            Err(Digits::NotHex { position, found }) => {
                Err(ParseKeyError::NotHex { position, found })
            }
            Err(Digits::Odd { digits } | Digits::TooLong { digits }) => {
                Err(ParseKeyError::Length { digits })
            }
        }
    }
}

impl FromStr for Key {
    type Err = ParseKeyError;

    fn from_str(text: &str) -> Result<Key, ParseKeyError> {
        Key::from_hex(text)
    }
}

impl fmt::Debug for Key {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<secret>)")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Key {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "Key(<secret>)")
    }
}

/// Which channels of an interleaved stream carry (or are searched for) the mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChannelMask(pub u8);

impl ChannelMask {
    /// Every channel the stream has.
    pub const ALL: ChannelMask = ChannelMask(0xFF);

    /// Just channel `index` (0-based).
    pub const fn only(index: u8) -> ChannelMask {
        ChannelMask(1u8.wrapping_shl(index as u32))
    }

    /// The mask restricted to a stream of `channels`, or an error if that
    /// leaves nothing or names a channel the stream lacks.
    pub(crate) fn resolve(self, channels: u16) -> Result<u8, ConfigError> {
        let present = if channels >= 8 {
            0xFF
        } else {
            (1u8 << channels) - 1
        };
        let wanted = if self == ChannelMask::ALL {
            present
        } else {
            self.0
        };
        if wanted == 0 || wanted & !present != 0 {
            return Err(ConfigError::ChannelMask {
                mask: self.0,
                channels,
            });
        }
        Ok(wanted)
    }
}

pub(crate) fn check_channels(channels: u16) -> Result<(), ConfigError> {
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(ConfigError::ChannelCount { channels });
    }
    Ok(())
}

/// When bursts are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Schedule {
    /// One burst every `every_ms` (500 ms ..= 1 h), the first `offset_ms` after
    /// the schedule starts (stream start, or the moment a new configuration
    /// takes effect).
    Interval {
        /// Time from one burst's start to the next.
        every_ms: u32,
        /// Time from the schedule's start to the first burst.
        offset_ms: u32,
    },
    /// Bursts one after another with no gap, the first after `offset_ms`.
    BackToBack {
        /// Time from the schedule's start to the first burst.
        offset_ms: u32,
    },
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Interval {
            every_ms: DEFAULT_INTERVAL_MS,
            offset_ms: 0,
        }
    }
}

impl Schedule {
    /// Offset of the first burst from the schedule's start.
    pub const fn offset_ms(&self) -> u32 {
        match *self {
            Schedule::Interval { offset_ms, .. } | Schedule::BackToBack { offset_ms } => offset_ms,
        }
    }
}

/// Everything the embedder needs.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EmbedConfig {
    /// Stream sample rate, Hz.
    pub sample_rate: u32,
    /// Channels per interleaved frame.
    pub channels: u16,
    /// Channels the mark is added to.
    pub marked_channels: ChannelMask,
    /// The marks to make: one ultrasonic band, the robust layer, or both.
    pub profiles: Profiles,
    /// Peak level of the ultrasonic mark in dBFS.
    pub level_dbfs: f32,
    /// The robust mark's distance from the masking threshold, dB (0: at the
    /// threshold; see [`robust`](crate::robust)).
    pub robust_mmr_db: f32,
    /// When bursts are sent (the robust layer's periods run back to back
    /// from the schedule's offset).
    pub schedule: Schedule,
    /// The transaction ID every burst carries.
    pub id: Id,
    /// The secret key.
    pub key: Key,
}

impl EmbedConfig {
    /// All zero, no profile, no channel: what an unconfigured embedder
    /// holds (`const`, so engines can sit in `.bss`).
    pub(crate) const UNCONFIGURED: EmbedConfig = EmbedConfig {
        sample_rate: 0,
        channels: 0,
        marked_channels: ChannelMask(0),
        profiles: Profiles::NONE,
        level_dbfs: 0.0,
        robust_mmr_db: 0.0,
        schedule: Schedule::Interval {
            every_ms: 0,
            offset_ms: 0,
        },
        id: Id::ZERO,
        key: Key::from_bytes([0; 16]),
    };

    /// Defaults: 48 kHz stereo, all channels, `ultrasonic`, −30 dBFS, every 2 s.
    pub fn new(id: Id, key: Key) -> EmbedConfig {
        EmbedConfig {
            sample_rate: 48_000,
            channels: 2,
            marked_channels: ChannelMask::ALL,
            profiles: Profiles::default(),
            level_dbfs: DEFAULT_LEVEL_DBFS,
            robust_mmr_db: DEFAULT_ROBUST_MMR_DB,
            schedule: Schedule::default(),
            id,
            key,
        }
    }
}

/// Everything the detector needs.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DetectConfig {
    /// Stream sample rate, Hz.
    pub sample_rate: u32,
    /// Channels per interleaved frame.
    pub channels: u16,
    /// Channels summed before detection.
    pub searched_channels: ChannelMask,
    /// The marks searched: at most one ultrasonic band, and the robust layer.
    pub profiles: Profiles,
    /// The secret key.
    pub key: Key,
    /// Ultrasonic preamble detection threshold (normalised correlation, see
    /// [`ultrasonic::Detector`](crate::ultrasonic::Detector)); lower finds
    /// weaker bursts at more CPU cost.
    pub sync_threshold: f32,
    /// Combine repeated bursts of the same ID when single bursts fail.
    pub soft_combining: bool,
    /// Check each ultrasonic burst's programme fingerprint
    /// ([`binding`](crate::binding)) and report a burst lifted from another
    /// programme as [`Transplant`](crate::Transplant), not as a detection.
    /// Off by default: alone, a voice-over louder than the programme changes
    /// the fingerprint exactly as a transplant does, so a genuine airing with
    /// a presenter over it would read as transplanted. With the robust layer
    /// searched too, a disagreeing burst waits for it to vouch for the
    /// programme ([`vouch`](crate::vouch)), which tells the two apart.
    pub check_binding: bool,
}

impl DetectConfig {
    /// Defaults: 48 kHz stereo, all channels, `ultrasonic`, combining on,
    /// binding not checked.
    pub fn new(key: Key) -> DetectConfig {
        DetectConfig {
            sample_rate: 48_000,
            channels: 2,
            searched_channels: ChannelMask::ALL,
            profiles: Profiles::default(),
            key,
            sync_threshold: DEFAULT_SYNC_THRESHOLD,
            soft_combining: true,
            check_binding: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_from_hex_with_reasons() {
        let a = "0xD8dA6BF26964aF9D7eEd9e03E53415D37aA96045";
        let id: Id = a.parse().unwrap();
        assert_eq!(id.len(), 20);
        assert_eq!(Id::from_hex(&a[2..]), Ok(id));
        assert_eq!(Id::from_hex(" 2a ").unwrap().as_bytes(), &[0x2a]);
        assert_eq!(Id::from_hex("0x"), Err(ParseIdError::Empty));
        assert_eq!(
            Id::from_hex("0xabc"),
            Err(ParseIdError::OddDigits { digits: 3 })
        );
        assert_eq!(
            Id::from_hex("0xzz"),
            Err(ParseIdError::NotHex {
                position: 1,
                found: 'z'
            })
        );
        assert_eq!(
            Id::from_hex(&"ab".repeat(21)),
            Err(ParseIdError::TooLong { bytes: 21 })
        );
    }

    #[test]
    fn keys_parse_from_exactly_32_digits() {
        let k = Key::from_hex("000102030405060708090a0b0c0d0e0F").unwrap();
        assert_eq!(k.as_bytes()[15], 0x0f);
        assert_eq!("00".repeat(16).parse::<Key>(), Ok(Key::from_bytes([0; 16])));
        assert_eq!(
            Key::from_hex("00"),
            Err(ParseKeyError::Length { digits: 2 })
        );
        assert_eq!(Key::from_hex(""), Err(ParseKeyError::Length { digits: 0 }));
        assert_eq!(
            Key::from_hex(&"0".repeat(33)),
            Err(ParseKeyError::Length { digits: 33 })
        );
        assert_eq!(
            Key::from_hex(&"0".repeat(34)),
            Err(ParseKeyError::Length { digits: 34 })
        );
        assert!(matches!(
            Key::from_hex("g0"),
            Err(ParseKeyError::NotHex { position: 1, .. })
        ));
    }

    #[test]
    fn profile_sets_parse_print_and_check() {
        let both: Profiles = "ultrasonic+robust".parse().unwrap();
        assert!(both.robust() && both.ultrasonic() == Some(Profile::Ultrasonic));
        assert_eq!(std::format!("{both}"), "ultrasonic+robust");
        assert_eq!(both.check(48_000), Ok(()));
        assert_eq!(
            both.check(44_100),
            Err(ConfigError::RateTooLowForProfile {
                profile: Profile::Robust,
                rate: 44_100,
                min_rate: 48_000
            })
        );
        assert_eq!(
            "robust+robust".parse::<Profiles>(),
            Err(ParseProfileError::Repeated {
                profile: Profile::Robust
            })
        );
        assert_eq!(
            "ultrasonic+loud".parse::<Profiles>(),
            Err(ParseProfileError::Unknown { index: 1 })
        );
        let two: Profiles = "ultrasonic+near-ultrasonic".parse().unwrap();
        assert!(matches!(
            two.check(48_000),
            Err(ConfigError::TwoBands { .. })
        ));
        assert_eq!(Profiles::NONE.check(48_000), Err(ConfigError::NoProfile));
        assert_eq!(Profiles::default(), Profiles::only(Profile::Ultrasonic));
        assert!(matches!(
            Phy::new(Profile::Robust, 48_000),
            Err(ConfigError::NotUltrasonic { .. })
        ));
    }
}
