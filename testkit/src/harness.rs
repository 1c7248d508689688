//! Driving dsp-core in tests and benches: the keys and ID they use,
//! configurations, marking and searching whole signals, the schedule of
//! bursts a configuration sends, scoring what came back, and scanning
//! unmarked material for false alarms.
//!
//! The public test key is [`Key::PUBLIC_TEST`]; [`OTHER_KEY`] is the one
//! other key, for wrong-key material. dsp-core's mark is one [`Layer`]; a
//! layer with its own embedder and detector gets a variant of its own and
//! the same [`Mark`]/[`Report`] conversions, so suites score every layer
//! with one [`score`](crate::score::score).

use dsp_core::{
    DetectConfig, Detection, Detector, EmbedConfig, Embedder, Id, Key, Phy, Profile, Schedule,
    DEFAULT_LEVEL_DBFS,
};

use crate::channel::{self, InBand};
use crate::score::{self, Mark, Report, Score, TimeMap};

/// A second key, for wrong-key material and overlapping marks. The golden
/// vectors' other-key file is made with it.
pub const OTHER_KEY: Key = Key::from_bytes([0xF0; Key::LEN]);

/// The 20-byte contract address tests, benches and vectors embed.
pub const CONTRACT: &str = "d8da6bf26964af9d7eed9e03e53415d37aa96045";

/// [`CONTRACT`] as an ID.
pub fn contract_id() -> Id {
    Id::from_hex(CONTRACT).expect("40 hex digits")
}

/// A watermark layer: which embedder made a mark and which detector reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// dsp-core's CPM mark above (or near) 20 kHz, in one band profile.
    Ultrasonic(Profile),
}

impl Layer {
    /// The mark's band at `rate` and its power at the default level: the
    /// reference of an in-band SNR.
    pub fn in_band(self, rate: u32) -> InBand {
        match self {
            Layer::Ultrasonic(profile) => {
                let band = Phy::new(profile, rate)
                    .unwrap_or_else(|e| panic!("{profile} at {rate} Hz: {e}"))
                    .band;
                InBand {
                    low_hz: band.low_hz as f32,
                    high_hz: band.high_hz as f32,
                    mark_power: channel::mark_power(DEFAULT_LEVEL_DBFS),
                }
            }
        }
    }
}

/// Marking `id` with the public test key (set `key` for another).
pub fn embed_config(profile: Profile, rate: u32, channels: u16, id: Id) -> EmbedConfig {
    let mut c = EmbedConfig::new(id, Key::PUBLIC_TEST);
    c.profile = profile;
    c.sample_rate = rate;
    c.channels = channels;
    c
}

/// Searching with the public test key (set `key` for another).
pub fn detect_config(profile: Profile, rate: u32, channels: u16) -> DetectConfig {
    let mut c = DetectConfig::new(Key::PUBLIC_TEST);
    c.profile = profile;
    c.sample_rate = rate;
    c.channels = channels;
    c
}

/// Wrong-key material: `id` under [`OTHER_KEY`] in mono, bursts back to
/// back from `offset_ms` (as much of the mark as a stream can hold).
pub fn other_key_config(profile: Profile, rate: u32, id: Id, offset_ms: u32) -> EmbedConfig {
    let mut c = embed_config(profile, rate, 1, id);
    c.key = OTHER_KEY;
    c.schedule = Schedule::BackToBack { offset_ms };
    c
}

/// The detector that reads what `config` marks: same key, profile and stream.
pub fn detect_config_for(config: &EmbedConfig) -> DetectConfig {
    let mut c = detect_config(config.profile, config.sample_rate, config.channels);
    c.key = config.key;
    c
}

/// Mark interleaved `x` in place (blocks of 1024 frames); returns the starts
/// of the bursts that began in it (the last may be cut short).
pub fn embed(config: &EmbedConfig, x: &mut [f32]) -> Vec<u64> {
    let mut e = Embedder::new(config).expect("valid embed config");
    let ch = config.channels as usize;
    for (i, block) in x.chunks_mut(1024 * ch).enumerate() {
        e.process((i * 1024) as u64, block).expect("whole frames");
    }
    schedule_starts(config, (x.len() / ch) as u64)
}

/// Start of burst `k` of a schedule anchored at sample 0, as the embedder has it.
pub fn nth_start(config: &EmbedConfig, k: u64) -> u64 {
    Embedder::new(config)
        .expect("valid embed config")
        .burst_start(k)
}

/// Starts of the bursts that begin within `len` samples (the last may be cut).
pub fn schedule_starts(config: &EmbedConfig, len: u64) -> Vec<u64> {
    let e = Embedder::new(config).expect("valid embed config");
    (0..)
        .map(|k| e.burst_start(k))
        .take_while(|&s| s < len)
        .collect()
}

/// Starts of the bursts that fit whole in `len` samples.
pub fn whole_starts(config: &EmbedConfig, len: u64) -> Vec<u64> {
    let burst = Embedder::new(config)
        .expect("valid embed config")
        .burst_samples();
    let mut starts = schedule_starts(config, len);
    starts.retain(|&s| s + burst <= len);
    starts
}

/// How many bursts fit whole in `len` samples.
pub fn whole_bursts(config: &EmbedConfig, len: u64) -> usize {
    whole_starts(config, len).len()
}

/// Everything a detector reports over `x`, fed in blocks of 4096 frames.
pub fn detect(config: &DetectConfig, x: &[f32]) -> Vec<Detection> {
    detect_blocks(config, x, 4096)
}

/// Everything a detector reports over `x`, fed in blocks of `block` frames.
pub fn detect_blocks(config: &DetectConfig, x: &[f32], block: usize) -> Vec<Detection> {
    let mut d = Detector::new(config).expect("valid detect config");
    let mut out = Vec::new();
    let ch = config.channels as usize;
    for (i, b) in x.chunks(block * ch).enumerate() {
        d.process((i * block) as u64, b, |e| out.push(*e))
            .expect("whole frames");
    }
    d.finish(|e| out.push(*e));
    out
}

/// The marks `config` sent at `starts`.
pub fn marks(config: &EmbedConfig, starts: &[u64]) -> Vec<Mark> {
    let layer = Layer::Ultrasonic(config.profile);
    starts
        .iter()
        .map(|&start| Mark {
            layer,
            id: config.id,
            start,
        })
        .collect()
}

/// What a detector of `profile` reported, as layer-independent reports.
pub fn reports(profile: Profile, found: &[Detection]) -> Vec<Report> {
    found
        .iter()
        .map(|d| Report {
            layer: Layer::Ultrasonic(profile),
            id: d.id,
            start: d.start_sample,
            combined: d.bursts_combined,
            corrected_bits: d.corrected_bits,
        })
        .collect()
}

/// A detector's reports (`found`, at `rate`) against the bursts `config` sent
/// at `starts`: each must start within 1 ms, the detector's promise, of
/// where `map` puts its burst.
pub fn score_bursts(
    found: &[Detection],
    config: &EmbedConfig,
    starts: &[u64],
    rate: u32,
    map: &TimeMap,
) -> Score {
    score::score(
        &reports(config.profile, found),
        &marks(config, starts),
        map,
        rate as f64 / 1000.0,
    )
}

/// Search `x` with the detector that reads `config`'s marks; score against
/// the bursts sent at `starts`.
pub fn detect_and_score(config: &EmbedConfig, x: &[f32], starts: &[u64]) -> Score {
    let found = detect(&detect_config_for(config), x);
    score_bursts(&found, config, starts, config.sample_rate, &TimeMap::SAME)
}

/// What a detector heard in material that carries no mark it may report.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Scan {
    /// Frames searched.
    pub frames: u64,
    pub sync_hits: u64,
    /// MAC checks made: each passes by chance with probability 2^-32.
    pub mac_checks: u64,
    /// Everything reported: every one a false alarm.
    pub events: Vec<Detection>,
}

/// Material a false-alarm scan makes at a time: short enough to keep memory
/// small, long enough that making it costs little per second.
const SCAN_BLOCK_SECONDS: usize = 30;

/// Run `config`'s detector over `seconds` of material, made
/// [`SCAN_BLOCK_SECONDS`] at a time by `block(index, first_frame, frames)`
/// (interleaved, `config.channels` per frame).
pub fn scan(
    config: &DetectConfig,
    seconds: usize,
    block: impl Fn(usize, u64, usize) -> Vec<f32>,
) -> Scan {
    let mut d = Detector::new(config).expect("valid detect config");
    let mut scan = Scan::default();
    let (mut left, mut index) = (seconds, 0);
    while left > 0 {
        let now = left.min(SCAN_BLOCK_SECONDS);
        let frames = config.sample_rate as usize * now;
        let x = block(index, scan.frames, frames);
        d.process(scan.frames, &x, |e| scan.events.push(*e))
            .expect("whole frames");
        scan.frames += frames as u64;
        left -= now;
        index += 1;
    }
    d.finish(|e| scan.events.push(*e));
    (scan.sync_hits, scan.mac_checks) = (d.stats().sync_hits, d.stats().mac_checks);
    scan
}
