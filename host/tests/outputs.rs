//! Honest outputs: damaged files are said to be damaged by every command,
//! a full disk is named in words, and what is not marked is written back as
//! it was read.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// `marked` as MP3 (128k), with the side information of ten frames in the
/// middle overwritten: those packets cannot be decoded.
fn damaged_mp3(dir: &Path, marked: &Path) -> PathBuf {
    let mp3 = dir.join("clean.mp3");
    tool(
        "ffmpeg",
        &[
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            s(marked),
            "-b:a",
            "128k",
            s(&mp3),
        ],
    );
    let mut d = fs::read(&mp3).unwrap();
    // MPEG-1 layer III frame headers without CRC.
    let frames: Vec<usize> = (0..d.len() - 1)
        .filter(|&i| d[i] == 0xFF && d[i + 1] & 0xFE == 0xFA)
        .collect();
    let third = frames.len() / 3;
    for &at in frames[third..third + 60].iter().step_by(6) {
        d[at + 4..at + 21].fill(0xFF);
    }
    let bad = dir.join("damaged.mp3");
    fs::write(&bad, d).unwrap();
    bad
}

fn error_lines(err: &str) -> Vec<&str> {
    err.lines().filter(|l| l.contains("error:")).collect()
}

/// `inspect` fails (exit 2) on the files `detect` fails on, with the same
/// error, key or not.
#[test]
fn inspect_fails_with_detects_error_on_a_damaged_file() {
    if !have("ffmpeg") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tmp();
    let key = key_file(dir.path());
    let marked = marked_clip(dir.path(), &key);
    let bad = damaged_mp3(dir.path(), &marked);
    let (code, _, err) = run(&["detect", s(&bad), "--key", s(&key)]);
    assert_eq!(code, 2, "{err}");
    let detect_errors = error_lines(&err);
    assert_eq!(detect_errors.len(), 1, "{err}");
    let png = dir.path().join("p.png");
    for with_key in [false, true] {
        let mut args = vec!["inspect", s(&bad), "--png", s(&png), "--force"];
        if with_key {
            args.extend(["--key", s(&key)]);
        }
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "key {with_key}: {err}");
        assert_eq!(error_lines(&err), detect_errors, "key {with_key}");
    }
}

/// The agent says when packets cannot be decoded, on stderr and in its log
/// as an `undecodable` event with the span lost.
#[test]
fn monitor_logs_undecodable_packets_as_a_gap() {
    if !have("ffmpeg") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tmp();
    let key = key_file(dir.path());
    let marked = marked_clip(dir.path(), &key);
    let bad = damaged_mp3(dir.path(), &marked);
    let log = dir.path().join("log.jsonl");
    let (_, _, err) = run(&[
        "monitor",
        "--key",
        s(&key),
        "--file",
        s(&bad),
        "--log",
        s(&log),
        "--start-time",
        "2024-05-01T06:00:00Z",
    ]);
    assert!(err.contains("undecodable audio from"), "{err}");
    let lines = json_lines(&fs::read_to_string(&log).unwrap());
    let gaps: Vec<_> = lines
        .iter()
        .filter(|l| l["event"] == "undecodable")
        .collect();
    assert!(!gaps.is_empty(), "no undecodable event in {lines:?}");
    let mut last_end = 0.0;
    for g in &gaps {
        let (start, end) = (g["start_s"].as_f64().unwrap(), g["end_s"].as_f64().unwrap());
        assert!(start >= last_end && end > start, "{g}");
        last_end = end;
        for field in ["utc", "end_utc"] {
            let t = g[field].as_str().unwrap();
            assert!(t.starts_with("2024-05-01T06:00:0"), "{g}");
        }
        assert!(g["stream"].as_str().unwrap().contains("damaged.mp3"), "{g}");
    }
    // Inside the file, not at its edges: ten packets a third of the way in.
    assert!(gaps[0]["start_s"].as_f64().unwrap() > 1.0, "{gaps:?}");
}

/// A tmpfs of 64 KiB, unmounted on drop; `None` (test skipped) when this
/// process may not mount.
struct TinyFs {
    dir: tempfile::TempDir,
}

impl TinyFs {
    fn mount() -> Option<TinyFs> {
        let dir = tmp();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs", s(dir.path())])
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then_some(TinyFs { dir })
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// On a full disk embed and inspect say which file could not be written
/// and why, in words (no debug text), and leave nothing behind.
#[test]
fn a_full_disk_is_reported_with_the_path() {
    let Some(fs) = TinyFs::mount() else {
        eprintln!("skipped: cannot mount a tmpfs (needs root; CI runs as root)");
        return;
    };
    let dir = tmp();
    let key = key_file(dir.path());
    let full = fs.dir.path();
    let input = unmarked();
    let out = full.join("o.wav");
    let flac = full.join("o.flac");
    let png = full.join("p.png");
    let runs: [Vec<&str>; 3] = [
        vec!["embed", s(&input), s(&out), "--key", s(&key), "--id", "2a"],
        vec!["embed", s(&input), s(&flac), "--key", s(&key), "--id", "2a"],
        vec!["inspect", s(&input), "--png", s(&png)],
    ];
    for (args, dest) in runs.iter().zip([&out, &flac, &png]) {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains(&format!("cannot write {}", dest.display())),
            "{args:?}: {err}"
        );
        assert!(err.contains("No space left on device"), "{args:?}: {err}");
        for debug in ["Custom {", "IoError(", "Error {", "kind:"] {
            assert!(!err.contains(debug), "{args:?}: debug text in {err}");
        }
        let left: Vec<_> = std::fs::read_dir(full).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

/// A mono float WAV (WAVE_FORMAT_IEEE_FLOAT) of 32- or 64-bit samples.
fn float_wav(path: &Path, rate: u32, x: &[f64], bits: u16) {
    let mut data = Vec::new();
    for &v in x {
        match bits {
            64 => data.extend_from_slice(&v.to_le_bytes()),
            _ => data.extend_from_slice(&(v as f32).to_le_bytes()),
        }
    }
    let bytes = bits as u32 / 8;
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&3u16.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * bytes).to_le_bytes());
    h.extend_from_slice(&(bytes as u16).to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&(data.len() as u32).to_le_bytes());
    h.extend_from_slice(&data);
    fs::write(path, h).unwrap();
}

/// (bits per sample, the data chunk's bytes) of a WAV.
fn wav_data(path: &Path) -> (u16, Vec<u8>) {
    let d = fs::read(path).unwrap();
    let fmt = d.windows(4).position(|w| w == b"fmt ").unwrap();
    let bits = u16::from_le_bytes([d[fmt + 22], d[fmt + 23]]);
    let at = d.windows(4).position(|w| w == b"data").unwrap();
    (bits, d[at + 8..].to_vec())
}

/// Outside the bursts OUT is IN bit for bit, in 32- and 64-bit float and
/// 32-bit integer alike: NaN, infinities and samples beyond full scale
/// included, and 64-bit float and 32-bit integer files stay so.
#[test]
fn unmarked_samples_are_written_back_bit_for_bit() {
    let dir = tmp();
    let key = key_file(dir.path());
    let rate = 48_000usize;
    let n = 8 * rate;
    let music = testkit::synth::generate(testkit::synth::Kind::Music, rate as u32, n, 7);
    let mut x: Vec<f64> = music
        .iter()
        .enumerate()
        // Low bits an f32 cannot hold.
        .map(|(i, &v)| 0.5 * v as f64 + 1e-12 * i as f64)
        .collect();
    for (k, i) in (1..40).map(|k| (k, k * 9_601 % n)) {
        x[i] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.5][k % 4];
    }
    // 32-bit integer too: f32 cannot hold its low bits either.
    let int32 = dir.path().join("in-s32.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate as u32,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&int32, spec).unwrap();
    for (i, &v) in music.iter().enumerate() {
        w.write_sample((v as f64 * 0.5 * 2_147_483_648.0) as i32 + (i % 97) as i32)
            .unwrap();
    }
    w.finalize().unwrap();
    for bits in [32u16, 64, 0] {
        let name = match bits {
            0 => "s32".to_string(),
            b => format!("f{b}"),
        };
        let input = dir.path().join(format!("in-{name}.wav"));
        let output = dir.path().join(format!("out-{name}.wav"));
        if bits != 0 {
            float_wav(&input, rate as u32, &x, bits);
        }
        let err = embed(&input, &output, &key, &[]);
        assert_eq!(err.contains("kept as they are"), bits != 0, "{err}");
        let bits = bits.max(32);
        let (in_bits, a) = wav_data(&input);
        let (out_bits, b) = wav_data(&output);
        assert_eq!((in_bits, a.len()), (out_bits, b.len()), "{name}");
        let w = bits as usize / 8;
        let (mut inside, mut outside) = (0, 0);
        for f in 0..n {
            let same = a[f * w..(f + 1) * w] == b[f * w..(f + 1) * w];
            // Bursts of the default schedule: 993 ms every 2 s from 0.
            if f % (2 * rate) < rate {
                inside += usize::from(!same);
            } else {
                outside += usize::from(!same);
            }
        }
        assert_eq!(
            outside, 0,
            "{name}: {outside} sample(s) changed outside the bursts"
        );
        assert!(inside > rate, "{name}: the bursts are missing");
        let (_, found, _) = detect_json(&output, &key, &[]);
        assert_eq!(found.len(), 4, "{name}");
    }
}
