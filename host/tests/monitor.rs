//! The monitoring agent on files and stdin: airings merged from bursts,
//! closed on a new ID or a gap, several sources at once, the log format.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use common::*;
use serde_json::Value;

const OTHER_ID: &str = "00000000075bcd15";

/// A programme: `a` marked with the address, 16 s of silence, `a` again,
/// then 8 s marked with another ID. Returns the file.
fn programme(dir: &Path, key: &Path) -> std::path::PathBuf {
    let a = dir.join("a.wav");
    embed(&unmarked(), &a, key, &[]);
    let b = dir.join("b.wav");
    embed(&unmarked(), &b, key, &["--id", OTHER_ID]);
    let mut x = read_i16(&a);
    x.extend(std::iter::repeat_n(0i16, 16 * 48_000));
    x.extend(read_i16(&a));
    x.extend(read_i16(&b));
    let p = dir.join("programme.wav");
    write_wav_i16(&p, 48_000, 1, &x);
    p
}

fn check_record(r: &Value) {
    for field in [
        "stream",
        "id",
        "first_utc",
        "last_utc",
        "first_s",
        "last_s",
        "bursts",
        "profile",
    ] {
        assert!(r.get(field).is_some(), "{field} missing in {r}");
    }
    let utc = r["first_utc"].as_str().unwrap();
    assert!(
        utc.len() == 20 && utc.ends_with('Z') && utc.as_bytes()[10] == b'T',
        "{utc}"
    );
    assert!(r.get("audio").is_none() && r.get("samples").is_none());
}

#[test]
fn bursts_merge_into_airings_that_end_on_gaps_and_new_ids() {
    let dir = tmp();
    let key = key_file(dir.path());
    let p = programme(dir.path(), &key);
    let (code, out, err) = run(&[
        "monitor",
        "--key",
        s(&key),
        "--file",
        s(&p),
        "--start-time",
        "2024-05-01T06:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    let records = json_lines(&out);
    assert_eq!(records.len(), 3, "{out}");
    for r in &records {
        check_record(r);
        assert_eq!(r["stream"], format!("file:{}", p.display()));
        assert_eq!(r["profile"], "ultrasonic");
    }
    let summary: Vec<(String, u64, u64, u64)> = records
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["first_s"].as_u64().unwrap(),
                r["last_s"].as_u64().unwrap(),
                r["bursts"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (ADDRESS.to_string(), 0, 6, 4),
            (ADDRESS.to_string(), 24, 30, 4),
            (OTHER_ID.to_string(), 32, 38, 4),
        ]
    );
    assert_eq!(records[0]["first_utc"], "2024-05-01T06:00:00Z");
    assert_eq!(records[0]["last_utc"], "2024-05-01T06:00:06Z");
    assert_eq!(records[2]["last_utc"], "2024-05-01T06:00:38Z");
    assert!(err.contains("3 airing(s) logged"), "{err}");
}

#[test]
fn stdin_pcm_in_both_formats() {
    let dir = tmp();
    let key = key_file(dir.path());
    let marked = marked_clip(dir.path(), &key);
    let x = read_i16(&marked);
    let s16: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    // Stereo f32: the same programme on both channels.
    let f32le: Vec<u8> = x
        .iter()
        .flat_map(|&v| {
            let f = v as f32 / 32768.0;
            [f, f]
        })
        .flat_map(|f| f.to_le_bytes())
        .collect();
    for (bytes, args) in [
        (
            s16,
            ["--rate", "48000", "--channels", "1", "--format", "s16le"],
        ),
        (
            f32le,
            ["--rate", "48000", "--channels", "2", "--format", "f32le"],
        ),
    ] {
        let mut child = hushmark()
            .args(["monitor", "--key", s(&key), "--stdin"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            // In uneven pieces, as a pipe delivers them.
            for chunk in bytes.chunks(12_345) {
                stdin.write_all(chunk).unwrap();
            }
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        let (code, out, err) = split(out);
        assert_eq!(code, 0, "{args:?}: {err}");
        let records = json_lines(&out);
        assert_eq!(records.len(), 1, "{args:?}: {out}");
        check_record(&records[0]);
        assert_eq!(records[0]["stream"], "stdin");
        assert_eq!(records[0]["id"], ADDRESS);
        assert_eq!(records[0]["bursts"], 4);
        assert_eq!(records[0]["last_s"], 6);
    }
}

#[test]
fn several_sources_in_parallel_into_one_log() {
    let dir = tmp();
    let key = key_file(dir.path());
    let a = dir.path().join("a.wav");
    embed(&unmarked(), &a, &key, &[]);
    let b = dir.path().join("b.flac");
    embed(&unmarked(), &b, &key, &["--id", OTHER_ID]);
    let log = dir.path().join("aired.jsonl");
    let raw: Vec<u8> = read_i16(&a).iter().flat_map(|v| v.to_le_bytes()).collect();
    for round in 1..=2 {
        let mut child = hushmark()
            .args([
                "monitor",
                "--key",
                s(&key),
                "--file",
                s(&a),
                "--file",
                s(&b),
                "--file",
                s(&a),
                "--stdin",
                "--rate",
                "48000",
                "--channels",
                "1",
                "--format",
                "s16le",
                "--log",
                s(&log),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&raw).unwrap();
        let (code, out, err) = split(child.wait_with_output().unwrap());
        assert_eq!(code, 0, "{err}");
        assert!(out.is_empty(), "with --log, stdout stays empty: {out}");
        let records = json_lines(&fs::read_to_string(&log).unwrap());
        assert_eq!(records.len(), 4 * round, "round {round}");
        let mut streams: Vec<String> = records[..4]
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["stream"].as_str().unwrap(),
                    r["id"].as_str().unwrap()
                )
            })
            .collect();
        streams.sort();
        let mut want = vec![
            format!("file:{} {ADDRESS}", a.display()),
            format!("file:{}#2 {ADDRESS}", a.display()),
            format!("file:{} {OTHER_ID}", b.display()),
            format!("stdin {ADDRESS}"),
        ];
        want.sort();
        assert_eq!(streams, want);
    }
}

#[test]
fn a_bad_source_is_reported_and_the_others_still_logged() {
    let dir = tmp();
    let key = key_file(dir.path());
    let a = dir.path().join("a.wav");
    embed(&unmarked(), &a, &key, &[]);
    let missing = dir.path().join("missing.wav");
    let (code, out, err) = run(&[
        "monitor",
        "--key",
        s(&key),
        "--file",
        s(&missing),
        "--file",
        s(&a),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(json_lines(&out).len(), 1);
    assert!(err.contains("missing.wav"), "{err}");
    // Nothing to monitor, bad times and bad stdin formats are usage errors.
    let key = s(&key);
    let cases: [(&[&str], &str); 4] = [
        (&[], "nothing to monitor"),
        (&["--file", s(&a), "--start-time", "yesterday"], "RFC 3339"),
        (
            &["--stdin", "--rate", "48000", "--channels", "200"],
            "200 channels",
        ),
        (
            &["--stdin", "--rate", "22050", "--channels", "1"],
            "at least 44100 Hz",
        ),
    ];
    for (extra, says) in cases {
        let mut args = vec!["monitor", "--key", key];
        args.extend_from_slice(extra);
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// Stdin fed faster than real time: UTC follows the samples from the start
/// time, so 16 s of stream span 16 s of UTC whatever the wall clock did.
#[test]
fn stdin_utc_follows_stream_time() {
    let dir = tmp();
    let key = key_file(dir.path());
    let marked = marked_clip(dir.path(), &key);
    let mut x = read_i16(&marked);
    x.extend(read_i16(&marked));
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut child = hushmark()
        .args(["monitor", "--key", s(&key), "--stdin", "--rate", "48000"])
        .args(["--channels", "1", "--format", "s16le"])
        .args(["--start-time", "2024-05-01T06:00:00Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let (code, out, err) = split(child.wait_with_output().unwrap());
    writer.join().unwrap().unwrap();
    assert_eq!(code, 0, "{err}");
    let records = json_lines(&out);
    assert_eq!(records.len(), 1, "{out}");
    let r = &records[0];
    check_record(r);
    let utc = |field: &str| {
        humantime::parse_rfc3339(r[field].as_str().unwrap())
            .unwrap()
            .duration_since(humantime::parse_rfc3339("2024-05-01T06:00:00Z").unwrap())
            .unwrap()
            .as_secs_f64()
    };
    let (first_s, last_s) = (
        r["first_s"].as_f64().unwrap(),
        r["last_s"].as_f64().unwrap(),
    );
    assert!(last_s - first_s >= 14.0, "{r}");
    // UTC is whole seconds: within one of start + stream time.
    assert!((utc("first_utc") - first_s).abs() <= 1.0, "{r}");
    assert!((utc("last_utc") - last_s).abs() <= 1.0, "{r}");
}
