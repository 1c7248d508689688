//! Treatments: what happens to a marked programme between a set-top box and
//! a monitor. Codecs and resampling run the real command-line tools people
//! use; clock drift, reverb and a nonlinear speaker are models.
//!
//! All treatments take and return mono `f32` at [`RATE`](crate::RATE).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use dsp_core::Band;
use rustfft::num_complex::Complex32;
use rustfft::FftPlanner;
use testkit::channel::{self, Noise};
use testkit::synth::{self, Kind};
use testkit::Rng;

use crate::RATE;

/// Where a sample of the original ends up after a treatment.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeMap {
    /// `t_out = t_in · scale` (1.0 for most treatments).
    Scale(f64),
    /// Pieces `[start, start + len)` of the original were removed.
    Cuts(Vec<(u64, u64)>),
}

impl TimeMap {
    /// Output time of input sample `t`, or `None` if it was cut out.
    pub fn map(&self, t: u64) -> Option<f64> {
        match self {
            TimeMap::Scale(s) => Some(t as f64 * s),
            TimeMap::Cuts(cuts) => {
                let mut removed = 0u64;
                for &(start, len) in cuts {
                    if t >= start + len {
                        removed += len;
                    } else if t >= start {
                        return None;
                    }
                }
                Some((t - removed) as f64)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Treatment {
    None,
    Flac,
    Aac(u32),
    Mp3(u32),
    Opus(u32),
    Vorbis(u32),
    /// 48 kHz → 44.1 kHz → 48 kHz with sox.
    Resample44k,
    /// Sample-clock error in ppm.
    Drift(f64),
    GainDb(f32),
    /// Noise at this SNR in the profile's band.
    WhiteNoise(f32),
    PinkNoise(f32),
    /// The programme ducked by 10 dB under a voice.
    VoiceOver,
    /// 200 ms spliced out every 3.1 s.
    Cuts,
    /// ffmpeg's EBU R128 loudness normaliser (−16 LUFS) and a limiter.
    Loudnorm,
    /// Room impulse response with this RT60 in seconds.
    Reverb(f32),
    /// 2nd/3rd-order speaker nonlinearity applied at 4× oversampling.
    Speaker,
}

impl Treatment {
    /// Every treatment, in report order.
    pub const ALL: [Treatment; 25] = [
        Treatment::None,
        Treatment::Flac,
        Treatment::Aac(128),
        Treatment::Aac(256),
        Treatment::Aac(320),
        Treatment::Mp3(128),
        Treatment::Mp3(320),
        Treatment::Opus(128),
        Treatment::Vorbis(256),
        Treatment::Resample44k,
        Treatment::Drift(100.0),
        Treatment::Drift(-100.0),
        Treatment::Drift(1000.0),
        Treatment::Drift(-1000.0),
        Treatment::GainDb(-20.0),
        Treatment::GainDb(6.0),
        Treatment::WhiteNoise(0.0),
        Treatment::WhiteNoise(-3.0),
        Treatment::PinkNoise(-3.0),
        Treatment::VoiceOver,
        Treatment::Cuts,
        Treatment::Loudnorm,
        Treatment::Reverb(0.3),
        Treatment::Reverb(0.8),
        Treatment::Speaker,
    ];

    pub fn name(&self) -> String {
        match *self {
            Treatment::None => "none".into(),
            Treatment::Flac => "FLAC (flac)".into(),
            Treatment::Aac(k) => format!("AAC {k}k (ffmpeg)"),
            Treatment::Mp3(k) => format!("MP3 {k}k (lame)"),
            Treatment::Opus(k) => format!("Opus {k}k (opusenc)"),
            Treatment::Vorbis(k) => format!("Vorbis {k}k (oggenc)"),
            Treatment::Resample44k => "48k→44.1k→48k (sox)".into(),
            Treatment::Drift(ppm) => format!("clock {ppm:+} ppm"),
            Treatment::GainDb(db) => format!("gain {db:+} dB"),
            Treatment::WhiteNoise(snr) => format!("white noise {snr} dB SNR"),
            Treatment::PinkNoise(snr) => format!("pink noise {snr} dB SNR"),
            Treatment::VoiceOver => "voice-over, programme −10 dB".into(),
            Treatment::Cuts => "200 ms cuts every 3.1 s".into(),
            Treatment::Loudnorm => "loudnorm −16 LUFS + limiter (ffmpeg)".into(),
            Treatment::Reverb(rt) => format!("reverb RT60 {rt} s"),
            Treatment::Speaker => "speaker nonlinearity (4× oversampled)".into(),
        }
    }

    /// Apply to `x`; `band` is the profile's band (for noise), `seed` varies noise.
    pub fn apply(&self, x: &[f32], band: Band, seed: u64) -> Result<(Vec<f32>, TimeMap), String> {
        let same = |y: Vec<f32>| Ok((y, TimeMap::Scale(1.0)));
        match *self {
            Treatment::None => same(x.to_vec()),
            Treatment::Flac => same(through_codec(x, "flac", |wav, out| {
                Command::new("flac")
                    .args(["-s", "-f", "-8", "-o"])
                    .arg(out)
                    .arg(wav)
                    .status()
            })?),
            Treatment::Aac(k) => same(through_codec(x, "m4a", |wav, out| {
                ffmpeg()
                    .arg("-i")
                    .arg(wav)
                    .args(["-c:a", "aac", "-b:a", &format!("{k}k")])
                    .arg(out)
                    .status()
            })?),
            Treatment::Mp3(k) => same(through_codec(x, "mp3", |wav, out| {
                Command::new("lame")
                    .args(["--quiet", "-b", &k.to_string()])
                    .arg(wav)
                    .arg(out)
                    .status()
            })?),
            Treatment::Opus(k) => same(through_codec(x, "opus", |wav, out| {
                Command::new("opusenc")
                    .args(["--quiet", "--bitrate", &k.to_string()])
                    .arg(wav)
                    .arg(out)
                    .status()
            })?),
            Treatment::Vorbis(k) => same(through_codec(x, "ogg", |wav, out| {
                Command::new("oggenc")
                    .args(["--quiet", "-b", &k.to_string(), "-o"])
                    .arg(out)
                    .arg(wav)
                    .status()
            })?),
            Treatment::Resample44k => {
                let dir = TempDir::new()?;
                let (a, b, c) = (dir.path("in.wav"), dir.path("mid.wav"), dir.path("out.wav"));
                write_wav24(&a, x, 1)?;
                run(Command::new("sox")
                    .args(["-V1"])
                    .arg(&a)
                    .args(["-b", "24"])
                    .arg(&b)
                    .args(["rate", "-v", "44100"]))?;
                run(Command::new("sox")
                    .args(["-V1"])
                    .arg(&b)
                    .args(["-b", "24"])
                    .arg(&c)
                    .args(["rate", "-v", "48000"]))?;
                same(read_wav(&c)?)
            }
            Treatment::Drift(ppm) => Ok((
                channel::clock_drift(x, ppm),
                TimeMap::Scale(1.0 / (1.0 + ppm * 1e-6)),
            )),
            Treatment::GainDb(db) => {
                let mut y = x.to_vec();
                channel::gain_db(&mut y, db);
                same(y)
            }
            Treatment::WhiteNoise(snr) | Treatment::PinkNoise(snr) => {
                let mut y = x.to_vec();
                let kind = if matches!(self, Treatment::WhiteNoise(_)) {
                    Noise::White
                } else {
                    Noise::Pink
                };
                let p = channel::mark_power(dsp_core::DEFAULT_LEVEL_DBFS)
                    / 10f64.powf(snr as f64 / 10.0);
                channel::add_band_noise(
                    &mut y,
                    RATE,
                    band.low_hz as f32,
                    band.high_hz as f32,
                    p,
                    kind,
                    seed,
                );
                same(y)
            }
            Treatment::VoiceOver => {
                let voice = synth::generate(Kind::Speech, RATE, x.len(), seed ^ 0x70CE);
                same(
                    x.iter()
                        .zip(&voice)
                        .map(|(p, v)| 0.316 * p + 0.9 * v)
                        .collect(),
                )
            }
            Treatment::Cuts => {
                let (cut, every, first) = (
                    RATE as u64 / 5,
                    RATE as u64 * 31 / 10,
                    RATE as u64 * 13 / 10,
                );
                let cuts: Vec<(u64, u64)> = (0..)
                    .map(|k| first + k * every)
                    .take_while(|&s| s + cut < x.len() as u64)
                    .map(|s| (s, cut))
                    .collect();
                let mut y = Vec::with_capacity(x.len());
                let mut at = 0usize;
                for &(s, len) in &cuts {
                    y.extend_from_slice(&x[at..s as usize]);
                    at = (s + len) as usize;
                }
                y.extend_from_slice(&x[at..]);
                Ok((y, TimeMap::Cuts(cuts)))
            }
            Treatment::Loudnorm => {
                let dir = TempDir::new()?;
                let (a, b) = (dir.path("in.wav"), dir.path("out.wav"));
                write_wav24(&a, x, 1)?;
                run(ffmpeg()
                    .arg("-i")
                    .arg(&a)
                    .args([
                        "-af",
                        "loudnorm=I=-16:TP=-1.5:LRA=11,alimiter=limit=0.85:attack=5:release=50",
                    ])
                    .args(["-ar", "48000", "-c:a", "pcm_s24le"])
                    .arg(&b))?;
                same(read_wav(&b)?)
            }
            Treatment::Reverb(rt60) => same(convolve(x, &room_impulse(rt60, seed))),
            Treatment::Speaker => same(crate::audible::speaker(x)),
        }
    }
}

fn ffmpeg() -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-nostdin", "-y", "-v", "error"]);
    c
}

fn run(c: &mut Command) -> Result<(), String> {
    let out = c.output().map_err(|e| {
        format!(
            "cannot run {:?}: {e} (install it: cargo xtask setup)",
            c.get_program()
        )
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed: {}",
            c.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Encode with `encode(wav_in, compressed_out)`, decode with ffmpeg. The
/// encoder gets stereo (the mono signal on both channels), as broadcast
/// chains carry it: bit rates are per stereo stream.
fn through_codec(
    x: &[f32],
    ext: &str,
    encode: impl FnOnce(&Path, &Path) -> std::io::Result<std::process::ExitStatus>,
) -> Result<Vec<f32>, String> {
    let dir = TempDir::new()?;
    let (wav, coded) = (dir.path("in.wav"), dir.path(&format!("coded.{ext}")));
    write_wav24(&wav, x, 2)?;
    let status = encode(&wav, &coded)
        .map_err(|e| format!("cannot run the {ext} encoder: {e} (cargo xtask setup)"))?;
    if !status.success() {
        return Err(format!("{ext} encoder failed ({status})"));
    }
    let out = ffmpeg()
        .arg("-i")
        .arg(&coded)
        .args([
            "-f",
            "f32le",
            "-ac",
            "1",
            "-ar",
            &RATE.to_string(),
            "pipe:1",
        ])
        .output()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "decoding {ext} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// `x` as a 24-bit WAV with `channels` identical channels.
pub fn write_wav24(path: &Path, x: &[f32], channels: u16) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: RATE,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(|e| e.to_string())?;
    for &v in x {
        let sample = (v.clamp(-1.0, 1.0) * 8_388_607.0).round() as i32;
        for _ in 0..channels {
            w.write_sample(sample).map_err(|e| e.to_string())?;
        }
    }
    w.finalize().map_err(|e| e.to_string())
}

pub fn read_wav(path: &Path) -> Result<Vec<f32>, String> {
    let mut r = hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = r.spec();
    let ch = spec.channels as usize;
    let all: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?
        }
    };
    Ok(all.chunks(ch).map(|f| f[0]).collect())
}

/// A synthetic room: the direct sound, then exponentially decaying noise
/// (reverberant energy equal to the direct sound's) from 5 ms on.
pub fn room_impulse(rt60: f32, seed: u64) -> Vec<f32> {
    let n = (rt60 * RATE as f32 * 1.2) as usize;
    let mut r = Rng::new(seed ^ 0x5EED);
    let decay = -6.908 / (rt60 * RATE as f32);
    let onset = RATE as usize / 200;
    let mut h: Vec<f32> = (0..n)
        .map(|i| {
            if i < onset {
                0.0
            } else {
                r.gaussian() * (decay * (i - onset) as f32).exp()
            }
        })
        .collect();
    let tail: f32 = h.iter().map(|v| v * v).sum();
    let g = 1.0 / tail.sqrt();
    h.iter_mut().for_each(|v| *v *= g);
    h[0] = 1.0;
    // Keep the overall level: direct + reverberant energy = 2, scale to 1.
    h.iter_mut()
        .for_each(|v| *v *= std::f32::consts::FRAC_1_SQRT_2);
    h
}

/// Linear convolution by FFT, trimmed to the input's length.
pub fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    let n = (x.len() + h.len()).next_power_of_two();
    let mut planner = FftPlanner::<f32>::new();
    let (fwd, inv) = (planner.plan_fft_forward(n), planner.plan_fft_inverse(n));
    let pad = |v: &[f32]| {
        let mut b: Vec<Complex32> = v.iter().map(|&s| Complex32::new(s, 0.0)).collect();
        b.resize(n, Complex32::new(0.0, 0.0));
        b
    };
    let (mut a, mut b) = (pad(x), pad(h));
    fwd.process(&mut a);
    fwd.process(&mut b);
    for (p, q) in a.iter_mut().zip(&b) {
        *p *= q;
    }
    inv.process(&mut a);
    a[..x.len()].iter().map(|c| c.re / n as f32).collect()
}

/// A scratch directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Result<TempDir, String> {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "hushmark-evidence-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(TempDir(p))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_map_skips_removed_pieces() {
        let m = TimeMap::Cuts(vec![(100, 10), (200, 10)]);
        assert_eq!(m.map(50), Some(50.0));
        assert_eq!(m.map(105), None);
        assert_eq!(m.map(150), Some(140.0));
        assert_eq!(m.map(250), Some(230.0));
    }

    #[test]
    fn convolution_with_a_delta_is_identity() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.1).sin()).collect();
        let y = convolve(&x, &[1.0]);
        assert!(x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-4));
    }

    #[test]
    fn room_impulse_keeps_energy_near_one() {
        let h = room_impulse(0.5, 1);
        let e: f32 = h.iter().map(|v| v * v).sum();
        assert!((e - 1.0).abs() < 0.01, "{e}");
    }
}
