//! The embedder: adds bursts to a stream of interleaved frames, in place.
//!
//! * **Schedule.** Burst `k` starts at `anchor + offset + k · period`
//!   (period = interval, or the burst length when back-to-back) and carries
//!   counter `k mod 2^16`. The anchor is sample 0, or the sample at which a
//!   new configuration took effect.
//! * **Time is passed in.** Each call says which sample index its first frame
//!   has. Consecutive calls continue seamlessly, so the output does not depend
//!   on how the stream is cut into blocks. After a jump (a seek, lost blocks)
//!   a burst already under way is skipped rather than started mid-way, which
//!   would click.
//! * **Outside bursts** samples are not touched: the output is bit-identical.
//! * **Never clips.** A peak follower on the marked channels (50 ms release)
//!   lowers the mark's gain where the programme nears full scale (20 ms
//!   recovery). It decides every 32 samples from the samples already seen and
//!   the gain glides linearly in between; on top of that each sample's mark is
//!   cut to the room left. The programme is never changed. Zero latency:
//!   sample n depends on input samples up to n only.
//! * **Changes** (`set_config`) wait for the end of the burst under way. If
//!   only the level or marked channels change, the schedule carries on;
//!   otherwise it restarts at the change (counter back to 0).

use super::burst::{precoded, BurstBits};
use super::modulator::{envelope, ramp_step, sincos_quarter, PhaseTrack};
use crate::config::{
    check_channels, EmbedConfig, Phy, Schedule, MAX_INTERVAL_MS, MAX_LEVEL_DBFS, MIN_INTERVAL_MS,
    MIN_LEVEL_DBFS,
};
use crate::error::{ConfigError, ProcessError};
use crate::frame::{seal_a, SealedA};
use crate::key::KeySchedule;
use crate::layout::RAMP_SYMBOLS;
use crate::math::{cos_turns, db_to_amplitude, sin_turns};
use crate::sample::Sample;

/// A configuration checked and turned into sample counts.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Plan {
    config: EmbedConfig,
    phy: Phy,
    mask: u8,
    /// `mask` holds every channel of the stream.
    every_channel: bool,
    amplitude: f32,
    inv_amplitude: f32,
    inv_rate: f32,
    keys: KeySchedule,
    sealed: SealedA,
    burst_len: u64,
    ramp_len: u64,
    period: u64,
    offset: u64,
    carrier_increment: u32,
    /// Peak-follower release and gain-recovery coefficients per chunk.
    release: f32,
    recovery: f32,
    /// Rotation per sample of x = πτ/2 in the phase formula.
    rot_cos: f32,
    rot_sin: f32,
}

impl Plan {
    fn new(config: &EmbedConfig) -> Result<Plan, ConfigError> {
        let phy = Phy::new(
            config.profiles.ultrasonic().ok_or(ConfigError::NoProfile)?,
            config.sample_rate,
        )?;
        check_channels(config.channels)?;
        let mask = config.marked_channels.resolve(config.channels)?;
        let every_channel = mask == crate::config::ChannelMask::ALL.resolve(config.channels)?;
        let level = config.level_dbfs;
        if !(MIN_LEVEL_DBFS..=MAX_LEVEL_DBFS).contains(&level) {
            return Err(ConfigError::Level { dbfs: level });
        }
        let class = config.id.class();
        let burst_len = phy.burst_samples(class);
        let offset_ms = config.schedule.offset_ms();
        if offset_ms > MAX_INTERVAL_MS {
            return Err(ConfigError::Offset { ms: offset_ms });
        }
        let period = match config.schedule {
            Schedule::Interval { every_ms, .. } => {
                if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&every_ms) {
                    return Err(ConfigError::Interval { ms: every_ms });
                }
                let period = phy.ms_to_samples(every_ms);
                if period < burst_len {
                    return Err(ConfigError::IntervalShorterThanBurst {
                        interval_ms: every_ms,
                        burst_ms: phy.burst_ms(class),
                    });
                }
                period
            }
            Schedule::BackToBack { .. } => burst_len,
        };
        let keys = KeySchedule::new(&config.key);
        let fs = config.sample_rate as f32;
        let symbol_step = phy.symbol_rate as f32 / fs;
        let rot = (symbol_step * (1u32 << 30) as f32) as u32;
        Ok(Plan {
            config: *config,
            phy,
            mask,
            every_channel,
            amplitude: db_to_amplitude(level),
            inv_amplitude: 1.0 / db_to_amplitude(level),
            inv_rate: 1.0 / fs,
            sealed: seal_a(&keys, &config.id),
            keys,
            burst_len,
            ramp_len: RAMP_SYMBOLS as u64 * config.sample_rate as u64 / phy.symbol_rate as u64,
            period,
            offset: phy.ms_to_samples(offset_ms),
            carrier_increment: phy.carrier_increment(),
            release: libm::expf(-(YIELD_CHUNK as f32) / (0.050 * fs)),
            recovery: 1.0 - libm::expf(-(YIELD_CHUNK as f32) / (0.020 * fs)),
            rot_cos: cos_turns(rot),
            rot_sin: sin_turns(rot),
        })
    }

    /// True if switching from `self` to `next` can keep the schedule running
    /// (`set_config` has already refused a change of rate or channels).
    fn continues_into(&self, next: &Plan) -> bool {
        let (a, b) = (&self.config, &next.config);
        a.id == b.id && a.key == b.key && a.profiles == b.profiles && a.schedule == b.schedule
    }

    /// Start of burst `k` of a schedule anchored at `anchor`.
    fn burst_start(&self, anchor: u64, k: u64) -> u64 {
        anchor
            .saturating_add(self.offset)
            .saturating_add(k.saturating_mul(self.period))
    }
}

/// A burst being sent.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Burst {
    start: u64,
    bits: BurstBits,
    track: PhaseTrack,
    /// Position in the current symbol: `frac / sample_rate` of a symbol.
    frac: u32,
    sin_x: f32,
    cos_x: f32,
    carrier: u32,
    /// Position in the burst, of `len` samples with ramps of `ramp` (u32:
    /// cheap on Cortex-M, and a burst is under 2^17 samples).
    pos: u32,
    len: u32,
    ramp: u32,
    ramp_step: u32,
    /// Yield follower: peak of the marked channels (decaying), the largest
    /// input of the chunk under way, the gain now and its step per sample.
    peak: f32,
    chunk_peak: f32,
    gain: f32,
    gain_step: f32,
    /// False when the burst was under way at a time jump: stay silent.
    audible: bool,
}

/// What an embedder has sent so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EmbedStats {
    /// Bursts sent whole.
    pub completed: u64,
    /// Scheduled bursts left out: under way at a time jump, or running past
    /// the end set by [`Embedder::end_at`].
    pub skipped: u64,
}

/// Streaming watermark embedder. Its state is a few hundred bytes and it
/// never allocates; see the module docs for the behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedder {
    plan: Plan,
    pending: Option<Plan>,
    anchor: u64,
    /// Index of the next burst to start.
    next_burst: u64,
    burst: Option<Burst>,
    expected_now: Option<u64>,
    /// No burst that would run past this sample starts.
    end: Option<u64>,
    stats: EmbedStats,
}

impl Embedder {
    /// A configured embedder, or why the configuration cannot run.
    pub fn new(config: &EmbedConfig) -> Result<Embedder, ConfigError> {
        Ok(Embedder {
            plan: Plan::new(config)?,
            pending: None,
            anchor: 0,
            next_burst: 0,
            burst: None,
            expected_now: None,
            end: None,
            stats: EmbedStats::default(),
        })
    }

    /// Bursts sent and left out so far.
    pub fn stats(&self) -> &EmbedStats {
        &self.stats
    }

    /// The stream ends at sample `end` (a file's length): a burst that would
    /// not be whole by then is not started, so no burst is cut off.
    pub fn end_at(&mut self, end: u64) {
        self.end = Some(end);
    }

    /// Start of burst `k` of the schedule in force (counted from its anchor:
    /// sample 0, or where a configuration that restarted it took effect).
    pub fn burst_start(&self, k: u64) -> u64 {
        self.plan.burst_start(self.anchor, k)
    }

    /// The configuration in force.
    pub fn config(&self) -> &EmbedConfig {
        &self.plan.config
    }

    /// The physical parameters in force.
    pub fn phy(&self) -> &Phy {
        &self.plan.phy
    }

    /// Length of each burst in samples.
    pub fn burst_samples(&self) -> u64 {
        self.plan.burst_len
    }

    /// Sample index at which the next burst will start (or the current one started).
    pub fn next_burst_start(&self) -> u64 {
        match &self.burst {
            Some(b) => b.start,
            None => self.plan.burst_start(self.anchor, self.next_burst),
        }
    }

    /// Queue a new configuration; it takes effect at the next burst boundary.
    /// Checked now, so an error leaves the embedder as it was. The stream
    /// format (sample rate, channels) cannot change: make a new embedder.
    pub fn set_config(&mut self, config: &EmbedConfig) -> Result<(), ConfigError> {
        let now = &self.plan.config;
        if config.sample_rate != now.sample_rate || config.channels != now.channels {
            return Err(ConfigError::StreamFormatChange {
                from_rate: now.sample_rate,
                to_rate: config.sample_rate,
                from_channels: now.channels,
                to_channels: config.channels,
            });
        }
        self.pending = Some(Plan::new(config)?);
        Ok(())
    }

    /// Mark `frames` (interleaved) in place; `now` is the sample index of the
    /// first frame.
    pub fn process<S: Sample>(&mut self, now: u64, frames: &mut [S]) -> Result<(), ProcessError> {
        let ch = self.plan.config.channels as usize;
        if frames.len() % ch != 0 {
            return Err(ProcessError::PartialFrame {
                len: frames.len(),
                channels: self.plan.config.channels,
            });
        }
        if self.expected_now != Some(now) {
            self.jump_to(now);
        }
        let total = (frames.len() / ch) as u64;
        let mut done = 0u64;
        while done < total {
            let t = now + done;
            let left = total - done;
            let run = match self.burst {
                Some(ref burst) => left.min(burst.start + self.plan.burst_len - t),
                None => {
                    self.apply_pending(t);
                    let start = self.plan.burst_start(self.anchor, self.next_burst);
                    if start == t {
                        self.begin_burst(start, true);
                        continue;
                    }
                    if start < t {
                        // A start already passed (time jumped): never start late.
                        self.jump_to(t);
                        continue;
                    }
                    left.min(start - t)
                }
            };
            if self.burst.is_some() {
                let range = done as usize * ch..(done + run) as usize * ch;
                self.mark(&mut frames[range]);
                if let Some(b) = self.burst.filter(|b| b.pos == b.len) {
                    self.burst = None;
                    if b.audible {
                        self.stats.completed += 1;
                    } else {
                        self.stats.skipped += 1;
                    }
                }
            }
            done += run;
        }
        self.expected_now = Some(now + total);
        Ok(())
    }

    /// Like [`Embedder::process`], reading `input` and writing `output`.
    pub fn process_into<S: Sample>(
        &mut self,
        now: u64,
        input: &[S],
        output: &mut [S],
    ) -> Result<(), ProcessError> {
        if input.len() != output.len() {
            return Err(ProcessError::OutputLength {
                expected: input.len(),
                actual: output.len(),
            });
        }
        output.copy_from_slice(input);
        self.process(now, output)
    }

    fn apply_pending(&mut self, t: u64) {
        if let Some(next) = self.pending.take() {
            if !self.plan.continues_into(&next) {
                self.anchor = t;
                self.next_burst = 0;
            }
            self.plan = next;
        }
    }

    /// Re-derive the schedule position after a discontinuity.
    fn jump_to(&mut self, now: u64) {
        let interrupted = self.burst.take().map(|b| b.start);
        self.rejoin(now);
        // A burst cut by the jump is left out, once: if the jump lands back
        // inside it, it is counted when its silent remainder ends.
        if interrupted.is_some() && interrupted != self.burst.map(|b| b.start) {
            self.stats.skipped += 1;
        }
    }

    fn rejoin(&mut self, now: u64) {
        self.apply_pending(now);
        let first = self.plan.burst_start(self.anchor, 0);
        if now <= first {
            self.next_burst = 0;
            return;
        }
        let k = (now - first) / self.plan.period;
        let start = self.plan.burst_start(self.anchor, k);
        self.next_burst = if now == start { k } else { k + 1 };
        if now > start && now < start + self.plan.burst_len {
            self.next_burst = k;
            // Mid-burst: keep time but stay silent until it ends.
            self.begin_burst(start, false);
            if let Some(b) = self.burst.as_mut() {
                b.pos = (now - start) as u32;
            }
        }
    }

    fn begin_burst(&mut self, start: u64, audible: bool) {
        let plan = &self.plan;
        let audible = audible && self.end.is_none_or(|end| start + plan.burst_len <= end);
        let bits = BurstBits::build(&plan.keys, &plan.sealed, self.next_burst as u16);
        let track = PhaseTrack::start(|k| precoded(|i| bits.symbol(i), k));
        let (sin_x, cos_x) = sincos_quarter(0.0);
        self.burst = Some(Burst {
            start,
            bits,
            track,
            frac: 0,
            sin_x,
            cos_x,
            carrier: 0,
            pos: 0,
            len: plan.burst_len as u32,
            ramp: plan.ramp_len as u32,
            ramp_step: ramp_step(plan.ramp_len as u32),
            peak: 0.0,
            chunk_peak: 0.0,
            gain: 1.0,
            gain_step: 0.0,
            audible,
        });
        self.next_burst += 1;
    }

    /// Add the mark to whole frames within the current burst.
    fn mark<S: Sample>(&mut self, frames: &mut [S]) {
        let plan = &self.plan;
        let Some(burst) = self.burst.as_mut() else {
            return;
        };
        let ch = plan.config.channels as usize;
        if !burst.audible {
            // Joined mid-burst: nothing to add, only keep time.
            burst.pos += (frames.len() / ch) as u32;
            return;
        }
        let mut rest = frames;
        while !rest.is_empty() {
            // Chunks are aligned to the burst, not to the caller's blocks, so
            // the output does not depend on how the stream is cut.
            let into_chunk = burst.pos % YIELD_CHUNK;
            if into_chunk == 0 {
                burst.start_chunk(plan);
            }
            let n = ((YIELD_CHUNK - into_chunk) as usize).min(rest.len() / ch);
            let (now, later) = core::mem::take(&mut rest).split_at_mut(n * ch);
            burst.mark_run(plan, now);
            rest = later;
        }
    }
}

/// The yield follower decides once per chunk of this many burst samples; its
/// gain then moves linearly across the chunk (no steps), while every sample's
/// mark is still cut to the room left (no clipping, ever).
const YIELD_CHUNK: u32 = 32;

impl Burst {
    /// Follower update from the chunk just finished (causal: it only looked at
    /// samples already processed).
    fn start_chunk(&mut self, plan: &Plan) {
        let seen = self.chunk_peak.min(2.0);
        self.chunk_peak = 0.0;
        let decayed = self.peak * plan.release;
        self.peak = if seen > decayed {
            seen
        } else if decayed < 1e-12 {
            0.0
        } else {
            decayed
        };
        let room = ((1.0 - self.peak) * plan.inv_amplitude).clamp(0.0, 1.0);
        let target = if room < self.gain {
            room
        } else {
            self.gain + (room - self.gain) * plan.recovery
        };
        self.gain_step = (target - self.gain) * (1.0 / YIELD_CHUNK as f32);
    }

    /// Mark `frames`, all within one follower chunk. Hot state is kept in
    /// locals so it stays in registers.
    fn mark_run<S: Sample>(&mut self, plan: &Plan, frames: &mut [S]) {
        let ch = plan.config.channels as usize;
        let (rate, symbol_rate) = (plan.config.sample_rate, plan.phy.symbol_rate);
        let (mut pos, mut frac, mut carrier) = (self.pos, self.frac, self.carrier);
        let (mut sin_x, mut cos_x) = (self.sin_x, self.cos_x);
        let (mut gain, mut chunk_peak) = (self.gain, self.chunk_peak);
        let every_channel = plan.every_channel;
        for frame in frames.chunks_exact_mut(ch) {
            gain += self.gain_step;
            let tau = frac as f32 * plan.inv_rate;
            let data = self.track.interval().phase(tau, sin_x, cos_x);
            let mut wave = plan.amplitude * gain * sin_turns(carrier.wrapping_add(data));
            if pos < self.ramp || pos + self.ramp > self.len {
                wave *= envelope(pos, self.len, self.ramp, self.ramp_step);
            }
            let offset = S::offset(wave);
            // NaN compares false and is ignored; infinities are capped later.
            let mut mark = |x: &mut S| {
                let v = x.to_unit().abs();
                if v > chunk_peak {
                    chunk_peak = v;
                }
                *x = x.add_offset(offset);
            };
            if every_channel {
                frame.iter_mut().for_each(&mut mark);
            } else {
                for (c, x) in frame.iter_mut().enumerate() {
                    if plan.mask & (1 << c) != 0 {
                        mark(x);
                    }
                }
            }
            pos += 1;
            carrier = carrier.wrapping_add(plan.carrier_increment);
            frac += symbol_rate;
            if frac >= rate {
                frac -= rate;
                let bits = &self.bits;
                self.track.advance(|k| precoded(|i| bits.symbol(i), k));
                (sin_x, cos_x) = sincos_quarter(frac as f32 * plan.inv_rate);
            } else {
                (sin_x, cos_x) = (
                    sin_x * plan.rot_cos + cos_x * plan.rot_sin,
                    cos_x * plan.rot_cos - sin_x * plan.rot_sin,
                );
            }
        }
        (self.pos, self.frac, self.carrier) = (pos, frac, carrier);
        (self.sin_x, self.cos_x) = (sin_x, cos_x);
        (self.gain, self.chunk_peak) = (gain, chunk_peak);
    }
}
