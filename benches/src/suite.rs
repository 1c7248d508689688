//! The robustness matrix, the SNR sweep and the false-alarm scan: mono
//! programme at [`RATE`], marked with the public test key, put through
//! testkit's treatments and scored by testkit's scorer.

use dsp_core::{EmbedConfig, Id, Profile, Schedule};
use testkit::harness::{
    contract_id, detect, detect_config, embed, embed_config, in_band, marks, other_key_config,
    reports, scan, whole_starts,
};
use testkit::par;
use testkit::score::{self, Mark, Score, TimeMap};
use testkit::synth::{self, Kind};
use testkit::treat::Treatment;

use crate::RATE;

/// A report counts within 50 ms of where its burst went: codecs delay the
/// signal (AAC's priming alone is 21 ms).
pub const TOLERANCE_S: f64 = 0.05;

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
    /// Whole bursts sent and what the detector made of them (with soft
    /// combining).
    pub score: Score,
    /// The treatment could not run (a tool missing, ...).
    pub error: Option<String>,
}

/// The suite's marking: the contract ID, a burst every 2 s from 0.3 s.
fn suite_config(profile: Profile, id: Id) -> EmbedConfig {
    let mut c = embed_config(profile, RATE, 1, id);
    c.schedule = Schedule::Interval {
        every_ms: 2000,
        offset_ms: 300,
    };
    c
}

/// Mark the contract ID over `x` on the suite's schedule; the whole bursts
/// sent (a cut one at the end is not expected).
fn mark(profile: Profile, x: &mut [f32]) -> Vec<Mark> {
    let cfg = suite_config(profile, contract_id());
    embed(&cfg, x);
    marks(&cfg, &whole_starts(&cfg, x.len() as u64))
}

/// Samples of programme that hold `bursts` whole bursts of the schedule.
fn programme_len(bursts: usize) -> usize {
    RATE as usize * (2 * bursts + 1)
}

/// Search `y` with `profile`'s detector; score against `sent`.
fn search(profile: Profile, combining: bool, y: &[f32], sent: &[Mark], map: &TimeMap) -> Score {
    let mut dc = detect_config(profile, RATE, 1);
    dc.soft_combining = combining;
    let found = reports(&detect(&dc, y));
    score::score(&found, sent, map, TOLERANCE_S * RATE as f64)
}

pub fn run_cell(
    profile: Profile,
    material: Material,
    treatment: Treatment,
    bursts: usize,
    seed: u64,
) -> Cell {
    let mut x = material.generate(programme_len(bursts), seed);
    let sent = mark(profile, &mut x);
    let band = in_band(profile, RATE);
    let (score, error) = match treatment.apply(&x, RATE, &band, seed) {
        Ok((y, map)) => (search(profile, true, &y, &sent, &map), None),
        Err(e) => (
            Score {
                expected: sent.len(),
                ..Score::default()
            },
            Some(e),
        ),
    };
    Cell {
        profile,
        material,
        treatment,
        score,
        error,
    }
}

/// Run `cells` on every core; results in input order.
pub fn run_all(
    cells: &[(Profile, Material, Treatment)],
    bursts: usize,
    progress: impl Fn(&Cell) + Sync,
) -> Vec<Cell> {
    par::map(cells, |i, &(p, m, t)| {
        let cell = run_cell(p, m, t, bursts, 1000 + i as u64);
        progress(&cell);
        cell
    })
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
    let mut points = par::map(&jobs, |i, &(profile, snr)| {
        let mut x = synth::generate(Kind::Music, RATE, programme_len(bursts), 77 + i as u64);
        let sent = mark(profile, &mut x);
        let band = in_band(profile, RATE);
        let (y, map) = Treatment::WhiteNoise(snr)
            .apply(&x, RATE, &band, i as u64)
            .expect("noise needs no tools");
        // The same noisy stream, searched without and with combining.
        let (alone, combining) = (
            search(profile, false, &y, &sent, &map),
            search(profile, true, &y, &sent, &map),
        );
        // Single bursts count alone; with combining, every burst whose ID was recovered.
        SnrPoint {
            profile,
            snr_db: snr,
            single: alone.found as f32 / sent.len() as f32,
            combined: combining.covered as f32 / sent.len() as f32,
            wrong: alone.wrong_id + combining.wrong_id,
        }
    });
    points.sort_by(|a, b| {
        (a.profile.name(), a.snr_db)
            .partial_cmp(&(b.profile.name(), b.snr_db))
            .expect("finite")
    });
    points
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
        .flat_map(|&k| Profile::ULTRASONIC.map(|p| (k, p)))
        .collect();
    let seconds_each = (hours * 3600.0 / jobs.len() as f64).ceil() as usize;
    let scans = par::map(&jobs, |i, &(kind, profile)| {
        let dc = detect_config(profile, RATE, 1);
        scan(&dc, &[], seconds_each, |_, first_frame, n| {
            let seed = (i * 100_000) as u64 + first_frame;
            match kind {
                Some(k) => synth::generate(k, RATE, n, seed),
                None => other_key_music(n, seed),
            }
        })
    });
    FalseAlarms {
        hours: scans.iter().map(|s| s.frames).sum::<u64>() as f64 / RATE as f64 / 3600.0,
        sync_hits: scans.iter().map(|s| s.sync_hits).sum(),
        mac_checks: scans.iter().map(|s| s.mac_checks).sum(),
        events: scans.iter().map(|s| s.events.len() as u64).sum(),
    }
}

/// Music marked with the other key in every profile, back to back.
fn other_key_music(n: usize, seed: u64) -> Vec<f32> {
    let mut x = synth::generate(Kind::Music, RATE, n, seed);
    let id = Id::new(&seed.to_le_bytes()).expect("8 bytes");
    for p in Profile::ULTRASONIC {
        embed(&other_key_config(p, RATE, id, (seed % 700) as u32), &mut x);
    }
    x
}
