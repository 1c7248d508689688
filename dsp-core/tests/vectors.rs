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

use std::path::{Path, PathBuf};

use dsp_core::{
    ultrasonic, DetectConfig, Detection, Detector, EmbedConfig, Event, Id, Key, Profile, Profiles,
    Sample, Schedule,
};
use serde_json::{json, Value};
use testkit::harness::{
    embed, embed_config, nth_start, robust_period, whole_starts, CONTRACT, OTHER_KEY,
};
use testkit::synth::{self, Kind};

/// A short (8-byte) transaction number.
const TRANSACTION: &str = "00000000075bcd15";

struct Vector {
    name: &'static str,
    profiles: Profiles,
    rate: u32,
    channels: u16,
    kind: Kind,
    content: Content,
}

enum Content {
    /// A negative, this long.
    Unmarked { seconds: f32 },
    /// Ends with (or 50 ms after) its last burst.
    Marked(Mark),
}

struct Mark {
    id: &'static str,
    /// [`Key::PUBLIC_TEST`] (the vectors detect with it) or [`OTHER_KEY`].
    key: Key,
    schedule: Schedule,
    /// Whole marks: ultrasonic bursts, or robust periods.
    bursts: u64,
}

impl Mark {
    /// The usual mark: the contract address twice, 1.4 s apart from 0.2 s.
    fn contract() -> Mark {
        Mark {
            id: CONTRACT,
            key: Key::PUBLIC_TEST,
            schedule: Schedule::Interval {
                every_ms: 1400,
                offset_ms: 200,
            },
            bursts: 2,
        }
    }
}

fn mark_config(v: &Vector, m: &Mark) -> EmbedConfig {
    let id = Id::from_hex(m.id).unwrap();
    let mut cfg = embed_config(Profile::Ultrasonic, v.rate, v.channels, id);
    cfg.profiles = v.profiles;
    cfg.key = m.key;
    cfg.schedule = m.schedule;
    cfg
}

/// `cfg` for each of its layers alone, with how long one mark of it lasts.
fn layers(cfg: &EmbedConfig) -> Vec<(EmbedConfig, u64)> {
    cfg.profiles
        .iter()
        .map(|p| {
            let mut one = *cfg;
            one.profiles = p.into();
            let span = match p {
                Profile::Robust => robust_period(&one),
                _ => ultrasonic::Embedder::new(&one).unwrap().burst_samples(),
            };
            (one, span)
        })
        .collect()
}

fn frames(v: &Vector) -> usize {
    match &v.content {
        Content::Unmarked { seconds } => (seconds * v.rate as f32) as usize,
        Content::Marked(m) => {
            let cfg = mark_config(v, m);
            let last_end = layers(&cfg)
                .iter()
                .map(|(one, span)| nth_start(one, m.bursts - 1) + span)
                .max()
                .unwrap();
            // Back-to-back bursts never pause, so such a file ends with its
            // last burst; the robust detector decodes a period once it has
            // seen a little of the next (its tracking window).
            let tail = match m.schedule {
                _ if cfg.profiles.robust() => v.rate as u64 / 2,
                Schedule::BackToBack { .. } => 0,
                Schedule::Interval { .. } => v.rate as u64 / 20,
            };
            (last_end + tail) as usize
        }
    }
}

// Not formatted: one vector a line reads as the table it is.
#[rustfmt::skip]
fn vectors() -> Vec<Vector> {
    use Profile::*;
    let v = |name, profile: Profile, rate, channels, kind, content| Vector { name, profiles: profile.into(), rate, channels, kind, content };
    let both = Profiles::only(Ultrasonic).with(Robust);
    let interval = |every_ms, offset_ms| Schedule::Interval { every_ms, offset_ms };
    let contract = || Content::Marked(Mark::contract());
    let with = |m: Mark| Content::Marked(m);
    let wide = Mark { schedule: interval(1000, 200), ..Mark::contract() };
    let short = Mark { id: TRANSACTION, schedule: interval(1000, 100), ..Mark::contract() };
    // Short bursts at 88.2 and 96 kHz: ten of them, back to back.
    let fast = || Mark { schedule: Schedule::BackToBack { offset_ms: 50 }, bursts: 10, ..Mark::contract() };
    let other_key = Mark { key: OTHER_KEY, ..Mark::contract() };
    let unmarked = |seconds| Content::Unmarked { seconds };
    vec![
        v("ultrasonic-44100-speech", Ultrasonic, 44_100, 1, Kind::Speech, contract()),
        v("ultrasonic-48000-music-stereo", Ultrasonic, 48_000, 2, Kind::Music, contract()),
        v("ultrasonic-48000-short-id", Ultrasonic, 48_000, 1, Kind::PinkNoise, with(short)),
        v("ultrasonic-88200-music", Ultrasonic, 88_200, 1, Kind::Music, contract()),
        v("ultrasonic-96000-music", Ultrasonic, 96_000, 1, Kind::Music, contract()),
        v("near-ultrasonic-44100-music", NearUltrasonic, 44_100, 1, Kind::Music, contract()),
        v("near-ultrasonic-48000-speech", NearUltrasonic, 48_000, 1, Kind::Speech, contract()),
        v("near-ultrasonic-96000-music", NearUltrasonic, 96_000, 1, Kind::Music, contract()),
        v("ultrasonic-wide-48000-music", UltrasonicWide, 48_000, 1, Kind::Music, with(wide)),
        v("ultrasonic-wide-88200-music", UltrasonicWide, 88_200, 1, Kind::Music, with(fast())),
        v("ultrasonic-wide-96000-music", UltrasonicWide, 96_000, 1, Kind::Music, with(fast())),
        v("unmarked-48000-music", Ultrasonic, 48_000, 1, Kind::Music, unmarked(8.0)),
        v("unmarked-44100-speech", Ultrasonic, 44_100, 1, Kind::Speech, unmarked(2.5)),
        v("other-key-48000-music", Ultrasonic, 48_000, 1, Kind::Music, with(other_key)),
        v("robust-48000-music", Robust, 48_000, 1, Kind::Music, contract()),
        Vector { profiles: both, ..v("ultrasonic+robust-48000-music-stereo", Ultrasonic, 48_000, 2, Kind::Music, contract()) },
    ]
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        "profile": v.profiles.to_string(),
        "programme": v.kind.name(),
    });
    if let Content::Marked(m) = &v.content {
        let cfg = mark_config(v, m);
        let mut marked_with = json!({
            "key": hex(m.key.as_bytes()),
            "id": m.id,
            "schedule": format!("{:?}", m.schedule),
        });
        for (one, span) in layers(&cfg) {
            let profile = one.profiles.iter().next().unwrap();
            // Vectors hold whole marks only: a cut one may or may not decode.
            for (counter, start) in whole_starts(&one, frames as u64).into_iter().enumerate() {
                if m.key == Key::PUBLIC_TEST {
                    expected.push(json!({
                        "profile": profile.name(),
                        "id": m.id,
                        "counter": counter,
                        "start_sample": start,
                    }));
                }
            }
            match profile {
                Profile::Robust => {
                    marked_with["robust_mmr_db"] = json!(cfg.robust_mmr_db);
                    marked_with["period_samples"] = json!(span);
                }
                _ => {
                    marked_with["level_dbfs"] = json!(cfg.level_dbfs);
                    marked_with["burst_samples"] = json!(span);
                }
            }
        }
        embed(&cfg, &mut x);
        manifest["marked_with"] = marked_with;
    }
    manifest["detect_with_key"] = json!(hex(Key::PUBLIC_TEST.as_bytes()));
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
        let mut cfg =
            DetectConfig::new(Key::from_hex(json["detect_with_key"].as_str().unwrap()).unwrap());
        cfg.profiles = json["profile"].as_str().unwrap().parse().unwrap();
        cfg.sample_rate = rate;
        cfg.channels = channels;
        let mut det = Detector::new(&cfg).unwrap();
        let (mut found, mut presence) = (Vec::new(), Vec::new());
        let mut keep = |e: &Event| match e {
            Event::Detection(d) => found.push(*d),
            Event::Presence(p) => presence.push(*p),
            Event::Collision(c) => panic!("a golden vector reads as colliding: {c}"),
            Event::Transplant(t) => panic!("a golden vector reads as transplanted: {t}"),
        };
        for (i, block) in pcm.chunks(1000 * channels as usize).enumerate() {
            det.process(i as u64 * 1000, block, &mut keep).unwrap();
        }
        det.finish(&mut keep);
        // Each layer reports in time order; the file lists layer by layer.
        found.sort_by_key(|d: &Detection| (d.profile.layer() as u8, d.start_sample));
        let expected = json["expected"].as_array().unwrap();
        assert_eq!(found.len(), expected.len(), "{}: {found:?}", v.name);
        for (d, e) in found.iter().zip(expected) {
            assert_eq!(
                d.profile.name(),
                e["profile"].as_str().unwrap(),
                "{}",
                v.name
            );
            assert_eq!(d.id.to_string(), e["id"].as_str().unwrap(), "{}", v.name);
            // The robust detector may name the ID before the period is
            // whole in its history, and so before its counter can be read.
            if d.profile != Profile::Robust || d.counter.is_some() {
                assert_eq!(
                    d.counter.map(u64::from),
                    e["counter"].as_u64(),
                    "{}",
                    v.name
                );
            }
            let start = e["start_sample"].as_u64().unwrap();
            assert!(
                d.start_sample.abs_diff(start) <= rate as u64 / 1000,
                "{}: {} vs {start}",
                v.name,
                d.start_sample
            );
        }
        // The robust layer confirms the ID it decoded, second by second;
        // nothing else is ever said present.
        let robust_id = expected
            .iter()
            .find(|e| e["profile"] == "robust")
            .map(|e| e["id"].as_str().unwrap());
        match robust_id {
            Some(id) => assert!(
                !presence.is_empty()
                    && presence.iter().all(|p| p.present && p.id.to_string() == id),
                "{}: {presence:?}",
                v.name
            ),
            None => assert!(presence.iter().all(|p| !p.present), "{}", v.name),
        }
        checked += 1;
    }
    assert_eq!(checked, vectors().len());
}
