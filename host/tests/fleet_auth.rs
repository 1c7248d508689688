//! Publishing to a broker that wants more than a plain TCP connection,
//! through a real `nats-server` on loopback: TLS with a CA made at test
//! time (openssl), and NATS decentralised auth (an operator, an account and
//! users' `.creds` files signed at test time). A broker that refuses the
//! agent is said clearly and the airing waits in the spool; a file that
//! cannot be used is an error naming it; the right settings deliver every
//! airing exactly once.

mod common;
mod support;

use std::path::Path;

use common::*;
use support::*;

const START: &str = "2024-05-01T06:00:00Z";

/// The marked clip monitored as a file, published to `url`: (code, log on
/// stdout, stderr). The clip holds one airing, the same (same message ID)
/// in every run.
fn publish(dir: &Path, url: &str, spool: &Path, extra: &[&str]) -> (i32, String, String) {
    let key = key_file(dir);
    let clip = dir.join("m.wav");
    if !clip.exists() {
        marked_clip(dir, &key);
    }
    let mut args = vec![
        "monitor",
        "--key",
        s(&key),
        "--agent",
        "site-a",
        "--file",
        s(&clip),
        "--start-time",
        START,
        "--publish",
        url,
        "--spool",
        s(spool),
    ];
    args.extend(extra);
    run(&args)
}

/// `hushmark airings --from url --json`: (code, airings, stderr).
fn read_back(url: &str, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let mut args = vec!["airings", "--from", url, "--json"];
    args.extend(extra);
    let (code, out, err) = run(&args);
    (code, json_lines(&out), err)
}

/// The counts from the agent's `publish:` line: (published, spooled,
/// delivered, re-sends the broker already had).
fn counts(stderr: &str) -> (u64, u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.contains("publish:"))
        .unwrap_or_else(|| panic!("no publish: line in {stderr}"));
    let n: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect();
    (n[0], n[1], n[2], n[3])
}

/// One airing logged, of the clip's ID.
fn one_airing(log: &str) -> serde_json::Value {
    let lines = json_lines(log);
    assert_eq!(lines.len(), 1, "{log}");
    assert_eq!(lines[0]["id"].as_str(), Some(ADDRESS), "{log}");
    lines[0].clone()
}

#[test]
fn tls_with_the_brokers_ca_delivers_once_and_without_it_spools_and_says_why() {
    let dir = tmp();
    let pki = pki(&dir.path().join("pki"));
    let other = support::pki(&dir.path().join("other"));
    let port = tcp_port();
    let url = format!("tls://127.0.0.1:{port}");
    let _broker = nats_server_with(
        dir.path(),
        port,
        &format!(
            "listen: \"127.0.0.1:{port}\"\njetstream {{ store_dir: {:?} }}\n\
             tls {{\n  cert_file: {:?}\n  key_file: {:?}\n}}\n",
            dir.path().join("js"),
            pki.cert,
            pki.key
        ),
    );

    // Files that cannot be used: an error naming them, before any work.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    for (ca, want) in [
        (
            dir.path().join("missing.pem"),
            "cannot read the CA certificate",
        ),
        (junk.clone(), "no PEM certificate"),
    ] {
        let spool = dir.path().join("spool-bad-file");
        let (code, out, err) = publish(dir.path(), &url, &spool, &["--nats-ca", s(&ca)]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(want) && err.contains(s(&ca)), "{err}");
        assert!(out.is_empty(), "{out}");
    }

    // No CA given: the system's roots do not know this broker. The airing
    // is logged and kept in the spool, and the warning says what to give.
    let spool = dir.path().join("spool-1");
    let (code, out, err) = publish(dir.path(), &url, &spool, &[]);
    assert_eq!(code, 0, "{err}");
    one_airing(&out);
    assert!(err.contains(&format!("cannot connect to {url}")), "{err}");
    assert!(
        err.contains("UnknownIssuer") && err.contains("--nats-ca FILE"),
        "{err}"
    );
    assert!(err.contains("1 still owed"), "{err}");
    assert_eq!(counts(&err).2, 0, "{err}");

    // Another CA: the same, naming the CA file that did not fit.
    let (code, out, err) = publish(dir.path(), &url, &spool, &["--nats-ca", s(&other.ca)]);
    assert_eq!(code, 0, "{err}");
    one_airing(&out);
    assert!(
        err.contains(&format!(
            "is the broker's certificate signed by {}?",
            other.ca.display()
        )),
        "{err}"
    );
    assert!(err.contains("2 still owed"), "{err}");

    // Nothing got through: the broker holds no airing log yet.
    let ca = ["--nats-ca", s(&pki.ca)];
    let (code, read, err) = read_back(&url, &ca);
    assert_ne!(code, 0, "{read:?}");
    assert!(err.contains("no JetStream stream HUSHMARK"), "{err}");

    // The broker's CA: what the two runs spooled and this run's airing,
    // all the same airing, stored once.
    let (code, out, err) = publish(dir.path(), &url, &spool, &ca);
    assert_eq!(code, 0, "{err}");
    let logged = one_airing(&out);
    assert!(!err.contains("still owed"), "{err}");
    let (published, spooled, delivered, resent) = counts(&err);
    assert_eq!((published, delivered), (1, 3), "{err}");
    assert!(spooled >= 2, "{err}");
    assert_eq!(resent, 2, "the broker stores one airing once: {err}");

    let (code, read, err) = read_back(&url, &ca);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read.len(), 1, "{read:?}");
    assert!(err.contains("0 duplicate(s) dropped"), "{err}");
    assert_eq!(read[0]["agent"].as_str(), Some("site-a"));
    for k in ["stream", "id", "first_utc", "first_s", "last_s"] {
        assert_eq!(read[0][k], logged[k], "{k}");
    }
    // The reader, too, needs the CA.
    let (code, _, err) = read_back(&url, &[]);
    assert_ne!(code, 0);
    assert!(err.contains("--nats-ca FILE"), "{err}");
}

#[test]
fn a_creds_file_the_broker_knows_publishes_and_others_are_refused_by_name() {
    let dir = tmp();
    let nats = Nats::new();
    let port = tcp_port();
    let url = format!("nats://127.0.0.1:{port}");
    let _broker = nats_server_with(
        dir.path(),
        port,
        &nats.config(dir.path(), port, &dir.path().join("js")),
    );
    let good = dir.path().join("site-a.creds");
    nats.creds(&good);
    let stranger = dir.path().join("stranger.creds");
    Nats::stranger_creds(&stranger);

    // A file that is not there, or not a .creds file: an error naming it.
    let junk = dir.path().join("junk.creds");
    std::fs::write(&junk, "user = \"nobody\"\n").unwrap();
    for (creds, want) in [
        (dir.path().join("missing.creds"), "No such file"),
        (junk.clone(), "cannot parse user JWT"),
    ] {
        let spool = dir.path().join("spool-bad-file");
        let (code, out, err) = publish(dir.path(), &url, &spool, &["--nats-creds", s(&creds)]);
        assert_eq!(code, 2, "{err}");
        let named = format!("cannot read the NATS credentials {}", creds.display());
        assert!(err.contains(&named) && err.contains(want), "{err}");
        assert!(out.is_empty(), "{out}");
        let (code, _, err) = read_back(&url, &["--nats-creds", s(&creds)]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(&named), "{err}");
    }

    // A user of an account the broker does not know: refused, said with
    // the file's name, and the airing kept in the spool.
    let spool = dir.path().join("spool");
    let (code, out, err) = publish(dir.path(), &url, &spool, &["--nats-creds", s(&stranger)]);
    assert_eq!(code, 0, "{err}");
    one_airing(&out);
    assert!(err.contains("authorization violation"), "{err}");
    assert!(
        err.contains(&format!(
            "the broker refused the credentials {}",
            stranger.display()
        )),
        "{err}"
    );
    assert!(err.contains("1 still owed"), "{err}");

    // No credentials at all: the reader is refused too, and told what to give.
    let (code, _, err) = read_back(&url, &[]);
    assert_ne!(code, 0);
    assert!(err.contains("--nats-creds FILE"), "{err}");

    // The account's user: the spooled airing and this run's, stored once.
    let creds = ["--nats-creds", s(&good)];
    let (code, out, err) = publish(dir.path(), &url, &spool, &creds);
    assert_eq!(code, 0, "{err}");
    let logged = one_airing(&out);
    assert!(!err.contains("still owed"), "{err}");
    let (published, _, delivered, resent) = counts(&err);
    assert_eq!((published, delivered, resent), (1, 2, 1), "{err}");
    let (code, read, err) = read_back(&url, &creds);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read.len(), 1, "{read:?}");
    assert!(err.contains("0 duplicate(s) dropped"), "{err}");
    for k in ["stream", "id", "first_utc", "first_s"] {
        assert_eq!(read[0][k], logged[k], "{k}");
    }
}
