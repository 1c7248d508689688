//! # hushmark C API
//!
//! For the many set-top-box firmwares written in C: `libhushmark_capi.a` and
//! `include/hushmark.h` (generated from this file by cbindgen). Built for the
//! host, for ARM Linux and for `thumbv7em-none-eabihf` (where it is `no_std`).
//!
//! * **No allocation.** [`HmEmbedder`] and [`HmDetector`] are opaque storage
//!   of a fixed size the caller provides (a `static`, a struct member, its own
//!   allocator); `hm_*_init` builds the engine inside it. The sizes leave
//!   room for the engine to grow without changing the ABI; a compile-time
//!   check fails the build if it ever outgrows them.
//! * **Errors are codes.** Every call returns an [`HmStatus`];
//!   [`hm_status_message`] says what it means. Values from C (profiles,
//!   masks, lengths) arrive as integers and are checked, never trusted as
//!   Rust enums.
//! * **Checked use.** Storage that `hm_*_init` has not set up is refused with
//!   `HM_STATUS_NOT_INITIALISED`, so a forgotten init is an error, not a crash.
//! * **Why a crate of its own** rather than a feature of `dsp-core`: the
//!   engine stays `forbid(unsafe_code)` and free of a panic handler, while
//!   this crate owns the raw pointers, the `staticlib` and (for bare metal)
//!   the panic handler a static library needs.

#![cfg_attr(target_os = "none", no_std)]
#![allow(clippy::missing_safety_doc)] // each function's comment says what it needs

use core::ffi::{c_char, c_void};
use core::mem::{align_of, size_of};

use dsp_core::{
    ChannelMask, ConfigError, DetectConfig, Detector, EmbedConfig, Embedder, Event, Id, Key,
    ProcessError, Profile, Profiles, Sample, Schedule,
};

/// Longest transaction ID, bytes.
pub const HM_ID_MAX_LEN: usize = 20;
/// Key length, bytes.
pub const HM_KEY_LEN: usize = 16;
/// `marked_channels` / `searched_channels`: every channel of the stream.
pub const HM_ALL_CHANNELS: u8 = 0xFF;
/// `profiles` bits, OR-ed: one ultrasonic band, the robust layer, or both
/// (`HM_PROFILE_ULTRASONIC | HM_PROFILE_ROBUST` is a set-top box's
/// recommended setting). 20.0–21.6 kHz (the default).
pub const HM_PROFILE_ULTRASONIC: u8 = 1 << 0;
/// 20 kHz up to 0.46·fs, for 48 kHz and up.
pub const HM_PROFILE_ULTRASONIC_WIDE: u8 = 1 << 1;
/// 18.0–19.4 kHz: survives MP3 at 192 kbit/s and up; some can hear it.
pub const HM_PROFILE_NEAR_ULTRASONIC: u8 = 1 << 2;
/// The in-band layer under the programme's masking threshold (48 kHz, mono
/// or stereo): survives broadcast and streaming codecs and rooms. Delays the
/// stream by `hm_embedder_latency` frames.
pub const HM_PROFILE_ROBUST: u8 = 1 << 3;
/// `HmDetection::kind`: a mark read and authenticated.
pub const HM_EVENT_DETECTION: u8 = 0;
/// `HmDetection::kind`: a known ID confirmed or denied for one window
/// (robust layer; `end_sample`, `z` and `present` are set).
pub const HM_EVENT_PRESENCE: u8 = 1;
/// `HmDetection::kind`: marks there but unreadable, differently marked
/// copies mixed (no ID; `start_sample`..`end_sample` spans the run so far,
/// `bursts_combined` counts its marks, `snr_db` is the pilots' SNR).
pub const HM_EVENT_COLLISION: u8 = 2;
/// `HmDetection::kind`: an ultrasonic burst read and authenticated whose
/// programme fingerprint is another programme's: its band was lifted from
/// another recording (fields as for a detection, `z` holds the fingerprint
/// bits that disagree). Never an airing of the ID. Only with
/// `HmDetectConfig::check_binding`.
pub const HM_EVENT_TRANSPLANT: u8 = 3;
/// Storage for an embedder, in 8-byte words (36 KiB: both layers, and the
/// ultrasonic limiter's 2 ms delay line).
pub const HM_EMBEDDER_WORDS: usize = 4608;
/// Storage for a detector, in 8-byte words (136 KiB: both layers).
pub const HM_DETECTOR_WORDS: usize = 17408;

/// What a call did.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmStatus {
    Ok = 0,
    /// A pointer argument was NULL.
    NullPointer = 1,
    /// The engine storage was not set up by `hm_*_init` (or its init failed).
    NotInitialised = 2,
    /// Not 44100, 48000, 88200 or 96000 Hz.
    SampleRate = 3,
    /// The profile's band does not fit below this rate's Nyquist frequency.
    RateTooLowForProfile = 4,
    /// Not one of the `HM_PROFILE_*` values.
    Profile = 5,
    /// 1 to 8 channels.
    Channels = 6,
    /// The mask selects no channel, or one the stream does not have.
    ChannelMask = 7,
    /// IDs are 1 to 20 bytes.
    IdLength = 8,
    /// The level is outside −80 ..= −12 dBFS.
    Level = 9,
    /// The interval is outside 500 ms ..= 1 hour.
    Interval = 10,
    /// The interval is shorter than one burst.
    IntervalShorterThanBurst = 11,
    /// The start offset is outside 0 ..= 1 hour.
    Offset = 12,
    /// The sync threshold is outside 6 ..= 100 (or not a number).
    SyncThreshold = 13,
    /// The block is not a whole number of frames.
    PartialFrame = 14,
    /// A configuration error this header predates (the message names it).
    Config = 15,
    /// The robust mark-to-mask ratio is outside −20 ..= 0 dB.
    RobustStrength = 16,
    /// `hm_detector_expect` already holds as many IDs as it can.
    TooManyIds = 17,
}

const _: () = assert!(HM_ALL_CHANNELS == ChannelMask::ALL.0);

impl HmStatus {
    /// Every status, in value order (`ALL[i] as i32 == i`, a test checks).
    const ALL: [HmStatus; 18] = [
        HmStatus::Ok,
        HmStatus::NullPointer,
        HmStatus::NotInitialised,
        HmStatus::SampleRate,
        HmStatus::RateTooLowForProfile,
        HmStatus::Profile,
        HmStatus::Channels,
        HmStatus::ChannelMask,
        HmStatus::IdLength,
        HmStatus::Level,
        HmStatus::Interval,
        HmStatus::IntervalShorterThanBurst,
        HmStatus::Offset,
        HmStatus::SyncThreshold,
        HmStatus::PartialFrame,
        HmStatus::Config,
        HmStatus::RobustStrength,
        HmStatus::TooManyIds,
    ];
}

impl From<ConfigError> for HmStatus {
    fn from(e: ConfigError) -> HmStatus {
        match e {
            ConfigError::UnsupportedSampleRate { .. } => HmStatus::SampleRate,
            ConfigError::RateTooLowForProfile { .. } => HmStatus::RateTooLowForProfile,
            ConfigError::ChannelCount { .. } => HmStatus::Channels,
            ConfigError::ChannelMask { .. } => HmStatus::ChannelMask,
            ConfigError::IdLength { .. } => HmStatus::IdLength,
            ConfigError::Level { .. } => HmStatus::Level,
            ConfigError::Interval { .. } => HmStatus::Interval,
            ConfigError::IntervalShorterThanBurst { .. } => HmStatus::IntervalShorterThanBurst,
            ConfigError::Offset { .. } => HmStatus::Offset,
            ConfigError::SyncThreshold { .. } => HmStatus::SyncThreshold,
            ConfigError::NoProfile
            | ConfigError::TwoBands { .. }
            | ConfigError::NotUltrasonic { .. } => HmStatus::Profile,
            ConfigError::RobustChannels { .. } => HmStatus::Channels,
            ConfigError::RobustStrength { .. } => HmStatus::RobustStrength,
            // `set_config` is not exposed, so a stream-format change cannot
            // happen; anything newer than this header is reported generically.
            _ => HmStatus::Config,
        }
    }
}

impl From<ProcessError> for HmStatus {
    fn from(e: ProcessError) -> HmStatus {
        match e {
            // `process_into` is not exposed, so only partial frames reach here.
            ProcessError::PartialFrame { .. } | ProcessError::OutputLength { .. } => {
                HmStatus::PartialFrame
            }
            // Storage made by `hm_detector_init` is always configured; this
            // is the same mistake as using storage that was never set up.
            ProcessError::Unconfigured => HmStatus::NotInitialised,
            _ => HmStatus::PartialFrame,
        }
    }
}

/// What the embedder needs. Start from `hm_embed_config_default`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HmEmbedConfig {
    pub sample_rate: u32,
    pub channels: u16,
    /// Bit c marks channel c; `HM_ALL_CHANNELS` marks all.
    pub marked_channels: u8,
    /// `HM_PROFILE_*` bits: at most one ultrasonic band, and/or robust.
    pub profiles: u8,
    /// Peak level of the ultrasonic mark, dBFS (−80 ..= −12; default −30).
    pub level_dbfs: f32,
    /// Robust mark-to-mask ratio, dB (−20 ..= 0; default −4).
    pub robust_mmr_db: f32,
    /// A burst every `interval_ms` (500 ..= 3 600 000); 0 sends bursts back to back.
    pub interval_ms: u32,
    /// The first burst starts this long after the stream does.
    pub offset_ms: u32,
    pub id: [u8; HM_ID_MAX_LEN],
    /// Bytes of `id` in use, 1 ..= 20.
    pub id_len: u8,
    pub key: [u8; HM_KEY_LEN],
}

/// What the detector needs. Start from `hm_detect_config_default`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HmDetectConfig {
    pub sample_rate: u32,
    pub channels: u16,
    /// Bit c searches channel c (the selected channels are summed).
    pub searched_channels: u8,
    /// `HM_PROFILE_*` bits searched: at most one ultrasonic band, and/or robust.
    pub profiles: u8,
    pub key: [u8; HM_KEY_LEN],
    /// Preamble threshold, 6 ..= 100 (default 11); lower finds weaker bursts at more CPU.
    pub sync_threshold: f32,
    /// Combine repeated bursts of one ID when single bursts fail (default true).
    pub soft_combining: bool,
    /// Report ultrasonic bursts lifted from another programme as
    /// `HM_EVENT_TRANSPLANT` (default false: alone, a loud voice-over reads the
    /// same). With both layers searched, a burst that disagrees is held up to
    /// 11.5 s of stream for the robust layer to vouch for its programme, then
    /// reported as a detection or as a transplant.
    pub check_binding: bool,
}

/// An event: one mark found and authenticated (`HM_EVENT_DETECTION`), a
/// burst lifted from another programme (`HM_EVENT_TRANSPLANT`), a
/// known ID's presence in a window (`HM_EVENT_PRESENCE`, robust layer), or
/// a run of unreadable, colliding marks (`HM_EVENT_COLLISION`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HmDetection {
    /// `HM_EVENT_*`.
    pub kind: u8,
    /// The `HM_PROFILE_*` bit of the layer that saw it.
    pub profile: u8,
    pub id: [u8; HM_ID_MAX_LEN],
    pub id_len: u8,
    /// False when the burst's own counter block did not verify.
    pub has_counter: bool,
    pub counter: u16,
    /// Sample index (on the caller's `now` clock) of the burst's first sample.
    pub start_sample: u64,
    /// Estimated SNR in the profile's band, dB.
    pub snr_db: f32,
    pub corrected_bits: u16,
    /// 1 for a single burst, more when soft combining was needed.
    pub bursts_combined: u8,
    /// Estimated sample-clock offset of the stream against the embedder's.
    pub clock_ppm: f32,
    /// Presence: one past the window's last sample (collision: of the run's
    /// latest mark).
    pub end_sample: u64,
    /// Presence: correlation with the ID's pattern, as a z-score.
    pub z: f32,
    /// Presence: whether the ID was there (z ≥ 6.5).
    pub present: bool,
}

/// Storage for one embedder. Opaque: only `hm_embedder_*` touch it.
#[repr(C)]
#[derive(Debug)]
pub struct HmEmbedder {
    pub opaque: [u64; HM_EMBEDDER_WORDS],
}

/// Storage for one detector (136 KiB; keep it `static` on small stacks).
#[repr(C)]
#[derive(Debug)]
pub struct HmDetector {
    pub opaque: [u64; HM_DETECTOR_WORDS],
}

/// Called for each detection; `user` is what the caller passed along.
pub type HmDetectionCallback =
    Option<unsafe extern "C" fn(detection: *const HmDetection, user: *mut c_void)>;

/// The engine inside caller storage, behind a word that says it was set up.
#[repr(C)]
struct Slot<T> {
    magic: u64,
    engine: T,
}

const EMBEDDER_MAGIC: u64 = 0x6875_7368_454d_4244; // "hushEMBD"
const DETECTOR_MAGIC: u64 = 0x6875_7368_4445_5443; // "hushDETC"

const _: () = {
    assert!(size_of::<Slot<Embedder>>() <= size_of::<HmEmbedder>());
    assert!(align_of::<Slot<Embedder>>() <= align_of::<HmEmbedder>());
    assert!(size_of::<Slot<Detector>>() <= size_of::<HmDetector>());
    assert!(align_of::<Slot<Detector>>() <= align_of::<HmDetector>());
};

/// Built in place: `unconfigured()` is a `const`, so the compiler zeroes
/// the storage in place instead of moving the engine through the stack.
const UNCONFIGURED_DETECTOR: Detector = Detector::unconfigured();
const UNCONFIGURED_EMBEDDER: Embedder = Embedder::unconfigured();

/// `HM_PROFILE_*` bit of each profile, in `Profile::ALL` order.
const PROFILE_BITS: [u8; 4] = [
    HM_PROFILE_ULTRASONIC,
    HM_PROFILE_ULTRASONIC_WIDE,
    HM_PROFILE_NEAR_ULTRASONIC,
    HM_PROFILE_ROBUST,
];

fn profiles(bits: u8) -> Result<Profiles, HmStatus> {
    let mut set = Profiles::NONE;
    let mut known = 0u8;
    for (p, bit) in Profile::ALL.into_iter().zip(PROFILE_BITS) {
        known |= bit;
        if bits & bit != 0 {
            set = set.with(p);
        }
    }
    if bits & !known != 0 || set.is_empty() {
        return Err(HmStatus::Profile);
    }
    Ok(set)
}

fn profile_bit(p: Profile) -> u8 {
    Profile::ALL
        .into_iter()
        .zip(PROFILE_BITS)
        .find(|(q, _)| *q == p)
        .map_or(0, |(_, b)| b)
}

fn embed_config(c: &HmEmbedConfig) -> Result<EmbedConfig, HmStatus> {
    let id =
        c.id.get(..usize::from(c.id_len))
            .ok_or(HmStatus::IdLength)?;
    let mut cfg = EmbedConfig::new(Id::new(id)?, Key::from_bytes(c.key));
    cfg.sample_rate = c.sample_rate;
    cfg.channels = c.channels;
    // HM_ALL_CHANNELS is ChannelMask::ALL's own value.
    cfg.marked_channels = ChannelMask(c.marked_channels);
    cfg.profiles = profiles(c.profiles)?;
    cfg.level_dbfs = c.level_dbfs;
    cfg.robust_mmr_db = c.robust_mmr_db;
    cfg.schedule = match c.interval_ms {
        0 => Schedule::BackToBack {
            offset_ms: c.offset_ms,
        },
        every_ms => Schedule::Interval {
            every_ms,
            offset_ms: c.offset_ms,
        },
    };
    Ok(cfg)
}

fn detect_config(c: &HmDetectConfig) -> Result<DetectConfig, HmStatus> {
    let mut cfg = DetectConfig::new(Key::from_bytes(c.key));
    cfg.sample_rate = c.sample_rate;
    cfg.channels = c.channels;
    cfg.searched_channels = ChannelMask(c.searched_channels);
    cfg.profiles = profiles(c.profiles)?;
    cfg.sync_threshold = c.sync_threshold;
    cfg.soft_combining = c.soft_combining;
    cfg.check_binding = c.check_binding;
    Ok(cfg)
}

fn id_bytes(id: &Id) -> ([u8; HM_ID_MAX_LEN], u8) {
    let mut out = [0u8; HM_ID_MAX_LEN];
    let bytes = id.as_bytes();
    out[..bytes.len()].copy_from_slice(bytes);
    (out, bytes.len() as u8)
}

fn to_c(e: &Event) -> HmDetection {
    match e {
        Event::Transplant(t) => HmDetection {
            kind: HM_EVENT_TRANSPLANT,
            z: t.check.mismatched as f32,
            ..to_c(&Event::Detection(t.detection))
        },
        Event::Detection(d) => {
            let (id, id_len) = id_bytes(&d.id);
            HmDetection {
                kind: HM_EVENT_DETECTION,
                profile: profile_bit(d.profile),
                id,
                id_len,
                has_counter: d.counter.is_some(),
                counter: d.counter.unwrap_or(0),
                start_sample: d.start_sample,
                snr_db: d.snr_db,
                corrected_bits: d.corrected_bits,
                bursts_combined: d.bursts_combined,
                clock_ppm: d.clock_ppm,
                end_sample: 0,
                z: 0.0,
                present: false,
            }
        }
        Event::Presence(p) => {
            let (id, id_len) = id_bytes(&p.id);
            HmDetection {
                kind: HM_EVENT_PRESENCE,
                profile: HM_PROFILE_ROBUST,
                id,
                id_len,
                has_counter: false,
                counter: 0,
                start_sample: p.start_sample,
                snr_db: 0.0,
                corrected_bits: 0,
                bursts_combined: 0,
                clock_ppm: 0.0,
                end_sample: p.end_sample,
                z: p.z,
                present: p.present,
            }
        }
        Event::Collision(c) => HmDetection {
            kind: HM_EVENT_COLLISION,
            profile: profile_bit(c.profile),
            id: [0; HM_ID_MAX_LEN],
            id_len: 0,
            has_counter: false,
            counter: 0,
            start_sample: c.start_sample,
            snr_db: c.pilot_snr_db,
            corrected_bits: 0,
            bursts_combined: c.marks.min(u8::MAX as u16) as u8,
            clock_ppm: 0.0,
            end_sample: c.end_sample,
            z: 0.0,
            present: false,
        },
    }
}

/// Fill `config` with the defaults: 48 kHz stereo, all channels, ultrasonic,
/// −30 dBFS, a burst every 2000 ms from the start; ID and key zeroed (set them).
#[no_mangle]
pub unsafe extern "C" fn hm_embed_config_default(config: *mut HmEmbedConfig) -> HmStatus {
    let Some(config) = (unsafe { config.as_mut() }) else {
        return HmStatus::NullPointer;
    };
    *config = HmEmbedConfig {
        sample_rate: 48_000,
        channels: 2,
        marked_channels: HM_ALL_CHANNELS,
        profiles: HM_PROFILE_ULTRASONIC,
        level_dbfs: dsp_core::DEFAULT_LEVEL_DBFS,
        robust_mmr_db: dsp_core::robust::DEFAULT_MMR_DB,
        interval_ms: 2_000,
        offset_ms: 0,
        id: [0; HM_ID_MAX_LEN],
        id_len: 0,
        key: [0; HM_KEY_LEN],
    };
    HmStatus::Ok
}

/// Fill `config` with the defaults: 48 kHz stereo, all channels summed,
/// ultrasonic, the default threshold, soft combining on; key zeroed (set it).
#[no_mangle]
pub unsafe extern "C" fn hm_detect_config_default(config: *mut HmDetectConfig) -> HmStatus {
    let Some(config) = (unsafe { config.as_mut() }) else {
        return HmStatus::NullPointer;
    };
    *config = HmDetectConfig {
        sample_rate: 48_000,
        channels: 2,
        searched_channels: HM_ALL_CHANNELS,
        profiles: HM_PROFILE_ULTRASONIC,
        key: [0; HM_KEY_LEN],
        sync_threshold: dsp_core::DEFAULT_SYNC_THRESHOLD,
        soft_combining: true,
        check_binding: false,
    };
    HmStatus::Ok
}

/// Set up an embedder in `storage`. On error the storage is left marked
/// uninitialised.
///
/// Safety: `storage` and `config` are NULL or valid for the call.
#[no_mangle]
pub unsafe extern "C" fn hm_embedder_init(
    storage: *mut HmEmbedder,
    config: *const HmEmbedConfig,
) -> HmStatus {
    // SAFETY: `init` checks both pointers and passes the engine's place.
    unsafe {
        init(
            storage.cast(),
            EMBEDDER_MAGIC,
            config,
            |engine: *mut Embedder, config| {
                let cfg = embed_config(config)?;
                // In place, as for the detector (the robust layer is 24 KiB).
                engine.write(UNCONFIGURED_EMBEDDER);
                (*engine).configure(&cfg)?;
                Ok(())
            },
        )
    }
}

/// Set up an engine in caller storage: `build` writes it, from `config`,
/// behind the pointer it gets. The magic word is cleared first and set only
/// once `build` succeeds, so storage whose init failed is refused as unset.
///
/// Safety: `slot` and `config` are NULL or valid for the call.
unsafe fn init<T, C>(
    slot: *mut Slot<T>,
    magic: u64,
    config: *const C,
    build: impl FnOnce(*mut T, &C) -> Result<(), HmStatus>,
) -> HmStatus {
    let (false, Some(config)) = (slot.is_null(), unsafe { config.as_ref() }) else {
        return HmStatus::NullPointer;
    };
    // SAFETY: the storage is large and aligned enough (checked at compile
    // time) and exclusively ours for the call.
    unsafe {
        core::ptr::addr_of_mut!((*slot).magic).write(0);
        if let Err(s) = build(core::ptr::addr_of_mut!((*slot).engine), config) {
            return s;
        }
        core::ptr::addr_of_mut!((*slot).magic).write(magic);
    }
    HmStatus::Ok
}

/// The engine behind `storage`, if an init call has put one there.
unsafe fn engine<'a, T>(slot: *mut Slot<T>, magic: u64) -> Result<&'a mut T, HmStatus> {
    if slot.is_null() {
        return Err(HmStatus::NullPointer);
    }
    // SAFETY: the caller passes storage valid for the call; the magic word
    // is only set once an engine has been written behind it.
    unsafe {
        if core::ptr::addr_of!((*slot).magic).read_volatile() != magic {
            return Err(HmStatus::NotInitialised);
        }
        Ok(&mut (*slot).engine)
    }
}

/// Whether a block has samples to process: an empty one may be NULL, one
/// with samples may not.
fn has_samples<S>(ptr: *const S, len: usize) -> Result<bool, HmStatus> {
    match (len, ptr.is_null()) {
        (0, _) => Ok(false),
        (_, true) => Err(HmStatus::NullPointer),
        _ => Ok(true),
    }
}

fn status(result: Result<(), HmStatus>) -> HmStatus {
    result.err().unwrap_or(HmStatus::Ok)
}

unsafe fn embedder<'a>(storage: *mut HmEmbedder) -> Result<&'a mut Embedder, HmStatus> {
    unsafe { engine(storage.cast::<Slot<Embedder>>(), EMBEDDER_MAGIC) }
}

unsafe fn embed<S: Sample>(
    storage: *mut HmEmbedder,
    now: u64,
    samples: *mut S,
    len: usize,
) -> HmStatus {
    let run = || -> Result<(), HmStatus> {
        let e = unsafe { embedder(storage) }?;
        if has_samples(samples, len)? {
            // SAFETY: the caller passes `len` valid, exclusively borrowed samples.
            let block = unsafe { core::slice::from_raw_parts_mut(samples, len) };
            e.process(now, block)?;
        }
        Ok(())
    };
    status(run())
}

/// Mark `len` interleaved 16-bit samples in place; `now` is the sample index
/// of the first frame (consecutive blocks continue seamlessly).
///
/// Safety: `samples` points to `len` samples (or `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn hm_embedder_process_i16(
    embedder: *mut HmEmbedder,
    now: u64,
    samples: *mut i16,
    len: usize,
) -> HmStatus {
    unsafe { embed(embedder, now, samples, len) }
}

/// As `hm_embedder_process_i16`, for 24-bit samples right-justified in 32 bits.
///
/// Safety: `samples` points to `len` samples (or `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn hm_embedder_process_i32(
    embedder: *mut HmEmbedder,
    now: u64,
    samples: *mut i32,
    len: usize,
) -> HmStatus {
    unsafe { embed(embedder, now, samples, len) }
}

/// As `hm_embedder_process_i16`, for floats with full scale ±1.0.
///
/// Safety: `samples` points to `len` samples (or `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn hm_embedder_process_f32(
    embedder: *mut HmEmbedder,
    now: u64,
    samples: *mut f32,
    len: usize,
) -> HmStatus {
    unsafe { embed(embedder, now, samples, len) }
}

/// Length of each ultrasonic burst in frames (0 if `embedder` is not set
/// up or marks no ultrasonic band).
///
/// Safety: `embedder` is NULL or valid for the call.
#[no_mangle]
pub unsafe extern "C" fn hm_embedder_burst_frames(embedder: *mut HmEmbedder) -> u64 {
    unsafe { self::embedder(embedder) }
        .ok()
        .and_then(|e| e.ultrasonic())
        .map_or(0, |u| u.burst_samples())
}

/// Frames between input and output: with the robust layer, output frame n
/// holds input frame n − latency plus the marks (0 for the ultrasonic
/// layer alone, or if `embedder` is not set up).
///
/// Safety: `embedder` is NULL or valid for the call.
#[no_mangle]
pub unsafe extern "C" fn hm_embedder_latency(embedder: *mut HmEmbedder) -> u64 {
    unsafe { self::embedder(embedder) }.map_or(0, |e| e.latency())
}

/// Set up a detector in `storage`, in place (nothing large on the stack).
///
/// Safety: `storage` and `config` are NULL or valid for the call.
#[no_mangle]
pub unsafe extern "C" fn hm_detector_init(
    storage: *mut HmDetector,
    config: *const HmDetectConfig,
) -> HmStatus {
    // SAFETY: as for the embedder.
    unsafe {
        init(
            storage.cast(),
            DETECTOR_MAGIC,
            config,
            |engine: *mut Detector, config| {
                let cfg = detect_config(config)?;
                // In place: `configure` sets up the unconfigured detector where it lies.
                engine.write(UNCONFIGURED_DETECTOR);
                (*engine).configure(&cfg)?;
                Ok(())
            },
        )
    }
}

unsafe fn detector<'a>(storage: *mut HmDetector) -> Result<&'a mut Detector, HmStatus> {
    unsafe { engine(storage.cast::<Slot<Detector>>(), DETECTOR_MAGIC) }
}

fn report(callback: HmDetectionCallback, user: *mut c_void) -> impl FnMut(&Event) {
    move |d| {
        if let Some(cb) = callback {
            let c = to_c(d);
            // SAFETY: the caller's callback, with the pointer it gave us.
            unsafe { cb(&c, user) };
        }
    }
}

unsafe fn detect<S: Sample>(
    storage: *mut HmDetector,
    now: u64,
    samples: *const S,
    len: usize,
    callback: HmDetectionCallback,
    user: *mut c_void,
) -> HmStatus {
    let run = || -> Result<(), HmStatus> {
        let d = unsafe { detector(storage) }?;
        if has_samples(samples, len)? {
            // SAFETY: the caller passes `len` valid samples.
            let block = unsafe { core::slice::from_raw_parts(samples, len) };
            d.process(now, block, report(callback, user))?;
        }
        Ok(())
    };
    status(run())
}

/// Search `len` interleaved 16-bit samples; `now` is the sample index of the
/// first frame. `callback` (may be NULL) runs for each detection, inside this
/// call, with `user` passed along.
///
/// Safety: `samples` points to `len` samples (or `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn hm_detector_process_i16(
    detector: *mut HmDetector,
    now: u64,
    samples: *const i16,
    len: usize,
    callback: HmDetectionCallback,
    user: *mut c_void,
) -> HmStatus {
    unsafe { detect(detector, now, samples, len, callback, user) }
}

/// As `hm_detector_process_i16`, for 24-bit samples right-justified in 32 bits.
///
/// Safety: `samples` points to `len` samples (or `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn hm_detector_process_i32(
    detector: *mut HmDetector,
    now: u64,
    samples: *const i32,
    len: usize,
    callback: HmDetectionCallback,
    user: *mut c_void,
) -> HmStatus {
    unsafe { detect(detector, now, samples, len, callback, user) }
}

/// As `hm_detector_process_i16`, for floats with full scale ±1.0.
///
/// Safety: `samples` points to `len` samples (or `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn hm_detector_process_f32(
    detector: *mut HmDetector,
    now: u64,
    samples: *const f32,
    len: usize,
    callback: HmDetectionCallback,
    user: *mut c_void,
) -> HmStatus {
    unsafe { detect(detector, now, samples, len, callback, user) }
}

/// Confirm `id` (`len` bytes) every second from now on: the robust layer
/// then reports `HM_EVENT_PRESENCE` events for it (an issued ID; IDs it
/// decodes are confirmed anyway). Up to 4 IDs.
///
/// Safety: `detector` is NULL or valid; `id` points to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn hm_detector_expect(
    detector: *mut HmDetector,
    id: *const u8,
    len: usize,
) -> HmStatus {
    let run = || -> Result<(), HmStatus> {
        let d = unsafe { self::detector(detector) }?;
        if id.is_null() {
            return Err(HmStatus::NullPointer);
        }
        // SAFETY: the caller passes `len` readable bytes.
        let bytes = unsafe { core::slice::from_raw_parts(id, len) };
        let id = Id::new(bytes)?;
        let r = d.robust_mut().ok_or(HmStatus::Profile)?;
        if !r.expect(&id) {
            return Err(HmStatus::TooManyIds);
        }
        Ok(())
    };
    status(run())
}

/// End of stream: decode what is pending with the samples that arrived.
///
/// Safety: `detector` is NULL or valid for the call.
#[no_mangle]
pub unsafe extern "C" fn hm_detector_finish(
    detector: *mut HmDetector,
    callback: HmDetectionCallback,
    user: *mut c_void,
) -> HmStatus {
    match unsafe { self::detector(detector) } {
        Ok(d) => {
            d.finish(report(callback, user));
            HmStatus::Ok
        }
        Err(s) => s,
    }
}

/// What a status means, as a static NUL-terminated English sentence; an
/// integer that is no `HmStatus` gets a sentence that says so.
#[no_mangle]
pub extern "C" fn hm_status_message(status: i32) -> *const c_char {
    // A C enum may hold any int: match the value, never transmute it.
    let Some(status) = HmStatus::ALL.into_iter().find(|&s| s as i32 == status) else {
        return c"not an HmStatus value".as_ptr();
    };
    let s: &'static core::ffi::CStr = match status {
        HmStatus::Ok => c"ok",
        HmStatus::NullPointer => c"a pointer argument was NULL",
        HmStatus::NotInitialised => c"the engine storage was not set up by hm_*_init",
        HmStatus::SampleRate => c"unsupported sample rate (use 44100, 48000, 88200 or 96000)",
        HmStatus::RateTooLowForProfile => {
            c"the profile's band does not fit below this sample rate's Nyquist frequency"
        }
        HmStatus::Profile => {
            c"bad profiles (HM_PROFILE_* bits: at most one ultrasonic band, and/or robust)"
        }
        HmStatus::Channels => c"1 to 8 channels are supported",
        HmStatus::ChannelMask => {
            c"the channel mask selects no channel, or one the stream does not have"
        }
        HmStatus::IdLength => c"an ID must be 1 to 20 bytes",
        HmStatus::Level => c"the level must lie in -80 ..= -12 dBFS",
        HmStatus::Interval => c"the interval must lie in 500 ms ..= 1 hour",
        HmStatus::IntervalShorterThanBurst => c"the interval is shorter than one burst",
        HmStatus::Offset => c"the start offset must lie in 0 ..= 1 hour",
        HmStatus::SyncThreshold => c"the sync threshold must lie in 6 ..= 100",
        HmStatus::PartialFrame => c"the block is not a whole number of frames",
        HmStatus::Config => c"the engine cannot run with this configuration",
        HmStatus::RobustStrength => c"the robust mark-to-mask ratio must lie in -20 ..= 0 dB",
        HmStatus::TooManyIds => c"the detector already confirms as many IDs as it can (4)",
    };
    s.as_ptr()
}

/// A static library needs a panic handler on bare metal. The engine is built
/// not to panic; if it ever does, trap, so the firmware's HardFault handler
/// (or a debugger) sees where.
#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        #[cfg(target_arch = "arm")]
        // SAFETY: `udf` only raises an exception.
        unsafe {
            core::arch::asm!("udf #0")
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_listed_in_value_order_with_its_own_message() {
        let unknown = hm_status_message(-1);
        for (i, s) in HmStatus::ALL.iter().enumerate() {
            assert_eq!(*s as i32, i as i32);
            assert_ne!(hm_status_message(i as i32), unknown, "{s:?}");
        }
        assert_eq!(hm_status_message(HmStatus::ALL.len() as i32), unknown);
    }
}
