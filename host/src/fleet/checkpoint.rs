//! Open airings, checkpointed in the spool directory, so that an agent
//! killed mid-airing (SIGKILL, power cut) does not lose it.
//!
//! A closed airing is in the spool before anything else sees it; an open
//! one exists only in memory. So the agent also keeps `open-<pid>.json` in
//! its spool: every airing open now, rendered exactly as it would be
//! published if it ended at its last mark (subject, message ID, body with
//! `"ended":"agent_lost"`, log line). It is rewritten at once when an
//! airing opens or closes, and at most every [`EVERY`] while airings only
//! grow; always whole (temporary file, sync, rename). A clean stop closes
//! every airing into the spool and deletes the file.
//!
//! The next agent on the spool publishes what a dead agent's checkpoint
//! holds: a closed airing ending at its last-seen mark, under the message
//! ID the airing would have had when it closed (agent, stream, ID, first
//! burst), so the broker stores it once even if it had closed after all.
//! A checkpoint whose process still runs is left alone.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// How often a checkpoint of airings that only grew is rewritten.
pub const EVERY: Duration = Duration::from_secs(2);

/// One open airing, as it would be published and logged if it ended now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lost {
    pub msg_id: String,
    pub subject: String,
    /// The message body.
    pub data: String,
    /// The local log's line.
    pub log: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    pid: u32,
    airings: Vec<Lost>,
}

/// This agent's checkpoint.
pub struct Checkpoint {
    path: PathBuf,
    /// Open airings by stream.
    open: BTreeMap<String, Lost>,
    dirty: bool,
    /// An airing opened or closed since the last write.
    urgent: bool,
    written: Option<Instant>,
    /// Whether the file exists (so an empty set deletes it once).
    on_disk: bool,
}

fn name_of(pid: u32) -> String {
    format!("open-{pid}.json")
}

/// The writer's PID in a checkpoint's file name; None for other files
/// (among them the temporary files of a checkpoint being written).
fn pid_of(name: &str) -> Option<u32> {
    let pid = name.strip_prefix("open-")?.strip_suffix(".json")?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

impl Checkpoint {
    pub fn new(spool: &Path) -> Checkpoint {
        Checkpoint {
            path: spool.join(name_of(std::process::id())),
            open: BTreeMap::new(),
            dirty: false,
            urgent: false,
            written: None,
            on_disk: false,
        }
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `stream`'s open airing now (None: none is open).
    pub fn set(&mut self, stream: &str, airing: Option<Lost>) {
        let before = self.open.get(stream);
        if before == airing.as_ref() {
            return;
        }
        // Another airing (or none): write at once; the same one grown: soon.
        self.urgent |= before.map(|l| &l.msg_id) != airing.as_ref().map(|l| &l.msg_id);
        self.dirty = true;
        match airing {
            Some(l) => self.open.insert(stream.to_string(), l),
            None => self.open.remove(stream),
        };
    }

    /// Write the file if an airing opened or closed, or if it grew and the
    /// last write is [`EVERY`] old.
    pub fn flush(&mut self) -> Result<()> {
        let due = self.urgent || self.written.is_none_or(|w| w.elapsed() >= EVERY);
        if !self.dirty || !due {
            return Ok(());
        }
        if self.open.is_empty() {
            self.remove()?;
        } else {
            let saved = Saved {
                pid: std::process::id(),
                airings: self.open.values().cloned().collect(),
            };
            let mut tmp = crate::fsio::temp_beside(&self.path)?;
            serde_json::to_writer(&mut tmp, &saved)?;
            tmp.write_all(b"\n")
                .with_context(|| format!("cannot write {}", self.path.display()))?;
            crate::fsio::persist(tmp, &self.path, true)?;
            self.on_disk = true;
        }
        self.dirty = false;
        self.urgent = false;
        self.written = Some(Instant::now());
        Ok(())
    }

    /// Delete the file (a clean stop: every airing is closed into the spool).
    pub fn remove(&mut self) -> Result<()> {
        if self.on_disk {
            match fs::remove_file(&self.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot remove {}", self.path.display()))
                }
            }
            self.on_disk = false;
        }
        Ok(())
    }
}

/// A checkpoint a dead agent left in `spool`.
pub struct LeftBehind {
    pub path: PathBuf,
    pub pid: u32,
    /// Its airings, or why it cannot be read.
    pub airings: Result<Vec<Lost>>,
}

/// The checkpoints in `spool` whose writer is gone (never this process's
/// own, nor one whose process still runs).
pub fn left_behind(spool: &Path) -> Vec<LeftBehind> {
    let Ok(entries) = fs::read_dir(spool) else {
        return Vec::new();
    };
    let mut found: Vec<LeftBehind> = entries
        .flatten()
        .filter_map(|e| {
            let pid = pid_of(&e.file_name().to_string_lossy())?;
            if pid == std::process::id() || crate::fsio::process_alive(pid) {
                return None;
            }
            let path = e.path();
            let airings = fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))
                .and_then(|t| {
                    serde_json::from_str::<Saved>(&t).with_context(|| {
                        format!("{}: not an open-airings checkpoint", path.display())
                    })
                })
                .map(|s| s.airings);
            Some(LeftBehind { path, pid, airings })
        })
        .collect();
    found.sort_by_key(|l| l.pid);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost(id: &str, n: u32) -> Lost {
        Lost {
            msg_id: id.into(),
            subject: "hushmark.a.airing.s".into(),
            data: format!("{{\"bursts\":{n}}}"),
            log: format!("{{\"bursts\":{n}}}"),
        }
    }

    #[test]
    fn names_carry_the_writer_pid() {
        assert_eq!(pid_of("open-123.json"), Some(123));
        assert_eq!(pid_of(&name_of(7)), Some(7));
        for other in [
            "open-.json",
            "open-12a.json",
            ".open-123.json.partial-123-abcdef.json",
            "acked",
        ] {
            assert_eq!(pid_of(other), None, "{other}");
        }
    }

    #[test]
    fn a_dead_agents_checkpoint_is_found_and_a_live_ones_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Checkpoint::new(dir.path());
        c.set("s", Some(lost("m1", 1)));
        c.flush().unwrap();
        assert!(c.path().exists());
        // Ours (a live process): never taken.
        assert!(left_behind(dir.path()).is_empty());
        // The same file under a PID no process has (above pid_max).
        let dead = dir.path().join(name_of(99_999_999));
        fs::copy(c.path(), &dead).unwrap();
        fs::write(dir.path().join(name_of(99_999_998)), "{\"pid\":").unwrap();
        let found = left_behind(dir.path());
        assert_eq!(found.len(), 2);
        let damaged = found[0].airings.as_ref().unwrap_err().to_string();
        assert!(damaged.contains("99999998.json"), "{damaged}");
        assert_eq!(found[1].airings.as_ref().unwrap(), &[lost("m1", 1)]);
        // Growth alone waits for EVERY; a close writes at once and the
        // last close deletes the file.
        c.set("s", Some(lost("m1", 2)));
        c.flush().unwrap();
        c.set("s", None);
        c.flush().unwrap();
        assert!(!c.path().exists());
        // No temporary file is left behind.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
