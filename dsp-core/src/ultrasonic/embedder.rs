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
//! * **Never clips, never splatters.** The output is the input delayed by 2 ms
//!   ([`Embedder::latency`]); in that time the [`Limiter`] sees where the
//!   programme nears full scale and lowers the mark's gain there, smoothly
//!   enough that the mark stays in its band (no per-sample cut, which would
//!   spread it into the audible band). The programme itself is never changed.
//!   Bursts are counted as sent at full level, lowered (and by how much) or
//!   without room to be heard by a detector ([`EmbedStats`]).
//! * **Changes** (`set_config`) wait for the end of the burst under way. If
//!   only the level or marked channels change, the schedule carries on;
//!   otherwise it restarts at the change (counter back to 0).

use super::burst::{precoded, BurstBits};
use super::limiter::{Limiter, MAX_LOOKAHEAD};
use super::modulator::{envelope, ramp_step, sincos_quarter, PhaseTrack};
use crate::binding::Binder;
use crate::config::{
    check_channels, EmbedConfig, Phy, Schedule, MAX_CHANNELS, MAX_INTERVAL_MS, MAX_LEVEL_DBFS,
    MIN_INTERVAL_MS, MIN_LEVEL_DBFS,
};
use crate::error::{ConfigError, ProcessError};
use crate::frame::{seal_a, SealedA};
use crate::key::KeySchedule;
use crate::layout::RAMP_SYMBOLS;
use crate::math::{cos_turns, db_to_amplitude, max_f32, min_f32, sin_turns};
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
    inv_rate: f32,
    keys: KeySchedule,
    sealed: SealedA,
    burst_len: u64,
    ramp_len: u64,
    period: u64,
    offset: u64,
    carrier_increment: u32,
    /// Rotation per sample of x = πτ/2 in the phase formula.
    rot_cos: f32,
    rot_sin: f32,
}

impl Plan {
    /// No stream: zero channels, which `process` refuses.
    const fn unconfigured() -> Plan {
        Plan {
            config: EmbedConfig::UNCONFIGURED,
            phy: Phy::UNCONFIGURED,
            mask: 0,
            every_channel: false,
            amplitude: 0.0,
            inv_rate: 0.0,
            keys: KeySchedule::zeroed(),
            sealed: SealedA {
                bytes: [0; crate::frame::MAX_A_BYTES],
                class: crate::layout::FrameClass::Short,
                mac: [0; 4],
            },
            burst_len: 0,
            ramp_len: 0,
            period: 0,
            offset: 0,
            carrier_increment: 0,
            rot_cos: 0.0,
            rot_sin: 0.0,
        }
    }

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
            inv_rate: 1.0 / fs,
            sealed: seal_a(&keys, &config.id),
            keys,
            burst_len,
            ramp_len: RAMP_SYMBOLS as u64 * config.sample_rate as u64 / phy.symbol_rate as u64,
            period,
            offset: phy.ms_to_samples(offset_ms),
            carrier_increment: phy.carrier_increment(),
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
    /// The limiter's gain over the burst: lowest and sum.
    gain_min: f32,
    gain_sum: f32,
    /// False when the burst was under way at a time jump: stay silent.
    audible: bool,
}

/// What an embedder has sent so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EmbedStats {
    /// Bursts sent whole (at full level unless counted in `lowered`).
    pub completed: u64,
    /// Of those, bursts the limiter lowered somewhere (loud programme) but
    /// not below [`AUDIBLE_GAIN`] on average: a detector still reads them.
    pub lowered: u64,
    /// Of those, bursts lowered below [`AUDIBLE_GAIN`] on average: the
    /// programme left no room for a readable mark.
    pub no_room: u64,
    /// The largest lowering of a burst (its mean gain), in dB (≥ 0).
    pub max_lowering_db: f32,
    /// Scheduled bursts left out: under way at a time jump, or running past
    /// the end set by [`Embedder::end_at`].
    pub skipped: u64,
}

/// A burst's mean gain below which it is counted as `no_room` (−12 dB: at
/// the default level such a burst is near the detector's threshold in a
/// quiet band, and under it in any other).
pub const AUDIBLE_GAIN: f32 = 0.25;

/// Streaming watermark embedder. Its state is ~9 KiB (the limiter's 2 ms
/// delay line, the plan in force and a pending one) and it never allocates; see the module docs for the behaviour.
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
    limiter: Limiter,
    /// The delay line: `lookahead` frames of the input, as raw sample bits.
    delay: [u32; MAX_LOOKAHEAD * MAX_CHANNELS as usize],
    delay_pos: usize,
    /// The programme's fingerprint before each burst (`binding.rs`).
    binder: Binder,
}

impl Embedder {
    /// An embedder that must be [`configure`](Embedder::configure)d before
    /// use; `const` and all zero, so a `static` of it lands in `.bss` and
    /// nothing moves its ~9 KiB through the stack. Until configured,
    /// `process` returns [`ProcessError::Unconfigured`].
    pub const fn unconfigured() -> Embedder {
        Embedder {
            plan: Plan::unconfigured(),
            pending: None,
            anchor: 0,
            next_burst: 0,
            burst: None,
            expected_now: None,
            end: None,
            stats: EmbedStats {
                completed: 0,
                lowered: 0,
                no_room: 0,
                max_lowering_db: 0.0,
                skipped: 0,
            },
            limiter: Limiter::unconfigured(),
            delay: [0; MAX_LOOKAHEAD * MAX_CHANNELS as usize],
            delay_pos: 0,
            binder: Binder::zeroed(),
        }
    }

    /// A configured embedder, or why the configuration cannot run.
    pub fn new(config: &EmbedConfig) -> Result<Embedder, ConfigError> {
        let mut e = Embedder::unconfigured();
        e.configure(config)?;
        Ok(e)
    }

    /// (Re)configure in place for a new stream: all state is forgotten and
    /// the schedule starts at the next `process`. On error nothing changes.
    /// ([`set_config`](Embedder::set_config) changes a running stream.)
    pub fn configure(&mut self, config: &EmbedConfig) -> Result<(), ConfigError> {
        let plan = Plan::new(config)?;
        self.limiter.configure(config.sample_rate, plan.amplitude);
        self.plan = plan;
        self.pending = None;
        self.anchor = 0;
        self.next_burst = 0;
        self.burst = None;
        self.expected_now = None;
        self.end = None;
        self.stats = EmbedStats::default();
        self.delay.fill(0);
        self.delay_pos = 0;
        self.binder = Binder::new(config.sample_rate);
        Ok(())
    }

    /// Output sample n is input sample n − latency plus the mark: the
    /// limiter's look-ahead, 2 ms.
    pub fn latency(&self) -> u64 {
        self.limiter.lookahead() as u64
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
    /// first frame. The output is delayed by [`latency`](Embedder::latency):
    /// burst times ([`burst_start`](Embedder::burst_start)) are input times.
    pub fn process<S: Sample>(&mut self, now: u64, frames: &mut [S]) -> Result<(), ProcessError> {
        let ch = self.plan.config.channels as usize;
        if ch == 0 {
            return Err(ProcessError::Unconfigured);
        }
        if frames.len() % ch != 0 {
            return Err(ProcessError::PartialFrame {
                len: frames.len(),
                channels: self.plan.config.channels,
            });
        }
        let lookahead = self.latency();
        if self.expected_now != Some(now) {
            self.jump_to(now.saturating_sub(lookahead));
            self.binder.reset();
        }
        let total = frames.len() / ch;
        self.expected_now = Some(now + total as u64);
        let mut done = 0;
        while done < total {
            let n = (total - done).min(CHUNK);
            let t0 = now + done as u64;
            let chunk = &mut frames[done * ch..(done + n) * ch];
            let mut gains = [1.0f32; CHUNK];
            let (plan, anchor) = (&self.plan, self.anchor);
            self.binder.push(t0, chunk, ch, self.next_burst, |k| {
                plan.burst_start(anchor, k)
            });
            let gains_matter = self.gains_matter(t0, n);
            self.delay(chunk, &mut gains[..n], gains_matter);
            // Output frames before the stream's first sample stay silent.
            let before = (lookahead.saturating_sub(t0) as usize).min(n);
            if before < n {
                self.mark_span(
                    t0 + before as u64 - lookahead,
                    &mut chunk[before * ch..],
                    &gains[before..n],
                );
            }
            done += n;
        }
        Ok(())
    }

    /// Whether the limiter's gains for input frames `t0 .. t0 + n` can
    /// reach a burst: one under way, a change pending, or the next start
    /// within the limiter's memory of them. Between bursts the programme is
    /// not read at all (half the time on the default schedule).
    fn gains_matter(&self, t0: u64, n: usize) -> bool {
        if self.burst.is_some() || self.pending.is_some() {
            return true;
        }
        let start = self.plan.burst_start(self.anchor, self.next_burst);
        t0 + n as u64 + self.limiter.memory() >= start
    }

    /// Delay `frames` through the line, and take the limiter's gain for
    /// each output frame from the input frame that entered (all 1 and the
    /// limiter at rest when no burst can use them).
    fn delay<S: Sample>(&mut self, frames: &mut [S], gains: &mut [f32], gains_matter: bool) {
        let plan = &self.plan;
        let ch = plan.config.channels as usize;
        let marked = |c: usize| plan.every_channel || plan.mask & (1 << c) != 0;
        let frame_peak = |frame: &[S]| {
            Limiter::peak(
                frame
                    .iter()
                    .enumerate()
                    .filter(|(c, _)| marked(*c))
                    .map(|(_, x)| x.to_unit()),
            )
        };
        // With the limiter at rest and room everywhere, each push would give
        // 1 and change nothing: one look at the chunk's peak does it all
        // (taken only at rest, so loud passages read each frame once).
        if !gains_matter {
            self.limiter.rest();
        }
        let untouched = !gains_matter
            || self.limiter.at_rest() && {
                let peak = if plan.every_channel {
                    S::peak(frames)
                } else {
                    frames
                        .chunks_exact(ch)
                        .fold(0.0f32, |p, f| max_f32(p, frame_peak(f)))
                };
                self.limiter.allowed(peak) == Limiter::FULL
            };
        if untouched {
            gains.fill(1.0);
        } else {
            for (frame, gain) in frames.chunks_exact(ch).zip(gains.iter_mut()) {
                *gain = self.limiter.push(self.limiter.allowed(frame_peak(frame)));
            }
        }
        // The delay line, in runs up to its wrap.
        let line = self.limiter.lookahead();
        let mut rest = frames;
        while !rest.is_empty() {
            let run = (line - self.delay_pos).min(rest.len() / ch);
            let (now, later) = core::mem::take(&mut rest).split_at_mut(run * ch);
            let slots = &mut self.delay[self.delay_pos * ch..(self.delay_pos + run) * ch];
            for (x, slot) in now.iter_mut().zip(slots) {
                let out = S::from_bits(*slot);
                *slot = x.to_bits();
                *x = out;
            }
            self.delay_pos += run;
            if self.delay_pos == line {
                self.delay_pos = 0;
            }
            rest = later;
        }
    }

    /// Add the bursts due to `frames`, whose first frame is sample `now` of
    /// the (delayed) output, with the limiter's `gains`.
    fn mark_span<S: Sample>(&mut self, now: u64, frames: &mut [S], gains: &[f32]) {
        let ch = self.plan.config.channels as usize;
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
                let g = &gains[done as usize..(done + run) as usize];
                self.mark(&mut frames[range], g);
                if let Some(b) = self.burst.filter(|b| b.pos == b.len) {
                    self.burst = None;
                    self.count(&b);
                }
            }
            done += run;
        }
    }

    /// Count a burst that has ended.
    fn count(&mut self, b: &Burst) {
        if !b.audible {
            self.stats.skipped += 1;
            return;
        }
        self.stats.completed += 1;
        let mean = b.gain_sum / b.len.max(1) as f32;
        if b.gain_min < 1.0 {
            if mean < AUDIBLE_GAIN {
                self.stats.no_room += 1;
            } else {
                self.stats.lowered += 1;
            }
            let db = -20.0 * libm::log10f(mean.max(1e-6));
            self.stats.max_lowering_db = max_f32(self.stats.max_lowering_db, db);
        }
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
        let fingerprint = self.binder.bits(start);
        let bits = BurstBits::build(
            &plan.keys,
            &plan.sealed,
            self.next_burst as u16,
            fingerprint,
        );
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
            gain_min: 1.0,
            gain_sum: 0.0,
            audible,
        });
        self.next_burst += 1;
    }

    /// Add the mark to whole frames within the current burst, each with
    /// its limiter gain.
    fn mark<S: Sample>(&mut self, frames: &mut [S], gains: &[f32]) {
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
        burst.mark_run(plan, frames, gains);
    }
}

/// Frames delayed and marked at a time (the limiter's gains wait on the stack).
const CHUNK: usize = 64;

impl Burst {
    /// Mark `frames` with their `gains`. Hot state is kept in locals so it
    /// stays in registers.
    fn mark_run<S: Sample>(&mut self, plan: &Plan, frames: &mut [S], gains: &[f32]) {
        let ch = plan.config.channels as usize;
        let (rate, symbol_rate) = (plan.config.sample_rate, plan.phy.symbol_rate);
        let (mut pos, mut frac, mut carrier) = (self.pos, self.frac, self.carrier);
        let (mut sin_x, mut cos_x) = (self.sin_x, self.cos_x);
        let (mut gain_min, mut gain_sum) = (self.gain_min, self.gain_sum);
        let every_channel = plan.every_channel;
        for (frame, &gain) in frames.chunks_exact_mut(ch).zip(gains) {
            gain_min = min_f32(gain_min, gain);
            gain_sum += gain;
            let tau = frac as f32 * plan.inv_rate;
            let data = self.track.interval().phase(tau, sin_x, cos_x);
            let mut wave = plan.amplitude * gain * sin_turns(carrier.wrapping_add(data));
            if pos < self.ramp || pos + self.ramp > self.len {
                wave *= envelope(pos, self.len, self.ramp, self.ramp_step);
            }
            let offset = S::offset(wave);
            // The limiter left the room; this only catches rounding at full scale.
            let mut mark = |x: &mut S| *x = x.add_offset(offset);
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
        (self.gain_min, self.gain_sum) = (gain_min, gain_sum);
    }
}
