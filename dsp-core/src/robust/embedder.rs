//! The robust embedder: a fixed delay line, and per 16 ms hop one frame of
//! analysis, masking, informed embedding and synthesis (see the module
//! docs of [`robust`](super) for the signal).
//!
//! ```text
//! in ─► delay line (1617 samples, 33.7 ms) ───────────────────────► + ─► out
//!          │ every 768 samples: 256 new 16 kHz samples per channel    ▲
//!          ▼                                                          │
//!   decimate ─► window ─► FFT ─► masking ─► cells (pilots, data, ISS) │
//!                                        ─► IFFT ─► overlap-add ─► interpolate
//! ```
//!
//! * **Latency.** Output sample n is input sample n − [`LATENCY`] plus the
//!   mark: the frame that shapes a sample's mark must have been analysed
//!   whole. Hosts drop the first `LATENCY` output samples of a file and
//!   flush as many at its end, so files keep their length and alignment.
//! * **Time is passed in**, as in the ultrasonic embedder: frames sit on a
//!   grid anchored at the schedule's start, so the output does not depend
//!   on how the stream is cut into blocks. A jump in `now` restarts the mark
//!   (the delay line keeps flowing, so no audio is lost or repeated).
//! * **Never clips.** Where the delayed programme plus the mark would pass
//!   full scale, the mark's gain is lowered smoothly (a 1 ms block gain,
//!   interpolated), never the programme. Samples the programme itself holds
//!   at full scale (|x| ≥ 0.98: clipped and limited masters) do not lower
//!   it: there the mark is cut sample by sample to the room left (only its
//!   sign towards zero survives), which keeps a mark in hard-clipped
//!   programme at the cost of a distortion below the clipping the master
//!   already has.

use microfft::Complex32;

use crate::config::{check_channels, EmbedConfig, Profile, Profiles, MAX_INTERVAL_MS};
use crate::error::{ConfigError, ProcessError};
use crate::fec::encode;
use crate::frame::{seal_a, seal_b, SealedA};
use crate::key::KeySchedule;
use crate::layout::{B_CODED, MAX_A_CODED};
use crate::math::{max_f32, min_f32};
use crate::sample::Sample;

use super::layout::{cell_phases, Cells, Content, PeriodMap, Role};
use super::masking::{Model, BANDS, DB_TO_LOG2, MAX_MMR_DB, MIN_MMR_DB};
use super::rate::{
    fir, ANALYSIS_DELAY, DECIMATION, DECIMATION_TAPS, DELAY, PHASE_TAPS, POLYPHASE, RATIO,
};
const _: () = assert!(GUARD_BLOCK % RATIO == 0);
use super::spectrum::{fft, ifft_unscaled, unpack_pair, UNIT, WINDOW};
use super::{BINS, FIRST_BIN, FRAME, HOP, MAX_CHANNELS, PHASE_CYCLE, SLOTS, STREAM_RATE};

/// Stream samples between output and input (35.44 ms at 48 kHz): the
/// analysis frame (32 ms), the two filters (1.5 ms) and the clip guard's
/// look-ahead (2 ms).
pub const LATENCY: usize = RATIO * (2 * HOP - 1) + ANALYSIS_DELAY + DELAY + 2 * GUARD_BLOCK;
/// Stream samples per hop.
const HOP_IN: u64 = (HOP * RATIO) as u64;
/// The hop that completes frame k ends at stream sample 768·k + 789 (its
/// newest 16 kHz sample, mark time 256·k + 255, needs the decimator's 24
/// later input samples).
const HOP_PHASE: u64 = (RATIO * (HOP - 1) + ANALYSIS_DELAY) as u64;
/// Mark samples (16 kHz) kept: final but not yet output, plus one frame
/// still being added up.
const MARK_RING: usize = 576;
/// Programme at or above this (of full scale) is saturated: the clip guard
/// cuts the mark there per sample instead of lowering it for the block.
const SATURATED: f32 = 0.98;
/// Output samples per gain decision of the clip guard (1 ms).
const GUARD_BLOCK: usize = 48;
/// ISS: share of the programme's own contribution cancelled, and the most
/// a slot's mark may grow over its masked amplitude.
const ISS_LAMBDA: f32 = 0.8;
const ISS_CAP: f32 = 1.41;

/// The mark-to-mask ratio in log2 power units, or why it is out of range.
fn mmr_log2(db: f32) -> Result<f32, ConfigError> {
    if !(MIN_MMR_DB..=MAX_MMR_DB).contains(&db) {
        return Err(ConfigError::RobustStrength { mmr_db: db });
    }
    Ok(db * DB_TO_LOG2)
}

/// Bits, in u64 words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bits<const W: usize>([u64; W]);

impl<const W: usize> Bits<W> {
    const ZERO: Self = Bits([0; W]);

    fn coded(info: &[u8]) -> Self {
        let mut b = Self::ZERO;
        encode(info, |i, bit| b.0[i / 64] |= (bit as u64) << (i % 64));
        b
    }

    #[inline]
    fn value(&self, i: usize) -> f32 {
        1.0 - 2.0 * ((self.0[i / 64] >> (i % 64)) & 1) as f32
    }
}

/// Streaming robust-layer embedder. All state is inside (about 24 KiB);
/// it never allocates.
#[derive(Clone)]
pub struct Embedder {
    config: EmbedConfig,
    channels: usize,
    marked: [bool; MAX_CHANNELS as usize],
    keys: KeySchedule,
    cells: Cells,
    map: PeriodMap,
    model: Model,
    sealed: SealedA,
    coded_a: Bits<{ MAX_A_CODED.div_ceil(64) }>,
    coded_b: Bits<{ B_CODED.div_ceil(64) }>,
    /// Period whose block B `coded_b` holds.
    coded_period: Option<u64>,
    mmr_log2: f32,
    /// Stream sample of the schedule's start (anchor + offset).
    start: u64,
    /// Programme, per channel; `head` is the slot of the next input sample.
    ring: [[f32; LATENCY + 1]; MAX_CHANNELS as usize],
    head: usize,
    /// The previous hop's 256 decimated samples per channel (the first
    /// half of the next analysis frame).
    u_old: [[f32; HOP]; MAX_CHANNELS as usize],
    /// Mark at 16 kHz per channel, indexed by mark time mod MARK_RING.
    mark: [[f32; MARK_RING]; MAX_CHANNELS as usize],
    /// Mark time up to which `mark` is final (exclusive), and from which
    /// it is valid (earlier entries are stale: treated as zero).
    mark_final: i64,
    mark_valid: i64,
    /// Band thresholds of the previous frame per channel (None: silent).
    prev_bands: [Option<[f32; BANDS]>; MAX_CHANNELS as usize],
    /// Clip guard: gain at the start of the current block and its step.
    guard_gain: f32,
    guard_step: f32,
    /// Output samples left in the current guard block.
    guard_left: usize,
    /// The clip guard's limit for the block after the current one.
    next_limit: f32,
    /// The mark for this guard block and the next, per channel.
    ahead: [[f32; 2 * GUARD_BLOCK]; MAX_CHANNELS as usize],
    /// Input samples until the next hop event.
    hop_left: u64,
    expected_now: Option<u64>,
    stats: Stats,
}

/// What the robust embedder has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Frames that carried a mark (programme above the silence floor).
    pub marked_frames: u64,
    /// Frames left unmarked as silence.
    pub silent_frames: u64,
    /// Periods whose every frame was marked.
    pub periods_begun: u64,
    /// Output blocks (1 ms) whose mark the clip guard lowered.
    pub lowered_blocks: u64,
}

impl core::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("robust::Embedder")
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// An embedder that must be [`configure`](Embedder::configure)d before
    /// use: `const` and all zero bytes, so a `static` of it lands in `.bss`
    /// and nothing moves 24 KiB through a small stack.
    pub const fn unconfigured() -> Embedder {
        Embedder {
            config: EmbedConfig::UNCONFIGURED,
            channels: 0,
            marked: [false; MAX_CHANNELS as usize],
            keys: KeySchedule::zeroed(),
            cells: Cells::zeroed(),
            map: PeriodMap::zeroed(),
            model: Model::zeroed(),
            sealed: SealedA::ZERO,
            coded_a: Bits::ZERO,
            coded_b: Bits::ZERO,
            coded_period: None,
            mmr_log2: 0.0,
            start: 0,
            ring: [[0.0; LATENCY + 1]; MAX_CHANNELS as usize],
            head: 0,
            u_old: [[0.0; HOP]; MAX_CHANNELS as usize],
            mark: [[0.0; MARK_RING]; MAX_CHANNELS as usize],
            mark_final: 0,
            mark_valid: 0,
            prev_bands: [None; MAX_CHANNELS as usize],
            guard_gain: 0.0,
            guard_step: 0.0,
            guard_left: 0,
            next_limit: 1.0,
            ahead: [[0.0; 2 * GUARD_BLOCK]; MAX_CHANNELS as usize],
            hop_left: 0,
            expected_now: None,
            stats: Stats {
                marked_frames: 0,
                silent_frames: 0,
                periods_begun: 0,
                lowered_blocks: 0,
            },
        }
    }

    /// A configured embedder, or why the configuration cannot run.
    pub fn new(config: &EmbedConfig) -> Result<Embedder, ConfigError> {
        let mut e = Embedder::unconfigured();
        e.configure(config)?;
        Ok(e)
    }

    /// Whether the robust embedder can run with `config`.
    pub fn check(config: &EmbedConfig) -> Result<(), ConfigError> {
        Profiles::only(Profile::Robust).check(config.sample_rate)?;
        check_channels(config.channels)?;
        if config.channels > MAX_CHANNELS {
            return Err(ConfigError::RobustChannels {
                channels: config.channels,
            });
        }
        config.marked_channels.resolve(config.channels)?;
        if config.schedule.offset_ms() > MAX_INTERVAL_MS {
            return Err(ConfigError::Offset {
                ms: config.schedule.offset_ms(),
            });
        }
        mmr_log2(config.robust_mmr_db).map(|_| ())
    }

    /// (Re)configure in place, for a new stream: all state is forgotten
    /// (the delay line empties). On error nothing changes.
    pub fn configure(&mut self, config: &EmbedConfig) -> Result<(), ConfigError> {
        Self::check(config)?;
        Profiles::only(Profile::Robust).check(config.sample_rate)?;
        check_channels(config.channels)?;
        if config.channels > MAX_CHANNELS {
            return Err(ConfigError::RobustChannels {
                channels: config.channels,
            });
        }
        let mask = config.marked_channels.resolve(config.channels)?;
        let offset_ms = config.schedule.offset_ms();
        if offset_ms > MAX_INTERVAL_MS {
            return Err(ConfigError::Offset { ms: offset_ms });
        }
        let mmr = mmr_log2(config.robust_mmr_db)?;
        let keys = KeySchedule::new(&config.key);
        self.sealed = seal_a(&keys, &config.id);
        self.config = *config;
        self.channels = config.channels as usize;
        self.marked = [mask & 1 != 0, mask & 2 != 0];
        self.cells = Cells::new(&keys);
        self.map = PeriodMap::new(&keys, config.id.class());
        self.model = Model::new();
        self.coded_a = Bits::coded(self.sealed.as_bytes());
        self.coded_b = Bits::ZERO;
        self.coded_period = None;
        self.keys = keys;
        self.mmr_log2 = mmr;
        self.start = (offset_ms as u64 * STREAM_RATE as u64 + 500) / 1000;
        self.ring = [[0.0; LATENCY + 1]; MAX_CHANNELS as usize];
        self.head = 0;
        self.mark = [[0.0; MARK_RING]; MAX_CHANNELS as usize];
        self.expected_now = None;
        self.stats = Stats::default();
        self.restart_mark(0);
        Ok(())
    }

    /// The configuration in force.
    pub const fn config(&self) -> &EmbedConfig {
        &self.config
    }

    /// Output sample n is input sample n − latency (plus the mark).
    pub const fn latency(&self) -> u64 {
        LATENCY as u64
    }

    /// Frames marked and left silent so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Delay `frames` (interleaved) by [`LATENCY`] and add the mark, in
    /// place; `now` is the stream sample index of the first frame.
    pub fn process<S: Sample>(&mut self, now: u64, frames: &mut [S]) -> Result<(), ProcessError> {
        let ch = self.channels;
        if ch == 0 {
            return Err(ProcessError::Unconfigured);
        }
        if frames.len() % ch != 0 {
            return Err(ProcessError::PartialFrame {
                len: frames.len(),
                channels: self.config.channels,
            });
        }
        if self.expected_now != Some(now) {
            self.restart_mark(now);
        }
        // Runs of frames up to the next event (guard block, hop, ring wrap),
        // each channel in a tight loop.
        let total = frames.len() / ch;
        let mut i = 0;
        while i < total {
            let n = now + i as u64;
            if self.guard_left == 0 {
                self.next_block(n as i64 - LATENCY as i64);
                self.guard_left = GUARD_BLOCK;
            }
            let j0 = GUARD_BLOCK - self.guard_left;
            // Frame f reads the delay line at slot read + f and writes its
            // input to write + f (the slot the frame before it read).
            let (read, write, run) = if self.head == LATENCY {
                (0, LATENCY, 1)
            } else {
                let room = LATENCY - self.head;
                let run = self.guard_left.min(self.hop_left as usize).min(total - i);
                (self.head + 1, self.head, run.min(room))
            };
            let (gain0, step) = (self.guard_gain, self.guard_step);
            let block = &mut frames[i * ch..(i + run) * ch];
            for c in 0..ch {
                let ring = &mut self.ring[c];
                let marks = &self.ahead[c][j0..j0 + run];
                for (f, (frame, &m)) in block.chunks_exact_mut(ch).zip(marks).enumerate() {
                    let x = &mut frame[c];
                    let input = x.to_unit();
                    let delayed = ring[read + f];
                    // Non-finite input is delayed as silence (no NaN in the state).
                    ring[write + f] = if input.is_finite() { input } else { 0.0 };
                    let out = if delayed.abs() <= 1.0 {
                        let gain = gain0 + step * (j0 + f) as f32;
                        (delayed + gain * m).clamp(-1.0, 1.0)
                    } else {
                        // Over-range programme passes unchanged (and unmarked).
                        delayed
                    };
                    *x = S::from_unit(out);
                }
            }
            self.head = read + run - 1;
            self.guard_left -= run;
            self.hop_left -= run as u64;
            i += run;
            if self.hop_left == 0 {
                self.hop_left = HOP_IN;
                let n = now + i as u64 - 1;
                self.frame((n - self.start - HOP_PHASE) / HOP_IN, n);
            }
        }
        self.expected_now = Some(now + (frames.len() / ch) as u64);
        Ok(())
    }

    /// After a time jump: the mark restarts from the next frame, silence
    /// until then (the programme in the delay line is kept).
    fn restart_mark(&mut self, now: u64) {
        // No frame yet: nothing is valid until the next one.
        self.mark_valid = i64::MAX;
        self.mark_final = i64::MIN;
        self.prev_bands = [None; MAX_CHANNELS as usize];
        self.u_old = [[0.0; HOP]; MAX_CHANNELS as usize];
        self.ahead = [[0.0; 2 * GUARD_BLOCK]; MAX_CHANNELS as usize];
        self.guard_gain = 1.0;
        self.guard_step = 0.0;
        self.guard_left = 0;
        self.next_limit = 1.0;
        // Input samples until the next hop event (at start + 789 + 768·k).
        let first = self.start + HOP_PHASE;
        self.hop_left = if now <= first {
            first - now + 1
        } else {
            (HOP_IN - (now - first) % HOP_IN) % HOP_IN + 1
        };
    }

    /// The mark for the [`GUARD_BLOCK`] stream times from `s0`, channel
    /// `c`: the 3× polyphase interpolation of the 16 kHz mark, zero where
    /// the mark is not final or not valid. Each output sums its taps in a
    /// fixed order.
    fn interpolate(&self, c: usize, s0: i64, out: &mut [f32; GUARD_BLOCK]) {
        const PER_PHASE: usize = GUARD_BLOCK / RATIO;
        let rel0 = s0 - self.start as i64 + DELAY as i64;
        // Mark samples the block reads, oldest first, gathered once.
        let (q0, p0) = (
            rel0.div_euclid(RATIO as i64),
            rel0.rem_euclid(RATIO as i64) as usize,
        );
        let base = q0 - PHASE_TAPS as i64 + 1;
        let mut buf = [0.0f32; PER_PHASE + PHASE_TAPS + 1];
        // One division for the first slot; the rest step (no 64-bit
        // division per sample).
        let mut slot = base.rem_euclid(MARK_RING as i64) as usize;
        let mark = &self.mark[c];
        for (i, b) in buf.iter_mut().enumerate() {
            let t = base + i as i64;
            if t >= self.mark_valid && t < self.mark_final {
                *b = mark[slot];
            }
            slot = if slot + 1 == MARK_RING { 0 } else { slot + 1 };
        }
        for j0 in 0..RATIO {
            let phase = (p0 + j0) % RATIO;
            // Output j0 + 3m reads the taps ending at mark time newest + m.
            let off = (p0 + j0) / RATIO;
            let mut acc = [0.0f32; PER_PHASE];
            fir(&POLYPHASE[phase], &buf[off..], &mut acc);
            for (m, a) in acc.into_iter().enumerate() {
                out[j0 + RATIO * m] = a;
            }
        }
    }

    /// Start the 1 ms output block at `out_time`: interpolate the mark one
    /// block further ahead, then pick the clip guard's gain: the largest
    /// gain ≤ 1 that keeps this block and the next within full scale,
    /// reached linearly over this block (falls at once, recovers smoothly).
    // Out of line (once a millisecond): its buffers stay off the caller's
    // stack frame.
    #[inline(never)]
    fn next_block(&mut self, out_time: i64) {
        for c in 0..self.channels {
            self.ahead[c].copy_within(GUARD_BLOCK.., 0);
            if !self.marked[c] {
                continue;
            }
            let mut block = [0.0f32; GUARD_BLOCK];
            self.interpolate(c, out_time + GUARD_BLOCK as i64, &mut block);
            self.ahead[c][GUARD_BLOCK..].copy_from_slice(&block);
        }
        // This block's limit was the next block's at the last call: the
        // programme and the mark it saw have not changed since.
        let next = self.block_limit();
        let allowed = min_f32(self.next_limit, next);
        self.next_limit = next;
        if allowed < 1.0 {
            self.stats.lowered_blocks += 1;
        }
        let start = min_f32(
            allowed,
            self.guard_gain + self.guard_step * GUARD_BLOCK as f32,
        );
        self.guard_gain = start;
        self.guard_step = (allowed - start) / GUARD_BLOCK as f32;
    }

    /// The largest gain ≤ 1 that keeps the next guard block (the second
    /// half of `ahead`) within full scale on every channel.
    fn block_limit(&self) -> f32 {
        // Ring slot of that block's first output sample.
        let mut first = self.head + 1 + GUARD_BLOCK;
        if first > LATENCY {
            first -= LATENCY + 1;
        }
        let mut allowed = 1.0f32;
        for c in 0..self.channels {
            let marks = &self.ahead[c][GUARD_BLOCK..];
            // Below this, no unsaturated sample can be pushed past full scale.
            if marks.iter().fold(0.0f32, |a, m| max_f32(a, m.abs())) <= 1.0 - SATURATED {
                continue;
            }
            let mut slot = first;
            for &m in marks {
                let x = self.ring[c][slot];
                if m != 0.0 && x.abs() < SATURATED && (x + m).abs() > 1.0 {
                    let room = if m > 0.0 { 1.0 - x } else { 1.0 + x };
                    allowed = min_f32(allowed, (room / m.abs()).clamp(0.0, 1.0));
                }
                slot = if slot == LATENCY { 0 } else { slot + 1 };
            }
        }
        allowed
    }

    /// Frame k (centred at mark time 256·k): analyse, shape, synthesise.
    /// `newest` is the stream time of the input sample just written.
    // Out of line (once a hop), as `next_block`.
    #[inline(never)]
    fn frame(&mut self, k: u64, newest: u64) {
        let centre = (k * HOP as u64) as i64;
        // The frame covers mark times centre − 256 .. centre + 256.
        let mut z = [Complex32::new(0.0, 0.0); FRAME];
        for c in 0..self.channels {
            let mut decimated = [0.0f32; HOP];
            self.decimate(c, centre, newest, &mut decimated);
            for (n, &new) in decimated.iter().enumerate() {
                let old = core::mem::replace(&mut self.u_old[c][n], new);
                let (a, b) = (old * WINDOW[n], new * WINDOW[n + HOP]);
                if c == 0 {
                    z[n].re = a;
                    z[n + HOP].re = b;
                } else {
                    z[n].im = a;
                    z[n + HOP].im = b;
                }
            }
        }
        fft(&mut z);
        // Separate the channels.
        let mut spec = [[Complex32::new(0.0, 0.0); 257]; MAX_CHANNELS as usize];
        let [left, right] = &mut spec;
        for (k2, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            (*l, *r) = unpack_pair(&z, k2);
        }
        // Masked amplitudes per channel.
        let mut amp = [[0.0f32; BINS]; MAX_CHANNELS as usize];
        let mut any = false;
        for c in 0..self.channels {
            let power: [f32; 257] = core::array::from_fn(|i| spec[c][i].norm_sqr());
            let now = self.model.band_thresholds(&power);
            let used = match (now, self.prev_bands[c]) {
                (Some(a), Some(b)) => Some(core::array::from_fn(|i| min_f32(a[i], b[i]))),
                _ => None,
            };
            self.prev_bands[c] = now;
            if let (Some(bands), true) = (used, self.marked[c]) {
                self.model.amplitudes(&bands, self.mmr_log2, &mut amp[c]);
                any = true;
            }
        }
        if any {
            self.stats.marked_frames += 1;
        } else {
            self.stats.silent_frames += 1;
        }
        // Cells: pilots and data, with ISS on the channel sum.
        let period_frames = self.map.frames() as u64;
        let (period, f) = (k / period_frames, (k % period_frames) as usize);
        if f == 0 && any {
            self.stats.periods_begun += 1;
        }
        let q = f % PHASE_CYCLE;
        self.prepare_period(period);
        let mut values = [0.0f32; BINS];
        let mut phases = [(0.0f32, 0.0f32); BINS];
        self.fill_phases(q, &mut phases);
        let mut slot_value = [0.0f32; SLOTS];
        for (j, v) in slot_value.iter_mut().enumerate() {
            *v = match self.map.content(f, j) {
                Content::A(i) => self.coded_a.value(i as usize),
                Content::B(i) => self.coded_b.value(i as usize),
                Content::Bind(_) => 1.0,
            };
        }
        // Programme's contribution h and the mark's gain G per slot.
        let (mut h, mut g) = ([0.0f32; SLOTS], [0.0f32; SLOTS]);
        for b in 0..BINS {
            let kbin = FIRST_BIN + b;
            match self.cells.role(q, b) {
                Role::Pilot(s) => values[b] = s as f32,
                Role::Slot(j) => {
                    let j = j as usize;
                    values[b] = slot_value[j];
                    let x = if self.channels == 2 {
                        spec[0][kbin] + spec[1][kbin]
                    } else {
                        spec[0][kbin]
                    };
                    let mag2 = x.norm_sqr();
                    if mag2 > 1e-24 {
                        let inv = 1.0 / libm::sqrtf(mag2);
                        let (c, s) = phases[b];
                        // cos θ with θ = arg X − φ.
                        let cos = (x.re * c + x.im * s) * inv;
                        let a: f32 = amp.iter().take(self.channels).map(|a| a[b]).sum();
                        h[j] += cos;
                        g[j] += a * inv * (1.0 - cos * cos);
                    }
                }
            }
        }
        let mut scale = [1.0f32; SLOTS];
        for j in 0..SLOTS {
            if g[j] > 1e-12 {
                scale[j] = (1.0 - ISS_LAMBDA * h[j] * slot_value[j] / g[j]).clamp(0.0, ISS_CAP);
            }
        }
        // Synthesis: Z = M_L + j M_R over the full (Hermitian) spectrum
        // (the analysis buffer is free again).
        z = [Complex32::new(0.0, 0.0); FRAME];
        if any {
            for b in 0..BINS {
                let kbin = FIRST_BIN + b;
                let s = match self.cells.role(q, b) {
                    Role::Pilot(_) => values[b],
                    Role::Slot(j) => values[b] * scale[j as usize],
                };
                let (c, sn) = phases[b];
                let ml = Complex32::new(amp[0][b] * s * c, amp[0][b] * s * sn);
                let mr = Complex32::new(amp[1][b] * s * c, amp[1][b] * s * sn);
                // Z_k = M_L + j M_R; Z_{N−k} = conj(M_L) + j conj(M_R).
                z[kbin] = Complex32::new(ml.re - mr.im, ml.im + mr.re);
                z[FRAME - kbin] = Complex32::new(ml.re + mr.im, -ml.im + mr.re);
            }
            ifft_unscaled(&mut z);
        }
        // Overlap-add into the 16 kHz mark: this frame spans centre − 256 ..
        // centre + 256; its first half completes the previous frame's second.
        let follows = self.mark_final == centre - HOP as i64;
        if !follows {
            self.mark_valid = centre - HOP as i64;
        }
        let norm = 1.0 / FRAME as f32;
        let mut slot = (centre - HOP as i64).rem_euclid(MARK_RING as i64) as usize;
        for (n, zn) in z.iter().enumerate() {
            let w = WINDOW[n] * norm;
            for c in 0..self.channels {
                let v = (if c == 0 { zn.re } else { zn.im }) * w;
                if n < HOP && follows {
                    self.mark[c][slot] += v;
                } else {
                    self.mark[c][slot] = v;
                }
            }
            slot = if slot + 1 == MARK_RING { 0 } else { slot + 1 };
        }
        self.mark_final = centre;
    }

    /// Decimated programme of channel c at the [`HOP`] mark times from
    /// `t0` (stream times start + 3t), from the delay line whose newest
    /// sample has stream time `newest` (every tap lies within the line).
    /// Polyphase: the line is split into its three phases once, and each
    /// phase's 17 taps run as an FIR over it.
    fn decimate(&self, c: usize, t0: i64, newest: u64, out: &mut [f32; HOP]) {
        const SPAN: usize = HOP + DECIMATION_TAPS - 1;
        let last = if self.head == 0 {
            LATENCY
        } else {
            self.head - 1
        };
        // Slot of the oldest tap: stream time start + 3·t0 − delay.
        let oldest = self.start as i64 + RATIO as i64 * t0 - ANALYSIS_DELAY as i64;
        let back = (newest as i64 - oldest) as usize;
        let mut slot = (last + LATENCY + 1 - back) % (LATENCY + 1);
        let ring = &self.ring[c];
        let mut phases = [[0.0f32; SPAN + 3]; RATIO];
        for k in 0..SPAN {
            for phase in phases.iter_mut() {
                phase[k] = ring[slot];
                slot = if slot == LATENCY { 0 } else { slot + 1 };
            }
        }
        let mut sum = [[0.0f32; HOP]; RATIO];
        for ((taps, phase), sum) in DECIMATION.iter().zip(&phases).zip(sum.iter_mut()) {
            fir(taps, phase, sum);
        }
        for (j, o) in out.iter_mut().enumerate() {
            *o = sum[0][j] + sum[1][j] + sum[2][j];
        }
    }

    fn prepare_period(&mut self, period: u64) {
        if self.coded_period != Some(period) {
            let b = seal_b(&self.keys, &self.sealed.mac, period as u16);
            self.coded_b = Bits::coded(&b);
            self.coded_period = Some(period);
        }
    }

    fn fill_phases(&self, q: usize, out: &mut [(f32, f32); BINS]) {
        cell_phases(&self.keys, q, |b, p| out[b] = UNIT[p as usize]);
    }
}
