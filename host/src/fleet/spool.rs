//! The write-ahead spool: every message is on disk before it is sent.
//!
//! A directory holds segments `seg-<first seq>.jsonl`, one message a line
//! (`{"seq", "msg_id", "subject", "data"}`), appended and fsynced before
//! the publisher sees the message, and `acked`, the highest sequence number
//! the broker acknowledged (replaced atomically). Messages are sent in
//! sequence order, so everything after `acked` is what is still owed. After
//! a crash the segments are read back: a torn last line (the process died
//! mid-write) is cut off, and what follows `acked` is sent again under the
//! same message ID, which the broker's duplicate window drops if it had
//! already stored it. Segments wholly acknowledged are deleted. A lock file
//! (`flock`) keeps two agents out of one spool. The agent's checkpoint of
//! airings still open lives beside them ([`super::checkpoint`]).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// A segment is closed past this size.
const SEGMENT_BYTES: u64 = 1 << 20;

/// One message owed to the broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub msg_id: String,
    pub subject: String,
    pub data: String,
    /// When this run wrote it (None: owed from an earlier run).
    #[serde(skip)]
    pub written: Option<std::time::Instant>,
}

pub struct Spool {
    dir: PathBuf,
    _lock: File,
    /// The segment being appended to, with its first sequence and size.
    current: Option<(File, u64, u64)>,
    /// Segments by first sequence, oldest first.
    segments: Vec<u64>,
    /// Unacknowledged messages, in order.
    owed: VecDeque<Entry>,
    next_seq: u64,
    acked: u64,
}

impl Spool {
    /// Open (or create) the spool in `dir`, reading back what is owed.
    pub fn open(dir: &Path) -> Result<Spool> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the spool directory {}", dir.display()))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .with_context(|| format!("cannot write in the spool directory {}", dir.display()))?;
        // SAFETY: flock on a file descriptor we own.
        if unsafe {
            libc::flock(
                std::os::fd::AsRawFd::as_raw_fd(&lock),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        } != 0
        {
            bail!(
                "the spool {} is in use by another hushmark agent; give each agent its own --spool",
                dir.display()
            );
        }
        let acked = match fs::read_to_string(dir.join("acked")) {
            Ok(t) => t.trim().parse::<u64>().with_context(|| {
                format!("{}: not a sequence number", dir.join("acked").display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => {
                return Err(e).context(format!("cannot read {}", dir.join("acked").display()))
            }
        };
        let mut segments: Vec<u64> = fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_prefix("seg-")?
                    .strip_suffix(".jsonl")?
                    .parse()
                    .ok()
            })
            .collect();
        segments.sort_unstable();
        let mut owed = VecDeque::new();
        let mut last_seq = acked;
        for (i, &first) in segments.iter().enumerate() {
            let path = segment_path(dir, first);
            let last_segment = i + 1 == segments.len();
            let good = read_segment(&path, |e| {
                last_seq = last_seq.max(e.seq);
                if e.seq > acked {
                    owed.push_back(e);
                }
            })?;
            let len = fs::metadata(&path)?.len();
            if good < len {
                if last_segment {
                    tracing::warn!(
                        "{}: cutting off a torn last line (the agent stopped mid-write)",
                        path.display()
                    );
                    OpenOptions::new().write(true).open(&path)?.set_len(good)?;
                } else {
                    tracing::warn!("{}: damaged line skipped", path.display());
                }
            }
        }
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            _lock: lock,
            current: None,
            segments,
            owed,
            next_seq: last_seq + 1,
            acked,
        };
        spool.prune()?;
        Ok(spool)
    }

    /// Append a message and sync it to disk; returns its sequence number.
    pub fn append(&mut self, msg_id: String, subject: String, data: String) -> Result<u64> {
        let entry = Entry {
            seq: self.next_seq,
            msg_id,
            subject,
            data,
            written: Some(std::time::Instant::now()),
        };
        let mut line = serde_json::to_string(&entry)?;
        line.push('\n');
        if self
            .current
            .as_ref()
            .is_none_or(|(_, _, size)| *size >= SEGMENT_BYTES)
        {
            let path = segment_path(&self.dir, entry.seq);
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            self.segments.push(entry.seq);
            self.current = Some((f, entry.seq, 0));
            sync_dir(&self.dir);
        }
        let (f, _, size) = self.current.as_mut().expect("a segment is open");
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_data())
            .with_context(|| format!("cannot write the spool in {}", self.dir.display()))?;
        *size += line.len() as u64;
        self.next_seq += 1;
        self.owed.push_back(entry);
        Ok(self.next_seq - 1)
    }

    /// Messages owed, oldest first.
    pub fn owed(&self) -> &VecDeque<Entry> {
        &self.owed
    }

    /// The broker has stored everything up to `seq`.
    pub fn ack(&mut self, seq: u64) -> Result<()> {
        if seq <= self.acked {
            return Ok(());
        }
        while self.owed.front().is_some_and(|e| e.seq <= seq) {
            self.owed.pop_front();
        }
        self.acked = seq;
        let tmp = self.dir.join("acked.tmp");
        fs::write(&tmp, format!("{seq}\n"))
            .and_then(|()| File::open(&tmp)?.sync_all())
            .and_then(|()| fs::rename(&tmp, self.dir.join("acked")))
            .with_context(|| format!("cannot update {}", self.dir.join("acked").display()))?;
        self.prune()
    }

    /// Delete segments every message of which is acknowledged.
    fn prune(&mut self) -> Result<()> {
        let current = self.current.as_ref().map(|(_, first, _)| *first);
        while let Some(&first) = self.segments.first() {
            // A segment's last message is the one before the next segment's first.
            let last = match self.segments.get(1) {
                Some(next) => next - 1,
                None => self.next_seq - 1,
            };
            if last > self.acked || Some(first) == current {
                break;
            }
            self.segments.remove(0);
            let _ = fs::remove_file(segment_path(&self.dir, first));
        }
        Ok(())
    }
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("seg-{first:020}.jsonl"))
}

/// Read whole lines; returns the byte length of the good prefix.
fn read_segment(path: &Path, mut each: impl FnMut(Entry)) -> Result<u64> {
    let f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut r = BufReader::new(f);
    let mut good = 0u64;
    let mut line = String::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        match serde_json::from_str::<Entry>(&line) {
            Ok(e) => each(e),
            Err(_) => break,
        }
        good += n as u64;
    }
    Ok(good)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owed_messages_survive_a_restart_and_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = Spool::open(dir.path()).unwrap();
            for k in 0..5 {
                s.append(format!("m{k}"), "a.b".into(), format!("{{\"k\":{k}}}"))
                    .unwrap();
            }
            s.ack(2).unwrap();
            assert!(
                Spool::open(dir.path()).is_err(),
                "a second agent is kept out"
            );
        }
        // A crash mid-write leaves half a line.
        let seg = segment_path(dir.path(), 1);
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(b"{\"seq\":6,\"msg_id\":\"m").unwrap();
        drop(f);
        let mut s = Spool::open(dir.path()).unwrap();
        let owed: Vec<u64> = s.owed().iter().map(|e| e.seq).collect();
        assert_eq!(owed, [3, 4, 5]);
        assert_eq!(s.owed()[0].msg_id, "m2");
        assert_eq!(s.append("m5".into(), "a.b".into(), "{}".into()).unwrap(), 6);
        s.ack(6).unwrap();
        assert!(s.owed().is_empty());
        drop(s);
        let s = Spool::open(dir.path()).unwrap();
        assert!(s.owed().is_empty());
        // Everything acknowledged: no segment is left but the one reopened.
        let segs = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("seg-")
            })
            .count();
        assert!(segs <= 1, "{segs} segments left");
    }
}
