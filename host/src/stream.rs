//! Network and file streams through `ffmpeg`: `monitor --url`.
//!
//! Each stream is one `ffmpeg` child decoding whatever it reads (HTTP and
//! Icecast, HLS, MPEG-TS over UDP unicast or multicast, RTP, RTMP, RTSP, any
//! file) to raw PCM at 48 kHz on its stdout, which one thread of ours reads
//! and scans. The thread sleeps in `read(2)` between blocks: a stream costs
//! its DSP and nothing else, so a few hundred fit on two cores (measured by
//! `hushmark bench --streams N`). ffmpeg's stderr goes to an unnamed
//! temporary file and is read when it exits, for the error message.
//!
//! A stream that fails (ffmpeg exits) or stalls (no audio for `stall`
//! seconds: a global watchdog thread kills its child, so no reader ever
//! polls) is restarted with backoff from 1 s to 30 s. The caller hears
//! [`UrlEvent::Down`] once per outage and [`UrlEvent::Up`] when audio flows
//! again, with both times; the other streams go on.

use std::io::{Read, Seek, SeekFrom};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Result};
use dsp_core::Sample;

use crate::cli::RawFormat;

/// The rate ffmpeg is asked for: one the engine runs every profile at.
pub const RATE: u32 = 48_000;
/// Channels asked for (ffmpeg up- or down-mixes the source).
pub const CHANNELS: usize = 2;
/// Frames per read: 100 ms.
const BLOCK_FRAMES: usize = 4_800;
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Seconds a (re)started ffmpeg may take to deliver its first audio:
/// connecting, and probing MPEG-TS or HLS, take a few.
const STARTUP_S: f64 = 10.0;

/// How one stream is read.
#[derive(Debug, Clone)]
pub struct UrlOptions {
    pub ffmpeg: String,
    /// Seconds without audio after which the stream counts as stalled.
    pub stall_s: f64,
    pub format: RawFormat,
    /// Extra ffmpeg options placed before `-i` (e.g. `-rtsp_transport tcp`).
    pub input_options: Vec<String>,
}

/// What a stream reports.
pub enum UrlEvent<'a> {
    /// ffmpeg delivers audio at [`RATE`] Hz, [`CHANNELS`] channels.
    Started { reopened: bool },
    /// Interleaved samples and when they arrived.
    Block(&'a [f32], SystemTime),
    /// The stream failed or stalled; `last_audio` is when audio last came
    /// (when we first tried, if it never came).
    Down {
        reason: String,
        last_audio: SystemTime,
    },
    /// Audio flows: first, or again after [`UrlEvent::Down`] (since when).
    Up { down_since: Option<SystemTime> },
}

/// A stream name safe to print and publish: the URL without user, password
/// or query (which may hold tokens).
pub fn public_name(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let rest = match rest.split_once('/') {
        Some((auth, path)) => format!("{}/{path}", auth.rsplit('@').next().unwrap_or(auth)),
        None => rest.rsplit('@').next().unwrap_or(rest).to_string(),
    };
    match scheme {
        Some(s) => format!("{s}://{rest}"),
        None => rest,
    }
}

/// `NAME=URL` or a bare URL (named by [`public_name`]).
pub fn parse_named(text: &str) -> Result<(String, String)> {
    if let Some((name, url)) = text.split_once('=') {
        if !name.is_empty() && !name.contains([':', '/', '?']) {
            if url.is_empty() {
                bail!("--url {text:?}: no URL after the name");
            }
            return Ok((name.to_string(), url.to_string()));
        }
    }
    if text.is_empty() {
        bail!("--url needs a URL (or NAME=URL)");
    }
    Ok((public_name(text), text.to_string()))
}

/// The child's pid while it may be killed; taken (under the lock) before
/// the child is reaped, so the watchdog never signals a reused pid.
struct Health {
    pid: Mutex<Option<u32>>,
    /// Milliseconds since [`epoch`] of the last audio (or of the start).
    last_ms: std::sync::atomic::AtomicU64,
    /// The stall limit now: longer until the first audio (connecting and
    /// probing take seconds), `stall` after.
    limit_ms: std::sync::atomic::AtomicU64,
    stop: Arc<dyn Fn() -> bool + Send + Sync>,
    stalled: std::sync::atomic::AtomicBool,
}

fn epoch() -> Instant {
    static E: OnceLock<Instant> = OnceLock::new();
    *E.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64
}

fn watched() -> &'static Mutex<Vec<Arc<Health>>> {
    static W: OnceLock<Mutex<Vec<Arc<Health>>>> = OnceLock::new();
    W.get_or_init(|| {
        // One thread for every stream: 4 checks a second, no busy wait.
        let _ = std::thread::Builder::new()
            .name("stream-watchdog".into())
            .spawn(|| loop {
                std::thread::sleep(Duration::from_millis(250));
                let list = watched().lock().unwrap_or_else(|e| e.into_inner()).clone();
                let now = now_ms();
                for h in list {
                    let stop = (h.stop)();
                    let last = h.last_ms.load(std::sync::atomic::Ordering::Relaxed);
                    let limit = h.limit_ms.load(std::sync::atomic::Ordering::Relaxed);
                    let stalled = now.saturating_sub(last) > limit;
                    if stop || stalled {
                        let pid = h.pid.lock().unwrap_or_else(|e| e.into_inner());
                        if let Some(pid) = *pid {
                            if stalled && !stop {
                                h.stalled.store(true, std::sync::atomic::Ordering::Relaxed);
                            }
                            // SAFETY: kill(2) on a child we have not reaped yet.
                            unsafe {
                                libc::kill(pid as i32, libc::SIGKILL);
                            }
                        }
                    }
                }
            });
        Mutex::new(Vec::new())
    })
}

/// Read `url` until `stop()`, restarting it whenever it fails or stalls.
/// Errors only for what a restart cannot cure (no ffmpeg) or the caller's.
pub fn run_url(
    url: &str,
    opts: &UrlOptions,
    stop: Arc<dyn Fn() -> bool + Send + Sync>,
    mut on: impl FnMut(UrlEvent<'_>) -> Result<()>,
) -> Result<()> {
    let health = Arc::new(Health {
        pid: Mutex::new(None),
        last_ms: now_ms().into(),
        limit_ms: 0.into(),
        stop: stop.clone(),
        stalled: false.into(),
    });
    watched()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(health.clone());
    let result = read_restarting(url, opts, &health, &*stop, &mut on);
    watched()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|h| !Arc::ptr_eq(h, &health));
    result
}

fn read_restarting(
    url: &str,
    opts: &UrlOptions,
    health: &Health,
    stop: &dyn Fn() -> bool,
    on: &mut impl FnMut(UrlEvent<'_>) -> Result<()>,
) -> Result<()> {
    let bps = match opts.format {
        RawFormat::F32le => 4,
        RawFormat::S16le => 2,
    };
    let mut bytes = vec![0u8; BLOCK_FRAMES * CHANNELS * bps];
    let mut samples: Vec<f32> = Vec::with_capacity(BLOCK_FRAMES * CHANNELS);
    let mut started = false;
    // Some(t): down since t (the stream was up, or never came up).
    let mut down: Option<SystemTime> = None;
    let mut last_audio = SystemTime::now();
    let mut backoff = BACKOFF_MIN;
    while !stop() {
        let tried_at = SystemTime::now();
        health
            .last_ms
            .store(now_ms(), std::sync::atomic::Ordering::Relaxed);
        health
            .stalled
            .store(false, std::sync::atomic::Ordering::Relaxed);
        health.limit_ms.store(
            (opts.stall_s.max(STARTUP_S) * 1000.0) as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        let (mut child, mut errors) = spawn(url, opts)?;
        *health.pid.lock().unwrap_or_else(|e| e.into_inner()) = Some(child.id());
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut got_audio = false;
        let mut filled = 0;
        let mut failure: Option<Result<()>> = None;
        loop {
            let n = match stdout.read(&mut bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            filled += n;
            let whole = filled / (bps * CHANNELS) * (bps * CHANNELS);
            if whole == 0 {
                continue;
            }
            let arrival = SystemTime::now();
            health
                .last_ms
                .store(now_ms(), std::sync::atomic::Ordering::Relaxed);
            last_audio = arrival;
            if !got_audio {
                got_audio = true;
                health.limit_ms.store(
                    (opts.stall_s * 1000.0) as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
                backoff = BACKOFF_MIN;
                let r = on(UrlEvent::Started { reopened: started })
                    .and_then(|()| on(UrlEvent::Up { down_since: down }));
                if let Err(e) = r {
                    failure = Some(Err(e));
                    break;
                }
                started = true;
                down = None;
            }
            samples.clear();
            match opts.format {
                RawFormat::F32le => samples.extend(
                    bytes[..whole]
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                ),
                RawFormat::S16le => samples.extend(
                    bytes[..whole]
                        .chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]]).to_unit()),
                ),
            }
            bytes.copy_within(whole..filled, 0);
            filled -= whole;
            if let Err(e) = on(UrlEvent::Block(&samples, arrival)) {
                failure = Some(Err(e));
                break;
            }
        }
        // Take the pid first: from here the watchdog leaves the child alone.
        let pid = health.pid.lock().unwrap_or_else(|e| e.into_inner()).take();
        if pid.is_some() {
            let _ = child.kill();
        }
        let status = child.wait();
        if let Some(f) = failure {
            return f;
        }
        if stop() {
            break;
        }
        let reason = if health.stalled.load(std::sync::atomic::Ordering::Relaxed) {
            let limit = health.limit_ms.load(std::sync::atomic::Ordering::Relaxed);
            format!("no audio for {} s", limit as f64 / 1000.0)
        } else {
            let said = last_lines(&mut errors);
            let status = match status {
                Ok(s) => s.to_string(),
                Err(e) => e.to_string(),
            };
            if said.is_empty() && status.starts_with("exit status: 0") {
                "the stream ended".to_string()
            } else if said.is_empty() {
                format!("ffmpeg ended ({status})")
            } else {
                format!("ffmpeg ended ({status}): {said}")
            }
        };
        if down.is_none() {
            let last = if got_audio || started {
                last_audio
            } else {
                tried_at
            };
            down = Some(last);
            on(UrlEvent::Down {
                reason,
                last_audio: last,
            })?;
        } else {
            tracing::info!("{}: still down: {reason}", public_name(url));
        }
        // Sleep the backoff in short steps, so a stop is prompt.
        let until = Instant::now() + backoff;
        while Instant::now() < until && !stop() {
            std::thread::sleep(Duration::from_millis(100));
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
    Ok(())
}

fn spawn(url: &str, opts: &UrlOptions) -> Result<(Child, std::fs::File)> {
    let errors = tempfile::tempfile()?;
    let format = match opts.format {
        RawFormat::F32le => "f32le",
        RawFormat::S16le => "s16le",
    };
    let mut c = Command::new(&opts.ffmpeg);
    c.args(["-nostdin", "-hide_banner", "-loglevel", "error"]);
    if paced_by_us(url) {
        c.arg("-re");
    }
    c.args(&opts.input_options)
        .arg("-i")
        .arg(url)
        .args(["-vn", "-sn", "-dn", "-map", "0:a:0", "-ac"])
        .arg(CHANNELS.to_string())
        .arg("-ar")
        .arg(RATE.to_string())
        .args(["-f", format, "pipe:1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(errors.try_clone()?);
    match c.spawn() {
        Ok(child) => Ok((child, errors)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} not found: --url needs ffmpeg (apt-get install ffmpeg, or give --ffmpeg PATH)",
            opts.ffmpeg
        ),
        Err(e) => bail!("cannot start {}: {e}", opts.ffmpeg),
    }
}

/// Whether ffmpeg should read at real time (`-re`): everything but
/// datagram protocols, which their sender paces and where holding back
/// would drop packets. A file or an HTTP file would otherwise be read in a
/// moment and stamped with the wrong wall clock; a live HTTP, HLS or RTMP
/// stream is paced by its server anyway and `-re` only lets it catch up.
fn paced_by_us(url: &str) -> bool {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    !matches!(
        scheme.as_deref(),
        Some("udp" | "rtp" | "srt" | "rtsp" | "rtsps" | "sdp")
    )
}

/// The last two lines ffmpeg wrote, on one line.
fn last_lines(f: &mut std::fs::File) -> String {
    let mut text = String::new();
    let _ = f.seek(SeekFrom::Start(0));
    let _ = f.take(1 << 20).read_to_string(&mut text);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(2)..].join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_carry_credentials_or_tokens() {
        assert_eq!(
            public_name("http://user:pw@radio.example:8000/live.mp3?token=x"),
            "http://radio.example:8000/live.mp3"
        );
        assert_eq!(public_name("udp://239.0.0.1:1234"), "udp://239.0.0.1:1234");
        assert_eq!(public_name("/srv/a.wav"), "/srv/a.wav");
        assert_eq!(
            parse_named("news=udp://@239.0.0.1:1234").unwrap(),
            ("news".into(), "udp://@239.0.0.1:1234".into())
        );
        assert_eq!(
            parse_named("http://x/a?b=c").unwrap().1,
            "http://x/a?b=c".to_string()
        );
        assert!(parse_named("news=").is_err());
    }
}
