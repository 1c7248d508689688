//! False alarms: more than ten hours of unmarked and wrong-key audio, of every
//! kind the test kit makes, through detectors of both audio profiles at 44.1
//! and 48 kHz. Not one event may come out.
//!
//! The design bound is per MAC check (2^-32, times the header check); the
//! test prints how many checks it made so the hours can be turned into a
//! measured bound.

use dsp_core::{Id, Profile};
use testkit::harness::{contract_id, detect_config, embed, other_key_config, scan};
use testkit::par;
use testkit::synth::{self, Kind};

/// One source of unmarked material.
#[derive(Clone, Copy, Debug)]
enum Source {
    Plain(Kind),
    /// Music and pink noise marked with another key (and other IDs).
    OtherKey,
}

const MINUTES_PER_RUN: usize = 24;

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
            let mut cfg = other_key_config(Profile::Ultrasonic, rate, id, (seed % 1000) as u32);
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
    let scans = par::map(&runs, |i, &(source, profile, rate)| {
        let dc = detect_config(profile, rate, 1);
        scan(&dc, MINUTES_PER_RUN * 60, |b, _, n| {
            material(source, rate, n, (i * 1000 + b) as u64)
        })
    });
    let events: Vec<String> = runs
        .iter()
        .zip(&scans)
        .flat_map(|((source, profile, rate), s)| {
            s.events
                .iter()
                .map(move |d| format!("{source:?} {profile} {rate}: {d}"))
        })
        .collect();
    let seconds: f64 = runs
        .iter()
        .zip(&scans)
        .map(|((_, _, rate), s)| s.frames as f64 / *rate as f64)
        .sum();
    let hours = seconds / 3600.0;
    println!(
        "false-alarm run: {hours:.1} h of audio, {} preamble hits, {} MAC checks, {} events",
        scans.iter().map(|s| s.sync_hits).sum::<u64>(),
        scans.iter().map(|s| s.mac_checks).sum::<u64>(),
        events.len()
    );
    assert!(hours >= 10.0, "only {hours} h");
    assert!(events.is_empty(), "false events:\n{}", events.join("\n"));
}
