//! Helpers shared by the command-line tests: run the real binary, make
//! audio files, read JSON lines back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const ADDRESS: &str = "d8da6bf26964af9d7eed9e03e53415d37aa96045";

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hushmark"))
}

pub fn hushmark() -> Command {
    let mut c = Command::new(bin());
    c.env_remove("HUSHMARK_KEY_FILE")
        .env_remove("HUSHMARK_AUDIO_HOST")
        .env("NO_COLOR", "1");
    c
}

/// Run with `args`; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    run_in(None, args)
}

pub fn run_in(dir: Option<&Path>, args: &[&str]) -> (i32, String, String) {
    let mut c = hushmark();
    c.args(args);
    if let Some(d) = dir {
        c.current_dir(d);
    }
    split(c.output().expect("hushmark runs"))
}

pub fn split(o: Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-vectors")
}

pub fn unmarked() -> PathBuf {
    vectors().join("unmarked-48000-music.wav")
}

/// The unmarked test clip marked with the address, as `dir/m.wav`.
pub fn marked_clip(dir: &Path, key: &Path) -> PathBuf {
    let marked = dir.join("m.wav");
    embed(&unmarked(), &marked, key, &[]);
    marked
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// The public test key as a key file (mode 0600) in `dir`.
pub fn key_file(dir: &Path) -> PathBuf {
    let p = dir.join("test.key");
    testkit::harness::write_key_file(&p, &dsp_core::Key::PUBLIC_TEST).unwrap();
    p
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A 16-bit WAV of synthetic music.
pub fn music_wav(path: &Path, rate: u32, channels: u16, seconds: f64, seed: u64) {
    let n = (rate as f64 * seconds) as usize;
    let mono = testkit::synth::generate(testkit::synth::Kind::Music, rate, n, seed);
    let mut x = Vec::with_capacity(n * channels as usize);
    for (i, v) in mono.iter().enumerate() {
        for c in 0..channels {
            // Slightly different channels, so channel handling is exercised.
            let g = 1.0 - 0.1 * c as f32;
            let w = if c == 0 {
                *v
            } else {
                mono[(i + 7 * c as usize) % n] * g
            };
            x.push((w * 0.5 * 32767.0).round() as i16);
        }
    }
    write_wav_i16(path, rate, channels, &x);
}

pub fn write_wav_i16(path: &Path, rate: u32, channels: u16, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &v in samples {
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
}

/// (interleaved samples as f32, rate, channels, bits) of any WAV.
pub fn read_wav(path: &Path) -> (Vec<f32>, u32, u16, u16) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let x: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, _) => r.samples::<f32>().map(|v| v.unwrap()).collect(),
        (_, b) => {
            let scale = (1i64 << (b - 1)) as f32;
            r.samples::<i32>()
                .map(|v| v.unwrap() as f32 / scale)
                .collect()
        }
    };
    (x, spec.sample_rate, spec.channels, spec.bits_per_sample)
}

pub fn read_i16(path: &Path) -> Vec<i16> {
    hound::WavReader::open(path)
        .unwrap()
        .samples::<i16>()
        .map(|v| v.unwrap())
        .collect()
}

/// Parse JSON lines; panics with the text if any line is not JSON.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Embed the address with the test key; panics on failure.
pub fn embed(input: &Path, output: &Path, key: &Path, extra: &[&str]) -> String {
    let mut args = vec!["embed", s(input), s(output), "--key", s(key)];
    if !extra.contains(&"--id") {
        args.extend(["--id", ADDRESS]);
    }
    args.extend(extra);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "embed failed: {err}");
    err
}

/// Detect with the test key in JSON; returns (exit code, records, stderr).
pub fn detect_json(file: &Path, key: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let mut args = vec!["detect", s(file), "--key", s(key), "--json"];
    args.extend(extra);
    let (code, out, err) = run(&args);
    (code, json_lines(&out), err)
}

pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .output()
        .map(|_| true)
        .unwrap_or(false)
}

/// Run an external tool and require success.
pub fn tool(program: &str, args: &[&str]) {
    tool_in(None, program, args)
}

/// [`tool`] in directory `dir` (relative paths in `args` are under it).
pub fn tool_in(dir: Option<&Path>, program: &str, args: &[&str]) {
    let mut c = Command::new(program);
    if let Some(d) = dir {
        c.current_dir(d);
    }
    let out = c.args(args).output().unwrap_or_else(|e| {
        panic!("{program} is needed for this test (cargo xtask setup installs it): {e}")
    });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
