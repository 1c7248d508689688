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
    Collision, DetectConfig, Detection, Detector, EmbedConfig, Embedder, Event, Id, Key, Presence,
    Profiles, Schedule,
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

/// A test vector: interleaved samples, rate, channels.
fn read_wav(path: &Path) -> Result<(Vec<i16>, u32, u16), String> {
    testkit::wav::read_i16(path).map_err(|e| format!("{}: {e}", path.display()))
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

fn event_line(e: &Event) -> String {
    match e {
        Event::Detection(d) => detection_line(d),
        Event::Presence(p) => presence_line(p),
        Event::Collision(c) => collision_line(c),
        Event::Transplant(t) => format!(
            "transplant {} of {} bits {}",
            t.check.mismatched,
            t.check.checked,
            detection_line(&t.detection)
        ),
    }
}

fn collision_line(c: &Collision) -> String {
    format!(
        "collision {} from {} to {} marks {} pilots {}",
        c.profile.name(),
        c.start_sample,
        c.end_sample,
        c.marks,
        f32_text(c.pilot_snr_db)
    )
}

fn detection_line(d: &Detection) -> String {
    let counter = d.counter.map_or("?".to_string(), |c| c.to_string());
    format!(
        "event {} id {} counter {counter} start {} snr {} corrected {} combined {} ppm {}",
        d.profile.name(),
        d.id,
        d.start_sample,
        f32_text(d.snr_db),
        d.corrected_bits,
        d.bursts_combined,
        f32_text(d.clock_ppm)
    )
}

fn presence_line(p: &Presence) -> String {
    format!(
        "presence id {} from {} to {} z {} {}",
        p.id,
        p.start_sample,
        p.end_sample,
        f32_text(p.z),
        if p.present { "present" } else { "absent" }
    )
}

/// Search `samples` as the firmware's monitoring path does; one line per event.
fn detect(
    profiles: Profiles,
    rate: u32,
    channels: u16,
    samples: &[i16],
    out: &mut Vec<String>,
) -> Result<usize, String> {
    let mut cfg = DetectConfig::new(Key::PUBLIC_TEST);
    cfg.profiles = profiles;
    cfg.sample_rate = rate;
    cfg.channels = channels;
    let mut det = Detector::new(&cfg).map_err(|e| e.to_string())?;
    let ch = channels as usize;
    let mut found = Vec::new();
    for (i, block) in samples.chunks(HOST_BLOCK_FRAMES * ch).enumerate() {
        det.process((i * HOST_BLOCK_FRAMES) as u64, block, |e| found.push(*e))
            .map_err(|e| e.to_string())?;
    }
    det.finish(|e| found.push(*e));
    out.extend(found.iter().map(event_line));
    Ok(found.len())
}

/// `NAME/LAYERS` → (NAME, LAYERS).
fn session(name: &str) -> Result<(&str, Profiles), String> {
    let (name, layers) = name
        .rsplit_once('/')
        .ok_or_else(|| format!("session `{name}` names no layers"))?;
    let profiles = layers
        .parse()
        .map_err(|e| format!("session `{name}`: {e}"))?;
    Ok((name, profiles))
}

fn clip(rest: &str, vectors: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let (session_name, _) = fields(rest)?;
    let (name, profiles) = session(session_name)?;
    let (samples, rate, channels) = read_wav(&vectors.join(format!("{name}.wav")))?;
    let frames = samples.len() / channels as usize;
    out.push(format!(
        "clip {session_name}: {rate} Hz, {channels} ch, {frames} frames"
    ));
    let n = detect(profiles, rate, channels, &samples, out)?;
    out.push(format!("end {session_name}: {n} events"));
    Ok(())
}

fn mark(rest: &str, vectors: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let (session_name, f) = fields(rest)?;
    let (_, profiles) = session(session_name)?;
    let name = *f.first().ok_or("header without programme")?;
    let channels: u16 = number(field(&f, "", " ch")?)?;
    let id_hex = field(&f, "id ", "")?;
    let id = Id::from_hex(id_hex).map_err(|e| format!("id `{id_hex}`: {e}"))?;
    let level: f32 = number(field(&f, "level ", " dBFS")?)?;
    let robust_mmr_db: f32 = number(field(&f, "robust ", " dB")?)?;
    let schedule = field(&f, "every ", " ms")?;
    let (every, offset) = schedule.split_once(" ms from ").ok_or("bad schedule")?;
    let (every_ms, offset_ms): (u32, u32) = (number(every)?, number(offset)?);
    let delay: usize = number(field(&f, "loopback delay ", " frames")?)?;

    let (clip, rate, clip_channels) = read_wav(&vectors.join(format!("{name}.wav")))?;
    let src_ch = clip_channels as usize;
    let frames = clip.len() / src_ch;
    let ch = channels as usize;
    // Channel c plays the clip's channel min(c, last), as the emulated codec does.
    let mut audio: Vec<i16> = (0..frames)
        .flat_map(|i| (0..ch).map(move |c| (i, c.min(src_ch - 1))))
        .map(|(i, c)| clip[i * src_ch + c])
        .collect();
    let mut cfg = EmbedConfig::new(id, Key::PUBLIC_TEST);
    cfg.profiles = profiles;
    cfg.sample_rate = rate;
    cfg.channels = channels;
    cfg.level_dbfs = level;
    cfg.robust_mmr_db = robust_mmr_db;
    cfg.schedule = Schedule::Interval {
        every_ms,
        offset_ms,
    };
    out.push(format!(
        "mark {session_name}: {name}, {rate} Hz, {channels} ch, {frames} frames, id {id}, level {} dBFS, robust {} dB, every {every_ms} ms from {offset_ms} ms, loopback delay {delay} frames",
        f32_text(level),
        f32_text(robust_mmr_db)
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
    let n = detect(profiles, rate, channels, &captured, out)?;
    out.push(format!(
        "played {frames} frames, fnv1a64 {:016x}",
        fnv1a64(&audio)
    ));
    out.push(format!("end {session_name}: {n} events"));
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
