//! Helpers shared by the integration tests: mark a programme, run the
//! detector over a signal, and score what it found against where bursts are.
#![allow(dead_code)]

use dsp_core::{DetectConfig, Detection, Detector, EmbedConfig, Embedder, Id, Key, Profile};

pub const KEY: Key = Key::PUBLIC_TEST;
pub const OTHER_KEY: Key = Key::from_bytes([0x17; 16]);

pub fn contract_id() -> Id {
    Id::new(&[
        0xd8, 0xda, 0x6b, 0xf2, 0x69, 0x64, 0xaf, 0x9d, 0x7e, 0xed, 0x9e, 0x03, 0xe5, 0x34, 0x15,
        0xd3, 0x7a, 0xa9, 0x60, 0x45,
    ])
    .unwrap()
}

pub fn embed_config(profile: Profile, rate: u32, channels: u16, id: Id, key: Key) -> EmbedConfig {
    let mut c = EmbedConfig::new(id, key);
    c.profile = profile;
    c.sample_rate = rate;
    c.channels = channels;
    c
}

pub fn detect_config(profile: Profile, rate: u32, channels: u16, key: Key) -> DetectConfig {
    let mut c = DetectConfig::new(key);
    c.profile = profile;
    c.sample_rate = rate;
    c.channels = channels;
    c
}

/// Mark a programme in place (blocks of 1024 frames); returns the starts of
/// the bursts that began in it (the last may be cut short).
pub fn embed(config: &EmbedConfig, x: &mut [f32]) -> Vec<u64> {
    let mut e = Embedder::new(config).unwrap();
    let ch = config.channels as usize;
    for (i, block) in x.chunks_mut(1024 * ch).enumerate() {
        e.process((i * 1024) as u64, block).unwrap();
    }
    schedule_starts(config, (x.len() / ch) as u64)
}

/// Start of burst `k` of a schedule anchored at sample 0, as the embedder has it.
pub fn nth_start(config: &EmbedConfig, k: u64) -> u64 {
    Embedder::new(config).unwrap().burst_start(k)
}

/// Starts of the bursts that begin within `len` samples (the last may be cut).
pub fn schedule_starts(config: &EmbedConfig, len: u64) -> Vec<u64> {
    let e = Embedder::new(config).unwrap();
    (0..)
        .map(|k| e.burst_start(k))
        .take_while(|&s| s < len)
        .collect()
}

/// How many bursts fit whole in `len` samples.
pub fn whole_bursts(config: &EmbedConfig, len: u64) -> usize {
    let burst = Embedder::new(config).unwrap().burst_samples();
    schedule_starts(config, len)
        .iter()
        .filter(|&&s| s + burst <= len)
        .count()
}

pub fn detect(config: &DetectConfig, x: &[f32]) -> Vec<Detection> {
    detect_blocks(config, x, 4096)
}

pub fn detect_blocks(config: &DetectConfig, x: &[f32], block: usize) -> Vec<Detection> {
    let mut d = Detector::new(config).unwrap();
    let mut out = Vec::new();
    let ch = config.channels as usize;
    for (i, b) in x.chunks(block * ch).enumerate() {
        d.process((i * block) as u64, b, |e| out.push(*e)).unwrap();
    }
    d.finish(|e| out.push(*e));
    out
}

/// What a detection run found against what was sent.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Score {
    /// Bursts that began in the signal (the last may be cut short).
    pub expected: usize,
    /// Bursts reported with the right ID within ±1 ms of a true start.
    pub found: usize,
    /// Reports of an ID that was not sent.
    pub wrong_id: usize,
    /// Right ID but more than 1 ms from every true start (scaled by `time_scale`).
    pub bad_time: usize,
    pub single: usize,
}

/// `time_scale` maps embedder sample indices to detector ones (resampling, drift).
pub fn score(found: &[Detection], id: &Id, starts: &[u64], rate: u32, time_scale: f64) -> Score {
    let tolerance = rate as f64 / 1000.0;
    let mut s = Score {
        expected: starts.len(),
        ..Default::default()
    };
    for d in found {
        if d.id != *id {
            s.wrong_id += 1;
            continue;
        }
        let ok = starts
            .iter()
            .any(|&t| (t as f64 * time_scale - d.start_sample as f64).abs() <= tolerance);
        if ok {
            s.found += 1;
            if d.bursts_combined == 1 {
                s.single += 1;
            }
        } else {
            s.bad_time += 1;
        }
    }
    s
}

pub fn mark_only(marked: &[f32], original: &[f32]) -> Vec<f32> {
    marked.iter().zip(original).map(|(a, b)| a - b).collect()
}
