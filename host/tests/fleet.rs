//! The fleet log through a real `nats-server -js` on loopback: two agents
//! publish while the broker is stopped and restarted and one agent is
//! SIGKILLed and restarted on its spool; every airing arrives exactly once,
//! the ones open at the kill too (from the agent's checkpoint).
//! What is published holds only whitelisted fields. And the agent's TOML
//! config, with errors that name the line.

mod common;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::Value;
use support::*;

/// 48 s: 8 s of ID 2a, 8 s of ID 2b, three times, so an airing closes
/// every 8 s of every stream.
fn programme(www: &Path, key: &Path) {
    let a = www.join("a.wav");
    let b = www.join("b.wav");
    embed(&unmarked(), &a, key, &["--id", "2a"]);
    embed(&unmarked(), &b, key, &["--id", "2b"]);
    let (a, b) = (read_i16(&a), read_i16(&b));
    let mut x = Vec::new();
    for _ in 0..3 {
        x.extend(&a);
        x.extend(&b);
    }
    write_wav_i16(&www.join("prog.wav"), 48_000, 1, &x);
}

fn agent(name: &str, dir: &Path, key: &Path, http: u16, nats: u16, run: &str, secs: u32) -> Proc {
    let log = dir.join(format!("{name}-{run}.jsonl"));
    let mut c = hushmark();
    c.args(["monitor", "--key", s(key), "--agent", name])
        .arg("--url")
        .arg(format!("s1=http://127.0.0.1:{http}/prog.wav"))
        .arg("--url")
        .arg(format!("s2=http://127.0.0.1:{http}/prog.wav"))
        .args(["--publish", &format!("nats://127.0.0.1:{nats}")])
        .args(["--spool", s(&dir.join(format!("spool-{name}")))])
        .args(["--heartbeat", "2", "--duration", &secs.to_string()])
        .args(["--log", s(&log)])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap());
    Proc::start("hushmark", &mut c)
}

/// (agent, stream, id, first_utc, first_s): one airing.
type Key = (String, String, String, String, u64);

fn key_of(agent: &str, r: &Value) -> Key {
    (
        agent.to_string(),
        r["stream"].as_str().unwrap().to_string(),
        r["id"].as_str().unwrap().to_string(),
        r["first_utc"].as_str().unwrap().to_string(),
        r["first_s"].as_u64().unwrap(),
    )
}

/// The airings a killed agent's checkpoints in `spool` held open.
fn checkpointed(agent: &str, spool: &Path) -> Vec<Key> {
    let mut keys = Vec::new();
    for e in std::fs::read_dir(spool).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("open-") && name.ends_with(".json") {
            let saved: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            for a in saved["airings"].as_array().unwrap() {
                let body: Value = serde_json::from_str(a["data"].as_str().unwrap()).unwrap();
                assert_eq!(body["ended"], "agent_lost", "{body}");
                keys.push(key_of(agent, &body));
            }
        }
    }
    keys
}

/// Every message of a JetStream stream: (subject, msg id, JSON body).
fn raw_messages(port: u16, stream: &str) -> Vec<(String, Option<String>, Value)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use futures_util::StreamExt;
        let client = async_nats::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream(stream).await.unwrap();
        let consumer = stream
            .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
            .await
            .unwrap();
        let mut pending = consumer.cached_info().num_pending;
        let mut msgs = consumer.messages().await.unwrap();
        let mut out = Vec::new();
        while pending > 0 {
            let m = tokio::time::timeout(Duration::from_secs(10), msgs.next())
                .await
                .expect("messages keep coming")
                .unwrap()
                .unwrap();
            pending = m.info().unwrap().pending;
            let id = m
                .headers
                .as_ref()
                .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                .map(|v| v.as_str().to_string());
            out.push((
                m.subject.to_string(),
                id,
                serde_json::from_slice(&m.payload).unwrap(),
            ));
        }
        out
    })
}

const AIRING_FIELDS: &[&str] = &[
    "agent",
    "stream",
    "id",
    "first_utc",
    "last_utc",
    "first_s",
    "last_s",
    "bursts",
    "profile",
    "layers",
    "periods",
    "confirmed_s",
    // `agent_lost`: open when its agent died, recovered from its checkpoint.
    "ended",
];
const EVENT_FIELDS: &[&str] = &[
    "agent",
    "event",
    "stream",
    "utc",
    "level_db",
    "expect",
    "id",
    "last_mark_utc",
    "missing_s",
    "down_utc",
    "gap_s",
    // `undecodable`: the span lost.
    "start_s",
    "end_s",
    "end_utc",
];
const HEARTBEAT_FIELDS: &[&str] = &["agent", "utc", "streams", "streams_up", "owed", "version"];

fn check_fields(subject: &str, body: &Value, allowed: &[&str]) {
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{subject}: not an object"));
    for (k, v) in obj {
        assert!(
            allowed.contains(&k.as_str()),
            "{subject}: field {k:?} is not whitelisted: {body}"
        );
        // IDs, times, names, levels: short scalars (`layers`: a list of
        // layer names), never a URL or audio.
        let names = v
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x.as_str().is_some_and(|n| n.len() <= 16)));
        assert!(
            names || (!v.is_array() && !v.is_object()),
            "{subject}: {k} is not a scalar"
        );
        let text = v.to_string();
        assert!(
            text.len() < 100 && !text.contains("://"),
            "{subject}: {k} = {text}"
        );
    }
}

#[test]
fn two_agents_through_a_broker_outage_and_a_sigkill_lose_nothing_and_double_nothing() {
    let dir = tmp();
    let key = key_file(dir.path());
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    programme(&www, &key);
    let (http, nats) = (tcp_port(), tcp_port());
    let store = dir.path().join("js");
    let _www = http_server(&www, http);
    let mut broker = nats_server(nats, &store);
    let mut a = agent("a", dir.path(), &key, http, nats, "1", 52);
    let mut b = agent("b", dir.path(), &key, http, nats, "1", 52);
    // The broker goes away for 10 s, then comes back on the same store.
    std::thread::sleep(Duration::from_secs(12));
    broker.kill();
    std::thread::sleep(Duration::from_secs(10));
    let _broker = nats_server(nats, &store);
    // Agent b dies hard; a new b takes over its spool.
    std::thread::sleep(Duration::from_secs(6));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(b.pid() as i32, libc::SIGKILL) };
    b.wait(Duration::from_secs(10));
    // What b had open when it died (its streams always air something).
    let open_at_kill = checkpointed("b", &dir.path().join("spool-b"));
    assert!(!open_at_kill.is_empty(), "b checkpointed no open airing");
    let mut b2 = agent("b", dir.path(), &key, http, nats, "2", 22);
    let status_a = a.wait(Duration::from_secs(60)).unwrap();
    let status_b2 = b2.wait(Duration::from_secs(60)).unwrap();
    let err =
        |n: &str| std::fs::read_to_string(dir.path().join(format!("{n}.err"))).unwrap_or_default();
    assert!(status_a.success(), "{}", err("a-1"));
    assert!(status_b2.success(), "{}", err("b-2"));

    // What the agents logged (the spool is written first, so every logged
    // airing was owed to the broker).
    let mut published: BTreeSet<Key> = BTreeSet::new();
    let mut closed_by_b1: BTreeSet<Key> = BTreeSet::new();
    for (agent, run) in [("a", "1"), ("b", "1"), ("b", "2")] {
        for r in log_lines(&dir.path().join(format!("{agent}-{run}.jsonl"))) {
            if r.get("event").is_none() {
                assert!(published.insert(key_of(agent, &r)), "logged twice: {r}");
                if run == "1" && agent == "b" {
                    closed_by_b1.insert(key_of(agent, &r));
                }
            }
        }
    }
    // What the broker holds, raw: every copy counted.
    let raw = raw_messages(nats, "HUSHMARK");
    let mut copies: BTreeMap<Key, usize> = BTreeMap::new();
    let mut bodies: BTreeMap<Key, &Value> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for (subject, id, body) in &raw {
        let id = id
            .clone()
            .unwrap_or_else(|| panic!("{subject}: no Nats-Msg-Id"));
        assert!(ids.insert(id), "{subject}: a message ID stored twice");
        if subject.contains(".airing.") {
            check_fields(subject, body, AIRING_FIELDS);
            let key = key_of(body["agent"].as_str().unwrap(), body);
            *copies.entry(key.clone()).or_default() += 1;
            bodies.insert(key, body);
        } else {
            check_fields(subject, body, EVENT_FIELDS);
        }
    }
    for (subject, _, body) in raw_messages(nats, "HUSHMARK_HEARTBEAT") {
        check_fields(&subject, &body, HEARTBEAT_FIELDS);
    }
    let delivered: BTreeSet<Key> = copies.keys().cloned().collect();
    let duplicates: usize = copies.values().map(|n| n - 1).sum();
    let lost: Vec<_> = published.difference(&delivered).collect();
    let spooled: u64 = ["a-1", "b-1", "b-2"]
        .iter()
        .filter_map(|n| {
            let e = err(n);
            let line = e.lines().find(|l| l.contains("publish:"))?.to_string();
            let n: u64 = line
                .split("published, ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()?;
            Some(n)
        })
        .sum();
    let recovered = open_at_kill
        .iter()
        .filter(|k| copies.get(*k) == Some(&1))
        .count();
    println!(
        "outage test: published {}, spooled {spooled}, delivered {}, duplicates {duplicates}, lost {}; \
         open at SIGKILL {}, delivered once after restart {recovered}",
        published.len(),
        delivered.len(),
        lost.len(),
        open_at_kill.len()
    );
    // The airings open when b was killed: delivered once, logged, and
    // marked (unless b closed one into its spool just before the kill, when
    // the closed one was stored first); a clean stop leaves no checkpoint.
    let mut marked = 0;
    for k in &open_at_kill {
        assert_eq!(copies.get(k), Some(&1), "open at SIGKILL: {k:?}");
        assert!(published.contains(k), "not logged: {k:?}");
        if !closed_by_b1.contains(k) {
            assert_eq!(bodies[k]["ended"], "agent_lost", "{}", bodies[k]);
            marked += 1;
        }
    }
    for spool in ["spool-a", "spool-b"] {
        assert!(
            checkpointed("x", &dir.path().join(spool)).is_empty(),
            "{spool}: a checkpoint left after a clean stop"
        );
    }
    let lost_marked = bodies.values().filter(|b| b.get("ended").is_some()).count();
    assert_eq!(lost_marked, marked, "only b's open airings are marked");
    assert!(
        published.len() >= 12,
        "too few airings to mean anything: {published:?}"
    );
    assert!(spooled > 0, "the outage spooled nothing:\n{}", err("a-1"));
    assert_eq!(duplicates, 0, "{copies:?}");
    assert!(lost.is_empty(), "lost: {lost:?}");
    // Delivered but not logged: only b's last line before SIGKILL could be.
    assert!(delivered.len() - published.len() <= 1, "{delivered:?}");

    // The reader merges both agents, in time order, deduplicated.
    let (code, out, stderr) = run(&[
        "airings",
        "--from",
        &format!("nats://127.0.0.1:{nats}"),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let read = json_lines(&out);
    assert_eq!(read.len(), delivered.len(), "{stderr}");
    assert!(stderr.contains("0 duplicate(s) dropped"), "{stderr}");
    let agents: BTreeSet<&str> = read.iter().map(|r| r["agent"].as_str().unwrap()).collect();
    assert_eq!(agents, BTreeSet::from(["a", "b"]));
    let firsts: Vec<&str> = read
        .iter()
        .map(|r| r["first_utc"].as_str().unwrap())
        .collect();
    assert!(firsts.windows(2).all(|w| w[0] <= w[1]), "{firsts:?}");
    let (code, out, _) = run(&[
        "airings",
        "--from",
        &format!("nats://127.0.0.1:{nats}"),
        "--stream",
        "s1",
        "--id",
        "2b",
        "--csv",
    ]);
    assert_eq!(code, 0);
    let rows: Vec<&str> = out.lines().collect();
    assert!(rows[0].starts_with("agent,stream,id,"), "{out}");
    assert!(
        rows.len() > 1 && rows[1..].iter().all(|r| r.contains(",s1,2b,")),
        "{out}"
    );
}

#[test]
fn a_config_file_runs_an_agent_and_its_mistakes_name_the_line() {
    let dir = tmp();
    let key = key_file(dir.path());
    let marked = dir.path().join("m.wav");
    embed(&unmarked(), &marked, &key, &["--id", "2a"]);
    let cfg = dir.path().join("site.toml");
    std::fs::write(
        &cfg,
        "agent = \"site-a\"\nkey = \"test.key\"\n\n[[stream]]\nname = \"rec\"\nfile = \"m.wav\"\nexpect = \"2a\"\n",
    )
    .unwrap();
    let (code, out, err) = run(&[
        "monitor",
        "--config",
        s(&cfg),
        "--start-time",
        "2024-05-01T06:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(
        (lines[0]["stream"].as_str(), lines[0]["id"].as_str()),
        (Some("rec"), Some("2a"))
    );
    for (text, want) in [
        (
            "key = \"test.key\"\n[[stream]]\nname = \"x\"\nurll = \"udp://a\"\n",
            "site.toml:4: unknown field `urll`",
        ),
        (
            "key = \"test.key\"\n[[stream]]\nname = \"x\"\nurl = \"udp://a\"\ndevice = \"hw:1\"\n",
            "site.toml:2: a [[stream]] needs exactly one of",
        ),
        (
            "key = \"test.key\"\n[[stream]]\nfile = \"m.wav\"\nexpect = \"zz\"\n",
            "site.toml:4: expect: bad ID",
        ),
        (
            "key = \"test.key\"\nmissing_after = 1\n",
            "site.toml:2: missing_after must be at least 5",
        ),
        (
            "key = \"test.key\"\npublish = \"http://x\"\n",
            "site.toml:2: publish:",
        ),
        ("key = [\n", "site.toml:1:"),
    ] {
        std::fs::write(&cfg, text).unwrap();
        let (code, _, err) = run(&["monitor", "--config", s(&cfg)]);
        assert_eq!(code, 2, "{text}: {err}");
        assert!(err.contains(want), "{text}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}
