//! `hushmark monitor`: the agent that logs what aired.
//!
//! Every layer asked (`--profile ultrasonic+robust`) runs on every source,
//! and an airing is one airing whichever layers saw it (see
//! [`crate::airing`]); the robust layer's per-second verdicts on known IDs
//! (decoded, or issued and listed with `--expect`) confirm and end airings
//! to the second.
//!
//! Every source (file, stdin, input device) runs in its own thread with its
//! own scanner and airing tracker, so several streams use several cores.
//! Threads send closed airings to the main thread, which alone writes the
//! log: one JSON line per airing, flushed and synced as it is written, so a
//! power cut loses at most the airing in progress. Audio never leaves the
//! source thread and is never stored. A device that comes back after a loss
//! carries on its stream time, and its airing unless it was away longer than
//! `--gap` (see [`crate::scan::start_live`]).
//!
//! Wall clock: live sources stamp each block with the time it arrived, so
//! long runs follow the real clock even when the sound card's clock drifts.
//! Stdin runs on its samples from one start (`--start-time`, or when its
//! first block arrived), as it may come faster than real time. File sources
//! use `--start-time`, or the file's modification time minus its length (a
//! recording is last written when it ends).

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use dsp_core::{Id, Sample};

use crate::airing::{AiringRecord, AiringTracker, WallClock};
use crate::audio::decode::AudioFile;
use crate::cli::{HostChoice, MonitorArgs, RawFormat};
use crate::fleet::config::Source;
use crate::live::{run_input, InputEvent};
use crate::scan::{check_channels, start_live, Report, Scanner, Search};
use crate::stream::{run_url, UrlEvent, UrlOptions};
use crate::{ui, Outcome};

enum Event {
    Airing(AiringRecord),
    /// A stream event or alarm ([`crate::fleet::Note`]).
    Note(crate::fleet::Note),
    /// The stream's open airing changed (None: none is open now), for the
    /// checkpoint that outlives a killed agent.
    Open {
        stream: String,
        airing: Option<AiringRecord>,
    },
    Done {
        stream: String,
        error: Option<String>,
    },
}

/// What the status line shows for one stream.
#[derive(Debug, Clone, Default)]
struct Status {
    seconds: f64,
    /// Marks found, of any layer.
    bursts: u64,
    airing: Option<Id>,
    state: &'static str,
}

type Board = Arc<Mutex<Vec<(String, Status)>>>;

/// One source's scanner and tracker: blocks in, airings out.
struct Agent {
    name: String,
    search: Search,
    scanner: Option<Scanner>,
    tracker: AiringTracker,
    clock: WallClock,
    found: Vec<Report>,
    tx: Sender<Event>,
    board: Board,
    slot: usize,
    bursts: u64,
    /// Silence and missing-mark alarms, for watched streams.
    watch: Option<crate::fleet::watch::Watch>,
    format: (u32, usize),
    notes: Vec<crate::fleet::Note>,
    /// Start (source frame) of the collision run last noted.
    colliding: Option<u64>,
    /// Whether the writer keeps a checkpoint of open airings (publishing):
    /// without one, [`Event::Open`] is not worth making.
    checkpointed: bool,
    /// The tracker's change count last reported as [`Event::Open`].
    open_sent: u64,
}

impl Agent {
    fn new(name: String, search: Search, gap: f64, tx: Sender<Event>, board: Board) -> Agent {
        let slot = {
            let mut b = board.lock().unwrap_or_else(|e| e.into_inner());
            b.push((
                name.clone(),
                Status {
                    state: "starting",
                    ..Default::default()
                },
            ));
            b.len() - 1
        };
        Agent {
            tracker: AiringTracker::new(name.clone(), gap, 0.0),
            name,
            search,
            scanner: None,
            clock: WallClock {
                stream_s: 0.0,
                wall: SystemTime::now(),
            },
            found: Vec::new(),
            tx,
            board,
            slot,
            bursts: 0,
            watch: None,
            format: (0, 0),
            notes: Vec::new(),
            colliding: None,
            checkpointed: false,
            open_sent: 0,
        }
    }

    /// Start scanning at `rate` Hz, `channels` channels; after a device
    /// reopened, carry on (the airing too), restarting only if the format
    /// changed.
    fn start(&mut self, rate: u32, channels: usize) -> Result<()> {
        let notes = start_live(
            &mut self.scanner,
            &self.search,
            rate,
            channels,
            &mut self.found,
        )
        .map_err(|e| anyhow!("{}: {e}", self.name))?;
        for n in notes {
            ui::note(format!("{}: {n}", self.name));
        }
        if let Some(s) = self.scanner.as_ref() {
            self.tracker.set_latency_s(s.latency_s());
        }
        self.format = (rate, channels);
        self.deliver()?;
        self.set_state("running");
        Ok(())
    }

    fn push(&mut self, block: &[f32], arrival: Option<SystemTime>) -> Result<()> {
        let Some(s) = self.scanner.as_mut() else {
            bail!("{}: audio before the stream was set up", self.name);
        };
        s.push(block, &mut self.found)?;
        if let Some(wall) = arrival {
            self.clock = WallClock {
                stream_s: s.position_s(),
                wall,
            };
        }
        let now = s.position_s();
        if let Some(w) = self.watch.as_mut() {
            let (rate, channels) = self.format;
            let clock = self.clock;
            w.audio(block, channels, rate, now, |t| clock.at(t), &mut self.notes);
        }
        self.deliver()?;
        if let Some(r) = self.tracker.tick(now) {
            self.send(r)?;
        }
        self.sync_open()?;
        self.update_board(now);
        Ok(())
    }

    /// Report the open airing if it changed (after any airing it closed).
    fn sync_open(&mut self) -> Result<()> {
        let changes = self.tracker.changes();
        if !self.checkpointed || changes == self.open_sent {
            return Ok(());
        }
        self.open_sent = changes;
        self.tx
            .send(Event::Open {
                stream: self.name.clone(),
                airing: self.tracker.snapshot(),
            })
            .map_err(|_| anyhow!("the log writer stopped"))
    }

    /// Audio lost to undecodable packets: a warning, an `undecodable` event
    /// with its span, and the scanner moved past it.
    fn gap(&mut self, gap: crate::audio::decode::Gap, rate: u32) -> Result<()> {
        let start_s = gap.start_frame as f64 / rate as f64;
        let end_s = (gap.start_frame + gap.frames) as f64 / rate as f64;
        ui::warn(format!(
            "{}: undecodable audio from {start_s:.3} s to {end_s:.3} s skipped (damaged packet)",
            self.name
        ));
        let mut n = crate::fleet::Note::new("undecodable", &self.name, self.clock.at(start_s));
        n.start_s = Some((start_s * 1000.0).round() / 1000.0);
        n.end_s = Some((end_s * 1000.0).round() / 1000.0);
        n.end_utc = Some(crate::airing::utc(self.clock.at(end_s)));
        self.notes.push(n);
        self.skip(gap.frames)
    }

    fn skip(&mut self, frames: u64) -> Result<()> {
        if let Some(s) = self.scanner.as_mut() {
            s.skip(frames, &mut self.found)?;
        }
        self.deliver()
    }

    fn deliver(&mut self) -> Result<()> {
        // Taken and put back, so the list keeps its capacity.
        let mut found = std::mem::take(&mut self.found);
        for report in found.drain(..) {
            let wall = self.clock.at(report.start_s());
            let (id, marked) = match &report {
                Report::Found(f) => (f.detection.id, true),
                Report::Verdict(v) => (v.presence.id, v.presence.present),
                Report::Colliding(c) => {
                    // One note per run, when it is first seen.
                    if self.colliding != Some(c.start_frame) {
                        self.colliding = Some(c.start_frame);
                        let mut n = crate::fleet::Note::new("colliding", &self.name, wall);
                        n.gap_s = Some((c.end_s - c.start_s).max(0.0));
                        self.notes.push(n);
                    }
                    continue;
                }
                Report::Transplanted(t) => {
                    // Never an airing: a note naming the lifted ID.
                    let mut n = crate::fleet::Note::new("transplanted", &self.name, wall);
                    n.id = Some(t.found.detection.id.to_string());
                    self.notes.push(n);
                    continue;
                }
            };
            if marked {
                if let (Some(w), Some(s)) = (self.watch.as_mut(), self.scanner.as_ref()) {
                    w.burst(id, report.start_s(), s.position_s(), wall, &mut self.notes);
                }
            }
            let closed = match report {
                Report::Found(f) => {
                    self.bursts += 1;
                    let d = f.detection;
                    self.tracker.burst(d.id, d.profile, f.start_s, wall)
                }
                Report::Verdict(v) => {
                    let p = v.presence;
                    self.bursts += p.present as u64;
                    self.tracker
                        .presence(p.id, p.present, v.start_s, v.end_s, wall)
                }
                Report::Colliding(_) | Report::Transplanted(_) => None,
            };
            if let Some(r) = closed {
                self.send(r)?;
            }
        }
        self.found = found;
        self.sync_open()?;
        self.send_notes()
    }

    fn send_notes(&mut self) -> Result<()> {
        for n in self.notes.drain(..) {
            self.tx
                .send(Event::Note(n))
                .map_err(|_| anyhow!("the log writer stopped"))?;
        }
        Ok(())
    }

    fn send(&self, r: AiringRecord) -> Result<()> {
        self.tx
            .send(Event::Airing(r))
            .map_err(|_| anyhow!("the log writer stopped"))
    }

    fn flush_scanner(&mut self) -> Result<()> {
        if let Some(s) = self.scanner.as_mut() {
            s.finish(&mut self.found)?;
        }
        self.deliver()?;
        if let Some(r) = self.tracker.close() {
            self.send(r)?;
        }
        self.sync_open()
    }

    /// End of stream (or stop): decode what is pending, close the airing.
    fn finish(mut self, error: Option<String>) {
        let flushed = self.flush_scanner();
        let error = error.or_else(|| flushed.err().map(|e| format!("{e:#}")));
        self.set_state(if error.is_some() { "failed" } else { "done" });
        let _ = self.tx.send(Event::Done {
            stream: self.name.clone(),
            error,
        });
    }

    fn set_state(&self, state: &'static str) {
        if let Ok(mut b) = self.board.lock() {
            b[self.slot].1.state = state;
        }
    }

    fn update_board(&self, seconds: f64) {
        if let Ok(mut b) = self.board.lock() {
            let st = &mut b[self.slot].1;
            st.seconds = seconds;
            st.bursts = self.bursts;
            st.airing = self.tracker.current();
        }
    }
}

pub fn run(args: &MonitorArgs) -> Result<Outcome> {
    let plan = crate::fleet::config::plan(args)?;
    if plan.sources.is_empty() && !args.stdin {
        bail!(
            "nothing to monitor: give --file, --device, --url, --stdin or --config (see `hushmark monitor --help`)"
        );
    }
    if args.stdin {
        check_channels(args.channels as usize).context("--channels")?;
        if let Some(rate) = args.rate {
            crate::rates::check_rate(rate).context("--rate")?;
        }
    }
    let start_time = match &args.start_time {
        Some(t) => Some(humantime::parse_rfc3339_weak(t).map_err(|e| {
            anyhow!("--start-time {t:?} is not an RFC 3339 time ({e}); e.g. 2024-05-01T06:00:00Z")
        })?),
        None => None,
    };
    let key = crate::key::load(&plan.key)?;
    // The profiles may come from the config file; --expect from the command line.
    let mut search = Search::from_args(&args.search, key)?;
    search.profiles = plan.profiles.clone();
    search.check_binding = args.search.check_binding_for(&search.profiles);
    if !search.expected.is_empty() && !search.profiles.contains(&dsp_core::Profile::Robust) {
        anyhow::bail!(
            "--expect confirms IDs in the robust layer: the config's profile must include robust"
        );
    }
    let stop = ui::stop_after(args.duration)?;
    let stop: Arc<dyn Fn() -> bool + Send + Sync> = Arc::new(stop);

    let log: Box<dyn Write> = match &plan.log {
        Some(path) => {
            let mut options = OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o640);
            }
            Box::new(
                options
                    .open(path)
                    .with_context(|| format!("cannot open the log {}", path.display()))?,
            )
        }
        None => Box::new(std::io::stdout()),
    };
    let bus = plan
        .bus
        .clone()
        .map(crate::fleet::bus::Bus::start)
        .transpose()?;
    let streams = plan.sources.len() + usize::from(args.stdin);
    let mut out =
        crate::fleet::Output::new(log, plan.log.clone(), bus, plan.agent.clone(), streams);
    let recovered = out.recover()?;
    let checkpointed = out.checkpointed();

    let (tx, rx) = mpsc::channel::<Event>();
    let board: Board = Arc::new(Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut unique = |base: String| {
        let mut name = base.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{base}#{k}");
            k += 1;
        }
        names.push(name.clone());
        name
    };
    let mut agent = |base: String| {
        let mut a = Agent::new(
            unique(base),
            search.clone(),
            plan.gap,
            tx.clone(),
            board.clone(),
        );
        a.watch = plan.watch_for(&a.name);
        a.checkpointed = checkpointed;
        a
    };
    for (name, source) in &plan.sources {
        let agent = agent(name.clone());
        let stop = stop.clone();
        let thread = agent.name.clone();
        threads.push(match source.clone() {
            Source::File(path) => spawn(&thread, move || scan_file(agent, path, start_time, stop))?,
            Source::Device(device) => {
                let host = args.host.choice;
                spawn(&thread, move || scan_device(agent, host, device, stop))?
            }
            Source::Url { url, options } => {
                let mut opts = plan.url.clone();
                opts.input_options = options;
                spawn(&thread, move || scan_url(agent, url, opts, stop))?
            }
        });
    }
    if args.stdin {
        let agent = agent("stdin".into());
        let (rate, channels, format) = (
            args.rate.unwrap_or(48_000),
            args.channels as usize,
            args.format,
        );
        let stop = stop.clone();
        threads.push(spawn("stdin", move || {
            scan_stdin(agent, rate, channels, format, start_time, stop)
        })?);
    }
    drop(tx);

    let status = crate::progress::status_line();
    let mut failures = 0;
    let mut airings = recovered as u64;
    loop {
        match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(Event::Airing(r)) => {
                airings += 1;
                tracing::info!(
                    "{}: airing of {} closed ({} bursts, {} robust periods, {} s confirmed)",
                    r.stream,
                    r.id,
                    r.bursts,
                    r.periods,
                    r.confirmed_s
                );
                status.suspend(|| out.airing(&r))?;
            }
            Ok(Event::Note(n)) => {
                tracing::info!("{}: {}", n.stream, n.event);
                status.suspend(|| out.note(&n))?;
            }
            Ok(Event::Open { stream, airing }) => {
                out.open(&stream, airing.as_ref())?;
            }
            Ok(Event::Done { stream, error }) => match error {
                Some(e) => {
                    failures += 1;
                    status.suspend(|| ui::error(&e));
                }
                None => tracing::info!("{stream}: finished"),
            },
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        // Airings that only grew are checkpointed every few seconds.
        if let Some(w) = out.tick() {
            status.suspend(|| ui::warn(w));
        }
        status.set_message(status_text(&board, airings));
    }
    status.finish_and_clear();
    for t in threads {
        let _ = t.join();
    }
    if let Some(counts) = out.close() {
        ui::note(counts);
    }
    ui::note(format!(
        "monitor: {airings} airing(s) logged{}",
        plan.log
            .as_ref()
            .map(|p| format!(" to {}", p.display()))
            .unwrap_or_default()
    ));
    // Ctrl-C and SIGTERM are how an agent is stopped: a clean stop, not an error.
    Ok(if failures > 0 {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

fn status_text(board: &Board, airings: u64) -> String {
    let b = board.lock().unwrap_or_else(|e| e.into_inner());
    let parts: Vec<String> = b
        .iter()
        .map(|(name, s)| {
            let airing = s
                .airing
                .map(|id| {
                    let id = id.to_string();
                    format!(" airing {}…", &id[..id.len().min(8)])
                })
                .unwrap_or_default();
            format!(
                "{name} {} {} {} mark(s){airing}",
                s.state,
                ui::duration(s.seconds),
                s.bursts
            )
        })
        .collect();
    format!("{airings} airing(s) | {}", parts.join(" | "))
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name(name.chars().take(15).collect())
        .spawn(f)
        .context("cannot start a source thread")
}

fn scan_file(
    mut agent: Agent,
    path: PathBuf,
    start_time: Option<SystemTime>,
    stop: Arc<dyn Fn() -> bool + Send + Sync>,
) {
    let result = (|| -> Result<()> {
        let mut file = match AudioFile::open(&path) {
            Ok(f) => f,
            // A FIFO whose writer never came: asked to stop, so no failure.
            Err(_) if stop() => {
                ui::note(format!("{}: stopped before any audio came", agent.name));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let info = file.info().clone();
        agent.start(info.rate, info.channels)?;
        let anchor = match start_time {
            Some(t) => t,
            None => {
                let mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
                match (mtime, info.frames) {
                    (Some(m), Some(frames)) => {
                        let start = m
                            .checked_sub(Duration::from_secs_f64(info.seconds(frames)))
                            .unwrap_or(m);
                        ui::note(format!(
                            "{}: taking its start as {} (modification time minus its length); \
                             --start-time sets it",
                            agent.name,
                            crate::airing::utc(start)
                        ));
                        start
                    }
                    _ => SystemTime::now(),
                }
            }
        };
        agent.clock = WallClock {
            stream_s: 0.0,
            wall: anchor,
        };
        let mut stopped = false;
        let mut gaps = Vec::new();
        while let Some(block) = file.next_block_and_gaps(&mut gaps)? {
            if stop() {
                stopped = true;
                break;
            }
            // Packets skipped before this block: said, logged, and kept on
            // the stream's clock.
            for gap in gaps.drain(..) {
                agent.gap(gap, info.rate)?;
            }
            agent.push(block, None)?;
        }
        for gap in file.take_gaps() {
            agent.gap(gap, info.rate)?;
        }
        if stopped {
            ui::note(format!(
                "{}: stopped after {}",
                agent.name,
                ui::duration(info.seconds(file.decoded_frames()))
            ));
            return Ok(());
        }
        if file.decoded_frames() == 0 {
            bail!("{} holds no audio (0 samples)", path.display());
        }
        if let Some(t) = file.truncation() {
            bail!("{t}; what was there was scanned and logged");
        }
        Ok(())
    })();
    agent.finish(result.err().map(|e| format!("{e:#}")));
}

fn scan_stdin(
    mut agent: Agent,
    rate: u32,
    channels: usize,
    format: RawFormat,
    start_time: Option<SystemTime>,
    stop: Arc<dyn Fn() -> bool + Send + Sync>,
) {
    let bytes_per_sample = match format {
        RawFormat::F32le => 4,
        RawFormat::S16le => 2,
    };
    // 4096 frames a read.
    let read_bytes = 4096 * bytes_per_sample * channels;
    let frame_bytes = bytes_per_sample * channels;
    // Read on a separate thread: a blocked read must not keep the agent from
    // closing its airing when the user stops. Buffers go back to the reader
    // when scanned, so reading allocates only the few in flight.
    let in_flight = 8;
    let (btx, brx) = mpsc::sync_channel::<(Vec<u8>, SystemTime)>(in_flight);
    let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<u8>>(in_flight + 2);
    let reader = thread::Builder::new()
        .name("stdin-reader".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            loop {
                let mut buf = spare_rx.try_recv().unwrap_or_default();
                buf.resize(read_bytes, 0);
                let mut filled = 0;
                while filled < buf.len() {
                    match stdin.read(&mut buf[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    }
                }
                buf.truncate(filled);
                let end = filled < read_bytes;
                if btx.send((buf, SystemTime::now())).is_err() || end {
                    return;
                }
            }
        });
    let result = (|| -> Result<()> {
        reader.context("cannot start the stdin reader")?;
        agent.start(rate, channels)?;
        let mut samples = Vec::new();
        let mut leftover = 0usize;
        let mut anchored = false;
        loop {
            if stop() {
                break;
            }
            let (bytes, arrival) = match brx.recv_timeout(Duration::from_millis(200)) {
                Ok(b) => b,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let whole = bytes.len() / frame_bytes * frame_bytes;
            leftover = bytes.len() - whole;
            samples.clear();
            match format {
                RawFormat::F32le => samples.extend(
                    bytes[..whole]
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                ),
                RawFormat::S16le => samples.extend(
                    bytes[..whole]
                        .chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]]).to_unit()),
                ),
            }
            if !samples.is_empty() {
                // Stream time from one anchor: stdin may come faster (a file
                // piped in) or slower than real time, and its samples are
                // the clock.
                let first = !anchored;
                if first {
                    anchored = true;
                    agent.clock = WallClock {
                        stream_s: 0.0,
                        wall: start_time.unwrap_or(arrival),
                    };
                }
                agent.push(&samples, None)?;
            }
            if bytes.len() < read_bytes {
                break;
            }
            let _ = spare_tx.try_send(bytes);
        }
        if leftover > 0 {
            ui::warn(format!(
                "stdin ended inside a frame ({leftover} stray byte(s)); check --channels and --format"
            ));
        }
        Ok(())
    })();
    agent.finish(result.err().map(|e| format!("{e:#}")));
}

fn scan_device(
    mut agent: Agent,
    host: HostChoice,
    device: String,
    stop: Arc<dyn Fn() -> bool + Send + Sync>,
) {
    let name = if device == "default" {
        None
    } else {
        Some(device.as_str())
    };
    let result = run_input(
        host,
        name,
        || stop(),
        |event| {
            match event {
                InputEvent::Started { capture, reopened } => {
                    agent.start(capture.chosen.rate(), capture.chosen.channels())?;
                    if reopened {
                        ui::note(format!("{}: capturing again", agent.name));
                    } else {
                        ui::note(format!(
                            "{}: capturing from {} ({}, {})",
                            agent.name,
                            capture.name,
                            capture.host,
                            capture.chosen.describe()
                        ));
                    }
                    agent.set_state("running");
                }
                InputEvent::Block(samples, arrival) => agent.push(samples, Some(arrival))?,
                InputEvent::Gap(frames) => agent.skip(frames)?,
                InputEvent::Lost(reason) => {
                    ui::warn(format!("{}: {reason}; reopening it", agent.name));
                    agent.set_state("reopening");
                }
                InputEvent::Xruns(total) => {
                    ui::warn(format!("{}: xrun (audio lost), {total} so far", agent.name));
                }
            }
            Ok(())
        },
    );
    let error = result.err().map(|e| format!("{}: {e:#}", agent.name));
    agent.finish(error);
}

/// A `--url` stream: ffmpeg's PCM into the agent; outages become
/// `stream_down`/`stream_up` notes and a gap in stream time, so an airing
/// survives a short outage and one longer than `--gap` closes.
fn scan_url(
    mut agent: Agent,
    url: String,
    opts: UrlOptions,
    stop: Arc<dyn Fn() -> bool + Send + Sync>,
) {
    let result = run_url(&url, &opts, stop, |event| {
        match event {
            UrlEvent::Started { reopened } => {
                agent.start(crate::stream::RATE, crate::stream::CHANNELS)?;
                if !reopened {
                    ui::note(format!("{}: receiving", agent.name));
                }
            }
            UrlEvent::Block(samples, arrival) => agent.push(samples, Some(arrival))?,
            UrlEvent::Down { reason, last_audio } => {
                ui::warn(format!("{}: down ({reason}); restarting it", agent.name));
                agent.set_state("down");
                if let Some(w) = agent.watch.as_mut() {
                    w.down();
                }
                agent.notes.push(crate::fleet::Note::new(
                    "stream_down",
                    &agent.name,
                    last_audio,
                ));
                agent.send_notes()?;
            }
            UrlEvent::Up { down_since: None } => {
                let n = crate::fleet::Note::new("stream_up", &agent.name, SystemTime::now());
                agent.notes.push(n);
                agent.send_notes()?;
            }
            UrlEvent::Up {
                down_since: Some(down_since),
            } => {
                let now = SystemTime::now();
                let gap = now.duration_since(down_since).unwrap_or_default();
                ui::note(format!(
                    "{}: up again after {}",
                    agent.name,
                    ui::duration(gap.as_secs_f64())
                ));
                // Stream time runs on over the outage (the scanner starts afresh).
                let lost = (gap.as_secs_f64() * crate::stream::RATE as f64) as u64;
                agent.skip(lost)?;
                let position = agent.scanner.as_ref().map_or(0.0, |s| s.position_s());
                if let Some(r) = agent.tracker.tick(position) {
                    agent.send(r)?;
                }
                agent.sync_open()?;
                let mut n = crate::fleet::Note::new("stream_up", &agent.name, now);
                n.down_utc = Some(crate::airing::utc(down_since));
                n.gap_s = Some((gap.as_secs_f64() * 10.0).round() / 10.0);
                agent.notes.push(n);
                agent.send_notes()?;
                agent.set_state("running");
            }
        }
        Ok(())
    });
    agent.finish(result.err().map(|e| format!("{e:#}")));
}
