//! False alarms: more than ten hours of unmarked and wrong-key audio, of every
//! kind the test kit makes, through detectors of both audio profiles at 44.1
//! and 48 kHz. Not one event may come out.
//!
//! The design bound is per MAC check (2^-32, times the header check); the
//! test prints how many checks it made so the hours can be turned into a
//! measured bound.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use dsp_core::{Detector, Id, Profile, Schedule};
use testkit::synth::{self, Kind};

/// One source of unmarked material.
#[derive(Clone, Copy, Debug)]
enum Source {
    Plain(Kind),
    /// Music and pink noise marked with another key (and other IDs).
    OtherKey,
}

const MINUTES_PER_RUN: usize = 24;
const BLOCK_SECONDS: usize = 30;

fn sources() -> Vec<Source> {
    let mut v: Vec<Source> = Kind::ALL.iter().map(|&k| Source::Plain(k)).collect();
    v.push(Source::OtherKey);
    v
}

fn material(source: Source, rate: u32, n: usize, seed: u64) -> Vec<f32> {
    match source {
        Source::Plain(kind) => synth::generate(kind, rate, n, seed),
        Source::OtherKey => {
            let kind = if seed % 2 == 0 {
                Kind::Music
            } else {
                Kind::PinkNoise
            };
            let mut x = synth::generate(kind, rate, n, seed);
            let id = Id::new(&seed.to_le_bytes()).unwrap();
            let mut cfg = embed_config(Profile::Ultrasonic, rate, 1, id, OTHER_KEY);
            cfg.schedule = Schedule::BackToBack {
                offset_ms: (seed % 1000) as u32,
            };
            embed(&cfg, &mut x);
            cfg.profile = Profile::NearUltrasonic;
            cfg.id = contract_id();
            embed(&cfg, &mut x);
            x
        }
    }
}

#[test]
fn ten_hours_of_unmarked_and_wrong_key_audio_give_no_event() {
    let runs: Vec<(Source, Profile, u32)> = sources()
        .into_iter()
        .enumerate()
        .flat_map(|(i, s)| {
            let rate = if i % 2 == 0 { 48_000 } else { 44_100 };
            [
                (s, Profile::Ultrasonic, rate),
                (s, Profile::NearUltrasonic, rate),
            ]
        })
        .collect();
    let seconds = AtomicU64::new(0);
    let sync_hits = AtomicU64::new(0);
    let mac_checks = AtomicU64::new(0);
    let next = AtomicU64::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let events: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut events = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                        let Some(&(source, profile, rate)) = runs.get(i) else {
                            break;
                        };
                        let mut det = Detector::new(&detect_config(profile, rate, 1, KEY)).unwrap();
                        let block = rate as usize * BLOCK_SECONDS;
                        for b in 0..MINUTES_PER_RUN * 60 / BLOCK_SECONDS {
                            let x = material(source, rate, block, (i * 1000 + b) as u64);
                            det.process((b * block) as u64, &x, |d| {
                                events.push(format!("{source:?} {profile} {rate}: {d}"))
                            })
                            .unwrap();
                        }
                        det.finish(|d| events.push(format!("{source:?} {profile} {rate}: {d}")));
                        seconds.fetch_add((MINUTES_PER_RUN * 60) as u64, Ordering::Relaxed);
                        sync_hits.fetch_add(det.stats().sync_hits, Ordering::Relaxed);
                        mac_checks.fetch_add(det.stats().mac_checks, Ordering::Relaxed);
                    }
                    events
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let hours = seconds.load(Ordering::Relaxed) as f64 / 3600.0;
    println!(
        "false-alarm run: {hours:.1} h of audio, {} preamble hits, {} MAC checks, {} events",
        sync_hits.load(Ordering::Relaxed),
        mac_checks.load(Ordering::Relaxed),
        events.len()
    );
    assert!(hours >= 10.0, "only {hours} h");
    assert!(events.is_empty(), "false events:\n{}", events.join("\n"));
}
