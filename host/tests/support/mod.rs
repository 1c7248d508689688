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
    let playlist = dir.join("index.m3u8");
    super::common::tool(
        "ffmpeg",
        &[
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            super::common::s(wav),
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
            super::common::s(&playlist),
        ],
    );
    playlist
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

/// `nats-server -c` with `config` (written to `dir/nats.conf`) on a
/// loopback port; `config` holds the port and everything else.
pub fn nats_server_with(dir: &Path, port: u16, config: &str) -> Proc {
    let conf = dir.join("nats.conf");
    std::fs::write(&conf, config).unwrap();
    let log = dir.join("nats.err");
    let mut p = Proc::start(
        "nats-server",
        Command::new("nats-server")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    let end = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        let exited = p
            .child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_some());
        assert!(
            !exited && Instant::now() < end,
            "nats-server did not start on port {port}:\n{config}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    p
}

/// A throwaway PKI made with the openssl command: a CA, and a server
/// certificate it signed for 127.0.0.1 and localhost.
pub struct Pki {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    super::common::tool_in(Some(dir), "openssl", args);
}

/// In `dir` (created): `ca.pem`, `server.pem`, `server.key`, and the CA's
/// key, all P-256, valid for two days.
pub fn pki(dir: &Path) -> Pki {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("openssl.cnf"),
        "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = hushmark test CA\n\
         [ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier = hash\n\
         [server]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1,DNS:localhost\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-config",
        "openssl.cnf",
        "-extensions",
        "ca",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]);
    openssl(dir, &ca);
    let mut csr = vec![
        "req",
        "-new",
        "-config",
        "openssl.cnf",
        "-subj",
        "/CN=localhost",
    ];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(dir, &csr);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "2",
            "-days",
            "2",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            "server",
            "-out",
            "server.pem",
        ],
    );
    Pki {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

/// NATS decentralised auth made at test time: an operator, an account with
/// JetStream, and users' `.creds` files; see [`Nats::config`].
pub struct Nats {
    account: nkeys::KeyPair,
    operator_jwt: String,
    account_jwt: String,
    /// The server's own account (JetStream needs one in operator mode).
    system: String,
    system_jwt: String,
}

/// A NATS JWT: base64url(header).base64url(claims).base64url(the issuer's
/// ed25519 signature of the first two).
fn nats_jwt(issuer: &nkeys::KeyPair, subject: &str, name: &str, nats: Value) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
    let header = B64.encode(r#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "jti": format!("{subject}-{iat}"),
        "iat": iat,
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let body = B64.encode(claims.to_string());
    let signed = format!("{header}.{body}");
    let sig = issuer.sign(signed.as_bytes()).unwrap();
    format!("{signed}.{}", B64.encode(sig))
}

impl Nats {
    pub fn new() -> Nats {
        let operator = nkeys::KeyPair::new_operator();
        let account = nkeys::KeyPair::new_account();
        let system = nkeys::KeyPair::new_account().public_key();
        let operator_jwt = nats_jwt(
            &operator,
            &operator.public_key(),
            "test-operator",
            serde_json::json!({"system_account": system, "type": "operator", "version": 2}),
        );
        let system_jwt = nats_jwt(
            &operator,
            &system,
            "SYS",
            serde_json::json!({
                "limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1,
                           "exports": -1, "wildcards": true, "conn": -1, "leaf": -1},
                "type": "account",
                "version": 2,
            }),
        );
        let account_jwt = nats_jwt(
            &operator,
            &account.public_key(),
            "fleet",
            serde_json::json!({
                "limits": {
                    "subs": -1, "data": -1, "payload": -1, "imports": -1,
                    "exports": -1, "wildcards": true, "conn": -1, "leaf": -1,
                    // JetStream is on for an account with storage limits.
                    "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1,
                },
                "default_permissions": {"pub": {}, "sub": {}},
                "type": "account",
                "version": 2,
            }),
        );
        Nats {
            account,
            operator_jwt,
            account_jwt,
            system,
            system_jwt,
        }
    }

    /// Server config: operator mode, the account preloaded, JetStream.
    pub fn config(&self, dir: &Path, port: u16, store: &Path) -> String {
        let op = dir.join("operator.jwt");
        std::fs::write(&op, &self.operator_jwt).unwrap();
        format!(
            "listen: \"127.0.0.1:{port}\"\njetstream {{ store_dir: {store:?} }}\n\
             operator: {op:?}\nsystem_account: {sys}\nresolver: MEMORY\n\
             resolver_preload: {{\n  {}: \"{}\"\n  {sys}: \"{}\"\n}}\n",
            self.account.public_key(),
            self.account_jwt,
            self.system_jwt,
            sys = self.system,
        )
    }

    /// A new user of the account, as a `.creds` file at `path`.
    pub fn creds(&self, path: &Path) {
        write_creds(path, &self.account, "agent");
    }

    /// A user whose account the broker does not know, as a `.creds` file.
    pub fn stranger_creds(path: &Path) {
        write_creds(path, &nkeys::KeyPair::new_account(), "stranger");
    }
}

impl Default for Nats {
    fn default() -> Nats {
        Nats::new()
    }
}

fn write_creds(path: &Path, account: &nkeys::KeyPair, name: &str) {
    let user = nkeys::KeyPair::new_user();
    let jwt = nats_jwt(
        account,
        &user.public_key(),
        name,
        serde_json::json!({
            "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
            "type": "user", "version": 2,
        }),
    );
    let seed = user.seed().unwrap();
    std::fs::write(
        path,
        format!(
            "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\n\
             -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}
