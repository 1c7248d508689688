//! Driving dsp-core in tests and benches: the keys and ID they use,
//! configurations, marking and searching whole signals, the schedule of
//! bursts a configuration sends, scoring what came back, and scanning
//! unmarked material for false alarms.
//!
//! The public test key is [`Key::PUBLIC_TEST`]; [`OTHER_KEY`] is the one
//! other key, for wrong-key material. Marks and reports carry the
//! [`Profile`] that made or read them, so suites score both layers with one
//! [`score`](crate::score::score).

use dsp_core::{
    DetectConfig, Detection, Detector, EmbedConfig, Embedder, Event, Id, Key, Phy, Profile,
    Profiles, Sample, Schedule, DEFAULT_LEVEL_DBFS,
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

/// The band an ultrasonic `profile`'s mark occupies at `rate` and its power
/// at the default level: the reference of an in-band SNR. (The robust
/// layer's mark follows the programme, so its impairments are set against
/// the programme instead.)
pub fn in_band(profile: Profile, rate: u32) -> InBand {
    let band = Phy::new(profile, rate)
        .unwrap_or_else(|e| panic!("{profile} at {rate} Hz: {e}"))
        .band;
    InBand {
        low_hz: band.low_hz as f32,
        high_hz: band.high_hz as f32,
        mark_power: channel::mark_power(DEFAULT_LEVEL_DBFS),
    }
}

/// Marking `id` with the public test key (set `key` for another).
pub fn embed_config(
    profiles: impl Into<Profiles>,
    rate: u32,
    channels: u16,
    id: Id,
) -> EmbedConfig {
    let mut c = EmbedConfig::new(id, Key::PUBLIC_TEST);
    c.profiles = profiles.into();
    c.sample_rate = rate;
    c.channels = channels;
    c
}

/// Searching with the public test key (set `key` for another).
pub fn detect_config(profiles: impl Into<Profiles>, rate: u32, channels: u16) -> DetectConfig {
    let mut c = DetectConfig::new(Key::PUBLIC_TEST);
    c.profiles = profiles.into();
    c.sample_rate = rate;
    c.channels = channels;
    c
}

/// Wrong-key material: `id` under [`OTHER_KEY`] in mono, bursts back to
/// back from `offset_ms` (as much of the mark as a stream can hold).
pub fn other_key_config(
    profiles: impl Into<Profiles>,
    rate: u32,
    id: Id,
    offset_ms: u32,
) -> EmbedConfig {
    let mut c = embed_config(profiles, rate, 1, id);
    c.key = OTHER_KEY;
    c.schedule = Schedule::BackToBack { offset_ms };
    c
}

/// The detector that reads what `config` marks: same key, profile and stream.
pub fn detect_config_for(config: &EmbedConfig) -> DetectConfig {
    let mut c = detect_config(config.profiles, config.sample_rate, config.channels);
    c.key = config.key;
    c
}

/// Mark interleaved `x` in place (blocks of 1024 frames), with the
/// embedder's latency taken out (the output keeps `x`'s length and
/// alignment); returns the starts of the ultrasonic bursts that began in it
/// (the last may be cut short), or of the robust periods.
pub fn embed(config: &EmbedConfig, x: &mut [f32]) -> Vec<u64> {
    embed_samples(config, x, 1024)
}

/// A marked copy of `x` ([`embed`] on a clone).
pub fn marked(config: &EmbedConfig, x: &[f32]) -> Vec<f32> {
    let mut y = x.to_vec();
    embed(config, &mut y);
    y
}

/// [`embed`] for any sample format, in blocks of `block` frames.
pub fn embed_samples<S: Sample + Default>(
    config: &EmbedConfig,
    x: &mut [S],
    block: usize,
) -> Vec<u64> {
    let mut e = Embedder::new(config).expect("valid embed config");
    let ch = config.channels as usize;
    let latency = e.latency() as usize;
    let mut y = Vec::with_capacity(x.len() + latency * ch);
    y.extend_from_slice(x);
    y.resize(x.len() + latency * ch, S::default());
    for (i, b) in y.chunks_mut(block * ch).enumerate() {
        e.process((i * block) as u64, b).expect("whole frames");
    }
    x.copy_from_slice(&y[latency * ch..]);
    schedule_starts(config, (x.len() / ch) as u64)
}

/// Start of mark `k` (ultrasonic burst, else robust period) of a schedule
/// anchored at sample 0, as the embedder has it.
pub fn nth_start(config: &EmbedConfig, k: u64) -> u64 {
    let e = Embedder::new(config).expect("valid embed config");
    match e.ultrasonic() {
        Some(u) => u.burst_start(k),
        None => robust_period_start(config, k),
    }
}

/// Start of robust period `k`: its frame 0's centre, 768·P samples apart
/// from the schedule's offset.
pub fn robust_period_start(config: &EmbedConfig, k: u64) -> u64 {
    let offset = (config.schedule.offset_ms() as u64 * config.sample_rate as u64 + 500) / 1000;
    offset + k * robust_period(config)
}

/// Samples per robust period for `config`'s ID.
pub fn robust_period(config: &EmbedConfig) -> u64 {
    dsp_core::robust::period_samples(config.id.class())
}

/// Starts of the marks that begin within `len` samples (the last may be cut).
pub fn schedule_starts(config: &EmbedConfig, len: u64) -> Vec<u64> {
    (0..)
        .map(|k| nth_start(config, k))
        .take_while(|&s| s < len)
        .collect()
}

/// Samples one mark spans: an ultrasonic burst, else a robust period.
pub fn mark_span(config: &EmbedConfig) -> u64 {
    let e = Embedder::new(config).expect("valid embed config");
    match e.ultrasonic() {
        Some(u) => u.burst_samples(),
        None => robust_period(config),
    }
}

/// Starts of the marks that fit whole in `len` samples.
pub fn whole_starts(config: &EmbedConfig, len: u64) -> Vec<u64> {
    let span = mark_span(config);
    let mut starts = schedule_starts(config, len);
    starts.retain(|&s| s + span <= len);
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

/// Every detection a detector reports over `x`, fed in blocks of `block` frames.
pub fn detect_blocks(config: &DetectConfig, x: &[f32], block: usize) -> Vec<Detection> {
    detect_events(config, x, block)
        .into_iter()
        .filter_map(|e| e.detection())
        .collect()
}

/// Every event (detections, confirmations, collisions) over `x`, in blocks of `block` frames.
pub fn detect_events(config: &DetectConfig, x: &[f32], block: usize) -> Vec<Event> {
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

/// The marks `config` sent at `starts`, as the layer that made them.
pub fn marks(config: &EmbedConfig, starts: &[u64]) -> Vec<Mark> {
    let profile = config.profiles.ultrasonic().unwrap_or(Profile::Robust);
    starts
        .iter()
        .map(|&start| Mark {
            profile,
            id: config.id,
            start,
        })
        .collect()
}

/// What detectors reported, as layer-independent reports.
pub fn reports(found: &[Detection]) -> Vec<Report> {
    found
        .iter()
        .map(|d| Report {
            profile: d.profile,
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
        &reports(found),
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
    /// Robust confirmations tried (a false one below 4e-11 each).
    pub presence_checks: u64,
    /// Everything reported: every one a false alarm (a denied confirmation
    /// is not reported here).
    pub events: Vec<Event>,
}

/// Material a false-alarm scan makes at a time: short enough to keep memory
/// small, long enough that making it costs little per second.
const SCAN_BLOCK_SECONDS: usize = 30;

/// Run `config`'s detector over `seconds` of material, made 30 s at a time
/// by `block(index, first_frame, frames)` (interleaved, `config.channels`
/// per frame); the robust detector, if it runs, also tests `expect` (issued
/// IDs) every second.
pub fn scan(
    config: &DetectConfig,
    expect: &[Id],
    seconds: usize,
    block: impl Fn(usize, u64, usize) -> Vec<f32>,
) -> Scan {
    let mut d = Detector::new(config).expect("valid detect config");
    if let Some(r) = d.robust_mut() {
        for id in expect {
            r.expect(id);
        }
    }
    let mut scan = Scan::default();
    let (mut left, mut index) = (seconds, 0);
    while left > 0 {
        let now = left.min(SCAN_BLOCK_SECONDS);
        let frames = config.sample_rate as usize * now;
        let x = block(index, scan.frames, frames);
        d.process(scan.frames, &x, |e| {
            if !matches!(e, Event::Presence(p) if !p.present) {
                scan.events.push(*e)
            }
        })
        .expect("whole frames");
        scan.frames += frames as u64;
        left -= now;
        index += 1;
    }
    d.finish(|e| {
        if !matches!(e, Event::Presence(p) if !p.present) {
            scan.events.push(*e)
        }
    });
    if let Some(u) = d.ultrasonic() {
        scan.sync_hits += u.stats().sync_hits;
        scan.mac_checks += u.stats().mac_checks;
    }
    if let Some(r) = d.robust() {
        scan.mac_checks += r.stats().mac_checks;
        scan.presence_checks += r.stats().presence_checks;
    }
    scan
}

/// `key` as a key file for the CLI at `path`: a comment, the hex, mode 0600.
pub fn write_key_file(path: &std::path::Path, key: &Key) -> std::io::Result<()> {
    let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(path, format!("# test key\n{hex}\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
