//! `hushmark embed IN OUT`: write a marked copy of a file.
//!
//! The file is decoded block by block, converted to OUT's sample format,
//! marked in that format (so outside bursts OUT holds IN's samples bit for
//! bit when the formats match), and written to a temporary file that is
//! renamed to OUT only when everything succeeded.
//!
//! The schedule is the embedder's alone: when the file's length is known the
//! embedder is told where it ends (`end_at`), so no burst is cut off there,
//! and the bursts reported are the ones it completed.
//!
//! At rates the engine does not run at (say 192 kHz), the mark alone is made
//! at the nearest engine rate that fits, resampled to the file's rate and
//! added sample by sample, cut to the room left below full scale. The file's
//! own samples are never resampled.

use std::collections::VecDeque;
use std::ops::Range;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use dsp_core::config::MAX_INTERVAL_MS;
use dsp_core::{EmbedConfig, Embedder, Id, Key, Profile, Sample, Schedule};

use crate::audio::decode::{AudioFile, SourceInfo};
use crate::audio::encode::{Container, PcmSample, SampleKind, Writer};
use crate::audio::resample::StreamResampler;
use crate::cli::{EmbedArgs, MarkArgs, OutFormat};
use crate::rates::{self, RatePlan};
use crate::scan::check_channels;
use crate::{fsio, id, key, ui, Outcome};

/// Frames per embedder call.
const BLOCK: usize = 1024;

/// What `--id`, `--interval`, `--offset`, `--profile` and `--level` ask for.
#[derive(Debug, Clone, Copy)]
pub struct MarkPlan {
    pub id: Id,
    pub key: Key,
    pub profile: Profile,
    pub level_dbfs: f32,
    pub schedule: Schedule,
}

/// Seconds as the engine's milliseconds; the engine checks the range, this
/// only keeps the conversion from overflowing (and says it in seconds).
fn seconds_to_ms(what: &str, s: f64) -> Result<u32> {
    if !s.is_finite() || s < 0.0 {
        bail!("{what} must be a number of seconds, 0 or more (got {s})");
    }
    let max_s = MAX_INTERVAL_MS as f64 / 1000.0;
    if s > max_s {
        bail!("{what} {s} s is longer than the {max_s} s allowed");
    }
    Ok((s * 1000.0).round() as u32)
}

impl MarkPlan {
    pub fn from_args(mark: &MarkArgs, key: Key) -> Result<MarkPlan> {
        let id = id::parse_id(&mark.id)?;
        let offset_ms = seconds_to_ms("--offset", mark.offset)?;
        let schedule = if mark.back_to_back {
            Schedule::BackToBack { offset_ms }
        } else {
            Schedule::Interval {
                every_ms: seconds_to_ms("--interval", mark.interval)?,
                offset_ms,
            }
        };
        if !mark.level.is_finite() {
            bail!("--level must be a number of dBFS (got {})", mark.level);
        }
        Ok(MarkPlan {
            id,
            key,
            profile: mark.profile.0,
            level_dbfs: mark.level,
            schedule,
        })
    }

    /// The engine configuration at `rate` for `channels`; every channel is marked.
    pub fn config(&self, rate: u32, channels: u16) -> EmbedConfig {
        let mut c = EmbedConfig::new(self.id, self.key);
        c.sample_rate = rate;
        c.channels = channels;
        c.profiles = self.profile.into();
        c.level_dbfs = self.level_dbfs;
        c.schedule = self.schedule;
        c
    }

    /// Check the plan at `rate` (interval against burst length, level, ...).
    pub fn embedder(&self, rate: u32, channels: u16) -> Result<Embedder> {
        Ok(Embedder::new(&self.config(rate, channels))?)
    }

    pub fn describe(&self) -> String {
        let when = match self.schedule {
            Schedule::Interval {
                every_ms,
                offset_ms,
            } => format!(
                "every {:.2} s from {:.2} s",
                every_ms as f64 / 1000.0,
                offset_ms as f64 / 1000.0
            ),
            Schedule::BackToBack { offset_ms } => {
                format!("back to back from {:.2} s", offset_ms as f64 / 1000.0)
            }
        };
        format!("profile {}, {when}, {} dBFS", self.profile, self.level_dbfs)
    }
}

/// The mark alone, made at an engine rate and resampled to another rate.
pub struct MarkSource {
    embedder: Embedder,
    resampler: StreamResampler,
    engine_now: u64,
    ready: VecDeque<f32>,
    chunk: Vec<f32>,
    resampled: Vec<f32>,
}

impl MarkSource {
    pub fn new(plan: &MarkPlan, engine_rate: u32, out_rate: u32) -> Result<MarkSource> {
        Ok(MarkSource {
            embedder: plan.embedder(engine_rate, 1)?,
            resampler: StreamResampler::new(engine_rate, out_rate, 1)?,
            engine_now: 0,
            ready: VecDeque::new(),
            chunk: vec![0.0; BLOCK],
            resampled: Vec::new(),
        })
    }

    /// The next `n` samples of the mark at the output rate.
    pub fn take(&mut self, n: usize, out: &mut Vec<f32>) -> Result<()> {
        while self.ready.len() < n {
            self.chunk.iter_mut().for_each(|v| *v = 0.0);
            self.embedder.process(self.engine_now, &mut self.chunk)?;
            self.engine_now += BLOCK as u64;
            self.resampled.clear();
            self.resampler.push(&self.chunk, &mut self.resampled)?;
            self.ready.extend(self.resampled.iter().copied());
        }
        out.clear();
        out.extend(self.ready.drain(..n));
        Ok(())
    }
}

/// Marks interleaved blocks, directly or through a resampled mark.
pub enum Marker {
    Direct(Box<Embedder>),
    Resampled(Box<MarkSource>, Vec<f32>),
}

impl Marker {
    /// The embedder, which alone knows the schedule.
    fn embedder(&self) -> &Embedder {
        match self {
            Marker::Direct(e) => e,
            Marker::Resampled(source, _) => &source.embedder,
        }
    }

    fn embedder_mut(&mut self) -> &mut Embedder {
        match self {
            Marker::Direct(e) => e,
            Marker::Resampled(source, _) => &mut source.embedder,
        }
    }

    /// Spans (engine frames) of the bursts written whole into the first
    /// `engine_frames`. A resampled mark is made a little ahead of the file,
    /// so a burst the embedder completed may lie past the file's end.
    fn whole_bursts(&self, engine_frames: u64) -> Vec<Range<u64>> {
        let Some(e) = self.embedder().ultrasonic() else {
            return Vec::new();
        };
        // A file is marked without time jumps: the bursts completed are the first ones.
        (0..e.stats().completed)
            .map(|k| e.burst_start(k)..e.burst_start(k) + e.burst_samples())
            .take_while(|b| b.end <= engine_frames)
            .collect()
    }

    pub fn process<T: Sample>(&mut self, now: u64, block: &mut [T], channels: usize) -> Result<()> {
        match self {
            Marker::Direct(e) => e.process(now, block)?,
            Marker::Resampled(source, marks) => {
                source.take(block.len() / channels, marks)?;
                for (frame, &m) in block.chunks_exact_mut(channels).zip(marks.iter()) {
                    for x in frame {
                        *x = x.add_mark(m);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The output sample format: asked for, or IN's bit depth.
fn choose_kind(asked: Option<OutFormat>, info: &SourceInfo, container: Container) -> SampleKind {
    match asked {
        Some(OutFormat::S16) => SampleKind::S16,
        Some(OutFormat::S24) => SampleKind::S24,
        Some(OutFormat::F32) => SampleKind::F32,
        None => match (info.int_bits, container) {
            (Some(b), _) if b <= 16 => SampleKind::S16,
            (Some(b), _) if b <= 24 => SampleKind::S24,
            (_, Container::Flac) => SampleKind::S24,
            _ => SampleKind::F32,
        },
    }
}

pub fn run(args: &EmbedArgs) -> Result<Outcome> {
    let key = key::load(&args.key.key)?;
    let plan = MarkPlan::from_args(&args.mark, key)?;
    embed_file(&args.input, &args.output, &plan, args.format, args.force)?;
    Ok(Outcome::Success)
}

/// Mark `input` into `output`; returns the spans (frames of `input`) of the
/// bursts written whole.
pub fn embed_file(
    input: &Path,
    output: &Path,
    plan: &MarkPlan,
    format: Option<OutFormat>,
    force: bool,
) -> Result<Vec<Range<u64>>> {
    let container = Container::from_path(output)?;
    if format == Some(OutFormat::F32) && container == Container::Flac {
        bail!("FLAC holds integer samples only; use --format s16 or s24, or write a .wav");
    }
    fsio::ensure_distinct(input, output)?;
    fsio::check_writable_destination(output, force)?;
    let mut file = AudioFile::open(input)?;
    let info = file.info().clone();
    check_channels(info.channels).with_context(|| format!("{}", input.display()))?;
    let channels = info.channels as u16;
    let rate_plan = rates::plan(plan.profile, info.rate)
        .with_context(|| format!("cannot mark {}", input.display()))?;
    let mut marker = match rate_plan {
        RatePlan::Direct(rate) => Marker::Direct(Box::new(plan.embedder(rate, channels)?)),
        RatePlan::Resample { from, to } => {
            ui::note(format!(
                "{}: {from} Hz is not a rate the engine runs at; making the mark at {to} Hz \
                 and resampling it to {from} Hz (rubato); the programme itself is not resampled",
                input.display()
            ));
            // Check the schedule at the engine rate first, for its clear errors.
            plan.embedder(to, channels)?;
            Marker::Resampled(Box::new(MarkSource::new(plan, to, from)?), Vec::new())
        }
    };
    let engine_rate = rate_plan.engine_rate();
    let to_engine = |frames: u64| (frames as f64 * engine_rate as f64 / info.rate as f64) as u64;
    match info.frames {
        Some(0) => bail!(
            "{} holds no audio (0 samples): nothing to mark",
            input.display()
        ),
        Some(frames) => {
            // Known length: no burst that would be cut off at the end starts.
            let end = to_engine(frames);
            if let Some(e) = marker.embedder_mut().ultrasonic_mut() {
                e.end_at(end);
                if e.burst_start(0) + e.burst_samples() > end {
                    return Err(no_whole_burst(input, &info, frames, e));
                }
            }
        }
        None => {}
    }
    let kind = choose_kind(format, &info, container);
    tracing::info!(
        "marking {} into {} {}: {}",
        input.display(),
        kind.describe(),
        container.name(),
        plan.describe()
    );
    let tmp = fsio::public_temp_beside(output)?;
    let handle = tmp
        .as_file()
        .try_clone()
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    let mut writer = Writer::new(handle, container, kind, info.rate, channels)?;
    let progress = crate::progress::bar(info.frames, &format!("marking {}", input.display()));
    let mut state = Run::default();
    match kind {
        SampleKind::S16 => {
            mark_stream::<i16>(&mut file, &mut marker, &mut writer, &mut state, &progress)?
        }
        SampleKind::S24 => {
            mark_stream::<i32>(&mut file, &mut marker, &mut writer, &mut state, &progress)?
        }
        SampleKind::F32 => {
            mark_stream::<f32>(&mut file, &mut marker, &mut writer, &mut state, &progress)?
        }
    }
    progress.finish_and_clear();
    if let Some(t) = file.truncation() {
        bail!("{t}; refusing to write a partial copy");
    }
    if file.bad_packets() > 0 {
        bail!(
            "{}: {} packet(s) could not be decoded; refusing to write a copy with gaps",
            input.display(),
            file.bad_packets()
        );
    }
    let frames = state.frames;
    if frames == 0 {
        bail!(
            "{} holds no audio (0 samples): nothing to mark",
            input.display()
        );
    }
    // The embedder's count: bursts it completed within the file.
    let bursts = marker.whole_bursts(to_engine(frames));
    if bursts.is_empty() {
        if let Some(e) = marker.embedder().ultrasonic() {
            return Err(no_whole_burst(input, &info, frames, e));
        }
    }
    writer.finish()?;
    fsio::persist(tmp, output, force)?;
    if state.non_finite > 0 {
        ui::warn(format!(
            "{}: {} non-finite sample(s) (NaN or infinity) were written as 0",
            input.display(),
            state.non_finite
        ));
    }
    ui::note(format!(
        "marked {} -> {}: {} burst(s) of ID {} ({}, {}; {} {}; {})",
        input.display(),
        output.display(),
        bursts.len(),
        plan.id,
        ui::duration(info.seconds(frames)),
        info.describe(),
        kind.describe(),
        container.name(),
        plan.describe()
    ));
    let from_engine = |f: u64| (f as f64 * info.rate as f64 / engine_rate as f64).round() as u64;
    Ok(bursts
        .into_iter()
        .map(|b| from_engine(b.start)..from_engine(b.end))
        .collect())
}

/// Why a file of `frames` cannot be marked: not even one whole burst fits.
fn no_whole_burst(
    input: &Path,
    info: &SourceInfo,
    frames: u64,
    e: &dsp_core::ultrasonic::Embedder,
) -> anyhow::Error {
    anyhow!(
        "{} is {} long ({frames} sample(s)); a burst takes {} ms after a {:.2} s offset, \
         so no whole burst fits and the copy would carry no mark",
        input.display(),
        ui::duration(info.seconds(frames)),
        e.phy().burst_ms(e.config().id.class()),
        e.burst_start(0) as f64 / e.config().sample_rate as f64
    )
}

#[derive(Default)]
struct Run {
    frames: u64,
    non_finite: u64,
}

fn mark_stream<T: Sample + PcmSample>(
    file: &mut AudioFile,
    marker: &mut Marker,
    writer: &mut Writer,
    state: &mut Run,
    progress: &indicatif::ProgressBar,
) -> Result<()> {
    let ch = file.info().channels;
    let mut buf: Vec<T> = Vec::with_capacity(BLOCK * ch);
    while let Some(block) = file.next_block()? {
        if ui::stopping() {
            bail!("interrupted; nothing was written");
        }
        for sub in block.chunks(BLOCK * ch) {
            buf.clear();
            buf.extend(sub.iter().map(|&x| {
                if x.is_finite() {
                    T::from_unit(x)
                } else {
                    state.non_finite += 1;
                    T::from_unit(0.0)
                }
            }));
            marker.process(state.frames, &mut buf, ch)?;
            writer.write(&buf)?;
            state.frames += (sub.len() / ch) as u64;
        }
        progress.set_position(state.frames);
    }
    Ok(())
}
