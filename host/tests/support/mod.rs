//! Real processes for the stream and fleet tests, on loopback only: an HTTP
//! server, ffmpeg senders, nats-server, the agent. Each is killed when its
//! handle drops, so a failing test leaves nothing running.
#![allow(dead_code)]

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A child killed (SIGKILL) and reaped on drop.
pub struct Proc {
    pub child: Option<Child>,
    pub what: String,
}

impl Proc {
    pub fn start(what: &str, c: &mut Command) -> Proc {
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("{what} is needed (cargo xtask setup installs it): {e}"));
        Proc {
            child: Some(child),
            what: what.into(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for the exit (up to `within`).
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        // SAFETY: signalling our own unreaped child.
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        let end = Instant::now() + within;
        loop {
            if let Ok(Some(s)) = c.try_wait() {
                return Some(s);
            }
            if Instant::now() > end {
                let _ = c.kill();
                return c.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait for a natural exit.
    pub fn wait(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let end = Instant::now() + within;
        loop {
            if let Ok(Some(s)) = c.try_wait() {
                return Some(s);
            }
            if Instant::now() > end {
                let _ = c.kill();
                let _ = c.wait();
                panic!("{} did not exit within {within:?}", self.what);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback TCP port.
pub fn tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free loopback UDP port.
pub fn udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for_port(port: u16, within: Duration) {
    let end = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `python3 -m http.server` serving `dir` on a loopback port.
pub fn http_server(dir: &Path, port: u16) -> Proc {
    let p = Proc::start(
        "python3",
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for_port(port, Duration::from_secs(10));
    p
}

/// ffmpeg looping `wav` at real time as MPEG-TS (AAC 320k) to a UDP port.
pub fn udp_sender(wav: &Path, port: u16) -> Proc {
    Proc::start(
        "ffmpeg",
        Command::new("ffmpeg")
            .args([
                "-nostdin",
                "-loglevel",
                "error",
                "-re",
                "-stream_loop",
                "-1",
                "-i",
            ])
            .arg(wav)
            .args(["-c:a", "aac", "-b:a", "320k", "-f", "mpegts"])
            .arg(format!("udp://127.0.0.1:{port}?pkt_size=1316"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// An HLS playlist of `wav` (AAC 320k, 2 s segments) in `dir`.
pub fn hls(wav: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
        .arg(wav)
        .args([
            "-c:a",
            "aac",
            "-b:a",
            "320k",
            "-f",
            "hls",
            "-hls_time",
            "2",
            "-hls_playlist_type",
            "vod",
        ])
        .arg(dir.join("index.m3u8"))
        .output()
        .expect("ffmpeg is needed (cargo xtask setup installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("index.m3u8")
}

/// `nats-server -js` on a loopback port with its store in `store`.
pub fn nats_server(port: u16, store: &Path) -> Proc {
    let p = Proc::start(
        "nats-server",
        Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for_port(port, Duration::from_secs(10));
    p
}

/// JSON lines of a log file (missing file: none).
pub fn log_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Lines of one event kind for one stream.
pub fn events<'a>(lines: &'a [Value], stream: &str, event: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["stream"] == stream && l["event"] == event)
        .collect()
}

/// Airing lines (no "event") for one stream.
pub fn airings<'a>(lines: &'a [Value], stream: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["stream"] == stream && l.get("event").is_none())
        .collect()
}

/// `n` copies of a 16-bit mono WAV's samples, written as one WAV.
pub fn repeat_wav(src: &Path, n: usize, dest: &Path) {
    let x = super::common::read_i16(src);
    let y: Vec<i16> = (0..n).flat_map(|_| x.iter().copied()).collect();
    super::common::write_wav_i16(dest, 48_000, 1, &y);
}
