//! The robust layer through the real binary: marking keeps length and
//! alignment (the embedder's latency taken out), marks at 44.1 kHz go
//! through a 48 kHz copy, both layers are found with their own profiles,
//! real codecs at broadcast rates (AAC 128k, MP3 128k, Opus 64k, Vorbis
//! 128k) keep the mark, `--expect` and `--presence` confirm issued IDs
//! second by second, the monitor logs one airing for both layers, and
//! files the layer cannot mark are refused.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Robust period for a 20-byte ID: 128 frames of 768 samples at 48 kHz.
const PERIOD: i64 = 98_304;
const OTHER_ID: &str = "0102030405";

/// 12 s of synthetic stereo music at `rate`.
fn clip(dir: &Path, rate: u32, name: &str) -> PathBuf {
    let p = dir.join(name);
    music_wav(&p, rate, 2, 12.0, 11);
    p
}

/// Detections (not verdicts) of `file` with `profile`.
fn detections(file: &Path, key: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let (code, records, err) = detect_json(file, key, extra);
    let found = records
        .into_iter()
        .filter(|r| r["kind"] == "detection")
        .collect();
    (code, found, err)
}

fn robust_starts(found: &[Value]) -> Vec<i64> {
    found
        .iter()
        .filter(|f| f["profile"] == "robust")
        .map(|f| {
            assert_eq!(f["id"], ADDRESS, "wrong ID: {f}");
            assert_eq!(f["layer"], "robust", "{f}");
            f["start_sample"].as_i64().unwrap()
        })
        .collect()
}

/// Period starts within `tolerance` samples of multiples of the period.
fn assert_on_the_period_grid(starts: &[i64], rate: u32, tolerance: i64, what: &str) {
    assert!(!starts.is_empty(), "{what}: no robust period found");
    for &s in starts {
        let at_48k = s * 48_000 / rate as i64;
        let k = (at_48k as f64 / PERIOD as f64).round() as i64;
        assert!(
            (at_48k - k * PERIOD).abs() <= tolerance,
            "{what}: period at sample {s} is off the {PERIOD}-sample grid"
        );
    }
}

#[test]
fn robust_marks_keep_length_and_alignment_in_wav_and_flac() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    // Music, 2 s of digital silence, music: the silence stays bit-identical.
    let src = clip(d, 48_000, "music.wav");
    let mut x = read_i16(&src);
    let (a, b) = (4 * 48_000 * 2, 6 * 48_000 * 2);
    x[a..b].iter_mut().for_each(|v| *v = 0);
    let input = d.join("in.wav");
    write_wav_i16(&input, 48_000, 2, &x);
    for name in ["out.wav", "out.flac"] {
        let out = d.join(name);
        let note = embed(&input, &out, &key, &["--profile", "robust"]);
        assert!(
            note.contains("robust frame(s)") && note.contains("left silent"),
            "{note}"
        );
        assert!(!note.contains("burst(s)"), "{note}");
        let (y, rate, ch, bits) = read_audio(&out, d);
        assert_eq!((rate, ch, bits), (48_000, 2, 16));
        assert_eq!(y.len(), x.len(), "{name}: length changed");
        let changed = x.iter().zip(&y).filter(|(p, q)| p != q).count();
        assert!(
            changed > x.len() / 2,
            "{name}: only {changed} samples marked"
        );
        // Inside the silence (a frame's margin either side) nothing changed.
        let margin = 2 * 2 * 768;
        assert_eq!(&x[a + margin..b - margin], &y[a + margin..b - margin]);
        let (code, found, err) = detections(&out, &key, &["--profile", "robust"]);
        assert_eq!(code, 0, "{name}: {err}");
        let starts = robust_starts(&found);
        assert_on_the_period_grid(&starts, 48_000, 24, name);
        assert!(err.contains("robust period(s)"), "{err}");
    }
    // The unmarked programme claims nothing.
    let (code, found, _) = detections(&input, &key, &["--profile", "robust"]);
    assert_eq!((code, found.len()), (1, 0));
}

/// Samples of a WAV, or of a FLAC through the reference decoder.
fn read_audio(path: &Path, dir: &Path) -> (Vec<i16>, u32, u16, u16) {
    let wav = if path.extension().and_then(|e| e.to_str()) == Some("flac") {
        let w = dir.join("decoded.wav");
        tool("flac", &["-s", "-d", "-f", s(path), "-o", s(&w)]);
        w
    } else {
        path.to_path_buf()
    };
    let (_, rate, ch, bits) = read_wav(&wav);
    (read_i16(&wav), rate, ch, bits)
}

#[test]
fn both_layers_are_found_with_their_profiles_at_48_and_44_1_khz() {
    let dir = tmp();
    let key = key_file(dir.path());
    for rate in [48_000u32, 44_100] {
        let src = clip(dir.path(), rate, &format!("in-{rate}.wav"));
        let out = dir.path().join(format!("out-{rate}.wav"));
        let note = embed(&src, &out, &key, &["--profile", "ultrasonic+robust"]);
        assert!(note.contains("6 whole burst(s) and"), "{rate}: {note}");
        assert_eq!(
            note.contains("robust layer runs at 48000 Hz"),
            rate != 48_000,
            "{rate}: {note}"
        );
        assert_eq!(read_i16(&out).len(), read_i16(&src).len(), "{rate}");
        let (_, r, _, _) = read_wav(&out);
        assert_eq!(r, rate);
        let (code, found, err) = detections(&out, &key, &["--profile", "ultrasonic+robust"]);
        assert_eq!(code, 0, "{rate}: {err}");
        let bursts: Vec<f64> = found
            .iter()
            .filter(|f| f["profile"] == "ultrasonic")
            .map(|f| {
                assert_eq!(f["layer"], "ultrasonic");
                assert_eq!(f["id"], ADDRESS);
                f["start_s"].as_f64().unwrap()
            })
            .collect();
        assert_eq!(bursts.len(), 6, "{rate}: {found:?}");
        for (k, t) in bursts.iter().enumerate() {
            assert!(
                (t - 2.0 * k as f64).abs() < 0.002,
                "{rate}: burst {k} at {t}"
            );
        }
        let starts = robust_starts(&found);
        assert!(starts.len() >= 3, "{rate}: {starts:?}");
        assert_on_the_period_grid(&starts, rate, 48, &format!("{rate} Hz"));
        // The table names each row's profile.
        let (code, table, _) = run(&[
            "detect",
            s(&out),
            "--key",
            s(&key),
            "--profile",
            "ultrasonic+robust",
        ]);
        assert_eq!(code, 0);
        assert!(table.lines().next().unwrap().contains("PROFILE"), "{table}");
        assert!(table.lines().any(|l| l.contains(" robust ")), "{table}");
        assert!(table.lines().any(|l| l.contains(" ultrasonic ")), "{table}");
    }
}

#[test]
fn robust_marks_survive_aac_mp3_opus_and_vorbis_at_broadcast_rates() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    let marked = d.join("marked.wav");
    embed(
        &clip(d, 48_000, "in.wav"),
        &marked,
        &key,
        &["--profile", "robust"],
    );
    let m = s(&marked);
    let aac = d.join("aac128.m4a");
    let q = ["-loglevel", "error", "-y", "-i", m];
    tool(
        "ffmpeg",
        &[&q[..], &["-c:a", "aac", "-b:a", "128k", s(&aac)]].concat(),
    );
    let mp3 = d.join("mp3-128.mp3");
    tool("lame", &["--quiet", "-b", "128", m, s(&mp3)]);
    let vorbis = d.join("vorbis128.ogg");
    tool("oggenc", &["-Q", "-b", "128", m, "-o", s(&vorbis)]);
    // symphonia has no Opus decoder: decode with opusdec.
    let opus = d.join("opus64.opus");
    tool("opusenc", &["--quiet", "--bitrate", "64", m, s(&opus)]);
    let opus_wav = d.join("opus64.wav");
    tool(
        "opusdec",
        &["--quiet", "--rate", "48000", s(&opus), s(&opus_wav)],
    );
    for file in [&aac, &mp3, &vorbis, &opus_wav] {
        let (code, found, err) = detections(file, &key, &["--profile", "robust"]);
        assert_eq!(code, 0, "{}: {err}", file.display());
        // Every period found carries the address (robust_starts checks).
        let starts = robust_starts(&found);
        assert!(
            !starts.is_empty() && starts.len() == found.len(),
            "{}: {found:?}",
            file.display()
        );
    }
}

#[test]
fn expected_ids_are_confirmed_second_by_second() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    let marked = d.join("marked.wav");
    embed(
        &clip(d, 48_000, "in.wav"),
        &marked,
        &key,
        &["--profile", "robust"],
    );
    let list = d.join("issued.txt");
    std::fs::write(
        &list,
        format!("# issued today\n\n0x{ADDRESS}\n{OTHER_ID}  # another box\n"),
    )
    .unwrap();
    let (code, records, err) = detect_json(
        &marked,
        &key,
        &["--profile", "robust", "--expect", s(&list), "--presence"],
    );
    assert_eq!(code, 0, "{err}");
    let verdicts: Vec<&Value> = records.iter().filter(|r| r["kind"] == "presence").collect();
    let of =
        |id: &str| -> Vec<&Value> { verdicts.iter().copied().filter(|v| v["id"] == id).collect() };
    let (mine, other) = (of(ADDRESS), of(OTHER_ID));
    assert!(mine.len() >= 9, "{verdicts:?}");
    assert!(mine.iter().all(|v| v["present"] == true), "{mine:?}");
    assert!(
        !other.is_empty() && other.iter().all(|v| v["present"] == false),
        "{other:?}"
    );
    for v in &verdicts {
        assert_eq!(v["profile"], "robust");
        let (a, b) = (v["start_s"].as_f64().unwrap(), v["end_s"].as_f64().unwrap());
        assert!(
            (b - a - 0.99).abs() < 0.02,
            "a window is about a second: {v}"
        );
    }
    assert!(err.contains("present in"), "{err}");
    // The table shows the verdicts too.
    let (code, table, _) = run(&[
        "detect",
        s(&marked),
        "--key",
        s(&key),
        "--profile",
        "robust",
        "--expect",
        s(&list),
        "--presence",
    ]);
    assert_eq!(code, 0);
    assert!(
        table.contains("present") && table.contains("absent"),
        "{table}"
    );
    // Without --presence only marks print.
    let (_, records, _) = detect_json(
        &marked,
        &key,
        &["--profile", "robust", "--expect", s(&list)],
    );
    assert!(records.iter().all(|r| r["kind"] == "detection"));
    // Bad lists: the line is named; --expect needs the robust layer.
    std::fs::write(&list, "2a\n\nnot-an-id\n").unwrap();
    let (code, out, err) = run(&[
        "detect",
        s(&marked),
        "--key",
        s(&key),
        "--profile",
        "robust",
        "--expect",
        s(&list),
    ]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("issued.txt") && err.contains("line 3"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::write(&list, "2a\n").unwrap();
    let (code, _, err) = run(&["detect", s(&marked), "--key", s(&key), "--expect", s(&list)]);
    assert_eq!(code, 2);
    assert!(err.contains("robust layer"), "{err}");
}

#[test]
fn the_monitor_logs_one_airing_for_both_layers_to_the_second() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    let marked = d.join("marked.wav");
    embed(
        &clip(d, 48_000, "in.wav"),
        &marked,
        &key,
        &["--profile", "ultrasonic+robust"],
    );
    let (code, out, err) = run(&[
        "monitor",
        "--key",
        s(&key),
        "--file",
        s(&marked),
        "--profile",
        "ultrasonic+robust",
        "--start-time",
        "2024-05-01T06:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    let records = json_lines(&out);
    assert_eq!(records.len(), 1, "{out}");
    let r = &records[0];
    assert_eq!(r["id"], ADDRESS);
    assert_eq!(r["profile"], "ultrasonic+robust");
    assert_eq!(r["layers"], serde_json::json!(["ultrasonic", "robust"]));
    assert_eq!(r["bursts"], 6);
    assert!(r["periods"].as_u64().unwrap() >= 3, "{r}");
    // Confirmed every second: the last second is past the last burst (10 s).
    assert!(r["confirmed_s"].as_u64().unwrap() >= 9, "{r}");
    assert_eq!(r["first_s"], 0);
    assert_eq!(r["first_utc"], "2024-05-01T06:00:00Z");
    assert!(r["last_s"].as_u64().unwrap() >= 10, "{r}");
    // The robust layer alone, on marked + 14 s unmarked + marked: its
    // denials end the first airing after the gap; the first airing starts
    // and ends to the second. The second is opened by a decoded period,
    // which the detector may name from up to one period (2.05 s) before the
    // mark's onset, and ends to the second.
    let mut x = read_i16(&marked);
    let gap = d.join("gap.wav");
    music_wav(&gap, 48_000, 2, 14.0, 29);
    x.extend(read_i16(&gap));
    x.extend(read_i16(&marked));
    let programme = d.join("programme.wav");
    write_wav_i16(&programme, 48_000, 2, &x);
    let (code, out, err) = run(&[
        "monitor",
        "--key",
        s(&key),
        "--file",
        s(&programme),
        "--profile",
        "robust",
        "--start-time",
        "2024-05-01T06:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    let records = json_lines(&out);
    assert_eq!(records.len(), 2, "{out}");
    let span = |r: &Value| {
        (
            r["first_s"].as_u64().unwrap(),
            r["last_s"].as_u64().unwrap(),
        )
    };
    for r in &records {
        assert_eq!(r["layers"], serde_json::json!(["robust"]), "{r}");
        assert_eq!(r["bursts"], 0);
    }
    let ((a0, a1), (b0, b1)) = (span(&records[0]), span(&records[1]));
    assert!(a0 == 0 && (10..=12).contains(&a1), "{out}");
    assert!((23..=28).contains(&b0) && (36..=38).contains(&b1), "{out}");
}

#[test]
fn files_the_robust_layer_cannot_mark_are_refused() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    // Three channels.
    let n = 48_000 * 3;
    let mono = testkit::synth::generate(testkit::synth::Kind::Music, 48_000, n, 5);
    let x: Vec<i16> = mono
        .iter()
        .flat_map(|v| [0, 1, 2].map(|_| (v * 0.5 * 32767.0) as i16))
        .collect();
    let three = d.join("three.wav");
    write_wav_i16(&three, 48_000, 3, &x);
    for profile in ["robust", "ultrasonic+robust"] {
        let out = d.join("out.wav");
        let (code, _, err) = run(&[
            "embed",
            s(&three),
            s(&out),
            "--id",
            "2a",
            "--key",
            s(&key),
            "--profile",
            profile,
        ]);
        assert_eq!(code, 2, "{profile}: {err}");
        assert!(
            err.contains("mono or stereo") && err.contains("3 channels"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!out.exists());
        // Nothing half-written left beside it.
        assert_eq!(std::fs::read_dir(d).unwrap().count(), 2);
    }
    // The same file marks fine in the ultrasonic layer alone.
    let out = d.join("out.wav");
    embed(&three, &out, &key, &["--id", "2a"]);
    // Too short for a whole period, robust alone: a clear error.
    let short = d.join("short.wav");
    music_wav(&short, 48_000, 1, 1.5, 3);
    let (code, _, err) = run(&[
        "embed",
        s(&short),
        s(&d.join("x.wav")),
        "--id",
        ADDRESS,
        "--key",
        s(&key),
        "--profile",
        "robust",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no whole period fits"), "{err}");
    // An out-of-range strength names the option and the range.
    let (code, _, err) = run(&[
        "embed",
        s(&short),
        s(&d.join("y.wav")),
        "--id",
        "2a",
        "--key",
        s(&key),
        "--profile",
        "robust",
        "--robust-strength",
        "3",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--robust-strength") && err.contains("-20"),
        "{err}"
    );
}

/// A copy played 2 % fast or slow (sox `speed`: tempo and pitch together)
/// is found with `--speed-search`, at the copy's own times and with its
/// speed named; without it the robust detector (which holds ±0.2 %) finds
/// nothing, and never a wrong ID either way.
#[test]
fn speed_search_finds_copies_played_two_percent_fast_or_slow() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    let src = d.join("in.wav");
    music_wav(&src, 48_000, 1, 24.0, 13);
    let marked = d.join("marked.wav");
    embed(&src, &marked, &key, &["--profile", "robust"]);
    for speed in ["1.02", "0.98"] {
        let changed = d.join(format!("speed-{speed}.wav"));
        tool(
            "sox",
            &[s(&marked), s(&changed), "speed", speed, "rate", "48000"],
        );
        let factor: f64 = speed.parse().unwrap();
        let (_, plain, _) = detections(&changed, &key, &["--profile", "robust"]);
        assert!(
            plain.iter().all(|f| f["id"] == ADDRESS),
            "{speed}: {plain:?}"
        );
        let (code, found, err) =
            detections(&changed, &key, &["--profile", "robust", "--speed-search"]);
        assert_eq!(code, 0, "{speed}: {err}");
        assert!(
            found.len() >= 5,
            "{speed}: {} periods: {found:?}",
            found.len()
        );
        for f in &found {
            assert_eq!(f["id"], ADDRESS, "{speed}: {f}");
            let at = f["speed"].as_f64().unwrap_or(1.0);
            assert!((at - factor).abs() <= 0.0041, "{speed}: read at {at}: {f}");
            // On the copy's clock: the original period grid divided by the speed.
            let start = f["start_s"].as_f64().unwrap() * factor;
            let k = (start / 2.048).round();
            assert!((start - k * 2.048).abs() < 0.05, "{speed}: {f}");
        }
        eprintln!(
            "speed {speed}: {} periods plain, {} with --speed-search",
            plain.len(),
            found.len()
        );
    }
}
