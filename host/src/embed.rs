//! `hushmark embed IN OUT`: write a marked copy of a file.
//!
//! The file is decoded block by block, converted to OUT's sample format,
//! marked in that format (so wherever no mark is added OUT holds IN's
//! samples bit for bit when the formats match, NaN and infinities
//! included), and written to a temporary file that is renamed to OUT only
//! when everything succeeded. 64-bit float and 32-bit integer files, which
//! `f32` would round, are marked as `f32` and written from their exact
//! `f64` originals wherever the marker left a sample alone.
//!
//! * **Layers at the file's rate** run in one embedder on the samples
//!   themselves. With the robust layer that embedder delays the stream by
//!   its latency, so the first `latency` frames out are dropped and as many
//!   frames of silence are fed at the end: OUT keeps IN's length and
//!   alignment.
//! * **Layers at another rate** (robust at anything but 48 kHz; ultrasonic
//!   at rates the engine does not run at, say 192 kHz) make their mark
//!   alone at the engine rate; it is resampled to the file's rate and added
//!   sample by sample, cut to the room left below full scale. The
//!   ultrasonic mark does not depend on the programme, so it is made over
//!   silence; the robust mark follows the programme's masking, so it is
//!   made on a resampled copy of the programme (marked copy − copy). The
//!   file's own samples are never resampled.
//! * **The schedule is the embedder's**: when the file's length is known
//!   the ultrasonic embedder is told where it ends (`end_at`), so no burst
//!   is cut off there, and the bursts reported are the ones it completed;
//!   the robust layer's counts are its embedder's.

use std::collections::VecDeque;
use std::ops::Range;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use dsp_core::config::{MAX_INTERVAL_MS, MIN_INTERVAL_MS};
use dsp_core::{
    robust, ultrasonic, EmbedConfig, Embedder, Id, Key, Layer, Profiles, Sample, Schedule,
};

use crate::audio::decode::{AudioFile, SourceInfo};
use crate::audio::encode::{Container, PcmSample, SampleKind, Writer};
use crate::audio::resample::StreamResampler;
use crate::cli::{EmbedArgs, MarkArgs, OutFormat};
use crate::rates::{self, RatePlan};
use crate::scan::check_channels;
use crate::{fsio, id, key, ui, Outcome};

/// Frames per embedder call.
const BLOCK: usize = 1024;

/// What `--id`, `--interval`, `--offset`, `--profile`, `--level` and
/// `--robust-strength` ask for.
#[derive(Debug, Clone, Copy)]
pub struct MarkPlan {
    pub id: Id,
    pub key: Key,
    pub profiles: Profiles,
    pub level_dbfs: f32,
    pub robust_mmr_db: f32,
    pub schedule: Schedule,
}

/// Seconds as the engine's milliseconds; the engine checks the range, this
/// only keeps the conversion from overflowing (and says it in seconds).
/// `min_ms` is the option's lowest value, for the message.
fn seconds_to_ms(what: &str, s: f64, min_ms: u32) -> Result<u32> {
    let (min_s, max_s) = (min_ms as f64 / 1000.0, MAX_INTERVAL_MS as f64 / 1000.0);
    if !s.is_finite() || s < 0.0 {
        bail!("{what} must be a number of seconds from {min_s} to {max_s} (got {s})");
    }
    if s > max_s {
        bail!("{what} {s} s is longer than the {max_s} s allowed");
    }
    Ok((s * 1000.0).round() as u32)
}

impl MarkPlan {
    pub fn from_args(mark: &MarkArgs, key: Key) -> Result<MarkPlan> {
        let id = id::parse_id(&mark.id)?;
        let offset_ms = seconds_to_ms("--offset", mark.offset, 0)?;
        let schedule = if mark.back_to_back {
            Schedule::BackToBack { offset_ms }
        } else {
            Schedule::Interval {
                every_ms: seconds_to_ms("--interval", mark.interval, MIN_INTERVAL_MS)?,
                offset_ms,
            }
        };
        if !mark.level.is_finite() {
            bail!("--level must be a number of dBFS (got {})", mark.level);
        }
        if !mark.robust_strength.is_finite() {
            bail!(
                "--robust-strength must be a number of dB (got {})",
                mark.robust_strength
            );
        }
        let plan = MarkPlan {
            id,
            key,
            profiles: mark.profile.profiles(),
            level_dbfs: mark.level,
            robust_mmr_db: mark.robust_strength,
            schedule,
        };
        // The engine's range check, with the option's name.
        if plan.profiles.robust() {
            let check = plan.config_for(Profiles::only(dsp_core::Profile::Robust), 48_000, 1);
            Embedder::new(&check).map_err(|e| anyhow!("--robust-strength: {e}"))?;
        }
        Ok(plan)
    }

    /// The engine configuration of `profiles` at `rate` for `channels`;
    /// every channel is marked.
    fn config_for(&self, profiles: Profiles, rate: u32, channels: u16) -> EmbedConfig {
        let mut c = EmbedConfig::new(self.id, self.key);
        c.sample_rate = rate;
        c.channels = channels;
        c.profiles = profiles;
        c.level_dbfs = self.level_dbfs;
        c.robust_mmr_db = self.robust_mmr_db;
        c.schedule = self.schedule;
        c
    }

    /// An embedder of every layer at `rate` (live output runs at one rate);
    /// errors say what the plan cannot do there.
    pub fn embedder(&self, rate: u32, channels: u16) -> Result<Embedder> {
        self.embedder_for(self.profiles, rate, channels)
    }

    fn embedder_for(&self, profiles: Profiles, rate: u32, channels: u16) -> Result<Embedder> {
        Ok(Embedder::new(&self.config_for(profiles, rate, channels))?)
    }

    /// Whether every layer runs at `rate` (a live device's rate).
    pub fn runs_at(&self, rate: u32) -> bool {
        self.profiles.check(rate).is_ok()
    }

    /// Most channels every layer marks.
    pub fn max_channels(&self) -> u16 {
        if self.profiles.robust() {
            robust::MAX_CHANNELS
        } else {
            dsp_core::config::MAX_CHANNELS
        }
    }

    pub fn describe(&self) -> String {
        let offset_s = self.schedule.offset_ms() as f64 / 1000.0;
        let mut parts = vec![format!("profile {}", self.profiles)];
        if self.profiles.ultrasonic().is_some() {
            parts.push(match self.schedule {
                Schedule::Interval { every_ms, .. } => format!(
                    "every {:.2} s from {offset_s:.2} s",
                    every_ms as f64 / 1000.0
                ),
                Schedule::BackToBack { .. } => format!("back to back from {offset_s:.2} s"),
            });
            parts.push(format!("{} dBFS", self.level_dbfs));
        }
        if self.profiles.robust() {
            let class = self.id.class();
            let period_s = robust::period_samples(class) as f64 / robust::STREAM_RATE as f64;
            if self.profiles.ultrasonic().is_none() {
                parts.push(format!(
                    "{period_s:.2} s periods back to back from {offset_s:.2} s"
                ));
            }
            parts.push(format!(
                "robust {} dB to the masking threshold",
                self.robust_mmr_db
            ));
        }
        parts.join(", ")
    }
}

/// The layers that run at the file's own rate, on its samples.
struct Direct {
    embedder: Embedder,
    /// Output frames still to drop: the embedder's latency.
    drop: u64,
}

/// Layers whose mark is made at another (engine) rate and resampled to the
/// file's.
struct Resampled {
    embedder: Embedder,
    /// Channels of the mark: 1 over silence, else the file's.
    channels: usize,
    /// The programme on its way to the engine rate (robust: the mark
    /// follows it); `None`: the mark is made over silence (ultrasonic).
    programme: Option<StreamResampler>,
    back: StreamResampler,
    engine_now: u64,
    /// Engine output frames still to drop (its latency).
    drop: u64,
    /// Engine-rate input not yet matched with its marked copy.
    delayed: VecDeque<f32>,
    engine_in: Vec<f32>,
    engine_out: Vec<f32>,
    mark: Vec<f32>,
    resampled: Vec<f32>,
    /// The mark at the file's rate, interleaved, from the first frame not
    /// yet written.
    ready: VecDeque<f32>,
}

impl Resampled {
    fn new(
        embedder: Embedder,
        file_rate: u32,
        channels: usize,
        over_programme: bool,
    ) -> Result<Resampled> {
        let engine_rate = embedder.config().sample_rate;
        Ok(Resampled {
            channels,
            programme: match over_programme {
                true => Some(StreamResampler::new(file_rate, engine_rate, channels)?),
                false => None,
            },
            back: StreamResampler::new(engine_rate, file_rate, channels)?,
            engine_now: 0,
            drop: embedder.latency(),
            embedder,
            delayed: VecDeque::new(),
            engine_in: Vec::new(),
            engine_out: Vec::new(),
            mark: Vec::new(),
            resampled: Vec::new(),
            ready: VecDeque::new(),
        })
    }

    fn ready_frames(&self) -> usize {
        self.ready.len() / self.channels
    }

    /// Mark `self.engine_in` (engine rate) and queue the mark alone
    /// (marked − input, latency taken out) at the file's rate.
    fn run_engine(&mut self) -> Result<()> {
        let ch = self.channels;
        self.engine_out.clear();
        self.engine_out.resize(self.engine_in.len(), 0.0);
        self.embedder
            .process_into(self.engine_now, &self.engine_in, &mut self.engine_out)?;
        self.engine_now += (self.engine_in.len() / ch) as u64;
        self.delayed.extend(self.engine_in.iter().copied());
        let skip = (self.drop as usize).min(self.engine_out.len() / ch);
        self.drop -= skip as u64;
        self.mark.clear();
        for &y in &self.engine_out[skip * ch..] {
            let x = self.delayed.pop_front().unwrap_or(0.0);
            self.mark.push(y - x);
        }
        self.resampled.clear();
        self.back.push(&self.mark, &mut self.resampled)?;
        self.ready.extend(self.resampled.iter().copied());
        Ok(())
    }

    /// The programme's next frames (file rate, interleaved).
    fn push_programme(&mut self, programme: &[f32]) -> Result<()> {
        let Some(r) = self.programme.as_mut() else {
            return Ok(());
        };
        self.engine_in.clear();
        r.push(programme, &mut self.engine_in)?;
        self.run_engine()
    }

    /// A mark over silence: make it until `frames` are ready.
    fn fill(&mut self, frames: usize) -> Result<()> {
        while self.programme.is_none() && self.ready_frames() < frames {
            self.engine_in.clear();
            self.engine_in.resize(BLOCK * self.channels, 0.0);
            self.run_engine()?;
        }
        Ok(())
    }

    /// End of the programme: flush the resamplers and the engine's latency.
    fn finish(&mut self) -> Result<()> {
        let Some(r) = self.programme.as_mut() else {
            return Ok(());
        };
        self.engine_in.clear();
        r.finish(&mut self.engine_in)?;
        let latency = self.embedder.latency() as usize;
        self.engine_in
            .resize(self.engine_in.len() + latency * self.channels, 0.0);
        self.run_engine()?;
        self.resampled.clear();
        self.back.finish(&mut self.resampled)?;
        self.ready.extend(self.resampled.iter().copied());
        Ok(())
    }
}

/// Marks a file's frames, in order, with every layer of a plan: those at
/// the file's rate directly, the others through resampled marks. Frames
/// come out as soon as every layer's mark for them is ready.
pub struct Marker<T> {
    channels: usize,
    rate: u32,
    direct: Option<Direct>,
    resampled: Vec<Resampled>,
    /// Frames marked by the direct layers, waiting for the resampled marks.
    queue: VecDeque<T>,
    /// Input frames taken so far.
    now: u64,
    block: Vec<T>,
}

impl<T: Sample> Marker<T> {
    /// The marker of `plan` for a file of `rate` Hz and `channels`; tells
    /// the user which layers are resampled (notes go to `note`).
    fn new(
        plan: &MarkPlan,
        rate: u32,
        channels: u16,
        mut note: impl FnMut(String),
    ) -> Result<Self> {
        let mut direct = Profiles::NONE;
        let mut resampled = Vec::new();
        for p in plan.profiles.iter() {
            match rates::plan(p, rate)? {
                RatePlan::Direct(_) => direct = direct.with(p),
                RatePlan::Resample { from, to } => {
                    let over_programme = p.layer() == Layer::Robust;
                    let ch = if over_programme { channels } else { 1 };
                    let embedder = plan.embedder_for(Profiles::only(p), to, ch)?;
                    note(if over_programme {
                        format!(
                            "the robust layer runs at {to} Hz: making its mark on a {to} Hz copy \
                             of the programme and resampling the mark alone to {from} Hz \
                             (rubato); the programme itself is not resampled"
                        )
                    } else {
                        format!(
                            "{from} Hz is not a rate the engine runs at; making the mark at {to} Hz \
                             and resampling it to {from} Hz (rubato); the programme itself is not resampled"
                        )
                    });
                    resampled.push(Resampled::new(embedder, rate, ch as usize, over_programme)?);
                }
            }
        }
        let direct = match direct.is_empty() {
            true => None,
            false => {
                let embedder = plan.embedder_for(direct, rate, channels)?;
                Some(Direct {
                    drop: embedder.latency(),
                    embedder,
                })
            }
        };
        Ok(Marker {
            channels: channels as usize,
            rate,
            direct,
            resampled,
            queue: VecDeque::new(),
            now: 0,
            block: Vec::with_capacity(BLOCK * channels as usize),
        })
    }

    fn embedders(&self) -> impl Iterator<Item = &Embedder> {
        let direct = self.direct.as_ref().map(|d| &d.embedder);
        direct
            .into_iter()
            .chain(self.resampled.iter().map(|r| &r.embedder))
    }

    /// The ultrasonic layer's embedder, if any, and the rate it runs at.
    fn ultrasonic(&self) -> Option<(&ultrasonic::Embedder, u32)> {
        self.embedders()
            .find_map(|e| e.ultrasonic().map(|u| (u, e.config().sample_rate)))
    }

    fn ultrasonic_mut(&mut self) -> Option<&mut ultrasonic::Embedder> {
        let direct = self.direct.as_mut().map(|d| &mut d.embedder);
        direct
            .into_iter()
            .chain(self.resampled.iter_mut().map(|r| &mut r.embedder))
            .find_map(|e| e.ultrasonic_mut())
    }

    /// The robust layer's embedder, if any.
    fn robust(&self) -> Option<&robust::Embedder> {
        self.embedders().find_map(|e| e.robust())
    }

    /// Frames of the file as frames of the ultrasonic layer's rate.
    fn to_ultrasonic(&self, frames: u64) -> Option<u64> {
        let (_, rate) = self.ultrasonic()?;
        Some((frames as f64 * rate as f64 / self.rate as f64) as u64)
    }

    /// Spans (frames of the file) of the ultrasonic bursts written whole
    /// into its first `frames`. A resampled mark is made a little ahead of
    /// the file, so a burst the embedder completed may lie past the end.
    fn whole_bursts(&self, frames: u64) -> Vec<Range<u64>> {
        let (Some((e, rate)), Some(end)) = (self.ultrasonic(), self.to_ultrasonic(frames)) else {
            return Vec::new();
        };
        let back = |f: u64| (f as f64 * self.rate as f64 / rate as f64).round() as u64;
        // A file is marked without time jumps: the bursts completed are the first ones.
        (0..e.stats().completed)
            .map(|k| e.burst_start(k)..e.burst_start(k) + e.burst_samples())
            .take_while(|b| b.end <= end)
            .map(|b| back(b.start)..back(b.end))
            .collect()
    }

    /// Mark the next frames: `samples` in OUT's format, `programme` the same
    /// frames as decoded; what is ready is appended to `out`.
    fn push(&mut self, samples: &[T], programme: &[f32], out: &mut Vec<T>) -> Result<()> {
        self.take(samples)?;
        for r in &mut self.resampled {
            r.push_programme(programme)?;
        }
        self.emit(out)
    }

    /// Through the direct layers into the queue, their latency taken out.
    fn take(&mut self, samples: &[T]) -> Result<()> {
        let ch = self.channels;
        let Some(d) = self.direct.as_mut() else {
            self.queue.extend(samples.iter().copied());
            self.now += (samples.len() / ch) as u64;
            return Ok(());
        };
        self.block.clear();
        self.block.extend_from_slice(samples);
        d.embedder.process(self.now, &mut self.block)?;
        self.now += (samples.len() / ch) as u64;
        let skip = (d.drop as usize).min(self.block.len() / ch);
        d.drop -= skip as u64;
        self.queue.extend(self.block[skip * ch..].iter().copied());
        Ok(())
    }

    /// Write out every queued frame whose marks are all ready.
    fn emit(&mut self, out: &mut Vec<T>) -> Result<()> {
        let ch = self.channels;
        let mut n = self.queue.len() / ch;
        for r in &mut self.resampled {
            r.fill(n)?;
            n = n.min(r.ready_frames());
        }
        for f in 0..n {
            for c in 0..ch {
                let x = self.queue.pop_front().expect("n frames are queued");
                let mut m = 0.0f32;
                for r in &self.resampled {
                    let i = if r.channels == 1 { f } else { f * ch + c };
                    m += r.ready[i];
                }
                // Adding nothing keeps the sample as it is.
                out.push(if m == 0.0 { x } else { x.add_mark(m) });
            }
        }
        for r in &mut self.resampled {
            r.ready.drain(..n * r.channels);
        }
        Ok(())
    }

    /// End of the file: flush every layer's latency and resamplers, so the
    /// frames out are exactly the frames in.
    fn finish(&mut self, out: &mut Vec<T>) -> Result<()> {
        let ch = self.channels;
        let latency = self.direct.as_ref().map_or(0, |d| d.embedder.latency());
        if latency > 0 {
            let silence = vec![T::from_unit(0.0); latency as usize * ch];
            self.take(&silence)?;
            self.now -= latency;
        }
        let frames = self.queue.len() / ch;
        for r in &mut self.resampled {
            r.finish()?;
            r.fill(frames)?;
            // The resamplers' rounding may leave the last frame or so unmarked.
            let short = frames.saturating_sub(r.ready_frames());
            r.ready.extend(std::iter::repeat_n(0.0, short * r.channels));
        }
        self.emit(out)?;
        if !self.queue.is_empty() {
            bail!(
                "internal error: {} frame(s) left unmarked",
                self.queue.len() / ch
            );
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
        // 64-bit float and 32-bit integer stay so: f32 would round them.
        None if info.f64 && container == Container::Wav => SampleKind::F64,
        None if info.int_bits == Some(32) && container == Container::Wav => SampleKind::S32,
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

/// What a marked copy carries.
#[derive(Debug, Clone)]
pub struct Marked {
    /// Spans (frames of IN) of the ultrasonic bursts written whole.
    pub bursts: Vec<Range<u64>>,
    /// The robust layer's counts, if it marked.
    pub robust: Option<robust::EmbedStats>,
}

/// Mark `input` into `output`.
pub fn embed_file(
    input: &Path,
    output: &Path,
    plan: &MarkPlan,
    format: Option<OutFormat>,
    force: bool,
) -> Result<Marked> {
    let container = Container::from_path(output)?;
    if format == Some(OutFormat::F32) && container == Container::Flac {
        bail!("FLAC holds integer samples only; use --format s16 or s24, or write a .wav");
    }
    fsio::ensure_distinct(input, output)?;
    fsio::check_writable_destination(output, force)?;
    let file = AudioFile::open(input)?;
    let info = file.info().clone();
    check_channels(info.channels).with_context(|| format!("{}", input.display()))?;
    let kind = choose_kind(format, &info, container);
    let job = Job {
        input,
        output,
        plan,
        info,
        container,
        kind,
        force,
    };
    match kind {
        SampleKind::S16 => job.run::<i16>(file),
        SampleKind::S24 => job.run::<i32>(file),
        // Marked as f32; unmarked samples are written from the f64 originals.
        SampleKind::F32 | SampleKind::F64 | SampleKind::S32 => job.run::<f32>(file),
    }
}

/// One file to mark, its sample type chosen.
struct Job<'a> {
    input: &'a Path,
    output: &'a Path,
    plan: &'a MarkPlan,
    info: SourceInfo,
    container: Container,
    kind: SampleKind,
    force: bool,
}

impl Job<'_> {
    fn run<T: Sample + PcmSample>(&self, mut file: AudioFile) -> Result<Marked> {
        let (input, info, plan) = (self.input, &self.info, self.plan);
        let channels = info.channels as u16;
        let name = input.display().to_string();
        let mut marker = Marker::<T>::new(plan, info.rate, channels, |n| {
            ui::note(format!("{name}: {n}"))
        })
        .with_context(|| format!("cannot mark {}", input.display()))?;
        match info.frames {
            Some(0) => bail!(
                "{} holds no audio (0 samples): nothing to mark",
                input.display()
            ),
            Some(frames) => {
                // Known length: no burst that would be cut off at the end starts.
                if let Some(end) = marker.to_ultrasonic(frames) {
                    if let Some(u) = marker.ultrasonic_mut() {
                        u.end_at(end);
                    }
                }
                self.check_fits(&marker, frames)?;
            }
            None => {}
        }
        tracing::info!(
            "marking {} into {} {}: {}",
            input.display(),
            self.kind.describe(),
            self.container.name(),
            plan.describe()
        );
        let tmp = fsio::public_temp_beside(self.output)?;
        let handle = tmp
            .as_file()
            .try_clone()
            .with_context(|| format!("cannot write {}", tmp.path().display()))?;
        let write_err = || format!("cannot write {}", self.output.display());
        let mut writer = Writer::new(handle, self.container, self.kind, info.rate, channels)
            .with_context(write_err)?;
        let progress = crate::progress::bar(info.frames, &format!("marking {}", input.display()));
        let mut state = Run::default();
        // 64-bit float or 32-bit input: unmarked samples come from the f64
        // originals.
        let exact64 = matches!(self.kind, SampleKind::F64 | SampleKind::S32);
        mark_stream(
            &mut file,
            &mut marker,
            &mut writer,
            &mut state,
            &progress,
            self.output,
            exact64,
        )?;
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
        // The embedders' counts: bursts completed within the file, frames marked.
        let bursts = marker.whole_bursts(frames);
        let robust = marker.robust().map(|r| *r.stats());
        let robust_marked = robust.is_some_and(|r| r.marked_frames > 0);
        if bursts.is_empty() && !robust_marked {
            return Err(match marker.ultrasonic() {
                Some(_) if !plan.profiles.robust() => self.no_whole_burst(&marker, frames),
                _ => anyhow!(
                    "{}: the programme is silent where a mark would go (below {} dB): the \
                     robust layer marks only what the programme can hide, so the copy would \
                     carry no mark",
                    input.display(),
                    robust::SILENCE_DB
                ),
            });
        }
        writer.finish().with_context(write_err)?;
        fsio::persist(tmp, self.output, self.force)?;
        if state.non_finite > 0 {
            let fate = match self.kind {
                SampleKind::F32 | SampleKind::F64 => "were kept as they are",
                _ => "were written as 0 or full scale (integer samples cannot hold them)",
            };
            ui::warn(format!(
                "{}: {} non-finite sample(s) (NaN or infinity) {fate}",
                input.display(),
                state.non_finite
            ));
        }
        let mut what = Vec::new();
        if let Some((u, _)) = marker.ultrasonic() {
            what.push(crate::report::bursts_made(u.stats()));
        }
        if let Some(r) = robust {
            what.push(format!(
                "{} robust frame(s) ({} left silent, {} ms lowered by the clip guard)",
                r.marked_frames, r.silent_frames, r.lowered_blocks
            ));
        }
        ui::note(format!(
            "marked {} -> {}: {} of ID {} ({}, {}; {} {}; {})",
            input.display(),
            self.output.display(),
            what.join(" and "),
            plan.id,
            ui::duration(info.seconds(frames)),
            info.describe(),
            self.kind.describe(),
            self.container.name(),
            plan.describe()
        ));
        Ok(Marked { bursts, robust })
    }

    /// Refuse a file too short for any whole mark; say when a layer has no
    /// room but another does.
    fn check_fits<T: Sample>(&self, marker: &Marker<T>, frames: u64) -> Result<()> {
        let burst = marker
            .ultrasonic()
            .zip(marker.to_ultrasonic(frames))
            .map(|((e, _), end)| e.burst_start(0) + e.burst_samples() <= end);
        let period = self.plan.profiles.robust().then(|| {
            let rate = robust::STREAM_RATE as u64;
            let offset = (self.plan.schedule.offset_ms() as u64 * rate).div_ceil(1000);
            let len = frames * rate / self.info.rate as u64;
            offset + robust::period_samples(self.plan.id.class()) <= len
        });
        match (burst, period) {
            (Some(false), None | Some(false)) => Err(self.no_whole_burst(marker, frames)),
            (None, Some(false)) => Err(self.no_whole_period(frames)),
            (Some(false), Some(true)) => {
                ui::warn(format!(
                    "{}: no whole ultrasonic burst fits; only the robust layer marks it",
                    self.input.display()
                ));
                Ok(())
            }
            (Some(true), Some(false)) => {
                ui::warn(format!(
                    "{}: {}; only the ultrasonic layer marks it whole",
                    self.input.display(),
                    self.period_text()
                ));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn period_text(&self) -> String {
        let period = robust::period_samples(self.plan.id.class());
        format!(
            "a robust period takes {:.2} s after a {:.2} s offset, so no whole period fits",
            period as f64 / robust::STREAM_RATE as f64,
            self.plan.schedule.offset_ms() as f64 / 1000.0
        )
    }

    /// Why a file of `frames` cannot be marked: not even one whole burst fits.
    fn no_whole_burst<T: Sample>(&self, marker: &Marker<T>, frames: u64) -> anyhow::Error {
        let (input, info) = (self.input, &self.info);
        let Some((e, rate)) = marker.ultrasonic() else {
            return self.no_whole_period(frames);
        };
        let robust = match self.plan.profiles.robust() {
            true => format!(", and {}", self.period_text()),
            false => String::new(),
        };
        anyhow!(
            "{} is {} long ({frames} sample(s)); a burst takes {} ms after a {:.2} s offset, \
             so no whole burst fits{robust} and the copy would carry no mark",
            input.display(),
            ui::duration(info.seconds(frames)),
            e.phy().burst_ms(e.config().id.class()),
            e.burst_start(0) as f64 / rate as f64
        )
    }

    fn no_whole_period(&self, frames: u64) -> anyhow::Error {
        anyhow!(
            "{} is {} long ({frames} sample(s)); {} and the copy would carry no mark",
            self.input.display(),
            ui::duration(self.info.seconds(frames)),
            self.period_text()
        )
    }
}

#[derive(Default)]
struct Run {
    frames: u64,
    non_finite: u64,
}

fn mark_stream<T: Sample + PcmSample>(
    file: &mut AudioFile,
    marker: &mut Marker<T>,
    writer: &mut Writer,
    state: &mut Run,
    progress: &indicatif::ProgressBar,
    output: &Path,
    exact64: bool,
) -> Result<()> {
    let write_err = || format!("cannot write {}", output.display());
    let ch = file.info().channels;
    let mut buf: Vec<T> = Vec::with_capacity(BLOCK * ch);
    let mut programme: Vec<f32> = Vec::with_capacity(BLOCK * ch);
    let mut out: Vec<T> = Vec::with_capacity(2 * BLOCK * ch);
    let mut exact = Exact64::default();
    while let Some((block, block64)) = file.next_block_f64()? {
        if ui::stopping() {
            bail!("interrupted; nothing was written");
        }
        for (i, sub) in block.chunks(BLOCK * ch).enumerate() {
            buf.clear();
            programme.clear();
            let at = i * BLOCK * ch;
            for (j, &x) in sub.iter().enumerate() {
                // The f32 copy Exact64 compares with, made the same way.
                let x = if exact64 { block64[at + j] as f32 } else { x };
                // Non-finite samples go through as they are (the engine
                // leaves them alone); the resampled copy of the programme
                // takes 0, or its filter would spread them over the mark.
                let finite = x.is_finite();
                state.non_finite += u64::from(!finite);
                buf.push(T::from_unit(x));
                programme.push(if finite { x } else { 0.0 });
            }
            if exact64 {
                exact.originals.extend(&block64[at..at + sub.len()]);
            }
            out.clear();
            marker.push(&buf, &programme, &mut out)?;
            exact.write(writer, &out, exact64).with_context(write_err)?;
            state.frames += (sub.len() / ch) as u64;
        }
        progress.set_position(state.frames);
    }
    out.clear();
    marker.finish(&mut out)?;
    exact.write(writer, &out, exact64).with_context(write_err)?;
    Ok(())
}

/// A 64-bit file's samples, waiting for their marked `f32` copies: where
/// the marker left a sample alone the original is written, else the
/// original plus the mark, so nothing outside a mark is rounded.
#[derive(Default)]
struct Exact64 {
    originals: VecDeque<f64>,
    out: Vec<f64>,
}

impl Exact64 {
    fn write<T: Sample + PcmSample>(
        &mut self,
        w: &mut Writer,
        marked: &[T],
        on: bool,
    ) -> Result<()> {
        if !on {
            return w.write(marked);
        }
        self.out.clear();
        for &y in marked {
            let o = self.originals.pop_front().unwrap_or(0.0);
            let x = T::from_unit(o as f32);
            self.out.push(if y.to_bits() == x.to_bits() {
                o
            } else {
                let with_mark = o + (y.to_unit() - x.to_unit()) as f64;
                // As the engine does: never past full scale.
                if o.abs() <= 1.0 {
                    with_mark.clamp(-1.0, 1.0)
                } else {
                    o
                }
            });
        }
        w.write_f64(&self.out)
    }
}
