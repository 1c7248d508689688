//! The robustness matrix, the SNR sweep and the false-alarm scan.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use dsp_core::{
    DetectConfig, Detection, Detector, EmbedConfig, Embedder, Id, Phy, Profile, Schedule,
};
use testkit::synth::{self, Kind};

use crate::treat::{TimeMap, Treatment};
use crate::{contract_id, KEY, OTHER_KEY, RATE};

/// Programme material of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Material {
    Music,
    Speech,
    Noise,
    NearSilence,
    HfRich,
}

impl Material {
    pub const ALL: [Material; 5] = [
        Material::Music,
        Material::Speech,
        Material::Noise,
        Material::NearSilence,
        Material::HfRich,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Material::Music => "music",
            Material::Speech => "speech",
            Material::Noise => "pink noise −20 dBFS",
            Material::NearSilence => "near-silence (−70 dBFS)",
            Material::HfRich => "strong content >18 kHz",
        }
    }

    pub fn generate(self, n: usize, seed: u64) -> Vec<f32> {
        match self {
            Material::Music => synth::generate(Kind::Music, RATE, n, seed),
            Material::Speech => synth::generate(Kind::Speech, RATE, n, seed),
            Material::Noise => synth::pink_noise(n, 0.1, seed),
            Material::NearSilence => synth::white_noise(n, 3.16e-4, seed),
            Material::HfRich => synth::generate(Kind::HfRich, RATE, n, seed),
        }
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub profile: Profile,
    pub material: Material,
    pub treatment: Treatment,
    /// Bursts embedded (whole ones).
    pub expected: usize,
    /// Distinct bursts reported with the right ID within 50 ms of where they went.
    pub found: usize,
    /// Reports of an ID that was never embedded. Must be 0.
    pub wrong: usize,
    /// Mean channel bits the FEC corrected per detected burst.
    pub corrected_bits: f32,
    /// Detections that needed soft combining.
    pub combined: usize,
    /// Bursts whose ID was recovered alone or within a combination.
    pub covered: usize,
    /// The treatment could not run (a tool missing, ...).
    pub error: Option<String>,
}

impl Cell {
    pub fn rate(&self) -> f32 {
        if self.expected == 0 {
            0.0
        } else {
            self.found as f32 / self.expected as f32
        }
    }
}

pub fn embed_config(profile: Profile, id: Id) -> EmbedConfig {
    let mut c = EmbedConfig::new(id, KEY);
    c.profile = profile;
    c.sample_rate = RATE;
    c.channels = 1;
    c
}

pub fn detect_config(profile: Profile, combining: bool) -> DetectConfig {
    let mut c = DetectConfig::new(KEY);
    c.profile = profile;
    c.sample_rate = RATE;
    c.channels = 1;
    c.soft_combining = combining;
    c
}

/// Mark `x`; returns the starts of whole bursts.
pub fn embed(cfg: &EmbedConfig, x: &mut [f32]) -> Vec<u64> {
    let mut e = Embedder::new(cfg).expect("valid config");
    let burst = e.burst_samples();
    let mut starts = Vec::new();
    for (i, block) in x.chunks_mut(1024).enumerate() {
        let now = i as u64 * 1024;
        let next = e.next_burst_start();
        if next >= now && next < now + block.len() as u64 && !starts.contains(&next) {
            starts.push(next);
        }
        e.process(now, block).expect("whole frames");
    }
    starts.retain(|&s| s + burst <= x.len() as u64);
    starts
}

pub fn detect(cfg: &DetectConfig, x: &[f32]) -> Vec<Detection> {
    let mut d = Detector::new(cfg).expect("valid config");
    let mut out = Vec::new();
    for (i, b) in x.chunks(4096).enumerate() {
        d.process(i as u64 * 4096, b, |e| out.push(*e))
            .expect("mono");
    }
    d.finish(|e| out.push(*e));
    out
}

/// What a detection run found against what was sent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Tally {
    /// Distinct bursts reported (by their own time) with the right ID.
    pub found: usize,
    /// Reports of an ID that was never embedded.
    pub wrong: usize,
    /// Mean channel bits corrected per found burst.
    pub mean_bits: f32,
    /// Found bursts that needed soft combining.
    pub combined: usize,
    /// Bursts whose ID was recovered, alone or as part of a combination
    /// (the sum of `bursts_combined` over the reports), at most all.
    pub covered: usize,
}

/// Count distinct bursts found within `tolerance_s` of their mapped start.
pub fn score(
    found: &[Detection],
    id: &Id,
    starts: &[u64],
    map: &TimeMap,
    tolerance_s: f64,
) -> Tally {
    let tol = tolerance_s * RATE as f64;
    let mut hit = vec![false; starts.len()];
    let mut t = Tally::default();
    let mut bits = 0u32;
    for d in found {
        if d.id != *id {
            t.wrong += 1;
            continue;
        }
        let at = starts.iter().position(|&s| {
            map.map(s)
                .is_some_and(|m| (m - d.start_sample as f64).abs() <= tol)
        });
        if let Some(i) = at {
            if !hit[i] {
                hit[i] = true;
                bits += d.corrected_bits as u32;
                t.combined += (d.bursts_combined > 1) as usize;
                t.covered += d.bursts_combined as usize;
            }
        }
    }
    t.found = hit.iter().filter(|&&h| h).count();
    t.covered = t.covered.min(starts.len());
    t.mean_bits = if t.found > 0 {
        bits as f32 / t.found as f32
    } else {
        0.0
    };
    t
}

pub fn run_cell(
    profile: Profile,
    material: Material,
    treatment: Treatment,
    bursts: usize,
    seed: u64,
) -> Cell {
    let mut cfg = embed_config(profile, contract_id());
    cfg.schedule = Schedule::Interval {
        every_ms: 2000,
        offset_ms: 300,
    };
    let n = RATE as usize * (2 * bursts + 1);
    let mut x = material.generate(n, seed);
    let starts = embed(&cfg, &mut x);
    let band = Phy::new(profile, RATE)
        .expect("48 kHz fits every profile")
        .band;
    let mut cell = Cell {
        profile,
        material,
        treatment,
        expected: starts.len(),
        found: 0,
        wrong: 0,
        corrected_bits: 0.0,
        combined: 0,
        covered: 0,
        error: None,
    };
    match treatment.apply(&x, band, seed) {
        Ok((y, map)) => {
            let found = detect(&detect_config(profile, true), &y);
            let t = score(&found, &contract_id(), &starts, &map, 0.05);
            (
                cell.found,
                cell.wrong,
                cell.corrected_bits,
                cell.combined,
                cell.covered,
            ) = (t.found, t.wrong, t.mean_bits, t.combined, t.covered);
        }
        Err(e) => cell.error = Some(e),
    }
    cell
}

/// Run `cells` on every core; results in input order.
pub fn run_all(
    cells: &[(Profile, Material, Treatment)],
    bursts: usize,
    progress: impl Fn(&Cell) + Sync,
) -> Vec<Cell> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(vec![None; cells.len()]);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(p, m, t)) = cells.get(i) else {
                    break;
                };
                let cell = run_cell(p, m, t, bursts, 1000 + i as u64);
                progress(&cell);
                results.lock().expect("no panics while holding the lock")[i] = Some(cell);
            });
        }
    });
    results
        .into_inner()
        .expect("threads joined")
        .into_iter()
        .map(|c| c.expect("every cell ran"))
        .collect()
}

/// Detection rate of single bursts and with combining, against in-band SNR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnrPoint {
    pub profile: Profile,
    pub snr_db: f32,
    pub single: f32,
    pub combined: f32,
    pub wrong: usize,
}

pub fn snr_sweep(profiles: &[Profile], snrs: &[f32], bursts: usize) -> Vec<SnrPoint> {
    let jobs: Vec<(Profile, f32)> = profiles
        .iter()
        .flat_map(|&p| snrs.iter().map(move |&s| (p, s)))
        .collect();
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(profile, snr)) = jobs.get(i) else {
                    break;
                };
                let mut cfg = embed_config(profile, contract_id());
                cfg.schedule = Schedule::Interval {
                    every_ms: 2000,
                    offset_ms: 300,
                };
                let n = RATE as usize * (2 * bursts + 1);
                let mut x = synth::generate(Kind::Music, RATE, n, 77 + i as u64);
                let starts = embed(&cfg, &mut x);
                let band = Phy::new(profile, RATE).expect("fits").band;
                let (y, map) = Treatment::WhiteNoise(snr)
                    .apply(&x, band, i as u64)
                    .expect("noise needs no tools");
                // The same noisy stream, searched without and with combining.
                let cell = |combining: bool| {
                    let found = detect(&detect_config(profile, combining), &y);
                    let t = score(&found, &contract_id(), &starts, &map, 0.05);
                    // Single bursts count alone; with combining, every burst whose ID was recovered.
                    let n = if combining { t.covered } else { t.found };
                    (n as f32 / starts.len() as f32, t.wrong)
                };
                let (single, w1) = cell(false);
                let (combined, w2) = cell(true);
                out.lock().expect("lock").push(SnrPoint {
                    profile,
                    snr_db: snr,
                    single,
                    combined,
                    wrong: w1 + w2,
                });
            });
        }
    });
    let mut v = out.into_inner().expect("joined");
    v.sort_by(|a, b| {
        (a.profile.name(), a.snr_db)
            .partial_cmp(&(b.profile.name(), b.snr_db))
            .expect("finite")
    });
    v
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FalseAlarms {
    pub hours: f64,
    pub sync_hits: u64,
    pub mac_checks: u64,
    pub events: u64,
}

/// Scan `hours` of unmarked and wrong-key material through detectors of
/// every profile.
pub fn false_alarms(hours: f64) -> FalseAlarms {
    let kinds: Vec<Option<Kind>> = Kind::ALL.iter().map(|&k| Some(k)).chain([None]).collect();
    let jobs: Vec<(Option<Kind>, Profile)> = kinds
        .iter()
        .flat_map(|&k| Profile::ALL.map(|p| (k, p)))
        .collect();
    let seconds_each = (hours * 3600.0 / jobs.len() as f64).ceil() as usize;
    let block = 30usize;
    let (hits, checks, events) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(kind, profile)) = jobs.get(i) else {
                    break;
                };
                let mut d = Detector::new(&detect_config(profile, true)).expect("valid");
                let mut t = 0u64;
                let mut left = seconds_each;
                while left > 0 {
                    let secs_now = left.min(block);
                    let n = RATE as usize * secs_now;
                    let seed = (i * 100_000) as u64 + t;
                    let x = match kind {
                        Some(k) => synth::generate(k, RATE, n, seed),
                        None => {
                            // Music marked with another key in every profile.
                            let mut x = synth::generate(Kind::Music, RATE, n, seed);
                            for p in Profile::ALL {
                                let mut c =
                                    embed_config(p, Id::new(&seed.to_le_bytes()).expect("8 bytes"));
                                c.key = OTHER_KEY;
                                c.schedule = Schedule::BackToBack {
                                    offset_ms: (seed % 700) as u32,
                                };
                                embed(&c, &mut x);
                            }
                            x
                        }
                    };
                    d.process(t, &x, |_| {
                        events.fetch_add(1, Ordering::Relaxed);
                    })
                    .expect("mono");
                    t += n as u64;
                    left -= secs_now;
                }
                d.finish(|_| {
                    events.fetch_add(1, Ordering::Relaxed);
                });
                hits.fetch_add(d.stats().sync_hits, Ordering::Relaxed);
                checks.fetch_add(d.stats().mac_checks, Ordering::Relaxed);
            });
        }
    });
    FalseAlarms {
        hours: (seconds_each * jobs.len()) as f64 / 3600.0,
        sync_hits: hits.load(Ordering::Relaxed),
        mac_checks: checks.load(Ordering::Relaxed),
        events: events.load(Ordering::Relaxed),
    }
}
