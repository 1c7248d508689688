//! Round trips through real encoders (flac, lame, ffmpeg's AAC and Vorbis,
//! oggenc, sox): every input format hushmark reads, and what each codec
//! lets through.
//!
//! What survives (48 kHz): lossless everything; AAC at 256-320 kbit/s and
//! Vorbis at 256 kbit/s keep the `ultrasonic` band; MP3 cuts below 20.5 kHz
//! at any bitrate, so only `near-ultrasonic` marks survive it (CBR 128-320
//! kbit/s and V0; not V2, whose low-pass sits inside that band too).
//! symphonia does not remove AAC's encoder priming (1024 frames), so times
//! in AAC files read 21 ms late.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// The bundled clip as stereo 16-bit WAV (Vorbis needs two channels for 256 kbit/s).
fn stereo_clip(dir: &Path) -> PathBuf {
    let p = dir.join("stereo.wav");
    tool(
        "ffmpeg",
        &[
            "-loglevel",
            "error",
            "-y",
            "-i",
            s(&unmarked()),
            "-ac",
            "2",
            s(&p),
        ],
    );
    p
}

/// Detect the address in `file` with `profile`: bursts found, their starts.
fn found(file: &Path, key: &Path, profile: &str) -> Vec<f64> {
    let (code, records, err) = detect_json(file, key, &["--profile", profile]);
    assert!(code == 0 || code == 1, "{}: {err}", file.display());
    records
        .iter()
        .map(|r| {
            assert_eq!(r["id"], ADDRESS, "{}: wrong ID", file.display());
            r["start_s"].as_f64().unwrap()
        })
        .collect()
}

fn assert_schedule(file: &Path, starts: &[f64], late_s: f64, tolerance_s: f64) {
    assert!(
        starts.len() >= 3,
        "{}: only {} of 4 bursts survived",
        file.display(),
        starts.len()
    );
    for t in starts {
        let k = ((t - late_s) / 2.0).round();
        assert!(
            (t - late_s - 2.0 * k).abs() <= tolerance_s,
            "{}: burst at {t} s",
            file.display()
        );
    }
}

#[test]
fn lossless_round_trips_are_bit_exact() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    // IN as FLAC (made by the reference encoder) marks exactly like IN as WAV.
    let flac_in = d.join("in.flac");
    tool("flac", &["-s", "-f", s(&unmarked()), "-o", s(&flac_in)]);
    let from_wav = d.join("from-wav.wav");
    let from_flac = d.join("from-flac.wav");
    embed(&unmarked(), &from_wav, &key, &[]);
    embed(&flac_in, &from_flac, &key, &[]);
    assert_eq!(read_i16(&from_wav), read_i16(&from_flac));
    // OUT as FLAC passes the reference decoder's check and decodes to the
    // same samples as OUT as WAV, at 16 and 24 bits.
    for (format, bits) in [("s16", 16u16), ("s24", 24)] {
        let ours = d.join(format!("ours-{format}.flac"));
        let wav = d.join(format!("ours-{format}.wav"));
        embed(&unmarked(), &ours, &key, &["--format", format]);
        embed(&unmarked(), &wav, &key, &["--format", format]);
        tool("flac", &["-s", "-t", s(&ours)]);
        let decoded = d.join(format!("decoded-{format}.wav"));
        tool("flac", &["-s", "-d", "-f", s(&ours), "-o", s(&decoded)]);
        let (a, ra, ca, ba) = read_wav(&decoded);
        let (b, rb, cb, bb) = read_wav(&wav);
        assert_eq!((ra, ca, ba), (rb, cb, bb));
        assert_eq!(ba, bits);
        assert_eq!(a, b, "{format}: FLAC and WAV outputs differ");
    }
}

#[test]
fn marks_survive_aac_vorbis_flac_and_resampling() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    let marked = d.join("marked.wav");
    embed(&stereo_clip(d), &marked, &key, &[]);
    let m = s(&marked);
    let q = ["-loglevel", "error", "-y", "-i", m];
    let cases: Vec<(&str, Vec<&str>, &str, f64, f64)> = vec![
        ("flac", vec!["-s", "-f", m, "-o"], "ref.flac", 0.0, 0.001),
        (
            "ffmpeg",
            [&q[..], &["-c:a", "aac", "-b:a", "320k"]].concat(),
            "aac320.m4a",
            0.0213,
            0.002,
        ),
        (
            "ffmpeg",
            [&q[..], &["-c:a", "aac", "-b:a", "256k"]].concat(),
            "aac256.m4a",
            0.0213,
            0.002,
        ),
        (
            "ffmpeg",
            [&q[..], &["-c:a", "aac", "-b:a", "320k", "-f", "adts"]].concat(),
            "adts.aac",
            0.0213,
            0.002,
        ),
        (
            "ffmpeg",
            [&q[..], &["-c:a", "libvorbis", "-b:a", "256k"]].concat(),
            "ffmpeg.ogg",
            0.0,
            0.001,
        ),
        (
            "oggenc",
            vec!["-Q", "-b", "256", m, "-o"],
            "oggenc.ogg",
            0.0,
            0.001,
        ),
        (
            "ffmpeg",
            [&q[..], &["-ar", "44100"]].concat(),
            "resampled-44100.wav",
            0.0,
            0.001,
        ),
        ("sox", vec![m], "sox.aiff", 0.0, 0.001),
    ];
    for (program, mut args, name, late, tolerance) in cases {
        let out = d.join(name);
        args.push(s(&out));
        tool(program, &args);
        assert_schedule(&out, &found(&out, &key, "ultrasonic"), late, tolerance);
    }
}

#[test]
fn mp3_carries_near_ultrasonic_marks() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    let marked = d.join("near.wav");
    embed(
        &unmarked(),
        &marked,
        &key,
        &["--profile", "near-ultrasonic"],
    );
    for bitrate in ["128", "320"] {
        let mp3 = d.join(format!("near-{bitrate}.mp3"));
        tool("lame", &["--quiet", "-b", bitrate, s(&marked), s(&mp3)]);
        let starts = found(&mp3, &key, "near-ultrasonic");
        assert_schedule(&mp3, &starts, 0.0, 0.001);
        assert_eq!(starts.len(), 4, "{bitrate} kbit/s");
    }
}

#[test]
fn every_input_format_can_be_marked() {
    let dir = tmp();
    let key = key_file(dir.path());
    let d = dir.path();
    let clip = stereo_clip(d);
    let c = s(&clip);
    let q = ["-loglevel", "error", "-y", "-i", c];
    // (encoder, args, file, extra frames the decoder returns)
    let inputs: Vec<(&str, Vec<&str>, &str, usize)> = vec![
        ("flac", vec!["-s", "-f", c, "-o"], "in.flac", 0),
        ("lame", vec!["--quiet", "-b", "320", c], "in.mp3", 0),
        (
            "ffmpeg",
            [&q[..], &["-c:a", "aac", "-b:a", "256k"]].concat(),
            "in.m4a",
            1024,
        ),
        (
            "ffmpeg",
            [&q[..], &["-c:a", "libvorbis", "-b:a", "256k"]].concat(),
            "in.ogg",
            0,
        ),
        (
            "ffmpeg",
            [&q[..], &["-c:a", "pcm_s24le"]].concat(),
            "in24.wav",
            0,
        ),
        (
            "ffmpeg",
            [&q[..], &["-c:a", "pcm_f32le"]].concat(),
            "inf.wav",
            0,
        ),
        ("sox", vec![c], "in.aiff", 0),
    ];
    for (program, mut args, name, extra) in inputs {
        let input = d.join(name);
        args.push(s(&input));
        tool(program, &args);
        let out = d.join(format!("{name}.marked.wav"));
        embed(&input, &out, &key, &[]);
        let (x, rate, ch, bits) = read_wav(&out);
        assert_eq!((rate, ch), (48_000, 2), "{name}");
        assert_eq!(x.len() / 2, 384_000 + extra, "{name}: length");
        let want_bits = match name {
            "in.flac" | "in.aiff" => 16,
            "in24.wav" => 24,
            _ => 32, // float and lossy sources keep full precision
        };
        assert_eq!(bits, want_bits, "{name}");
        let starts = found(&out, &key, "ultrasonic");
        assert_eq!(starts.len(), 4, "{name}");
        assert_schedule(&out, &starts, 0.0, 0.001);
    }
}
