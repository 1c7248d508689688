//! Live audio end to end on real software devices: a private PulseAudio
//! daemon with null sinks (see DEVELOPERS.md). `play` marks into a sink while
//! `listen` and `monitor` capture its monitor; `passthrough` marks between
//! two sinks; `listen` survives its device vanishing and stops on Ctrl-C.
//!
//! Each test starts its own daemon with a private XDG_RUNTIME_DIR and HOME
//! and kills it when done, so nothing outside the test is touched. The tests
//! take turns: real-time audio on a busy 2-core machine needs the CPU.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;

static TURN: Mutex<()> = Mutex::new(());

/// A private PulseAudio daemon with 48 kHz stereo null sinks, each fed
/// silence so its monitor source keeps running.
struct Pulse {
    dir: tempfile::TempDir,
    daemon: Child,
    feeders: Vec<Child>,
}

impl Pulse {
    fn start(sinks: &[&str]) -> Pulse {
        let dir = tmp();
        for sub in ["run", "home"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                dir.path().join("run"),
                std::fs::Permissions::from_mode(0o700),
            )
            .unwrap();
        }
        let mut cmd = Command::new("pulseaudio");
        cmd.args([
            "--daemonize=no",
            "--system=false",
            "--exit-idle-time=-1",
            "--use-pid-file=false",
            "-n",
            "--load=module-native-protocol-unix",
        ]);
        for sink in sinks {
            cmd.arg(format!(
                "--load=module-null-sink sink_name={sink} rate=48000 channels=2"
            ));
        }
        let daemon = Self::env_of(&mut cmd, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pulseaudio is needed for the live tests (cargo xtask setup installs it)");
        let mut pulse = Pulse {
            dir,
            daemon,
            feeders: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !pulse.pactl(&["info"]) {
            assert!(Instant::now() < deadline, "PulseAudio did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        for sink in sinks {
            pulse.feed(sink);
        }
        pulse
    }

    fn env_of<'a>(cmd: &'a mut Command, dir: &Path) -> &'a mut Command {
        cmd.env("XDG_RUNTIME_DIR", dir.join("run"))
            .env("HOME", dir.join("home"))
            .env_remove("PULSE_SERVER")
            .env_remove("PULSE_RUNTIME_PATH")
    }

    /// A command with this daemon's environment.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        Self::env_of(&mut c, self.dir.path());
        c.env_remove("HUSHMARK_KEY_FILE")
            .env_remove("HUSHMARK_AUDIO_HOST");
        c
    }

    fn hushmark(&self) -> Command {
        self.command(bin())
    }

    fn pactl(&self, args: &[&str]) -> bool {
        self.command("pactl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// Keep playing silence into `sink` so its monitor delivers audio.
    fn feed(&mut self, sink: &str) {
        let child = self
            .command("pacat")
            .args([
                "--playback",
                &format!("--device={sink}"),
                "--raw",
                "--format=s16le",
                "--rate=48000",
                "--channels=2",
                "/dev/zero",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pacat (pulseaudio-utils) is needed for the live tests");
        self.feeders.push(child);
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        for c in self
            .feeders
            .iter_mut()
            .chain(std::iter::once(&mut self.daemon))
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(mut c: Command) -> Child {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> (i32, String, String) {
    split(child.wait_with_output().unwrap())
}

fn interrupt(child: &Child) {
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
}

fn ids(records: &[serde_json::Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// One live test at a time (each owns a PulseAudio daemon): the turn, the
/// daemon with `sinks`, a work folder and a key in it.
fn session(sinks: &[&str]) -> (MutexGuard<'static, ()>, Pulse, tempfile::TempDir, PathBuf) {
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let pulse = Pulse::start(sinks);
    let work = tmp();
    let key = key_file(work.path());
    (turn, pulse, work, key)
}

#[test]
fn play_into_a_sink_is_heard_by_listen_and_monitor() {
    let (_turn, pulse, work, key) = session(&["hm_a"]);

    let (code, out, err) = split(
        pulse
            .hushmark()
            .args(["devices", "--host", "pulseaudio"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("  * hm_a  \"Null Output\""), "{out}");
    assert!(out.contains("hm_a.monitor"), "{out}");
    assert!(out.contains("default 48000 Hz 2 ch"), "{out}");

    let mut listen = pulse.hushmark();
    listen.args([
        "listen",
        "--host",
        "pulseaudio",
        "--device",
        "hm_a.monitor",
        "--json",
        "--duration",
        "14",
        "--key",
        s(&key),
    ]);
    let listen = spawn(listen);
    let log = work.path().join("aired.jsonl");
    let mut monitor = pulse.hushmark();
    monitor.args([
        "monitor",
        "--host",
        "pulseaudio",
        "--device",
        "hm_a.monitor",
        "--duration",
        "14",
        "--key",
        s(&key),
        "--log",
        s(&log),
    ]);
    let monitor = spawn(monitor);
    std::thread::sleep(Duration::from_millis(1500));
    let (code, _, err) = split(
        pulse
            .hushmark()
            .args([
                "play",
                s(&unmarked()),
                "--host",
                "pulseaudio",
                "--device",
                "hm_a",
                "--id",
                ADDRESS,
                "--key",
                s(&key),
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "play: {err}");
    assert!(err.contains("4 whole burst(s)"), "{err}");

    let (code, out, err) = finish(listen);
    assert_eq!(code, 0, "listen: {err}");
    let heard = json_lines(&out);
    assert!(
        heard.len() >= 2,
        "listen heard {} bursts: {out}\n{err}",
        heard.len()
    );
    assert!(ids(&heard).iter().all(|id| id == ADDRESS), "{out}");
    for r in &heard {
        assert_eq!(r["device"], "hm_a.monitor");
        assert!(r["utc"].as_str().unwrap().ends_with('Z'));
    }
    // Consecutive counters two seconds apart, as played.
    let c: Vec<u64> = heard.iter().filter_map(|r| r["counter"].as_u64()).collect();
    assert!(c.windows(2).all(|w| w[1] > w[0]), "{c:?}");

    let (code, _, err) = finish(monitor);
    assert_eq!(code, 0, "monitor: {err}");
    let aired = json_lines(&std::fs::read_to_string(&log).unwrap());
    assert_eq!(aired.len(), 1, "{aired:?}\n{err}\nlisten heard: {out}");
    assert_eq!(aired[0]["id"], ADDRESS);
    assert_eq!(aired[0]["stream"], "device:hm_a.monitor");
    assert!(aired[0]["bursts"].as_u64().unwrap() >= 2, "{aired:?}");
}

#[test]
fn passthrough_marks_between_two_sinks() {
    let (_turn, pulse, _work, key) = session(&["hm_in", "hm_out"]);
    let mut listen = pulse.hushmark();
    listen.args([
        "listen",
        "--host",
        "pulseaudio",
        "--device",
        "hm_out.monitor",
        "--json",
        "--duration",
        "13",
        "--key",
        s(&key),
    ]);
    let listen = spawn(listen);
    std::thread::sleep(Duration::from_millis(500));
    let (code, out, err) = split(
        pulse
            .hushmark()
            .args([
                "passthrough",
                "--host",
                "pulseaudio",
                "--input",
                "hm_in.monitor",
                "--output",
                "hm_out",
                "--id",
                "0x2a",
                "--key",
                s(&key),
                "--duration",
                "11",
                "--buffer-ms",
                "200",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "passthrough: {err}");
    assert!(out.contains("passthrough hm_in.monitor -> hm_out"), "{out}");
    assert!(
        out.contains("xrun(s)") && out.contains("added latency"),
        "{out}"
    );
    let (code, out, err) = finish(listen);
    assert_eq!(code, 0, "listen heard nothing: {out}\n{err}");
    let heard = json_lines(&out);
    assert!(heard.len() >= 2, "{out}");
    assert!(ids(&heard).iter().all(|id| id == "2a"), "{out}");
}

#[test]
fn listen_survives_its_device_vanishing_and_stops_on_ctrl_c() {
    let (_turn, mut pulse, _work, key) = session(&["hm_a"]);
    let mut c = pulse.command("pactl");
    c.args([
        "load-module",
        "module-null-sink",
        "sink_name=hm_v",
        "rate=48000",
        "channels=2",
    ]);
    let module = String::from_utf8(c.output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();
    pulse.feed("hm_v");
    let mut listen = pulse.hushmark();
    listen.args([
        "listen",
        "--host",
        "pulseaudio",
        "--device",
        "hm_v.monitor",
        "--json",
        "--key",
        s(&key),
    ]);
    let listen = spawn(listen);
    std::thread::sleep(Duration::from_secs(2));
    assert!(pulse.pactl(&["unload-module", &module]), "unload");
    std::thread::sleep(Duration::from_secs(4));
    let mut c = pulse.command("pactl");
    c.args([
        "load-module",
        "module-null-sink",
        "sink_name=hm_v",
        "rate=48000",
        "channels=2",
    ]);
    assert!(c.status().unwrap().success(), "reload");
    pulse.feed("hm_v");
    std::thread::sleep(Duration::from_secs(3));
    let (code, _, err) = split(
        pulse
            .hushmark()
            .args([
                "-q",
                "play",
                s(&unmarked()),
                "--host",
                "pulseaudio",
                "--device",
                "hm_v",
                "--id",
                "0x2a",
                "--key",
                s(&key),
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "play: {err}");
    std::thread::sleep(Duration::from_millis(1500));
    interrupt(&listen);
    let (code, out, err) = finish(listen);
    assert_eq!(code, 0, "listen after Ctrl-C: {err}");
    assert!(err.contains("the device disappeared"), "{err}");
    assert!(err.contains("listening again on hm_v.monitor"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let heard = json_lines(&out);
    assert!(heard.len() >= 2, "{out}\n{err}");
    assert!(ids(&heard).iter().all(|id| id == "2a"));
}

#[test]
fn live_commands_fail_clearly() {
    let (_turn, pulse, _work, key) = session(&["hm_a"]);
    let (code, _, err) = split(
        pulse
            .hushmark()
            .args([
                "listen",
                "--host",
                "pulseaudio",
                "--device",
                "nosuch",
                "--key",
                s(&key),
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("no input device matches \"nosuch\"") && err.contains("hm_a.monitor"),
        "{err}"
    );
    let (code, _, err) = split(
        pulse
            .hushmark()
            .args([
                "play",
                s(&unmarked()),
                "--host",
                "pulseaudio",
                "--device",
                "nosuch",
                "--id",
                "2a",
                "--key",
                s(&key),
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 2);
    assert!(err.contains("no output device matches"), "{err}");
    let (code, _, err) = split(
        pulse
            .hushmark()
            .args([
                "passthrough",
                "--host",
                "pulseaudio",
                "--input",
                "hm_a.monitor",
                "--output",
                "hm_a",
                "--id",
                "2a",
                "--key",
                s(&key),
                "--rate",
                "32000",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 2);
    assert!(err.contains("--rate 32000"), "{err}");
    // No server at all.
    let empty = tmp();
    let (code, _, err) = split(
        hushmark()
            .args(["listen", "--host", "pulseaudio", "--key", s(&key)])
            .env("XDG_RUNTIME_DIR", empty.path())
            .env("HOME", empty.path())
            .env_remove("PULSE_SERVER")
            .output()
            .unwrap(),
    );
    assert_eq!(code, 2);
    assert!(err.contains("PulseAudio"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
