//! `hushmark play FILE`: decode, play and mark live, as a set-top box does.
//!
//! A decoder thread fills a ring with the programme at the device's rate
//! and channel count (resampling and mapping channels when the file differs).
//! The output callback takes frames from the ring and marks them with the
//! embedder clocked by the device's own frame count, so the mark follows the
//! output clock exactly. If the decoder falls behind, the callback plays
//! silence (still marked) and counts an underrun. Once the whole programme
//! is queued its end is known and the embedder is told (`end_at`), so no
//! burst is cut off there. With the robust layer the embedder delays the
//! programme by its latency, so that much more is played after the
//! programme's end, flushing it. If the device goes away, playback waits
//! for it and carries on where it was, mark clock included. The summary
//! reports what the embedder did: bursts completed, robust frames marked.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use cpal::traits::StreamTrait;

use super::format::{
    channel_preference, choose_config, default_config, map_channels, rate_preference, Chosen,
};
use super::host::open_host;
use super::lookup::{device_names, find_device, Direction, Presence};
use super::reconnect::sleep_unless;
use super::stream::{build_output, StreamHealth};
use crate::audio::decode::AudioFile;
use crate::audio::resample::StreamResampler;
use crate::cli::PlayArgs;
use crate::embed::MarkPlan;
use crate::scan::check_channels;
use crate::{key, ui, Outcome};

#[derive(Default)]
struct Shared {
    /// The decoder has pushed its last frame.
    decoded: AtomicBool,
    /// The callback has played every decoded frame.
    drained: AtomicBool,
    underruns: AtomicU64,
    /// Programme frames played.
    played: AtomicU64,
    /// Device latency (callback to speaker), microseconds.
    latency_us: AtomicU64,
}

pub fn run(args: &PlayArgs) -> Result<Outcome> {
    let key = key::load(&args.key.key)?;
    let plan = MarkPlan::from_args(&args.mark, key)?;
    let file = AudioFile::open(&args.file)?;
    let info = file.info().clone();
    check_channels(info.channels).with_context(|| format!("{}", args.file.display()))?;

    let host = open_host(args.host.choice)?;
    let device = find_device(&host, Direction::Output, args.device.as_deref())?;
    let (device_name, _) = device_names(&device);
    let default = default_config(&device, Direction::Output);
    let rates = rate_preference(
        Some(info.rate),
        default.as_ref().map(|d| d.sample_rate()),
        |r| plan.runs_at(r),
    );
    // The robust layer marks mono or stereo: more channels are mixed to stereo.
    let channels: Vec<u16> = channel_preference(
        Some(info.channels as u16),
        default.as_ref().map(|d| d.channels()),
    )
    .into_iter()
    .filter(|&c| c <= plan.max_channels())
    .collect();
    // 200 ms callbacks: latency does not matter here, glitches do.
    let chosen = choose_config(&device, Direction::Output, &rates, &channels, Some(9_600))
        .with_context(|| format!("cannot play to {device_name}"))?;
    let (rate, out_ch) = (chosen.rate(), chosen.channels());
    if rate != info.rate {
        ui::note(format!(
            "{device_name} does not play {} Hz; resampling the programme to {rate} Hz (rubato)",
            info.rate
        ));
    }
    if out_ch != info.channels {
        ui::note(format!(
            "{device_name}: playing {} channel(s) as {out_ch}",
            info.channels
        ));
    }
    let embedder = plan.embedder(rate, out_ch as u16)?;
    let latency = embedder.latency();

    // Two seconds of programme queued between the decoder and the device.
    let (producer, consumer) = rtrb::RingBuffer::<f32>::new(2 * rate as usize * out_ch);
    let shared = Arc::new(Shared::default());
    let decoder = spawn_decoder(file, producer, rate, out_ch, shared.clone())?;
    let render = Arc::new(Mutex::new(Render {
        consumer,
        embedder,
        now: 0,
        end_known_at: None,
        flushed: 0,
        out_ch,
    }));

    // Let the decoder get ahead before the device starts pulling.
    while render.lock().map(|r| r.consumer.slots()).unwrap_or(0) < rate as usize * out_ch
        && !shared.decoded.load(Ordering::Acquire)
        && !ui::stopping()
    {
        thread::sleep(Duration::from_millis(5));
    }

    let (mut stream, mut health) = start_stream(&device, &chosen, &render, &shared)
        .with_context(|| format!("cannot open {device_name} for playback"))?;
    ui::note(format!(
        "playing {} to {device_name} ({}, {}), marking ID {} ({}); Ctrl-C stops",
        args.file.display(),
        host.id().name(),
        chosen.describe(),
        plan.id,
        plan.describe()
    ));

    let status = crate::progress::status_line();
    let total = info.frames.map(|f| ui::duration(info.seconds(f)));
    let mut xruns = 0;
    let mut xruns_seen = 0;
    let mut reopenings = 0;
    let mut presence = Presence::new(
        args.host.choice,
        host.id(),
        Direction::Output,
        args.device.as_deref(),
    );
    while !shared.drained.load(Ordering::Acquire) && !ui::stopping() {
        thread::sleep(Duration::from_millis(50));
        let lost = health
            .lost()
            .or_else(|| presence.gone().then(|| "the device disappeared".into()));
        if let Some(reason) = lost {
            xruns += health.xruns.load(Ordering::Relaxed);
            drop(stream);
            status.suspend(|| {
                ui::warn(format!(
                    "{device_name}: {reason}; waiting for it to come back (Ctrl-C stops)"
                ))
            });
            match reopen(args, &chosen, &render, &shared) {
                Some((s, h)) => {
                    stream = s;
                    health = h;
                    reopenings += 1;
                    xruns_seen = 0;
                    status.suspend(|| ui::note(format!("playing to {device_name} again")));
                    continue;
                }
                None => {
                    status.finish_and_clear();
                    let _ = decoder.join();
                    bail!("stopped while {device_name} was away");
                }
            }
        }
        let x = health.xruns.load(Ordering::Relaxed);
        if x > xruns_seen {
            xruns_seen = x;
            status.suspend(|| ui::warn(format!("{device_name}: xrun, {} so far", xruns + x)));
        }
        let played = shared.played.load(Ordering::Relaxed) as f64 / rate as f64;
        status.set_message(format!(
            "{}: {}{}",
            args.file.display(),
            ui::duration(played),
            total
                .as_ref()
                .map(|t| format!(" / {t}"))
                .unwrap_or_default()
        ));
    }
    if !ui::stopping() {
        // Let the device play out what it has buffered.
        let latency = Duration::from_micros(shared.latency_us.load(Ordering::Relaxed));
        thread::sleep(latency.min(Duration::from_secs(3)) + Duration::from_millis(200));
    }
    xruns += health.xruns.load(Ordering::Relaxed);
    drop(stream);
    status.finish_and_clear();
    let decode_result = decoder
        .join()
        .map_err(|_| anyhow!("the decoder thread failed"))?;
    decode_result?;
    let played = shared.played.load(Ordering::Relaxed);
    let marks = marks_made(&render.lock().unwrap_or_else(|e| e.into_inner()).embedder);
    let underruns = shared.underruns.load(Ordering::Relaxed);
    ui::note(format!(
        "played {} of {} to {device_name}{}: {marks} of ID {}; {underruns} underrun(s), {xruns} device xrun(s){}{}",
        ui::duration(played as f64 / rate as f64),
        args.file.display(),
        if ui::stopping() { " (stopped)" } else { "" },
        plan.id,
        if latency > 0 { format!(", {:.1} ms embedder latency", latency as f64 * 1000.0 / rate as f64) } else { String::new() },
        if reopenings > 0 { format!(", device reopened {reopenings} time(s)") } else { String::new() }
    ));
    Ok(Outcome::Success)
}

/// What an embedder has made, in words: whole bursts, robust frames.
pub fn marks_made(e: &dsp_core::Embedder) -> String {
    let mut what = Vec::new();
    if let Some(u) = e.ultrasonic() {
        what.push(crate::report::bursts_made(u.stats()));
    }
    if let Some(r) = e.robust() {
        what.push(format!("{} robust frame(s)", r.stats().marked_frames));
    }
    what.join(" and ")
}

/// What the output callback owns. Behind a mutex only so a reopened stream
/// can take it over (mark clock and burst count included); the callback
/// uses `try_lock` and never waits.
struct Render {
    consumer: rtrb::Consumer<f32>,
    embedder: dsp_core::Embedder,
    /// Output frames so far: the embedder's clock.
    now: u64,
    /// When the whole programme was queued, so its end became known.
    end_known_at: Option<u64>,
    /// Frames played since the programme ran out: the embedder's delay line
    /// still holds `latency` of it.
    flushed: u64,
    out_ch: usize,
}

impl Render {
    fn fill(&mut self, buf: &mut [f32], shared: &Shared) {
        let out_ch = self.out_ch;
        // Read `decoded` first: every frame queued before it is then visible.
        let decoded = shared.decoded.load(Ordering::Acquire);
        let avail = self.consumer.slots() / out_ch * out_ch;
        if decoded && self.end_known_at.is_none() {
            // The programme ends `avail` frames from now: no burst that would
            // run past its end starts.
            if let Some(u) = self.embedder.ultrasonic_mut() {
                u.end_at(self.now + (avail / out_ch) as u64);
            }
            self.end_known_at = Some(self.now);
        }
        let n = avail.min(buf.len());
        let _ = self.consumer.pop_partial_slice(&mut buf[..n]);
        if n < buf.len() && !decoded {
            shared.underruns.fetch_add(1, Ordering::Relaxed);
        }
        shared
            .played
            .fetch_add((n / out_ch) as u64, Ordering::Relaxed);
        let frames = (buf.len() / out_ch) as u64;
        let out_of_programme = decoded && n == 0;
        let flushing = out_of_programme && self.flushed < self.embedder.latency();
        let finishing = self.finishing_a_burst() || flushing;
        if !out_of_programme || finishing {
            let _ = self.embedder.process(self.now, buf);
        }
        self.now += frames;
        if out_of_programme {
            self.flushed += frames;
        }
        if out_of_programme && !finishing {
            shared.drained.store(true, Ordering::Release);
        }
    }

    /// A burst is under way that started before the programme's end was
    /// known (the decoder fell behind): it is finished over silence.
    fn finishing_a_burst(&self) -> bool {
        let Some(u) = self.embedder.ultrasonic() else {
            return false;
        };
        // The ultrasonic layer runs on the output's clock, behind the input's.
        let now = self.now.saturating_sub(self.embedder.latency());
        let start = u.next_burst_start();
        let under_way = start < now && now < start + u.burst_samples();
        under_way && self.end_known_at.is_none_or(|known| start < known)
    }
}

fn start_stream(
    device: &cpal::Device,
    chosen: &Chosen,
    render: &Arc<Mutex<Render>>,
    shared: &Arc<Shared>,
) -> Result<(cpal::Stream, Arc<StreamHealth>)> {
    let health = Arc::new(StreamHealth::default());
    let (r, sh) = (render.clone(), shared.clone());
    let callback = move |buf: &mut [f32], info: &cpal::OutputCallbackInfo| {
        let ts = info.timestamp();
        if let Some(lat) = ts.playback.checked_duration_since(ts.callback) {
            sh.latency_us
                .store(lat.as_micros() as u64, Ordering::Relaxed);
        }
        if let Ok(mut r) = r.try_lock() {
            r.fill(buf, &sh);
        }
    };
    let stream = build_output(device, chosen, callback, health.clone())?;
    stream
        .play()
        .map_err(|e| anyhow!("cannot start playing: {e}"))?;
    Ok((stream, health))
}

/// Wait for the output device to come back (same rate and channels).
fn reopen(
    args: &PlayArgs,
    chosen: &Chosen,
    render: &Arc<Mutex<Render>>,
    shared: &Arc<Shared>,
) -> Option<(cpal::Stream, Arc<StreamHealth>)> {
    while !ui::stopping() {
        sleep_unless(&ui::stopping, Duration::from_secs(1));
        let attempt = (|| -> Result<_> {
            let host = open_host(args.host.choice)?;
            let device = find_device(&host, Direction::Output, args.device.as_deref())?;
            let again = choose_config(
                &device,
                Direction::Output,
                &[chosen.rate()],
                &[chosen.channels() as u16],
                Some(9_600),
            )?;
            start_stream(&device, &again, render, shared)
        })();
        match attempt {
            Ok(s) => return Some(s),
            Err(e) => tracing::debug!("reopening the output: {e:#}"),
        }
    }
    None
}

/// Decode, convert and queue the programme; ends at the file's end or on Ctrl-C.
fn spawn_decoder(
    mut file: AudioFile,
    mut producer: rtrb::Producer<f32>,
    rate: u32,
    out_ch: usize,
    shared: Arc<Shared>,
) -> Result<thread::JoinHandle<Result<()>>> {
    let info = file.info().clone();
    let mut resampler = if info.rate != rate {
        Some(StreamResampler::new(info.rate, rate, out_ch)?)
    } else {
        None
    };
    let handle = thread::Builder::new()
        .name("decoder".into())
        .spawn(move || {
            let mut mapped = Vec::new();
            let mut resampled = Vec::new();
            let mut push = |mut s: &[f32]| {
                while !s.is_empty() && !ui::stopping() {
                    let (_, rest) = producer.push_partial_slice(s);
                    if rest.len() == s.len() {
                        thread::sleep(Duration::from_millis(5));
                    }
                    s = rest;
                }
            };
            let result = (|| -> Result<()> {
                while let Some(block) = file.next_block()? {
                    if ui::stopping() {
                        return Ok(());
                    }
                    map_channels(block, info.channels, out_ch, &mut mapped);
                    match resampler.as_mut() {
                        Some(r) => {
                            resampled.clear();
                            r.push(&mapped, &mut resampled)?;
                            push(&resampled);
                        }
                        None => push(&mapped),
                    }
                }
                if let Some(r) = resampler.as_mut() {
                    resampled.clear();
                    r.finish(&mut resampled)?;
                    push(&resampled);
                }
                if let Some(t) = file.truncation() {
                    ui::warn(format!("{t}; played what was there"));
                }
                Ok(())
            })();
            shared.decoded.store(true, Ordering::Release);
            result
        })
        .context("cannot start the decoder thread")?;
    Ok(handle)
}
