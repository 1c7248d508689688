//! False alarms: more than ten hours of unmarked, wrong-key and other-layer
//! audio, of every kind the test kit makes, through detectors of both
//! layers (ultrasonic in two bands at 44.1 and 48 kHz, robust at 48 kHz).
//! Not one event may come out: no decoded ID and no confirmed presence of
//! an ID the robust detector was told to expect.
//!
//! The design bound is per MAC check (2^-32, times the header check) and
//! per confirmation (z ≥ 6.5); the test prints how many of each it made so
//! the hours can be turned into a measured bound.

use dsp_core::{Id, Profile, Profiles};
use testkit::harness::{contract_id, detect_config, embed, other_key_config, scan};
use testkit::par;
use testkit::synth::{self, Kind};

/// One source of unmarked material.
#[derive(Clone, Copy, Debug)]
enum Source {
    Plain(Kind),
    /// Music and pink noise marked with another key (and other IDs), in
    /// both layers.
    OtherKey,
    /// Music marked with the public key in the layer the run does not search.
    OtherLayer,
}

const MINUTES_PER_RUN: usize = 24;

fn sources() -> Vec<Source> {
    let mut v: Vec<Source> = Kind::ALL.iter().map(|&k| Source::Plain(k)).collect();
    v.push(Source::OtherKey);
    v
}

fn material(source: Source, searched: Profiles, rate: u32, n: usize, seed: u64) -> Vec<f32> {
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
            let first = if rate == 48_000 {
                Profiles::only(Profile::Ultrasonic).with(Profile::Robust)
            } else {
                Profile::Ultrasonic.into()
            };
            let mut cfg = other_key_config(first, rate, id, (seed % 1000) as u32);
            embed(&cfg, &mut x);
            cfg.profiles = Profile::NearUltrasonic.into();
            cfg.id = contract_id();
            embed(&cfg, &mut x);
            x
        }
        Source::OtherLayer => {
            let mut x = synth::generate(Kind::Music, rate, n, seed);
            let other = if searched.robust() {
                Profile::Ultrasonic
            } else {
                Profile::Robust
            };
            let mut cfg = other_key_config(other, rate, contract_id(), 0);
            cfg.key = dsp_core::Key::PUBLIC_TEST;
            embed(&cfg, &mut x);
            x
        }
    }
}

#[test]
fn ten_hours_of_unmarked_and_wrong_key_audio_give_no_event() {
    // Each source through both ultrasonic bands, one at 44.1 and one at
    // 48 kHz (alternating), and the robust detector rides on the 48 kHz one.
    let mut runs: Vec<(Source, Profiles, u32)> = sources()
        .into_iter()
        .enumerate()
        .flat_map(|(i, s)| {
            let (wide, near) = if i % 2 == 0 {
                (48_000, 44_100)
            } else {
                (44_100, 48_000)
            };
            let at = |p: Profile, rate: u32| {
                if rate == 48_000 {
                    (s, Profiles::only(p).with(Profile::Robust), rate)
                } else {
                    (s, p.into(), rate)
                }
            };
            [
                at(Profile::Ultrasonic, wide),
                at(Profile::NearUltrasonic, near),
            ]
        })
        .collect();
    runs.push((Source::OtherLayer, Profile::Robust.into(), 48_000));
    runs.push((Source::OtherLayer, Profile::Ultrasonic.into(), 48_000));
    let scans = par::map(&runs, |i, &(source, profiles, rate)| {
        let dc = detect_config(profiles, rate, 1);
        // The robust detector also tests an issued ID every second.
        scan(&dc, &[contract_id()], MINUTES_PER_RUN * 60, |b, _, n| {
            material(source, profiles, rate, n, (i * 1000 + b) as u64)
        })
    });
    let events: Vec<String> = runs
        .iter()
        .zip(&scans)
        .flat_map(|((source, profiles, rate), s)| {
            s.events
                .iter()
                .map(move |d| format!("{source:?} {profiles} {rate}: {d:?}"))
        })
        .collect();
    let hours = |robust: bool| -> f64 {
        runs.iter()
            .zip(&scans)
            .filter(|((_, p, _), _)| !robust || p.robust())
            .map(|((_, _, rate), s)| s.frames as f64 / *rate as f64)
            .sum::<f64>()
            / 3600.0
    };
    println!(
        "false-alarm run: {:.1} h of audio ({:.1} h through the robust detector), {} preamble hits, \
         {} MAC checks, {} confirmations tried, {} events",
        hours(false),
        hours(true),
        scans.iter().map(|s| s.sync_hits).sum::<u64>(),
        scans.iter().map(|s| s.mac_checks).sum::<u64>(),
        scans.iter().map(|s| s.presence_checks).sum::<u64>(),
        events.len()
    );
    assert!(hours(false) >= 10.0, "only {} h", hours(false));
    assert!(
        hours(true) >= 6.0,
        "only {} h through the robust detector",
        hours(true)
    );
    assert!(events.is_empty(), "false events:\n{}", events.join("\n"));
}
