//! The host's side of the firmware comparison: run the scenarios the
//! firmware ran, with `dsp-core` built for this machine, and print the same
//! lines (`firmware/src/report.rs` and `selftest.rs` define them).
//!
//! The scenarios are read back from the header lines (`mark ...`, `clip ...`),
//! so the firmware's list of clips and its marking parameters live in one
//! place. The host cuts the audio into 1024-frame blocks, neither QEMU board's
//! size: results must not depend on how a stream is cut.

use std::path::Path;

use dsp_core::{
    DetectConfig, Detection, Detector, EmbedConfig, Embedder, Id, Key, Profile, Schedule,
};

const HOST_BLOCK_FRAMES: usize = 1024;

/// The expected lines for every scenario header in `headers`, in order.
pub fn lines_for(headers: &[String], vectors: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for h in headers {
        if let Some(rest) = h.strip_prefix("mark ") {
            mark(rest, vectors, &mut out)?;
        } else if let Some(rest) = h.strip_prefix("clip ") {
            clip(rest, vectors, &mut out)?;
        }
    }
    Ok(out)
}

/// Scenario headers among the firmware's lines.
pub fn headers(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.starts_with("mark ") || l.starts_with("clip "))
        .cloned()
        .collect()
}

struct Wav {
    rate: u32,
    channels: u16,
    samples: Vec<i16>,
}

fn read_wav(path: &Path) -> Result<Wav, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = || format!("{}: not a 16-bit PCM WAV", path.display());
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(bad());
    }
    let (mut pos, mut format) = (12, None);
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let body = bytes.get(pos + 8..pos + 8 + len).ok_or_else(bad)?;
        match id {
            b"fmt " => {
                let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
                if u16_at(0) != 1 || u16_at(14) != 16 {
                    return Err(bad());
                }
                format = Some((
                    u32::from_le_bytes(body[4..8].try_into().unwrap()),
                    u16_at(2),
                ));
            }
            b"data" => {
                let (rate, channels) = format.ok_or_else(bad)?;
                let samples = body
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect();
                return Ok(Wav {
                    rate,
                    channels,
                    samples,
                });
            }
            _ => {}
        }
        pos += 8 + len + (len & 1);
    }
    Err(bad())
}

/// `NAME: a, b, c` → (NAME, [a, b, c]).
fn fields(rest: &str) -> Result<(&str, Vec<&str>), String> {
    let (name, list) = rest
        .split_once(": ")
        .ok_or_else(|| format!("malformed header `{rest}`"))?;
    Ok((name, list.split(", ").collect()))
}

/// The value between `prefix` and `suffix` in the field that has them.
fn field<'a>(fields: &[&'a str], prefix: &str, suffix: &str) -> Result<&'a str, String> {
    fields
        .iter()
        .find_map(|f| f.strip_prefix(prefix).and_then(|v| v.strip_suffix(suffix)))
        .ok_or_else(|| format!("no `{prefix}..{suffix}` in {fields:?}"))
}

fn number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("`{s}` is not a number"))
}

fn f32_text(x: f32) -> String {
    // defmt's decoder prints f32 with ryu; so must we.
    ryu::Buffer::new().format(x).to_string()
}

fn event_line(d: &Detection) -> String {
    let counter = d.counter.map_or("?".to_string(), |c| c.to_string());
    format!(
        "event id {} counter {counter} start {} snr {} corrected {} combined {} ppm {}",
        d.id,
        d.start_sample,
        f32_text(d.snr_db),
        d.corrected_bits,
        d.bursts_combined,
        f32_text(d.clock_ppm)
    )
}

fn detect(cfg: &DetectConfig, samples: &[i16], out: &mut Vec<String>) -> Result<usize, String> {
    let mut det = Detector::new(cfg).map_err(|e| e.to_string())?;
    let ch = cfg.channels as usize;
    let mut found = Vec::new();
    for (i, block) in samples.chunks(HOST_BLOCK_FRAMES * ch).enumerate() {
        det.process((i * HOST_BLOCK_FRAMES) as u64, block, |d| found.push(*d))
            .map_err(|e| e.to_string())?;
    }
    det.finish(|d| found.push(*d));
    out.extend(found.iter().map(event_line));
    Ok(found.len())
}

fn profile(name: &str) -> Result<Profile, String> {
    Profile::from_name(name).ok_or_else(|| format!("unknown profile `{name}`"))
}

fn clip(rest: &str, vectors: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let (name, f) = fields(rest)?;
    let profile = profile(f.first().ok_or("header without profile")?)?;
    let wav = read_wav(&vectors.join(format!("{name}.wav")))?;
    let frames = wav.samples.len() / wav.channels as usize;
    out.push(format!(
        "clip {name}: {profile}, {} Hz, {} ch, {frames} frames",
        wav.rate, wav.channels
    ));
    let mut cfg = DetectConfig::new(Key::PUBLIC_TEST);
    cfg.profile = profile;
    cfg.sample_rate = wav.rate;
    cfg.channels = wav.channels;
    let n = detect(&cfg, &wav.samples, out)?;
    out.push(format!("end {name}: {n} events"));
    Ok(())
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(s.get(i..i + 2).unwrap_or("x"), 16)
                .map_err(|_| format!("bad hex `{s}`"))
        })
        .collect()
}

fn mark(rest: &str, vectors: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let (name, f) = fields(rest)?;
    let profile = profile(f.first().ok_or("header without profile")?)?;
    let channels: u16 = number(field(&f, "", " ch")?)?;
    let id_hex = field(&f, "id ", "")?;
    let id = Id::new(&unhex(id_hex)?).map_err(|e| e.to_string())?;
    let level: f32 = number(field(&f, "level ", " dBFS")?)?;
    let schedule = field(&f, "every ", " ms")?;
    let (every, offset) = schedule.split_once(" ms from ").ok_or("bad schedule")?;
    let (every_ms, offset_ms): (u32, u32) = (number(every)?, number(offset)?);
    let delay: usize = number(field(&f, "loopback delay ", " frames")?)?;

    let wav = read_wav(&vectors.join(format!("{name}.wav")))?;
    let src_ch = wav.channels as usize;
    let frames = wav.samples.len() / src_ch;
    let ch = channels as usize;
    // Channel c plays the clip's channel min(c, last), as the emulated codec does.
    let mut audio: Vec<i16> = (0..frames)
        .flat_map(|i| (0..ch).map(move |c| (i, c.min(src_ch - 1))))
        .map(|(i, c)| wav.samples[i * src_ch + c])
        .collect();
    let mut cfg = EmbedConfig::new(id, Key::PUBLIC_TEST);
    cfg.profile = profile;
    cfg.sample_rate = wav.rate;
    cfg.channels = channels;
    cfg.level_dbfs = level;
    cfg.schedule = Schedule::Interval {
        every_ms,
        offset_ms,
    };
    out.push(format!(
        "mark {name}: {profile}, {} Hz, {channels} ch, {frames} frames, id {id}, level {} dBFS, every {every_ms} ms from {offset_ms} ms, loopback delay {delay} frames",
        wav.rate,
        f32_text(level)
    ));
    let mut embedder = Embedder::new(&cfg).map_err(|e| e.to_string())?;
    for (i, block) in audio.chunks_mut(HOST_BLOCK_FRAMES * ch).enumerate() {
        embedder
            .process((i * HOST_BLOCK_FRAMES) as u64, block)
            .map_err(|e| e.to_string())?;
    }
    // The loopback cable: what was played, `delay` frames later, for as long as the DAC played.
    let mut captured = vec![0i16; (delay * ch).min(audio.len())];
    captured.extend_from_slice(&audio[..audio.len() - captured.len()]);
    let mut dcfg = DetectConfig::new(Key::PUBLIC_TEST);
    dcfg.profile = profile;
    dcfg.sample_rate = wav.rate;
    dcfg.channels = channels;
    let n = detect(&dcfg, &captured, out)?;
    out.push(format!(
        "played {frames} frames, fnv1a64 {:016x}",
        fnv1a64(&audio)
    ));
    out.push(format!("end mark: {n} events"));
    Ok(())
}

fn fnv1a64(samples: &[i16]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in samples.iter().flat_map(|s| s.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
