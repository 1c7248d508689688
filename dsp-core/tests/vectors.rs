//! Golden test vectors in `test-vectors/`: marked audio for each profile and
//! rate with the events it must produce, and unmarked negatives.
//!
//! * `every_vector_gives_exactly_its_expected_events` decodes each file.
//! * `regeneration_is_bit_identical` rebuilds every file in memory and
//!   compares bytes, so any change to the signal or frame format shows up as
//!   a failing test and a deliberate `cargo xtask vectors`.
//!
//! With `HUSHMARK_WRITE_VECTORS=1` (what `cargo xtask vectors` sets) the
//! regeneration test writes the files instead of comparing them.

mod common;

use std::path::{Path, PathBuf};

use dsp_core::{DetectConfig, Detector, EmbedConfig, Embedder, Id, Key, Profile, Sample, Schedule};
use serde_json::{json, Value};
use testkit::synth::{self, Kind};

/// The public test key of the vectors (never use it for real content).
const VECTOR_KEY: [u8; 16] = *Key::PUBLIC_TEST.as_bytes();
const OTHER_KEY: [u8; 16] = [0xF0; 16];
const CONTRACT: &str = "d8da6bf26964af9d7eed9e03e53415d37aa96045";
const TRANSACTION: &str = "00000000075bcd15";

struct Vector {
    name: &'static str,
    profile: Profile,
    rate: u32,
    channels: u16,
    kind: Kind,
    /// Length of an unmarked vector; marked ones end with (or 50 ms after) their last burst.
    seconds: f32,
    /// `None`: unmarked negative.
    mark: Option<Mark>,
}

struct Mark {
    id: &'static str,
    key: [u8; 16],
    schedule: Schedule,
    bursts: u64,
}

fn interval(every_ms: u32, offset_ms: u32) -> Schedule {
    Schedule::Interval {
        every_ms,
        offset_ms,
    }
}

fn marked(id: &'static str, schedule: Schedule, bursts: u64) -> Option<Mark> {
    Some(Mark {
        id,
        key: VECTOR_KEY,
        schedule,
        bursts,
    })
}

fn embed_config(v: &Vector, m: &Mark) -> EmbedConfig {
    let mut cfg = EmbedConfig::new(Id::new(&unhex(m.id)).unwrap(), Key::from_bytes(m.key));
    cfg.profile = v.profile;
    cfg.sample_rate = v.rate;
    cfg.channels = v.channels;
    cfg.schedule = m.schedule;
    cfg
}

fn frames(v: &Vector) -> usize {
    match &v.mark {
        None => (v.seconds * v.rate as f32) as usize,
        Some(m) => {
            let cfg = embed_config(v, m);
            let last_end = common::nth_start(&cfg, m.bursts - 1)
                + Embedder::new(&cfg).unwrap().burst_samples();
            // Back-to-back bursts never pause, so such a file ends with its last burst.
            let tail = match m.schedule {
                Schedule::BackToBack { .. } => 0,
                Schedule::Interval { .. } => v.rate as u64 / 20,
            };
            (last_end + tail) as usize
        }
    }
}

fn vectors() -> Vec<Vector> {
    use Profile::*;
    let v = |name, profile, rate, channels, kind, seconds, mark| Vector {
        name,
        profile,
        rate,
        channels,
        kind,
        seconds,
        mark,
    };
    vec![
        v(
            "ultrasonic-44100-speech",
            Ultrasonic,
            44_100,
            1,
            Kind::Speech,
            3.0,
            marked(CONTRACT, interval(1400, 200), 2),
        ),
        v(
            "ultrasonic-48000-music-stereo",
            Ultrasonic,
            48_000,
            2,
            Kind::Music,
            3.0,
            marked(CONTRACT, interval(1400, 200), 2),
        ),
        v(
            "ultrasonic-48000-short-id",
            Ultrasonic,
            48_000,
            1,
            Kind::PinkNoise,
            3.0,
            marked(TRANSACTION, interval(1000, 100), 2),
        ),
        v(
            "ultrasonic-88200-music",
            Ultrasonic,
            88_200,
            1,
            Kind::Music,
            3.0,
            marked(CONTRACT, interval(1400, 200), 2),
        ),
        v(
            "ultrasonic-96000-music",
            Ultrasonic,
            96_000,
            1,
            Kind::Music,
            3.0,
            marked(CONTRACT, interval(1400, 200), 2),
        ),
        v(
            "near-ultrasonic-44100-music",
            NearUltrasonic,
            44_100,
            1,
            Kind::Music,
            3.0,
            marked(CONTRACT, interval(1400, 200), 2),
        ),
        v(
            "near-ultrasonic-48000-speech",
            NearUltrasonic,
            48_000,
            1,
            Kind::Speech,
            3.0,
            marked(CONTRACT, interval(1400, 200), 2),
        ),
        v(
            "near-ultrasonic-96000-music",
            NearUltrasonic,
            96_000,
            1,
            Kind::Music,
            3.0,
            marked(CONTRACT, interval(1400, 200), 2),
        ),
        v(
            "ultrasonic-wide-48000-music",
            UltrasonicWide,
            48_000,
            1,
            Kind::Music,
            3.0,
            marked(CONTRACT, interval(1000, 200), 2),
        ),
        v(
            "ultrasonic-wide-88200-music",
            UltrasonicWide,
            88_200,
            1,
            Kind::Music,
            1.46,
            marked(CONTRACT, Schedule::BackToBack { offset_ms: 50 }, 10),
        ),
        v(
            "ultrasonic-wide-96000-music",
            UltrasonicWide,
            96_000,
            1,
            Kind::Music,
            1.46,
            marked(CONTRACT, Schedule::BackToBack { offset_ms: 50 }, 10),
        ),
        v(
            "unmarked-48000-music",
            Ultrasonic,
            48_000,
            1,
            Kind::Music,
            8.0,
            None,
        ),
        v(
            "unmarked-44100-speech",
            Ultrasonic,
            44_100,
            1,
            Kind::Speech,
            3.0,
            None,
        ),
        v(
            "other-key-48000-music",
            Ultrasonic,
            48_000,
            1,
            Kind::Music,
            3.0,
            Some(Mark {
                id: CONTRACT,
                key: OTHER_KEY,
                schedule: interval(1400, 200),
                bursts: 2,
            }),
        ),
    ]
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The WAV bytes and the expected-events JSON of one vector.
fn generate(v: &Vector) -> (Vec<u8>, String) {
    let frames = frames(v);
    let seed = v
        .name
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let mono = synth::generate(v.kind, v.rate, frames, seed);
    let mut x: Vec<f32> = mono
        .iter()
        .enumerate()
        .flat_map(|(i, &s)| {
            (0..v.channels).map(move |c| if c == 0 { s } else { 0.8 * mono_echo(s, i) })
        })
        .collect();
    let mut expected = Vec::new();
    let mut manifest = json!({
        "file": format!("{}.wav", v.name),
        "sample_rate": v.rate,
        "channels": v.channels,
        "bits_per_sample": 16,
        "profile": v.profile.name(),
        "programme": v.kind.name(),
    });
    if let Some(m) = &v.mark {
        let cfg = embed_config(v, m);
        let mut e = Embedder::new(&cfg).unwrap();
        let burst = e.burst_samples();
        for (counter, start) in common::schedule_starts(&cfg, frames as u64)
            .into_iter()
            .enumerate()
        {
            // Vectors hold whole bursts only: a cut one may or may not decode.
            assert!(
                start + burst <= frames as u64,
                "{}: burst at {start} is cut",
                v.name
            );
            if m.key == VECTOR_KEY {
                expected.push(json!({ "id": m.id, "counter": counter, "start_sample": start }));
            }
        }
        let ch = v.channels as usize;
        for (i, block) in x.chunks_mut(480 * ch).enumerate() {
            e.process(i as u64 * 480, block).unwrap();
        }
        manifest["marked_with"] = json!({
            "key": hex(&m.key),
            "id": m.id,
            "level_dbfs": cfg.level_dbfs,
            "schedule": format!("{:?}", m.schedule),
            "burst_samples": burst,
        });
    }
    manifest["detect_with_key"] = json!(hex(&VECTOR_KEY));
    manifest["expected"] = Value::Array(expected);
    let pcm: Vec<i16> = x.iter().map(|&v| i16::from_unit(v)).collect();
    let wav = testkit::wav::i16_to_bytes(&pcm, v.rate, v.channels).unwrap();
    (wav, serde_json::to_string_pretty(&manifest).unwrap() + "\n")
}

/// A second channel that is not a copy of the first.
fn mono_echo(s: f32, i: usize) -> f32 {
    if i % 2 == 0 {
        s
    } else {
        -s
    }
}

#[test]
fn regeneration_is_bit_identical() {
    let write = std::env::var_os("HUSHMARK_WRITE_VECTORS").is_some();
    let mut stale = Vec::new();
    for v in vectors() {
        let (wav, json) = generate(&v);
        let wav_path = dir().join(format!("{}.wav", v.name));
        let json_path = dir().join(format!("{}.json", v.name));
        if write {
            std::fs::write(&wav_path, &wav).unwrap();
            std::fs::write(&json_path, &json).unwrap();
            continue;
        }
        if std::fs::read(&wav_path).ok().as_deref() != Some(&wav[..]) {
            stale.push(wav_path.display().to_string());
        }
        if std::fs::read_to_string(&json_path).ok().as_deref() != Some(&json[..]) {
            stale.push(json_path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "these vectors no longer match what the code makes; if the change is deliberate run `cargo xtask vectors`:\n{}",
        stale.join("\n")
    );
}

#[test]
fn every_vector_gives_exactly_its_expected_events() {
    let mut checked = 0;
    for v in vectors() {
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(dir().join(format!("{}.json", v.name))).unwrap(),
        )
        .unwrap();
        let (pcm, rate, channels) =
            testkit::wav::read_i16(&dir().join(format!("{}.wav", v.name))).unwrap();
        let mut cfg = DetectConfig::new(Key::from_bytes(
            unhex(json["detect_with_key"].as_str().unwrap())
                .try_into()
                .unwrap(),
        ));
        cfg.profile = Profile::from_name(json["profile"].as_str().unwrap()).unwrap();
        cfg.sample_rate = rate;
        cfg.channels = channels;
        let mut det = Detector::new(&cfg).unwrap();
        let mut found = Vec::new();
        for (i, block) in pcm.chunks(1000 * channels as usize).enumerate() {
            det.process(i as u64 * 1000, block, |d| found.push(*d))
                .unwrap();
        }
        det.finish(|d| found.push(*d));
        let expected = json["expected"].as_array().unwrap();
        assert_eq!(found.len(), expected.len(), "{}: {found:?}", v.name);
        for (d, e) in found.iter().zip(expected) {
            assert_eq!(d.id.to_string(), e["id"].as_str().unwrap(), "{}", v.name);
            assert_eq!(
                d.counter.map(u64::from),
                e["counter"].as_u64(),
                "{}",
                v.name
            );
            let start = e["start_sample"].as_u64().unwrap();
            assert!(
                d.start_sample.abs_diff(start) <= rate as u64 / 1000,
                "{}: {} vs {start}",
                v.name,
                d.start_sample
            );
        }
        checked += 1;
    }
    assert_eq!(checked, vectors().len());
}
