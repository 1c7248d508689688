//! The command line end to end, as a user runs it: every subcommand, exit
//! codes, JSON fields, and every kind of bad input the issue lists.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

const SUBCOMMANDS: [&str; 10] = [
    "keygen",
    "embed",
    "detect",
    "monitor",
    "listen",
    "play",
    "passthrough",
    "devices",
    "inspect",
    "demo",
];

#[test]
fn every_subcommand_has_help_with_examples() {
    for sub in SUBCOMMANDS {
        let (code, out, err) = run(&[sub, "--help"]);
        assert_eq!(code, 0, "{sub} --help: {err}");
        assert!(
            out.contains(&format!("Usage: hushmark {sub}")),
            "{sub}: {out}"
        );
        assert!(
            out.contains("Examples:"),
            "{sub} --help has no examples:\n{out}"
        );
        assert!(
            out.contains(&format!("hushmark {sub}")),
            "{sub}: examples do not use it"
        );
    }
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for sub in SUBCOMMANDS {
        assert!(out.contains(sub), "top-level help misses {sub}");
    }
}

#[test]
fn usage_errors_exit_2_without_a_backtrace() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["detect"],
        &["embed", "a.wav"],
        &["detect", "x.wav", "--bogus"],
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{err}"
        );
    }
}

#[test]
fn keygen_writes_a_private_key_once() {
    let dir = tmp();
    let k = dir.path().join("station.key");
    let (code, out, err) = run(&["keygen", s(&k)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "the secret must not go to stdout: {out}");
    let text = fs::read_to_string(&k).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with('#') && lines[1].starts_with('#'));
    assert_eq!(lines[2].len(), 32);
    assert!(lines[2]
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&k).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Never overwrites.
    let (code, _, err) = run(&["keygen", s(&k)]);
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(fs::read_to_string(&k).unwrap(), text);
    // A second key differs, and the new key works.
    let k2 = dir.path().join("other.key");
    assert_eq!(run(&["keygen", s(&k2)]).0, 0);
    assert_ne!(
        fs::read_to_string(&k2).unwrap().lines().nth(2),
        Some(lines[2])
    );
    let out = dir.path().join("m.wav");
    embed(&unmarked(), &out, &k, &[]);
    let (code, found, _) = detect_json(&out, &k, &[]);
    assert_eq!((code, found.len()), (0, 4));
    let (code, found, _) = detect_json(&out, &k2, &[]);
    assert_eq!(
        (code, found.len()),
        (1, 0),
        "another key must not read the mark"
    );
    // Nothing left behind but the two keys and the output.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
    // keygen into a missing directory: a clear error.
    let (code, _, err) = run(&["keygen", s(&dir.path().join("no/such/dir.key"))]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot create a file in"), "{err}");
}

#[test]
fn bad_key_files_are_refused_with_a_reason() {
    let dir = tmp();
    let audio = unmarked();
    let cases: [(&str, &[u8], &str); 6] = [
        ("empty.key", b"", "no key in it"),
        (
            "short.key",
            b"0011223344\n",
            "has 10 hex digits; a key is exactly 32",
        ),
        (
            "nonhex.key",
            b"000102030405060708090a0b0c0d0e0g\n",
            "is not a hex digit",
        ),
        (
            "two.key",
            b"000102030405060708090a0b0c0d0e0f\n000102030405060708090a0b0c0d0e0f\n",
            "more than one key line",
        ),
        ("binary.key", &[0xff, 0xfe, 0x00, 0x12, 0x80], "not text"),
        ("long.key", &[b'a'; 5000], "not a hushmark key file"),
    ];
    for (name, bytes, expect) in cases {
        let k = dir.path().join(name);
        fs::write(&k, bytes).unwrap();
        let (code, out, err) = run(&["detect", s(&audio), "--key", s(&k)]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(out.is_empty());
        assert!(err.contains(expect), "{name}: expected {expect:?} in {err}");
        assert!(
            err.contains(name),
            "{name}: the message should name the file: {err}"
        );
    }
    let (code, _, err) = run(&[
        "detect",
        s(&audio),
        "--key",
        s(&dir.path().join("missing.key")),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("missing.key") && err.contains("No such file"),
        "{err}"
    );
    let (code, _, err) = run(&["detect", s(&audio), "--key", s(dir.path())]);
    assert_eq!(code, 2);
    assert!(err.contains("is a directory"), "{err}");
    // Readable by others: works, with a warning.
    let k = key_file(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&k, fs::Permissions::from_mode(0o644)).unwrap();
        let (code, _, err) = run(&["detect", s(&audio), "--key", s(&k)]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("can be read by other users") && err.contains("chmod 600"),
            "{err}"
        );
    }
    // The key can also come from the environment.
    let out = hushmark()
        .args(["detect", s(&audio)])
        .env("HUSHMARK_KEY_FILE", &k)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// Frames inside any burst of the default schedule (every 2 s from 0).
fn in_burst(frame: usize, rate: usize, burst: usize) -> bool {
    frame % (2 * rate) < burst
}

#[test]
fn embed_then_detect_round_trip() {
    let dir = tmp();
    let key = key_file(dir.path());
    let out = dir.path().join("marked.wav");
    let note = embed(&unmarked(), &out, &key, &[]);
    assert!(note.contains("4 whole burst(s)"), "{note}");
    // Same length, rate, channels and bit depth; untouched outside bursts.
    let a = read_i16(&unmarked());
    let b = read_i16(&out);
    assert_eq!(a.len(), b.len());
    let (_, rate, ch, bits) = read_wav(&out);
    assert_eq!((rate, ch, bits), (48_000, 1, 16));
    let burst = 47_680; // 596 symbols at 600 Bd, 48 kHz
    let mut changed = 0;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x != y {
            changed += 1;
            assert!(
                in_burst(i, 48_000, burst),
                "sample {i} outside a burst changed"
            );
        }
    }
    assert!(changed > 100_000, "only {changed} samples carry the mark");

    let (code, found, _) = detect_json(&out, &key, &[]);
    assert_eq!(code, 0);
    assert_eq!(found.len(), 4);
    for (k, d) in found.iter().enumerate() {
        for field in [
            "file",
            "id",
            "counter",
            "start_s",
            "end_s",
            "confidence",
            "snr_db",
            "profile",
        ] {
            assert!(d.get(field).is_some(), "{field} missing in {d}");
        }
        assert_eq!(d["id"], ADDRESS);
        assert_eq!(d["file"], s(&out));
        assert_eq!(d["counter"], k as u64);
        let start = d["start_s"].as_f64().unwrap();
        assert!(
            (start - 2.0 * k as f64).abs() <= 0.001,
            "burst {k} at {start}"
        );
        let c = d["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
        assert_eq!(d["sample_rate"], 48_000);
    }
    // The table names the same bursts.
    let (code, table, _) = run(&["detect", s(&out), "--key", s(&key)]);
    assert_eq!(code, 0);
    assert!(table.starts_with("  START_S"), "{table}");
    assert_eq!(table.matches(ADDRESS).count(), 4);
}

#[test]
fn no_burst_is_cut_off_at_the_end() {
    let dir = tmp();
    let key = key_file(dir.path());
    // 6.5 s: the bursts at 0, 2 and 4 s fit; the one at 6 s would be cut off.
    // 64 kHz takes the resampled-mark path.
    for rate in [48_000u32, 64_000] {
        let input = dir.path().join(format!("in-{rate}.wav"));
        let out = dir.path().join(format!("out-{rate}.wav"));
        music_wav(&input, rate, 1, 6.5, 3);
        let note = embed(&input, &out, &key, &[]);
        assert!(note.contains(": 3 whole burst(s)"), "{rate} Hz: {note}");
        let (a, b) = (read_i16(&input), read_i16(&out));
        assert_eq!(a.len(), b.len());
        let last = a.iter().zip(&b).rposition(|(x, y)| x != y).unwrap();
        assert!(
            (last as f64) < 5.0 * rate as f64,
            "{rate} Hz: sample {last} changed, after the last whole burst"
        );
        let (_, found, _) = detect_json(&out, &key, &[]);
        assert_eq!(found.len(), 3, "{rate} Hz");
    }
}

#[test]
fn detect_exit_codes_follow_grep() {
    let dir = tmp();
    let key = key_file(dir.path());
    let marked = marked_clip(dir.path(), &key);
    let (code, out, err) = run(&["detect", s(&unmarked()), "--key", s(&key)]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("no mark found"), "{err}");
    // An unreadable file among good ones: the good results still print, exit 2.
    let missing = dir.path().join("missing.wav");
    let (code, out, err) = run(&[
        "detect",
        s(&marked),
        s(&missing),
        s(&unmarked()),
        "--key",
        s(&key),
        "--json",
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(json_lines(&out).len(), 4);
    assert!(err.contains("missing.wav"), "{err}");
    // Quiet means nothing on stderr but errors.
    let (code, _, err) = run(&["-q", "detect", s(&marked), "--key", s(&key)]);
    assert_eq!(code, 0);
    assert!(err.is_empty(), "{err}");
}

#[test]
fn detect_finds_every_golden_vector() {
    let dir = tmp();
    let key = key_file(dir.path());
    let mut checked = 0;
    for entry in fs::read_dir(vectors()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let spec: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let wav = vectors().join(spec["file"].as_str().unwrap());
        let profile = spec["profile"].as_str().unwrap();
        let rate = spec["sample_rate"].as_u64().unwrap();
        let (code, found, err) = detect_json(&wav, &key, &["--profile", profile]);
        let expected = spec["expected"].as_array().unwrap();
        assert_eq!(
            code,
            if expected.is_empty() { 1 } else { 0 },
            "{}: {err}",
            wav.display()
        );
        assert_eq!(found.len(), expected.len(), "{}: {found:?}", wav.display());
        // The file lists marks layer by layer; detect reports them in time.
        let layer = |v: &Value| (v["profile"] == "robust") as u8;
        let mut found = found.clone();
        found.sort_by_key(|f| (layer(f), f["start_sample"].as_i64()));
        for (f, e) in found.iter().zip(expected) {
            assert_eq!(f["id"], e["id"], "{}", wav.display());
            assert_eq!(f["profile"], e["profile"], "{}", wav.display());
            // The robust layer may name the ID before its period's counter
            // can be read.
            if !(e["profile"] == "robust" && f["counter"].is_null()) {
                assert_eq!(f["counter"], e["counter"], "{}", wav.display());
            }
            let got = f["start_sample"].as_i64().unwrap();
            let want = e["start_sample"].as_i64().unwrap();
            assert!(
                (got - want).unsigned_abs() <= rate / 1000,
                "{}: {got} vs {want}",
                wav.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} vectors");
}

#[test]
fn detect_all_profiles_finds_each_kind() {
    let dir = tmp();
    let key = key_file(dir.path());
    let v = vectors();
    let (code, out, err) = run(&[
        "detect",
        s(&v.join("near-ultrasonic-48000-speech.wav")),
        s(&v.join("ultrasonic-wide-48000-music.wav")),
        s(&v.join("ultrasonic-44100-speech.wav")),
        "--key",
        s(&key),
        "--json",
        "--profile",
        "all",
    ]);
    assert_eq!(code, 0, "{err}");
    let found = json_lines(&out);
    for p in ["near-ultrasonic", "ultrasonic-wide", "ultrasonic"] {
        assert!(found.iter().any(|f| f["profile"] == p), "no {p} in {out}");
    }
    // 44.1 kHz cannot carry ultrasonic-wide: said, not failed.
    assert!(
        err.contains("not searching profile ultrasonic-wide"),
        "{err}"
    );
}

#[test]
fn output_formats_and_bit_depths() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    // Default: same bit depth as the input.
    for (name, extra, bits) in [
        ("a.wav", &[][..], 16u16),
        ("b.wav", &["--format", "s24"][..], 24),
        ("c.wav", &["--format", "f32"][..], 32),
    ] {
        let out = d.join(name);
        embed(&unmarked(), &out, &key, extra);
        let (x, rate, ch, b) = read_wav(&out);
        assert_eq!((rate, ch, b, x.len()), (48_000, 1, bits, 384_000), "{name}");
        let (code, found, _) = detect_json(&out, &key, &[]);
        assert_eq!((code, found.len()), (0, 4), "{name}");
    }
    // A 24-bit input stays 24-bit, and s24 preserves 16-bit content exactly.
    let b = read_wav(&d.join("b.wav")).0;
    let a = read_wav(&d.join("a.wav")).0;
    assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 2.0 / 32768.0));
    let again = d.join("b2.wav");
    embed(&d.join("b.wav"), &again, &key, &["--id", "2a"]);
    assert_eq!(read_wav(&again).3, 24);
    // FLAC out, 16 and 24 bit; float FLAC is refused.
    for (name, extra) in [("a.flac", &[][..]), ("b.flac", &["--format", "s24"][..])] {
        let out = d.join(name);
        embed(&unmarked(), &out, &key, extra);
        let (code, found, _) = detect_json(&out, &key, &[]);
        assert_eq!((code, found.len()), (0, 4), "{name}");
    }
    let (code, _, err) = run(&[
        "embed",
        s(&unmarked()),
        s(&d.join("x.flac")),
        "--id",
        "2a",
        "--key",
        s(&key),
        "--format",
        "f32",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("FLAC holds integer samples"), "{err}");
    let (code, _, err) = run(&[
        "embed",
        s(&unmarked()),
        s(&d.join("x.mp3")),
        "--id",
        "2a",
        "--key",
        s(&key),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains(".wav or .flac"), "{err}");
    assert!(!d.join("x.flac").exists() && !d.join("x.mp3").exists());
}

#[test]
fn stereo_and_every_rate() {
    let dir = tmp();
    let key = key_file(dir.path());
    for (rate, ch) in [
        (44_100u32, 2u16),
        (96_000, 1),
        (88_200, 2),
        (192_000, 2),
        (50_000, 1),
    ] {
        let src = dir.path().join(format!("src-{rate}-{ch}.wav"));
        music_wav(&src, rate, ch, 4.5, rate as u64);
        let out = dir.path().join(format!("out-{rate}-{ch}.wav"));
        let note = embed(&src, &out, &key, &[]);
        let (x, r, c, _) = read_wav(&out);
        assert_eq!((r, c), (rate, ch));
        assert_eq!(x.len(), (rate as f64 * 4.5) as usize * ch as usize);
        let (code, found, err) = detect_json(&out, &key, &[]);
        assert_eq!(code, 0, "{rate} Hz: {err}");
        assert_eq!(found.len(), 2, "{rate} Hz: {found:?}");
        for (k, f) in found.iter().enumerate() {
            let t = f["start_s"].as_f64().unwrap();
            assert!(
                (t - 2.0 * k as f64).abs() < 0.002,
                "{rate} Hz burst {k} at {t}"
            );
        }
        let odd = !matches!(rate, 44_100 | 48_000 | 88_200 | 96_000);
        assert_eq!(note.contains("resampling"), odd, "{rate}: {note}");
        assert_eq!(err.contains("resampling"), odd, "{rate}: {err}");
    }
}

#[test]
fn bad_ids_are_refused() {
    let dir = tmp();
    let key = key_file(dir.path());
    let out = dir.path().join("o.wav");
    for (id, expect) in [
        ("", "no hex digits"),
        ("0x", "no hex digits"),
        ("abc", "whole number of bytes"),
        ("0xzz", "not a hex digit"),
        ("d8da6bf26964af9d7eed9e03e53415d37aa9604501", "21 bytes"),
    ] {
        let (code, _, err) = run(&[
            "embed",
            s(&unmarked()),
            s(&out),
            "--id",
            id,
            "--key",
            s(&key),
        ]);
        assert_eq!(code, 2, "{id:?}");
        assert!(err.contains(expect), "{id:?}: {err}");
        assert!(!out.exists());
    }
    // Upper case with 0x is the same ID as lower case without.
    embed(
        &unmarked(),
        &out,
        &key,
        &["--id", "0xD8DA6BF26964AF9D7EED9E03E53415D37AA96045"],
    );
    let (_, found, _) = detect_json(&out, &key, &[]);
    assert!(found.iter().all(|f| f["id"] == ADDRESS));
    // A one-byte ID works end to end.
    let short = dir.path().join("short.wav");
    let (code, _, err) = run(&[
        "embed",
        s(&unmarked()),
        s(&short),
        "--id",
        "0x2a",
        "--key",
        s(&key),
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, found, _) = detect_json(&short, &key, &[]);
    assert_eq!(found[0]["id"], "2a");
}

fn sha(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap()
}

#[test]
fn never_writes_over_in_or_an_existing_out() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    let input = d.join("in.wav");
    fs::copy(unmarked(), &input).unwrap();
    let before = sha(&input);
    std::os::unix::fs::symlink(&input, d.join("link.wav")).unwrap();
    fs::hard_link(&input, d.join("hard.wav")).unwrap();
    for out in [
        input.clone(),
        d.join(".").join("in.wav"),
        d.join("link.wav"),
        d.join("hard.wav"),
    ] {
        for force in [false, true] {
            let mut args = vec!["embed", s(&input), s(&out), "--id", "2a", "--key", s(&key)];
            if force {
                args.push("--force");
            }
            let (code, _, err) = run(&args);
            assert_eq!(code, 2, "{}: {err}", out.display());
            assert!(err.contains("IN"), "{err}");
        }
    }
    assert_eq!(sha(&input), before, "IN changed");
    // An existing OUT is kept unless --force.
    let out = d.join("out.wav");
    fs::write(&out, b"precious").unwrap();
    let (code, _, err) = run(&["embed", s(&input), s(&out), "--id", "2a", "--key", s(&key)]);
    assert_eq!(code, 2);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(fs::read(&out).unwrap(), b"precious");
    let (code, _, err) = run(&[
        "embed",
        s(&input),
        s(&out),
        "--id",
        "2a",
        "--key",
        s(&key),
        "--force",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read_i16(&out).len(), 384_000);
    // No temporary files left anywhere.
    let names: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
}

/// A WAV whose header says `channels` and `rate`, with `frames` of silence.
fn silent_wav(path: &Path, rate: u32, channels: u16, frames: usize) {
    write_wav_i16(path, rate, channels, &vec![0; frames * channels as usize]);
}

#[test]
fn bad_audio_gets_a_clear_error_and_no_output() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    let good = fs::read(unmarked()).unwrap();
    fs::write(d.join("empty.wav"), b"").unwrap();
    fs::write(d.join("text.wav"), "this is not audio\n".repeat(50)).unwrap();
    fs::write(d.join("header.wav"), &good[..30]).unwrap();
    fs::write(d.join("trunc.wav"), &good[..good.len() / 3]).unwrap();
    silent_wav(&d.join("zero.wav"), 48_000, 1, 0);
    silent_wav(&d.join("one.wav"), 48_000, 1, 1);
    silent_wav(&d.join("low.wav"), 22_050, 1, 22_050 * 3);
    silent_wav(&d.join("c200.wav"), 48_000, 200, 4_800);
    fs::create_dir(d.join("dir.wav")).unwrap();
    let cases: [(&str, &str); 10] = [
        ("missing.wav", "No such file"),
        ("empty.wav", "empty (0 bytes)"),
        ("text.wav", "not an audio file"),
        ("header.wav", "not an audio file"),
        ("trunc.wav", "truncated"),
        ("zero.wav", "no audio (0 samples)"),
        ("one.wav", "no whole burst fits"),
        ("low.wav", "at least 44100 Hz"),
        ("c200.wav", "200 channels: hushmark handles 1 to 8"),
        ("dir.wav", "is a directory"),
    ];
    for (name, expect) in cases {
        let input = d.join(name);
        let out = d.join(format!("out-{name}"));
        let (code, stdout, err) =
            run(&["embed", s(&input), s(&out), "--id", "2a", "--key", s(&key)]);
        assert_eq!(code, 2, "embed {name}: {err}");
        assert!(
            err.contains(expect),
            "embed {name}: expected {expect:?} in {err}"
        );
        assert!(
            err.contains(name),
            "embed {name}: the message should name the file: {err}"
        );
        assert!(stdout.is_empty());
        assert!(!out.exists(), "embed {name} left {}", out.display());
        assert!(!err.contains("panicked"), "{err}");
    }
    // detect: the same files; one sample is simply too short to hold a mark.
    for (name, expect) in cases {
        let input = d.join(name);
        let (code, _, err) = run(&["detect", s(&input), "--key", s(&key)]);
        if name == "one.wav" {
            assert_eq!(code, 1, "{err}");
            assert!(err.contains("cannot hold a mark"), "{err}");
        } else {
            assert_eq!(code, 2, "detect {name}: {err}");
            assert!(
                err.contains(expect),
                "detect {name}: expected {expect:?} in {err}"
            );
        }
        assert!(!err.contains("panicked"), "{err}");
    }
    assert_eq!(
        fs::read_dir(d)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("partial")
            })
            .count(),
        0
    );
}

#[test]
fn schedule_and_level_errors_name_the_limit() {
    let dir = tmp();
    let key = key_file(dir.path());
    let out = dir.path().join("o.wav");
    let input = unmarked();
    for (extra, expect) in [
        (&["--interval", "0.7"][..], "shorter than the 994 ms burst"),
        (&["--interval", "0.2"][..], "outside 500 ms"),
        (&["--interval", "-1"][..], "from 0.5 to 3600"),
        (&["--interval", "nan"][..], "from 0.5 to 3600 (got NaN)"),
        (&["--offset", "inf"][..], "from 0 to 3600 (got inf)"),
        (&["--offset", "7.5"][..], "no whole burst fits"),
        (&["--level", "-5"][..], "outside -80..=-12 dBFS"),
        (&["--level", "nan"][..], "must be a number"),
    ] {
        let mut args = vec![
            "embed",
            s(&input),
            s(&out),
            "--id",
            ADDRESS,
            "--key",
            s(&key),
        ];
        args.extend(extra);
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert!(
            err.contains(expect),
            "{extra:?}: expected {expect:?} in {err}"
        );
        assert!(!out.exists());
    }
    // Back to back: twice the bursts of the default in the same 8 s.
    embed(&unmarked(), &out, &key, &["--back-to-back"]);
    let (_, found, _) = detect_json(&out, &key, &[]);
    assert_eq!(found.len(), 8);
}

fn png_size(path: &Path) -> (u32, u32) {
    let b = fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
    let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
    (w, h)
}

#[test]
fn inspect_draws_the_bursts() {
    let dir = tmp();
    let key = key_file(dir.path());
    let marked = marked_clip(dir.path(), &key);
    let png = dir.path().join("m.png");
    let (code, out, err) = run(&["inspect", s(&marked), "--key", s(&key), "--png", s(&png)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(png_size(&png), (1400, 640));
    assert_eq!(out.matches(ADDRESS).count(), 4, "{out}");
    assert!(err.contains("4 burst(s)"), "{err}");
    // Without the key the bursts are still seen, by energy, not read.
    let png2 = dir.path().join("nokey.png");
    let (code, out, err) = run(&["inspect", s(&marked), "--png", s(&png2)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(png_size(&png2), (1400, 640));
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(!out.contains(ADDRESS));
    // Refusals.
    let (code, _, err) = run(&["inspect", s(&marked), "--png", s(&png)]);
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = run(&["inspect", s(&marked), "--png", s(&dir.path().join("m.jpg"))]);
    assert_eq!(code, 2);
    assert!(err.contains("must end in .png"), "{err}");
    let low = dir.path().join("low.wav");
    silent_wav(&low, 22_050, 1, 22_050);
    let (code, _, err) = run(&["inspect", s(&low), "--png", s(&dir.path().join("low.png"))]);
    assert_eq!(code, 2);
    assert!(err.contains("holds nothing above 11.0 kHz"), "{err}");
    assert!(!dir.path().join("low.png").exists());
}

#[test]
fn demo_shows_the_whole_job() {
    let dir = tmp();
    let out_dir = dir.path().join("demo");
    let (code, out, err) = run(&["demo", "--out", s(&out_dir)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(ADDRESS), "{out}");
    assert!(out.contains("4 whole burst(s)"), "{out}");
    assert!(out.contains("all inside bursts"), "{out}");
    assert!(out.contains("no mark (as it should be)"), "{out}");
    for f in [
        "demo.key",
        "unmarked.wav",
        "marked.wav",
        "as-aired.jsonl",
        "marked.png",
    ] {
        assert!(out_dir.join(f).exists(), "{f} missing");
    }
    let log = fs::read_to_string(out_dir.join("as-aired.jsonl")).unwrap();
    let records = json_lines(&log);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["bursts"], 4);
    // Runs again over its own files.
    assert_eq!(run(&["demo", "--out", s(&out_dir)]).0, 0);
}

/// What `near-ultrasonic` survives through MP3 is the measured count, in
/// the help and the README alike (lame: 128k and -V2 0/30 bursts, 192k
/// 20-22/30, 256k and up 30/30), not "survives MP3".
#[test]
fn near_ultrasonic_mp3_claims_are_the_measured_ones() {
    let (code, help, _) = run(&["embed", "--help"]);
    assert_eq!(code, 0);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for claim in ["256k and up 30/30", "192k 20-22/30", "128k and -V2 0/30"] {
        assert!(help.contains(claim), "embed --help lacks {claim:?}: {help}");
    }
    assert!(!help.contains("survives MP3 and Opus"), "{help}");
    assert!(!help.contains("also MP3 320k"), "{help}");
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    for claim in ["256k and up 30/30", "192k 20–22/30", "128k and -V2 0/30"] {
        assert!(readme.contains(claim), "README lacks {claim:?}");
    }
    assert!(!readme.contains("for MP3 320k and Opus"));
    assert!(!readme.contains("chains with MP3 or Opus"));
}
