//! The fleet: many streams per agent, many agents per operator, one
//! as-aired log.
//!
//! Top down:
//!
//! * **What an agent reports** ([`Note`] beside the airing records of
//!   [`crate::airing`]): `stream_up`/`stream_down` (a stream's outages, from
//!   [`crate::stream`]), `silence`/`sound` and `mark_missing`/`mark_back`
//!   ([`watch`]), `colliding` (marks there but unreadable: differently
//!   marked copies mixed), `transplanted` (an ultrasonic burst whose
//!   programme fingerprint is another programme's: never an airing). Each is one JSON line in the local log. Nothing but IDs,
//!   times, stream names and levels is in them: no audio, no URL, no error
//!   text (which can hold credentials).
//! * **Where it goes** ([`Output`]): the JSON-lines log (stdout or `--log`),
//!   always; with `--publish`, also the write-ahead [`spool`] and from
//!   there NATS JetStream ([`bus`]), each message under
//!   `hushmark.<agent>.airing.<stream>` or `hushmark.<agent>.event.<stream>`
//!   with a `Nats-Msg-Id` derived from what it reports ([`msg_id`]), so a
//!   re-send is never a second copy. Airings still open are checkpointed
//!   beside the spool ([`checkpoint`]): one open when the agent dies is
//!   published by the next run on that spool, marked `"ended":"agent_lost"`.
//! * **Reading it back** ([`airings`]): `hushmark airings --from nats://…`
//!   merges every agent's airings.
//! * **Configuration** ([`config`]): an agent's TOML file.

pub mod airings;
pub mod bus;
pub mod checkpoint;
pub mod config;
pub mod spool;
pub mod watch;

use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::airing::AiringRecord;

/// The JetStream stream of airings and events.
pub const LOG_STREAM: &str = "HUSHMARK";
/// The JetStream stream holding each agent's last heartbeat.
pub const HEARTBEAT_STREAM: &str = "HUSHMARK_HEARTBEAT";

/// A stream's state change or alarm: one JSON line, and one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub event: &'static str,
    pub stream: String,
    /// When it happened (UTC, to the second).
    pub utc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_db: Option<f64>,
    /// What the stream should carry: `any` or an ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// The ID that came back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_mark_utc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_s: Option<u64>,
    /// `stream_up`: when the outage began, and how long it lasted
    /// (`colliding`: how long the run of unreadable marks had lasted when
    /// first noted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_utc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap_s: Option<f64>,
    /// `undecodable`: the span lost, in seconds of the stream, and when it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_utc: Option<String>,
    /// The instant, exactly, for the message ID.
    #[serde(skip)]
    pub at: SystemTime,
}

impl Note {
    pub fn new(event: &'static str, stream: &str, at: SystemTime) -> Note {
        Note {
            event,
            stream: stream.to_string(),
            utc: crate::airing::utc(at),
            level_db: None,
            expect: None,
            id: None,
            last_mark_utc: None,
            missing_s: None,
            down_utc: None,
            gap_s: None,
            start_s: None,
            end_s: None,
            end_utc: None,
            at,
        }
    }

    pub fn level(mut self, db: f64) -> Note {
        self.level_db = Some((db * 10.0).round() / 10.0);
        self
    }
}

/// The heartbeat's body.
#[derive(Debug, Serialize)]
pub struct Heartbeat<'a> {
    pub agent: &'a str,
    pub utc: String,
    pub streams: usize,
    pub streams_up: usize,
    /// Messages in the spool not yet acknowledged.
    pub owed: usize,
    pub version: &'a str,
}

/// What goes on the bus: the record as logged, with the agent's name.
#[derive(Serialize)]
struct OnBus<'a, T: Serialize> {
    agent: &'a str,
    #[serde(flatten)]
    record: &'a T,
}

/// A name usable as one NATS subject token: letters, digits, `-` and `_`;
/// anything else becomes `_`.
pub fn token(name: &str) -> String {
    let t: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() {
        "_".into()
    } else {
        t
    }
}

/// `--agent`: given (and then it must be a clean token), or the host name.
pub fn agent_name(given: Option<&str>) -> Result<String> {
    match given {
        Some(name) => {
            if name.is_empty() || token(name) != name {
                bail!(
                    "agent name {name:?} must be letters, digits, '-' or '_' (it is a NATS subject token)"
                );
            }
            Ok(name.to_string())
        }
        None => {
            let mut buf = [0u8; 256];
            // SAFETY: gethostname writes at most buf.len() bytes into buf.
            let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let host = String::from_utf8_lossy(&buf[..end]).to_string();
            if !ok || host.is_empty() {
                bail!("cannot read the host name; give --agent NAME");
            }
            Ok(token(host.split('.').next().unwrap_or(&host)))
        }
    }
}

/// A message ID from the fields that identify what it reports: the same
/// airing always gets the same ID, so the broker stores it once however
/// often it is sent.
pub fn msg_id(parts: &[&str]) -> String {
    let mut h = siphasher::sip128::SipHasher13::new_with_keys(0x6875_7368, 0x6d61_726b);
    for p in parts {
        std::hash::Hasher::write(&mut h, p.as_bytes());
        std::hash::Hasher::write_u8(&mut h, 0xff);
    }
    let v = siphasher::sip128::Hasher128::finish128(&h).as_u128();
    format!("hm1-{v:032x}")
}

fn micros(t: SystemTime) -> String {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
        .to_string()
}

/// The message ID of an airing: agent, stream, ID and its first burst
/// (stream time to the microsecond, finer than a sample, and the wall
/// instant, so a stream clock that restarted cannot collide).
pub fn airing_msg_id(agent: &str, r: &AiringRecord) -> String {
    msg_id(&[
        agent,
        "airing",
        &r.stream,
        &r.id,
        &r.first_sample.to_string(),
        &micros(r.first_wall),
    ])
}

pub fn note_msg_id(agent: &str, n: &Note) -> String {
    msg_id(&[agent, n.event, &n.stream, &micros(n.at)])
}

/// The log, and the bus if publishing.
pub struct Output {
    log: Box<dyn Write>,
    log_path: Option<PathBuf>,
    bus: Option<bus::Bus>,
    agent: String,
    /// Streams up, for heartbeats.
    up: std::collections::BTreeSet<String>,
    streams: usize,
    /// Airings open now, when publishing.
    checkpoint: Option<checkpoint::Checkpoint>,
    /// A checkpoint write failed (said once).
    checkpoint_failed: bool,
}

impl Output {
    pub fn new(
        log: Box<dyn Write>,
        log_path: Option<PathBuf>,
        bus: Option<bus::Bus>,
        agent: String,
        streams: usize,
    ) -> Output {
        let checkpoint = bus
            .as_ref()
            .map(|b| checkpoint::Checkpoint::new(b.spool_dir()));
        Output {
            log,
            log_path,
            bus,
            agent,
            up: Default::default(),
            streams,
            checkpoint,
            checkpoint_failed: false,
        }
    }

    /// Publish the airings that were open when an earlier agent on this
    /// spool died (see [`checkpoint`]); how many.
    pub fn recover(&mut self) -> Result<usize> {
        let Some(spool) = self.bus.as_ref().map(|b| b.spool_dir().to_path_buf()) else {
            return Ok(0);
        };
        let mut recovered = 0;
        for left in checkpoint::left_behind(&spool) {
            let airings = match left.airings {
                Ok(a) => a,
                Err(e) => {
                    crate::ui::warn(format!(
                        "{e:#}; left as it is (airings open when process {} stopped may be lost)",
                        left.pid
                    ));
                    continue;
                }
            };
            let mut lines = Vec::new();
            if let Some(bus) = &self.bus {
                for a in airings {
                    // Already spooled: it closed after all, just before the end.
                    if !bus.owes(&a.msg_id) {
                        bus.send(a.subject, a.msg_id, a.data)?;
                        lines.push(a.log);
                    }
                }
            }
            for line in &lines {
                self.line(line)?;
            }
            recovered += lines.len();
            // Only once it is in the spool: a crash before this sends it
            // again, under the same message ID.
            std::fs::remove_file(&left.path)
                .with_context(|| format!("cannot remove {}", left.path.display()))?;
            crate::ui::note(format!(
                "{} airing(s) open when process {} stopped published as ended by agent_lost (from {})",
                lines.len(),
                left.pid,
                left.path.display()
            ));
        }
        Ok(recovered)
    }

    /// Whether open airings are checkpointed (only when publishing: the
    /// checkpoint lives in the spool).
    pub fn checkpointed(&self) -> bool {
        self.checkpoint.is_some()
    }

    /// `stream`'s open airing now (None: it closed), for the checkpoint.
    pub fn open(&mut self, stream: &str, r: Option<&AiringRecord>) -> Result<()> {
        if self.checkpoint.is_none() {
            return Ok(());
        }
        let lost = match r {
            Some(r) => {
                let r = AiringRecord {
                    ended: Some("agent_lost"),
                    ..r.clone()
                };
                Some(checkpoint::Lost {
                    msg_id: airing_msg_id(&self.agent, &r),
                    subject: self.airing_subject(&r),
                    data: serde_json::to_string(&OnBus {
                        agent: &self.agent,
                        record: &r,
                    })?,
                    log: r.to_json_line(),
                })
            }
            None => None,
        };
        if let Some(c) = self.checkpoint.as_mut() {
            c.set(stream, lost);
        }
        Ok(())
    }

    /// Write the checkpoint if it is due (call after [`Output::open`] and
    /// every so often). A failure does not stop the agent (closed airings
    /// still go through the spool): the warning to say is returned, once.
    pub fn tick(&mut self) -> Option<String> {
        let c = self.checkpoint.as_mut()?;
        match c.flush() {
            Ok(()) => {
                self.checkpoint_failed = false;
                None
            }
            Err(e) if !self.checkpoint_failed => {
                self.checkpoint_failed = true;
                Some(format!(
                    "{e:#}; an airing open when the agent dies would be lost"
                ))
            }
            Err(_) => None,
        }
    }

    fn airing_subject(&self, r: &AiringRecord) -> String {
        format!("hushmark.{}.airing.{}", self.agent, token(&r.stream))
    }

    fn line(&mut self, line: &str) -> Result<()> {
        writeln!(self.log, "{line}")
            .and_then(|_| self.log.flush())
            .with_context(|| match &self.log_path {
                Some(p) => format!("cannot write the log {}", p.display()),
                None => "cannot write to standard output".into(),
            })
    }

    /// The spool first (write-ahead), then the log: whatever the log
    /// shows is on its way to the broker.
    pub fn airing(&mut self, r: &AiringRecord) -> Result<()> {
        if let Some(bus) = &self.bus {
            let data = serde_json::to_string(&OnBus {
                agent: &self.agent,
                record: r,
            })?;
            bus.send(self.airing_subject(r), airing_msg_id(&self.agent, r), data)?;
        }
        self.line(&r.to_json_line())
    }

    pub fn note(&mut self, n: &Note) -> Result<()> {
        match n.event {
            "stream_up" => {
                self.up.insert(n.stream.clone());
            }
            "stream_down" => {
                self.up.remove(&n.stream);
            }
            _ => {}
        }
        if let Some(bus) = &self.bus {
            bus.set_streams(self.up.len(), self.streams);
            let data = serde_json::to_string(&OnBus {
                agent: &self.agent,
                record: n,
            })?;
            let subject = format!("hushmark.{}.event.{}", self.agent, token(&n.stream));
            bus.send(subject, note_msg_id(&self.agent, n), data)?;
        }
        self.line(&serde_json::to_string(n)?)
    }

    /// Stop publishing (after delivering what it can); the counts, if it
    /// published. Every airing is closed into the spool by now, so the
    /// checkpoint goes.
    pub fn close(mut self) -> Option<String> {
        if let Some(c) = self.checkpoint.as_mut() {
            if let Err(e) = c.remove() {
                crate::ui::warn(format!("{e:#}"));
            }
        }
        self.bus.map(|b| b.close())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_ids_are_stable() {
        assert_eq!(token("file:/a b.wav"), "file__a_b_wav");
        assert_eq!(token("news-1"), "news-1");
        assert!(agent_name(Some("site.a")).is_err());
        assert_eq!(agent_name(Some("site-a")).unwrap(), "site-a");
        assert!(!agent_name(None).unwrap().is_empty());
        // Fixed keys: the same airing gets the same ID in every build.
        assert_eq!(msg_id(&["a", "b"]), msg_id(&["a", "b"]));
        assert_ne!(msg_id(&["ab", ""]), msg_id(&["a", "b"]));
        assert_eq!(msg_id(&["a"]).len(), 36);
    }
}
