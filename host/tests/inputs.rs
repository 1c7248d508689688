//! Odd inputs and signals: FIFOs without a writer, pipes and stdin, temporary
//! files left by killed runs, OUT names near NAME_MAX, absurd sample rates.

mod common;
mod support;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use support::Proc;

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(s(path)).unwrap();
    // SAFETY: a NUL-terminated path; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Wait until `pid` has `fifo` open, or sleeps opening it (its writer never
/// comes).
fn wait_blocked_on_fifo(pid: u32, fifo: &Path) {
    let end = Instant::now() + Duration::from_secs(30);
    let fifo = fs::canonicalize(fifo).unwrap();
    let waiting = || {
        // Any of its threads (monitor opens sources on their own).
        let opening = fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|t| {
                fs::read_to_string(t.path().join("wchan")).unwrap_or_default() == "wait_for_partner"
            });
        let open = fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| fs::read_link(fd.path()).is_ok_and(|p| p == fifo));
        opening || open
    };
    while !waiting() {
        assert!(Instant::now() < end, "hushmark never opened the FIFO");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A FIFO nobody writes: SIGTERM must end the wait cleanly (exit 130),
/// for the audio file and for the key file alike.
#[test]
fn sigterm_ends_a_wait_on_a_fifo_without_a_writer() {
    let dir = tmp();
    let key = key_file(dir.path());
    let fifo = dir.path().join("in.fifo");
    mkfifo(&fifo);
    let key_fifo = dir.path().join("key.fifo");
    mkfifo(&key_fifo);
    let marked = marked_clip(dir.path(), &key);
    for (what, args, waits_on) in [
        ("audio FIFO", ["detect", s(&fifo), "--key", s(&key)], &fifo),
        (
            "key FIFO",
            ["detect", s(&marked), "--key", s(&key_fifo)],
            &key_fifo,
        ),
    ] {
        let mut p = Proc::start(
            "hushmark",
            hushmark()
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        wait_blocked_on_fifo(p.pid(), waits_on);
        let status = p.terminate(Duration::from_secs(20)).unwrap();
        assert_eq!(status.code(), Some(130), "{what}: {status:?}");
    }
    // Nothing was left beside the FIFO.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 4);
}

/// The agent with a FIFO source nobody writes and a file: SIGTERM stops it
/// cleanly (exit 0) with the file's airing logged; the FIFO is no failure.
#[test]
fn sigterm_stops_monitor_waiting_on_a_fifo_source() {
    let dir = tmp();
    let key = key_file(dir.path());
    let fifo = dir.path().join("in.fifo");
    mkfifo(&fifo);
    let marked = marked_clip(dir.path(), &key);
    let log = dir.path().join("log.jsonl");
    let mut p = Proc::start(
        "hushmark",
        hushmark()
            .args(["monitor", "--key", s(&key), "--log", s(&log)])
            .args(["--file", s(&fifo), "--file", s(&marked)])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    // The file's airing is logged when the file ends; the FIFO still waits.
    let end = Instant::now() + Duration::from_secs(60);
    while !fs::read_to_string(&log)
        .unwrap_or_default()
        .contains(ADDRESS)
    {
        assert!(Instant::now() < end, "the file's airing was never logged");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_blocked_on_fifo(p.pid(), &fifo);
    let status = p.terminate(Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
    let lines = json_lines(&fs::read_to_string(&log).unwrap());
    assert_eq!(lines.iter().filter(|l| l["id"] == ADDRESS).count(), 1);
}

/// `-`, a FIFO and `<(ffmpeg ... -f wav -)` carry no length in their WAV
/// header (0 or 0xFFFFFFFF) and cannot seek; they are read whole.
#[test]
fn pipes_fifos_and_stdin_are_read_whole() {
    if !have("ffmpeg") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tmp();
    let key = key_file(dir.path());
    let marked = marked_clip(dir.path(), &key);
    let expected = detect_json(&marked, &key, &[]).1.len();
    assert!(expected >= 3);
    let found = |code: i32, out: &str, err: &str, what: &str| {
        assert_eq!(code, 0, "{what}: {err}");
        let records = json_lines(out);
        assert_eq!(records.len(), expected, "{what}: {out}");
        assert!(records.iter().all(|r| r["id"] == ADDRESS), "{what}: {out}");
    };

    // ffmpeg writing WAV to a pipe, into stdin.
    let mut ffmpeg = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-i"])
        .arg(&marked)
        .args(["-f", "wav", "-"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = hushmark()
        .args(["detect", "-", "--key", s(&key), "--json"])
        .stdin(ffmpeg.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(ffmpeg.wait().unwrap().success());
    let (code, out, err) = split(out);
    found(code, &out, &err, "ffmpeg | detect -");

    // The same through a FIFO, its data size zeroed as some writers leave it.
    let mut bytes = fs::read(&marked).unwrap();
    let at = bytes.windows(4).position(|w| w == b"data").unwrap();
    bytes[at + 4..at + 8].copy_from_slice(&0u32.to_le_bytes());
    bytes[4..8].copy_from_slice(&0u32.to_le_bytes());
    let fifo = dir.path().join("in.fifo");
    mkfifo(&fifo);
    let writer = {
        let (fifo, bytes) = (fifo.clone(), bytes.clone());
        std::thread::spawn(move || {
            fs::OpenOptions::new()
                .write(true)
                .open(fifo)?
                .write_all(&bytes)
        })
    };
    let (code, out, err) = run(&["detect", s(&fifo), "--key", s(&key), "--json"]);
    writer.join().unwrap().unwrap();
    found(code, &out, &err, "detect FIFO");

    // And embed from stdin: the same marks as from the file.
    let mut child = hushmark()
        .args(["embed", "-"])
        .arg(dir.path().join("again.wav"))
        .args(["--key", s(&key), "--id", ADDRESS])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let original = fs::read(unmarked()).unwrap();
    let feed = std::thread::spawn(move || stdin.write_all(&original));
    let (code, _, err) = split(child.wait_with_output().unwrap());
    feed.join().unwrap().unwrap();
    assert_eq!(code, 0, "embed -: {err}");
    assert_eq!(read_i16(&dir.path().join("again.wav")), read_i16(&marked));
}

/// Temporary files of a killed run are removed by the next run for the
/// same OUT, unless their process still runs.
#[test]
fn stale_temporary_files_are_removed_only_when_their_process_is_gone() {
    let dir = tmp();
    let key = key_file(dir.path());
    // pid_max itself is never a PID; our own process is alive.
    let pid_max: u32 = fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dead = dir
        .path()
        .join(format!(".out.wav.partial-{pid_max}-abcdef.wav"));
    let live = dir.path().join(format!(
        ".out.wav.partial-{}-abcdef.wav",
        std::process::id()
    ));
    let other = dir
        .path()
        .join(format!(".other.wav.partial-{pid_max}-abcdef.wav"));
    for f in [&dead, &live, &other] {
        fs::write(f, "partial").unwrap();
    }
    let err = embed(&unmarked(), &dir.path().join("out.wav"), &key, &[]);
    assert!(!dead.exists(), "the dead run's file is still there");
    assert!(err.contains("interrupted run"), "{err}");
    assert!(live.exists(), "a live run's file was removed");
    assert!(other.exists(), "another OUT's file was removed");
}

/// OUT may use all of NAME_MAX: the temporary name is shortened, not OUT.
#[test]
fn out_names_up_to_name_max_are_written() {
    let dir = tmp();
    let key = key_file(dir.path());
    for len in [246, 250, 255] {
        let name = format!("{}.wav", "n".repeat(len - 4));
        let out = dir.path().join(&name);
        embed(&unmarked(), &out, &key, &[]);
        assert!(out.exists(), "{len}-byte name");
    }
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".partial-")), "{names:?}");
}

/// Rates no profile could use are refused, with the range taken.
#[test]
fn absurd_sample_rates_are_refused_with_the_range() {
    let dir = tmp();
    let key = key_file(dir.path());
    let mut bytes = fs::read(unmarked()).unwrap();
    let fmt = bytes.windows(4).position(|w| w == b"fmt ").unwrap();
    bytes[fmt + 12..fmt + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    let bad = dir.path().join("bad-rate.wav");
    fs::write(&bad, &bytes).unwrap();
    let (code, _, err) = run(&["detect", s(&bad), "--key", s(&key)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("4294967295 Hz is out of range"), "{err}");
    assert!(err.contains("16000 to 768000 Hz"), "{err}");
    let (code, _, err) = run(&[
        "embed",
        s(&bad),
        s(&dir.path().join("o.wav")),
        "--key",
        s(&key),
        "--id",
        "2a",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("out of range"), "{err}");
    assert!(!dir.path().join("o.wav").exists());

    let out = hushmark()
        .args([
            "monitor",
            "--key",
            s(&key),
            "--stdin",
            "--rate",
            "4294967295",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (code, _, err) = split(out);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--rate") && err.contains("16000 to 768000 Hz"),
        "{err}"
    );
}
