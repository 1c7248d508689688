//! Real codecs and tools, run as the command-line programs people use: flac,
//! ffmpeg's AAC, MP2, AC-3 and E-AC-3 encoders, lame, opusenc, oggenc, sox's
//! resampler and speed change, and ffmpeg's loudness normaliser (`cargo
//! xtask setup` installs them).
//!
//! Each takes mono `f32` at a rate and gives mono `f32` back at that rate,
//! or an error naming the tool and what it said. Encoders get stereo (the
//! mono signal on both channels), as broadcast chains carry it, so bit rates
//! are per stereo stream; ffmpeg decodes everything.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::wav;

/// Placeholders for the input and output paths in an encoder's arguments.
const IN: &str = "{in}";
const OUT: &str = "{out}";

/// FLAC, level 8 (lossless: a check that the chain itself is clean).
pub fn flac(x: &[f32], rate: u32) -> Result<Vec<f32>, String> {
    encode(x, rate, "flac", "flac", &["-s", "-f", "-8", "-o", OUT, IN])
}

/// AAC-LC by ffmpeg's native encoder at `kbps`.
pub fn aac(x: &[f32], rate: u32, kbps: u32) -> Result<Vec<f32>, String> {
    let b = format!("{kbps}k");
    let args = ["-i", IN, "-c:a", "aac", "-b:a", &b, OUT];
    encode(x, rate, "m4a", "ffmpeg", &args)
}

/// An ffmpeg encoder (`mp2`, `ac3`, `eac3`, ...) at `kbps`, in container `ext`.
pub fn ffmpeg_codec(
    x: &[f32],
    rate: u32,
    codec: &str,
    ext: &str,
    kbps: u32,
) -> Result<Vec<f32>, String> {
    let b = format!("{kbps}k");
    let args = ["-i", IN, "-c:a", codec, "-b:a", &b, OUT];
    encode(x, rate, ext, "ffmpeg", &args)
}

/// MP3 by lame at a constant `kbps`.
pub fn mp3(x: &[f32], rate: u32, kbps: u32) -> Result<Vec<f32>, String> {
    let b = kbps.to_string();
    encode(x, rate, "mp3", "lame", &["--quiet", "-b", &b, IN, OUT])
}

/// Opus by opusenc at `kbps`.
pub fn opus(x: &[f32], rate: u32, kbps: u32) -> Result<Vec<f32>, String> {
    let b = kbps.to_string();
    encode(
        x,
        rate,
        "opus",
        "opusenc",
        &["--quiet", "--bitrate", &b, IN, OUT],
    )
}

/// Ogg Vorbis by oggenc at a nominal `kbps`.
pub fn vorbis(x: &[f32], rate: u32, kbps: u32) -> Result<Vec<f32>, String> {
    let b = kbps.to_string();
    encode(
        x,
        rate,
        "ogg",
        "oggenc",
        &["--quiet", "-b", &b, "-o", OUT, IN],
    )
}

/// To `via` Hz and back with sox's very-high-quality resampler, 24 bits
/// between the steps.
pub fn resample_round_trip(x: &[f32], rate: u32, via: u32) -> Result<Vec<f32>, String> {
    let dir = TempDir::new()?;
    let (a, b, c) = (dir.path("in.wav"), dir.path("mid.wav"), dir.path("out.wav"));
    write(&a, x, rate, 1)?;
    for (from, to, hz) in [(&a, &b, via), (&b, &c, rate)] {
        run(tool("sox")
            .arg("-V1")
            .arg(from)
            .args(["-b", "24"])
            .arg(to)
            .args(["rate", "-v", &hz.to_string()]))?;
    }
    read(&c)
}

/// sox's `speed`: pitch and tempo by `factor` (1.02 is 2 % faster), back at
/// `rate` with the very-high-quality resampler.
pub fn speed(x: &[f32], rate: u32, factor: f64) -> Result<Vec<f32>, String> {
    let dir = TempDir::new()?;
    let (a, b) = (dir.path("in.wav"), dir.path("out.wav"));
    write(&a, x, rate, 1)?;
    run(tool("sox")
        .arg("-V1")
        .arg(&a)
        .args(["-b", "24"])
        .arg(&b)
        .args([
            "speed",
            &factor.to_string(),
            "rate",
            "-v",
            &rate.to_string(),
        ]))?;
    read(&b)
}

/// ffmpeg's EBU R128 loudness normaliser (−16 LUFS) and a limiter, as
/// broadcasters level programme.
pub fn loudnorm(x: &[f32], rate: u32) -> Result<Vec<f32>, String> {
    let dir = TempDir::new()?;
    let (a, b) = (dir.path("in.wav"), dir.path("out.wav"));
    write(&a, x, rate, 1)?;
    run(tool("ffmpeg")
        .arg("-i")
        .arg(&a)
        .args([
            "-af",
            "loudnorm=I=-16:TP=-1.5:LRA=11,alimiter=limit=0.85:attack=5:release=50",
        ])
        .args(["-ar", &rate.to_string(), "-c:a", "pcm_s24le"])
        .arg(&b))?;
    read(&b)
}

/// Encode with `program args` ([`IN`] and [`OUT`] replaced by the paths),
/// then decode with ffmpeg.
fn encode(
    x: &[f32],
    rate: u32,
    ext: &str,
    program: &str,
    args: &[&str],
) -> Result<Vec<f32>, String> {
    let dir = TempDir::new()?;
    let (wav, coded) = (dir.path("in.wav"), dir.path(&format!("coded.{ext}")));
    write(&wav, x, rate, 2)?;
    let mut encoder = tool(program);
    for &a in args {
        encoder.arg(match a {
            IN => wav.as_os_str(),
            OUT => coded.as_os_str(),
            _ => OsStr::new(a),
        });
    }
    run(&mut encoder)?;
    let pcm = run(tool("ffmpeg").arg("-i").arg(&coded).args([
        "-f",
        "f32le",
        "-ac",
        "1",
        "-ar",
        &rate.to_string(),
        "pipe:1",
    ]))?;
    Ok(pcm
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// `program`, set never to ask or chatter (ffmpeg would prompt before
/// overwriting and print a banner).
fn tool(program: &str) -> Command {
    let mut c = Command::new(program);
    if program == "ffmpeg" {
        c.args(["-nostdin", "-y", "-v", "error"]);
    }
    c
}

/// Run to completion; its standard output, or why it failed.
fn run(c: &mut Command) -> Result<Vec<u8>, String> {
    let program = c.get_program().to_string_lossy().into_owned();
    let out = c
        .output()
        .map_err(|e| format!("cannot run {program}: {e} (install it: cargo xtask setup)"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "{program} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn write(path: &Path, x: &[f32], rate: u32, channels: u16) -> Result<(), String> {
    wav::write_24(path, x, rate, channels).map_err(|e| format!("{}: {e}", path.display()))
}

fn read(path: &Path) -> Result<Vec<f32>, String> {
    wav::read_mono(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "testkit-codec-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(TempDir(p))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
