//! `hushmark passthrough`: line-in -> mark -> line-out in real time.
//!
//! The input callback converts and maps channels, then pushes into a ring;
//! the output callback pulls, marks (embedder clocked by output frames, so
//! the mark is continuous whatever happens upstream) and plays. The queue
//! between them is kept near its target: two output buffers, or one output
//! buffer plus the largest block the input has delivered (sound servers
//! often capture in bigger pieces than they play), whichever is larger:
//!
//! * *underrun*: the output found too little; it plays what there is plus
//!   silence and waits for the queue to refill;
//! * *overrun*: the input found the ring full and dropped frames;
//! * *resync*: the queue grew far past its target (two sound cards on
//!   different clocks); frames are dropped back to the target.
//!
//! Added latency = capture (ADC to input callback) + queue + the embedder's
//! own delay (the robust layer's analysis frame; 0 for ultrasonic alone) +
//! playback (output callback to DAC), from cpal's stream timestamps, the
//! queue fill and the embedder.
//! If either device goes away, both streams are closed and reopened; the
//! reopened session's embedder starts its schedule afresh. The summary adds
//! up what each session's embedder did: bursts completed, robust frames
//! marked.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use cpal::traits::StreamTrait;
use dsp_core::config::SAMPLE_RATES;

use super::format::{
    channel_preference, choose_config, default_config, map_channels, rate_preference,
};
use super::host::open_host;
use super::lookup::{device_names, find_device, Direction, Presence};
use super::reconnect::sleep_unless;
use super::stream::{build_input, build_output, push_frames, StreamHealth};
use crate::cli::PassthroughArgs;
use crate::embed::MarkPlan;
use crate::{key, ui, Outcome};

#[derive(Default)]
struct Counters {
    overruns: AtomicU64,
    underruns: AtomicU64,
    resyncs: AtomicU64,
    capture_us: AtomicU64,
    playback_us: AtomicU64,
    queue_frames: AtomicU64,
    /// Output frames played (marked).
    played: AtomicU64,
    /// Bursts the embedder completed, of them lowered and without room, and
    /// the largest lowering (f32 bits, dB).
    bursts: AtomicU64,
    lowered: AtomicU64,
    no_room: AtomicU64,
    lowering_db: AtomicU32,
    /// Robust frames the embedder marked.
    robust_frames: AtomicU64,
    /// Input frames captured.
    captured: AtomicU64,
    /// Largest input callback so far, in frames.
    largest_input: AtomicU64,
    /// The queue has filled to its target at least once.
    primed: AtomicBool,
}

struct Session {
    /// Input and output; dropping them stops them.
    streams: Vec<cpal::Stream>,
    input_health: Arc<StreamHealth>,
    output_health: Arc<StreamHealth>,
    counters: Arc<Counters>,
    rate: u32,
    /// The embedder's delay, frames.
    embedder_latency: u64,
    input_name: String,
    output_name: String,
    input_presence: Presence,
    output_presence: Presence,
}

impl Session {
    fn open(args: &PassthroughArgs, plan: &MarkPlan) -> Result<Session> {
        let host = open_host(args.host.choice)?;
        let input = find_device(&host, Direction::Input, Some(&args.input))?;
        let output = find_device(&host, Direction::Output, Some(&args.output))?;
        let (input_name, _) = device_names(&input);
        let (output_name, _) = device_names(&output);
        let out_default = default_config(&output, Direction::Output);
        let in_default = default_config(&input, Direction::Input);
        let rates: Vec<u32> = match args.rate {
            Some(r) => {
                if !SAMPLE_RATES.contains(&r) {
                    let rates: Vec<String> = SAMPLE_RATES.iter().map(|r| r.to_string()).collect();
                    bail!("--rate {r}: passthrough runs at {} Hz", rates.join(", "));
                }
                if let Err(e) = plan.profiles.check(r) {
                    bail!("--rate {r}: {e}");
                }
                vec![r]
            }
            None => rate_preference(None, out_default.as_ref().map(|c| c.sample_rate()), |r| {
                plan.runs_at(r)
            }),
        };
        // The robust layer marks mono or stereo output.
        let out_channels: Vec<u16> =
            channel_preference(None, out_default.as_ref().map(|c| c.channels()))
                .into_iter()
                .filter(|&c| c <= plan.max_channels())
                .collect();
        // Both devices must run at one rate: take the first both can do.
        let mut last_err = None;
        let mut pair = None;
        for &rate in &rates {
            let frames = (args.buffer_ms.max(1) as u64 * rate as u64 / 1000) as u32;
            let o = choose_config(
                &output,
                Direction::Output,
                &[rate],
                &out_channels,
                Some(frames),
            );
            let i = choose_config(
                &input,
                Direction::Input,
                &[rate],
                &channel_preference(None, in_default.as_ref().map(|c| c.channels())),
                Some(frames),
            );
            match (i, o) {
                (Ok(i), Ok(o)) => {
                    pair = Some((i, o));
                    break;
                }
                (Err(e), _) | (_, Err(e)) => last_err = Some(e),
            }
        }
        let Some((in_cfg, out_cfg)) = pair else {
            return Err(last_err
                .unwrap_or_else(|| anyhow!("no rate"))
                .context(format!(
                    "{input_name} and {output_name} share no usable format"
                )));
        };
        let rate = out_cfg.rate();
        let (in_ch, out_ch) = (in_cfg.channels(), out_cfg.channels());
        let buffer = match out_cfg.config.buffer_size {
            cpal::BufferSize::Fixed(n) => n as u64,
            cpal::BufferSize::Default => rate as u64 / 100,
        };
        let target_for = move |largest_input: u64| (2 * buffer).max(buffer + largest_input);
        let mut embedder = plan.embedder(rate, out_ch as u16)?;
        let embedder_latency = embedder.latency();

        let (mut producer, mut consumer) = rtrb::RingBuffer::<f32>::new(rate as usize * out_ch);
        let counters = Arc::new(Counters::default());
        let input_health = Arc::new(StreamHealth::default());
        let output_health = Arc::new(StreamHealth::default());

        let c = counters.clone();
        let mut mapped = Vec::with_capacity(16_384);
        let deliver = move |samples: &[f32], info: &cpal::InputCallbackInfo| {
            let ts = info.timestamp();
            if let Some(d) = ts.callback.checked_duration_since(ts.capture) {
                c.capture_us.store(d.as_micros() as u64, Ordering::Relaxed);
            }
            let frames = (samples.len() / in_ch) as u64;
            c.captured.fetch_add(frames, Ordering::Relaxed);
            c.largest_input.fetch_max(frames, Ordering::Relaxed);
            map_channels(samples, in_ch, out_ch, &mut mapped);
            if push_frames(&mut producer, &mapped, out_ch) > 0 {
                c.overruns.fetch_add(1, Ordering::Relaxed);
            }
        };
        let c = counters.clone();
        let mut now = 0u64;
        let render = move |buf: &mut [f32], info: &cpal::OutputCallbackInfo| {
            let ts = info.timestamp();
            if let Some(d) = ts.playback.checked_duration_since(ts.callback) {
                c.playback_us.store(d.as_micros() as u64, Ordering::Relaxed);
            }
            let need = (buf.len() / out_ch) as u64;
            let target = target_for(c.largest_input.load(Ordering::Relaxed));
            let mut avail = (consumer.slots() / out_ch) as u64;
            if !c.primed.load(Ordering::Relaxed) {
                if avail >= target {
                    c.primed.store(true, Ordering::Relaxed);
                } else {
                    avail = 0; // keep filling; play (marked) silence
                }
            }
            if avail > need + 4 * target {
                // The input clock runs fast: drop back to the target.
                let drop = ((avail - need - target) as usize) * out_ch;
                if let Ok(chunk) = consumer.read_chunk(drop) {
                    chunk.commit_all();
                }
                avail = need + target;
                c.resyncs.fetch_add(1, Ordering::Relaxed);
            }
            let take = avail.min(need) as usize * out_ch;
            let _ = consumer.pop_partial_slice(&mut buf[..take]);
            if c.primed.load(Ordering::Relaxed) && (take as u64) < need * out_ch as u64 {
                c.underruns.fetch_add(1, Ordering::Relaxed);
                c.primed.store(false, Ordering::Relaxed);
            }
            c.queue_frames
                .store((consumer.slots() / out_ch) as u64, Ordering::Relaxed);
            let _ = embedder.process(now, buf);
            now += need;
            c.played.store(now, Ordering::Relaxed);
            if let Some(u) = embedder.ultrasonic() {
                let st = u.stats();
                c.bursts.store(st.completed, Ordering::Relaxed);
                c.lowered.store(st.lowered, Ordering::Relaxed);
                c.no_room.store(st.no_room, Ordering::Relaxed);
                c.lowering_db
                    .store(st.max_lowering_db.to_bits(), Ordering::Relaxed);
            }
            let frames = embedder.robust().map_or(0, |r| r.stats().marked_frames);
            c.robust_frames.store(frames, Ordering::Relaxed);
        };
        let out_stream = build_output(&output, &out_cfg, render, output_health.clone())
            .with_context(|| format!("cannot open {output_name} for playback"))?;
        let in_stream = build_input(&input, &in_cfg, deliver, input_health.clone())
            .with_context(|| format!("cannot open {input_name} for capture"))?;
        in_stream
            .play()
            .map_err(|e| anyhow!("cannot start capturing from {input_name}: {e}"))?;
        out_stream
            .play()
            .map_err(|e| anyhow!("cannot start playing to {output_name}: {e}"))?;
        ui::note(format!(
            "passthrough {input_name} ({}) -> {output_name} ({}), marking ID {} ({}); Ctrl-C stops",
            in_cfg.describe(),
            out_cfg.describe(),
            plan.id,
            plan.describe()
        ));
        Ok(Session {
            streams: vec![in_stream, out_stream],
            input_health,
            output_health,
            counters,
            rate,
            embedder_latency,
            input_name,
            output_name,
            input_presence: Presence::new(
                args.host.choice,
                host.id(),
                Direction::Input,
                Some(&args.input),
            ),
            output_presence: Presence::new(
                args.host.choice,
                host.id(),
                Direction::Output,
                Some(&args.output),
            ),
        })
    }

    /// Why a device is gone (its stream failed, or it vanished), if it is.
    fn lost(&mut self) -> Option<String> {
        let input = self.input_health.lost().or_else(|| {
            self.input_presence
                .gone()
                .then(|| "the device disappeared".into())
        });
        if let Some(r) = input {
            return Some(format!("{}: {r}", self.input_name));
        }
        let output = self.output_health.lost().or_else(|| {
            self.output_presence
                .gone()
                .then(|| "the device disappeared".into())
        });
        output.map(|r| format!("{}: {r}", self.output_name))
    }

    /// Bursts this session's embedder completed.
    fn bursts(&self) -> u64 {
        self.counters.bursts.load(Ordering::Relaxed)
    }

    /// Stop both streams, then add their final counts to `done`.
    fn close(mut self, done: &mut Closed) {
        self.streams.clear();
        done.xruns.add(self.xruns());
        let c = &self.counters;
        done.bursts.completed += self.bursts();
        done.bursts.lowered += c.lowered.load(Ordering::Relaxed);
        done.bursts.no_room += c.no_room.load(Ordering::Relaxed);
        let db = f32::from_bits(c.lowering_db.load(Ordering::Relaxed));
        done.bursts.max_lowering_db = done.bursts.max_lowering_db.max(db);
        done.robust_frames += self.counters.robust_frames.load(Ordering::Relaxed);
    }

    fn xruns(&self) -> Xruns {
        let c = &self.counters;
        Xruns {
            overruns: c.overruns.load(Ordering::Relaxed),
            underruns: c.underruns.load(Ordering::Relaxed),
            resyncs: c.resyncs.load(Ordering::Relaxed),
            device: self.input_health.xruns.load(Ordering::Relaxed)
                + self.output_health.xruns.load(Ordering::Relaxed),
        }
    }
}

/// The counts of every session closed so far (a device lost, or the end):
/// each reopening starts a new session with its own embedder.
#[derive(Debug, Default)]
struct Closed {
    xruns: Xruns,
    bursts: dsp_core::ultrasonic::EmbedStats,
    robust_frames: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Xruns {
    overruns: u64,
    underruns: u64,
    resyncs: u64,
    device: u64,
}

impl Xruns {
    fn total(&self) -> u64 {
        self.overruns + self.underruns + self.resyncs + self.device
    }
    fn add(&mut self, o: Xruns) {
        self.overruns += o.overruns;
        self.underruns += o.underruns;
        self.resyncs += o.resyncs;
        self.device += o.device;
    }
    fn describe(&self) -> String {
        format!(
            "{} xrun(s) ({} input overrun(s), {} output underrun(s), {} resync(s), {} device xrun(s))",
            self.total(),
            self.overruns,
            self.underruns,
            self.resyncs,
            self.device
        )
    }
}

/// Running averages of the latency parts, in milliseconds.
#[derive(Debug, Default)]
struct Latency {
    capture: f64,
    queue: f64,
    embedder: f64,
    playback: f64,
    samples: u64,
}

impl Latency {
    fn sample(&mut self, s: &Session) {
        let c = &s.counters;
        let n = self.samples as f64;
        let mix = |avg: f64, x: f64| (avg * n + x) / (n + 1.0);
        self.capture = mix(
            self.capture,
            c.capture_us.load(Ordering::Relaxed) as f64 / 1000.0,
        );
        self.playback = mix(
            self.playback,
            c.playback_us.load(Ordering::Relaxed) as f64 / 1000.0,
        );
        self.queue = mix(
            self.queue,
            c.queue_frames.load(Ordering::Relaxed) as f64 * 1000.0 / s.rate as f64,
        );
        self.embedder = s.embedder_latency as f64 * 1000.0 / s.rate as f64;
        self.samples += 1;
    }
    fn describe(&self) -> String {
        let embedder = match self.embedder > 0.0 {
            true => format!(" + embedder {:.0}", self.embedder),
            false => String::new(),
        };
        format!(
            "added latency {:.0} ms (capture {:.0} + queue {:.0}{embedder} + playback {:.0})",
            self.capture + self.queue + self.embedder + self.playback,
            self.capture,
            self.queue,
            self.playback
        )
    }
}

pub fn run(args: &PassthroughArgs) -> Result<Outcome> {
    let key = key::load(&args.key.key)?;
    let plan = MarkPlan::from_args(&args.mark, key)?;
    let stop = ui::stop_after(args.duration)?;
    let status = crate::progress::status_line();
    let started = Instant::now();
    let mut session = Some(Session::open(args, &plan)?);
    let mut done = Closed::default();
    let mut latency = Latency::default();
    let mut rate = session.as_ref().map(|s| s.rate).unwrap_or(48_000);
    let mut last_report = Instant::now();
    let mut last_xruns = 0u64;
    let mut reopenings = 0u32;
    while !stop() {
        std::thread::sleep(Duration::from_millis(100));
        let Some(s) = session.as_mut() else {
            match Session::open(args, &plan) {
                Ok(s) => {
                    rate = s.rate;
                    session = Some(s);
                    reopenings += 1;
                    status.suspend(|| ui::note("both devices are back; passing through again"));
                }
                Err(e) => {
                    tracing::debug!("reopen failed: {e:#}");
                    sleep_unless(&stop, Duration::from_secs(1));
                }
            }
            continue;
        };
        if s.counters.primed.load(Ordering::Relaxed) {
            latency.sample(s);
        }
        let mut now_xruns = done.xruns;
        now_xruns.add(s.xruns());
        if now_xruns.total() > last_xruns {
            status.suspend(|| ui::warn(format!("xrun: {}", now_xruns.describe())));
            last_xruns = now_xruns.total();
        }
        tracing::debug!(
            "captured {} played {} queue {} frames",
            s.counters.captured.load(Ordering::Relaxed),
            s.counters.played.load(Ordering::Relaxed),
            s.counters.queue_frames.load(Ordering::Relaxed)
        );
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            status.suspend(|| {
                ui::note(format!(
                    "passthrough: {}, {}, {}",
                    ui::duration(started.elapsed().as_secs_f64()),
                    now_xruns.describe(),
                    latency.describe()
                ))
            });
        }
        status.set_message(format!(
            "{} -> {}: {}, {} xrun(s), {}",
            s.input_name,
            s.output_name,
            ui::duration(started.elapsed().as_secs_f64()),
            now_xruns.total(),
            latency.describe()
        ));
        if let Some(reason) = s.lost() {
            if let Some(s) = session.take() {
                s.close(&mut done);
            }
            status.suspend(|| {
                ui::warn(format!(
                    "{reason}; waiting for both devices to come back (Ctrl-C stops)"
                ))
            });
        }
    }
    if let Some(s) = session.take() {
        s.close(&mut done);
    }
    status.finish_and_clear();
    let mut marks = Vec::new();
    if plan.profiles.ultrasonic().is_some() {
        marks.push(crate::report::bursts_made(&done.bursts));
    }
    if plan.profiles.robust() {
        marks.push(format!("{} robust frame(s)", done.robust_frames));
    }
    let line = format!(
        "passthrough {} -> {}: {} at {rate} Hz, {} of ID {}, {}, {}{}",
        args.input,
        args.output,
        ui::duration(started.elapsed().as_secs_f64()),
        marks.join(" and "),
        plan.id,
        done.xruns.describe(),
        latency.describe(),
        if reopenings > 0 {
            format!(", devices reopened {reopenings} time(s)")
        } else {
            String::new()
        }
    );
    crate::report::print_line(&line)?;
    Ok(Outcome::Success)
}
