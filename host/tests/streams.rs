//! `monitor --url` against real sources on loopback: a file and an HLS
//! playlist over HTTP (`python3 -m http.server`), MPEG-TS over UDP from
//! ffmpeg; sources killed and restarted mid-run; silence and missing-mark
//! alarms on programme made for them.

mod common;
mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use support::*;

/// `n` × 8 s of the bundled music, marked with ID 2a every 2 s.
fn marked(dir: &Path, key: &Path, n: usize) -> std::path::PathBuf {
    let one = dir.join("one.wav");
    embed(&unmarked(), &one, key, &["--id", "2a"]);
    let p = dir.join(format!("marked{n}.wav"));
    repeat_wav(&one, n, &p);
    p
}

/// The agent, logging to `log`; its stderr goes to `log` + `.err`.
fn agent(args: &[&str], log: &Path) -> Proc {
    let mut c = hushmark();
    c.arg("monitor")
        .args(args)
        .args(["--log", s(log)])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap());
    Proc::start("hushmark", &mut c)
}

fn stderr_of(log: &Path) -> String {
    std::fs::read_to_string(log.with_extension("err")).unwrap_or_default()
}

#[test]
fn http_hls_and_udp_streams_survive_their_sources_dying() {
    let dir = tmp();
    let key = key_file(dir.path());
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let prog = marked(&www, &key, 5);
    hls(&prog, &www.join("hls"));
    let (http_port, udp, dead) = (tcp_port(), udp_port(), udp_port());
    let mut sender = udp_sender(&prog, udp);
    let log = dir.path().join("aired.jsonl");
    let base = format!("http://127.0.0.1:{http_port}");
    let mut a = agent(
        &[
            "--key",
            s(&key),
            "--url",
            &format!("file={base}/marked5.wav"),
            "--url",
            &format!("hls={base}/hls/index.m3u8"),
            "--url",
            &format!("ts=udp://127.0.0.1:{udp}"),
            "--url",
            &format!("dead=udp://127.0.0.1:{dead}"),
            "--expect-mark",
            "ts=2a",
            "--missing-after",
            "5",
            "--stall",
            "2",
            "--duration",
            "36",
        ],
        &log,
    );
    // The HTTP server comes up 4 s late; mid-run it and the UDP sender die
    // for 6 s.
    std::thread::sleep(Duration::from_secs(4));
    let mut http = http_server(&www, http_port);
    std::thread::sleep(Duration::from_secs(10));
    http.kill();
    sender.kill();
    std::thread::sleep(Duration::from_secs(6));
    let _http = http_server(&www, http_port);
    let _sender = udp_sender(&prog, udp);
    let status = a.wait(Duration::from_secs(60));
    let err = stderr_of(&log);
    assert!(status.unwrap().success(), "{err}");
    let lines = log_lines(&log);
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let text = text.join("\n");
    for stream in ["file", "hls", "ts"] {
        let aired = airings(&lines, stream);
        assert!(!aired.is_empty(), "no airing on {stream}:\n{text}\n{err}");
        assert!(aired.iter().all(|r| r["id"] == "2a"), "{text}");
        assert!(!events(&lines, stream, "stream_up").is_empty(), "{text}");
    }
    // Down, then up, with the gap timed: HTTP (late server; HLS also when
    // it died mid-run) and UDP (its sender killed mid-run).
    for (stream, at_least) in [("file", 3.0), ("hls", 3.0), ("ts", 2.0)] {
        let down = events(&lines, stream, "stream_down");
        let up: Vec<_> = events(&lines, stream, "stream_up")
            .into_iter()
            .filter(|u| u.get("gap_s").is_some())
            .collect();
        assert!(
            !down.is_empty() && !up.is_empty(),
            "{stream}:\n{text}\n{err}"
        );
        assert!(
            up.iter().any(|u| u["gap_s"].as_f64().unwrap() >= at_least),
            "{stream}:\n{text}"
        );
    }
    // The UDP outage is a dead stream, not a missing mark.
    assert!(events(&lines, "ts", "mark_missing").is_empty(), "{text}");
    // A port nothing sends to: down from the start, never up.
    assert_eq!(events(&lines, "dead", "stream_down").len(), 1, "{text}");
    assert!(events(&lines, "dead", "stream_up").is_empty(), "{text}");
    assert!(err.contains("dead: down"), "{err}");
}

#[test]
fn missing_marks_silence_and_their_return_are_told_apart() {
    let dir = tmp();
    let key = key_file(dir.path());
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    // 8 s marked, 16 s unmarked music, 14 s silence, 16 s marked.
    let one = www.join("one.wav");
    embed(&unmarked(), &one, &key, &["--id", "2a"]);
    let m = read_i16(&one);
    let u = read_i16(&unmarked());
    let mut x = m.clone();
    x.extend(&u);
    x.extend(&u);
    x.extend(std::iter::repeat_n(0i16, 14 * 48_000));
    x.extend(&m);
    x.extend(&m);
    write_wav_i16(&www.join("prog.wav"), 48_000, 1, &x);
    let port = tcp_port();
    let _http = http_server(&www, port);
    let log = dir.path().join("aired.jsonl");
    let mut a = agent(
        &[
            "--key",
            s(&key),
            "--url",
            &format!("radio=http://127.0.0.1:{port}/prog.wav"),
            "--expect-mark",
            "radio",
            "--missing-after",
            "6",
            "--silence-after",
            "3",
            "--duration",
            "52",
        ],
        &log,
    );
    let status = a.wait(Duration::from_secs(80));
    let err = stderr_of(&log);
    assert!(status.unwrap().success(), "{err}");
    let lines = log_lines(&log);
    let kinds: Vec<String> = lines
        .iter()
        .filter(|l| l["stream"] == "radio")
        .filter_map(|l| l["event"].as_str().map(str::to_string))
        .filter(|e| e != "stream_up" && e != "stream_down")
        .collect();
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let text = text.join("\n");
    // Missing while the music played unmarked; the silence is silence. The
    // mark and the sound come back together, in either order.
    let sorted_tail = |k: &[String]| {
        let mut t = k[2..].to_vec();
        t.sort();
        t
    };
    assert!(
        kinds.len() == 4
            && kinds[..2] == ["mark_missing", "silence"]
            && sorted_tail(&kinds) == ["mark_back", "sound"],
        "{kinds:?}\n{text}\n{err}"
    );
    let missing = events(&lines, "radio", "mark_missing")[0];
    assert_eq!(missing["expect"], "any");
    assert!(missing.get("last_mark_utc").is_some(), "{missing}");
    let silence = events(&lines, "radio", "silence")[0];
    assert!(silence["level_db"].as_f64().unwrap() < -50.0, "{silence}");
    assert_eq!(events(&lines, "radio", "mark_back")[0]["id"], "2a");
    assert!(airings(&lines, "radio").len() >= 2, "{text}");
}

#[test]
fn bad_stream_arguments_get_one_line() {
    let dir = tmp();
    let key = key_file(dir.path());
    for (args, want) in [
        (vec!["--url", "news="], "no URL after the name"),
        (
            vec!["--url", "a=udp://127.0.0.1:9", "--expect-mark", "b"],
            "no stream is named \"b\"",
        ),
        (
            vec!["--url", "a=udp://127.0.0.1:9", "--expect-mark", "a=zz"],
            "bad ID",
        ),
        (
            vec!["--url", "x", "--publish", "http://x"],
            "is not nats://",
        ),
        (vec!["--url", "x", "--spool", "/tmp/x"], "needs --publish"),
        (vec!["--url", "x", "--agent", "a.b"], "NATS subject token"),
    ] {
        let mut all = vec!["monitor", "--key", s(&key)];
        all.extend(args);
        let (code, _, err) = run(&all);
        assert_eq!(code, 2, "{all:?}: {err}");
        assert!(err.contains(want), "{all:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // No ffmpeg: one clear error, not a restart loop.
    let out = hushmark()
        .args(["monitor", "--key", s(&key), "--url", "a=udp://127.0.0.1:9"])
        .env("HUSHMARK_FFMPEG", "/nonexistent/ffmpeg")
        .output()
        .unwrap();
    let (code, _, err) = split(out);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("needs ffmpeg"), "{err}");
}
