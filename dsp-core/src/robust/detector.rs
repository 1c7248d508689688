//! The robust detector: front end, phase history, acquisition, tracking,
//! decoding and confirmation (see the module docs of [`robust`](super)).
//!
//! ```text
//! frames ─► channel sum ─► decimate 3:1 ─► STFT (512, hop 128) ─► 4-bit phases (4.1 s)
//!                                                                   │
//!        acquisition: parity × phase index × drift on the pilots ◄──┤
//!        tracking: the last second's pilots, fine drift and timing ◄┤ lock
//!        cell sums per frame and slot, under the lock's timing     ◄┘
//!          ├─► decoding: period phase × class → Viterbi → MAC ───────► Decoded
//!          └─► confirmation: a known ID's whole pattern, each second ─► Presence
//! ```
//!
//! * **Frames.** Detector frame d (counted from the last restart) is
//!   centred at mark time 128·d + 256; one parity of frames is within 64
//!   mark samples of the embedder's frames ("aligned"). A lock says which
//!   parity, which phase index its reference frame holds, the timing τ
//!   there and its drift per frame.
//! * **Acquisition** (every 32 frames while unlocked) correlates the last
//!   0.5 s of pilots for both parities, the 8 phase indices and a few clock
//!   drifts (0 and ±180 ppm; every 4th attempt, out to ±1980 ppm if that
//!   finds nothing); an inverse FFT over the bins gives the timing. Two
//!   attempts later, if the quick sweep finds nothing, a deep sweep
//!   correlates the last 2 s (6 dB more pilot energy, for marks under
//!   noise; its drifts are finer and span only a sound card's clock
//!   error). A candidate is refined on every pilot in the history and
//!   locks if it stands out (false locks are harmless: nothing decodes
//!   without the MAC).
//! * **Decoding** (every 64 frames while locked) sums each aligned frame's
//!   cells per slot once, then tries both frame classes and every period
//!   phase (after a decode, that one first): LLRs → Viterbi → MAC.
//! * **Placement.** A decode is reported at the newest whole period that
//!   carries the ID's own pattern (its z-score within 3 of, and above half,
//!   the per-period strength the whole history implies; from the long-term
//!   accumulator, at least 1.5), so after a splice the ID that played
//!   before is not reported where the other plays. Too weak to tell, the
//!   newest period.
//! * **Confirmation.** For each known ID, every 62 aligned frames (~1 s):
//!   the ID's block-A cells against the sums, as a z-score (not the
//!   pilots: they are the key's, shared by every ID).
//! * Time is passed in; a jump in `now` restarts. Silent frames (below
//!   [`SILENCE_DB`](super::SILENCE_DB)) are kept out of every statistic:
//!   silence claims nothing. All memory is inside the struct; nothing
//!   allocates.

use microfft::Complex32;

use crate::config::{check_channels, DetectConfig, Id, Profile, Profiles};
use crate::error::{ConfigError, ProcessError};
use crate::event::{Detection, Event, Presence};
use crate::fec::{encode, Viterbi};
use crate::frame::{open_a, open_b, seal_a, BlockA, BlockB, B_BYTES, MAX_A_BYTES};
use crate::key::KeySchedule;
use crate::layout::{FrameClass, B_CODED, MAX_A_CODED};
use crate::sample::Sample;

use super::layout::{cell_phases, period_frames, Cells, Content, PeriodMap, Role};
use super::masking::{DB_TO_LOG2, FULL_SCALE_BIN_POWER, SILENCE_DB};
use super::rate::{dot, ANALYSIS, ANALYSIS_DELAY, ANALYSIS_TAPS, RATIO};
use super::spectrum::{atan2_turns, ifft_unscaled, log2_fast, UNIT, WINDOW};
use super::{BINS, FIRST_BIN, FRAME, HOP, LAST_BIN, PHASE_CYCLE, PILOTS, SLOTS};

/// Detector hop, mark samples (half the embedder's).
const DHOP: usize = HOP / 2;
/// Detector frames of phase history (4.096 s).
const RING: usize = 512;
/// Bytes of 4-bit phases per frame.
const PHASE_BYTES: usize = BINS.div_ceil(2);
/// Acquisition: every 32 frames, over the last 64 (0.5 s).
const ACQ_EVERY: u32 = 32;
const ACQ_WINDOW: usize = 64;
/// The deep sweep's window (2 s): on every [`SLOW_EVERY`]th attempt, half
/// way between the slow sweep's, where the quick sweep finds nothing.
const DEEP_WINDOW: usize = 256;
const _: () = assert!(DEEP_WINDOW + ACQ_EVERY as usize <= RING);
/// Clock drift as τ change per detector frame: 90 ppm of 128 samples.
const DRIFT_STEP: f32 = 0.011_52;
/// Drift steps (of 2 · [`DRIFT_STEP`], 180 ppm) either side: the quick
/// search (to ±180 ppm), and the slow one (to ±1980 ppm), which every 4th
/// attempt, the first among them, goes on to when the quick one finds no
/// candidate: a lock at 0 ppm is not delayed, one at 1000 ppm waits at
/// most 1 s, and searching unmarked audio costs 1.7× the quick search
/// alone, not 3.7× (QEMU, Cortex-M4F).
const QUICK_DRIFTS: i32 = 1;
const SLOW_DRIFTS: i32 = 11;
const SLOW_EVERY: u32 = 4;
/// What a slow-scan hypothesis gives up against the quick ones: ln of the
/// ratio of their counts (320 / 48), so a noise candidate is no likelier
/// from the wider scan than from the quick one.
const SLOW_PENALTY: f32 = 1.9;
/// Refinement drift steps either side: coarse (quarter steps) and fine
/// (sixteenth steps).
const COARSE_SPAN: i32 = 8;
const FINE_SPAN: i32 = 4;
/// Aligned frames the refinement leaves at the old end of the history, so
/// none of its frames is overwritten while it runs.
const REFINE_MARGIN: u64 = 8;
/// Search work per detector frame (8 ms): acquisition hypotheses, and
/// drifts of a refinement. A slow search (368 hypotheses) then spans 31
/// frames, inside the 32 between attempts, and no call does more than a
/// slice of it.
const HYPOTHESES_PER_FRAME: u16 = 12;
const REFINE_DRIFTS_PER_FRAME: i32 = 2;
/// Candidate score (|c|² over the pilot count: noise is Exp(1), so among
/// the ~2000 lags × hypotheses of one attempt it passes 12 with odds
/// 1e-2) and the refined score that locks (noise: 6e-7 per attempt).
const CANDIDATE_SCORE: f32 = 12.0;
const LOCK_SCORE: f32 = 24.0;
/// Tracking every 32 frames, on the whole history.
const TRACK_EVERY: u32 = 32;
/// Decode attempts every 64 frames (0.5 s) while locked; a full search of
/// classes and period phases at least every 4th attempt.
const DECODE_EVERY: u32 = 64;
const FULL_SEARCH_EVERY: u32 = 4;
/// Period phases tried per detector frame (a full search, both passes,
/// spans 27 of the 64 frames between attempts).
const DECODE_TRIES_PER_FRAME: usize = 2;
/// Period phases of a full search: the last one that decoded, and every
/// phase index of both classes.
const QUEUE: usize = 1 + 16 + 10;
/// Long-term combining: each period position's slot sums decay by this
/// factor per period (about 6 periods of memory), so a mark too weak for
/// the 4 s history still decodes over 10–20 s.
const COMBINE_DECAY: f32 = 0.85;
/// Accumulator rows (the longest period).
const COMBINE_ROWS: usize = super::layout::MAX_PERIOD_FRAMES;

/// z-score a known ID's pattern must reach in a one-second window: its
/// Gaussian tail is 4e-11.
pub const PRESENCE_Z: f32 = 6.5;
/// Per-period strength of a decoded ID from which the detector checks
/// which whole period of its history carries it (below it, the newest).
const PLACE_Z: f32 = 6.0;
/// What a whole period must score to carry an ID decoded from the long-term
/// accumulator, whose memory outlasts a splice.
const COMBINED_PLACE_Z: f32 = 1.5;
/// Aligned frames per confirmation window (0.99 s).
const PRESENCE_FRAMES: usize = 62;
/// Known IDs confirmed at once.
pub const MAX_KNOWN: usize = 4;
/// Input history for the decimator (double-written ring).
const IN_HIST: usize = 64;
/// Variance of one cell's correlation when nothing is there.
const CELL_NOISE: f32 = 0.5;

/// Counters for logs and false-alarm accounting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Input frames consumed.
    pub frames: u64,
    /// Acquisition attempts.
    pub acquisitions: u64,
    /// Candidates refined.
    pub candidates: u64,
    /// Locks taken.
    pub locks: u64,
    /// MAC checks (each passes by chance with probability 2^-32).
    pub mac_checks: u64,
    /// Confirmations tried (each passes by chance below 4e-11).
    pub presence_checks: u64,
    /// IDs decoded (events).
    pub decoded: u64,
}

/// The timing of a locked mark: detector frame `frame` (of the aligned
/// parity) holds embedder frame phase `q`, the mark's frame centre lies
/// `tau` mark samples after the detector frame's, and `tau` grows by
/// `drift` per detector frame.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Timing {
    frame: u64,
    q: usize,
    tau: f32,
    drift: f32,
    score: f32,
}

/// The acquisition in progress, a slice of it per detector frame.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Search {
    Idle,
    /// Hypothesis `next` of 2 parities × 8 phase indices × the sweep's
    /// drifts on the pilots of its window ending at frame `newest`. A slow
    /// sweep skips the quick sweep's drifts, which ran just before it.
    Scan {
        newest: u64,
        sweep: Sweep,
        next: u16,
        best: Option<Timing>,
        /// The sweep to go on to if this one finds no candidate.
        then: Option<Sweep>,
    },
    /// Drift step `next` (from −span) of refining `base` on the aligned
    /// frames `from..=newest`: coarse (`wide`, any lag) then fine.
    Refine {
        base: Timing,
        from: u64,
        newest: u64,
        wide: bool,
        next: i32,
        best: Option<Timing>,
    },
}

/// The acquisition's sweeps: which drifts, over how long a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sweep {
    /// The last 0.5 s, drift hypotheses 0 and ±180 ppm: most locks.
    Quick,
    /// The same window, hypotheses 180 ppm apart out to ±1980 ppm.
    Slow,
    /// The last 2 s, hypotheses 0 and ±45 ppm (the same phase error at
    /// the window's ends as the quick sweep's): four times the pilot
    /// energy (6 dB) for marks buried in noise, at the clock accuracy of
    /// files, broadcast chains and sound cards.
    Deep,
}

impl Sweep {
    /// Drift steps either side of zero.
    const fn steps(self) -> i32 {
        match self {
            Sweep::Quick | Sweep::Deep => QUICK_DRIFTS,
            Sweep::Slow => SLOW_DRIFTS,
        }
    }

    /// Timing change per detector frame, per drift step.
    const fn drift_step(self) -> f32 {
        match self {
            Sweep::Quick | Sweep::Slow => 2.0 * DRIFT_STEP,
            Sweep::Deep => 0.5 * DRIFT_STEP,
        }
    }

    /// Aligned frames in the window.
    const fn frames(self) -> usize {
        match self {
            Sweep::Quick | Sweep::Slow => ACQ_WINDOW / 2,
            Sweep::Deep => DEEP_WINDOW / 2,
        }
    }

    /// What a hypothesis gives up against the quick ones (see
    /// [`SLOW_PENALTY`]); the deep sweep has as many as the quick one.
    const fn penalty(self) -> f32 {
        match self {
            Sweep::Slow => SLOW_PENALTY,
            Sweep::Quick | Sweep::Deep => 0.0,
        }
    }

    /// Search work of one hypothesis, in quick hypotheses: its pilot sums
    /// grow with the window, its inverse FFT does not.
    const fn cost(self) -> u16 {
        match self {
            Sweep::Quick | Sweep::Slow => 1,
            Sweep::Deep => 2,
        }
    }
}

impl Timing {
    fn tau_at(&self, d: u64) -> f32 {
        self.tau + self.drift * (d as f32 - self.frame as f32)
    }

    fn aligned(&self, d: u64) -> bool {
        (d + self.frame) % 2 == 0
    }

    /// Phase index of aligned frame `d`.
    fn q_at(&self, d: u64) -> usize {
        let j = (d as i64 - self.frame as i64) / 2;
        (self.q as i64 + j).rem_euclid(PHASE_CYCLE as i64) as usize
    }

    /// The newest aligned frame at or before `d`.
    fn last_aligned(&self, d: u64) -> u64 {
        d - ((d + self.frame) % 2)
    }
}

/// Where periods sit: aligned frame `frame` is frame `f` of a period of `class`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PeriodPhase {
    class: FrameClass,
    frame: u64,
    f: usize,
}

impl PeriodPhase {
    fn f_at(&self, d: u64) -> usize {
        let j = (d as i64 - self.frame as i64) / 2;
        (self.f as i64 + j).rem_euclid(period_frames(self.class) as i64) as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Known {
    id: Id,
    class: FrameClass,
    coded: Coded,
    /// From a decode; without it every period phase is tried.
    phase: Option<PeriodPhase>,
}

/// Block A's coded bits, one per bit.
type Coded = [u64; MAX_A_CODED.div_ceil(64)];

/// The coded bits of a block A.
fn coded_bits(block_a: &[u8]) -> Coded {
    let mut coded = [0u64; MAX_A_CODED.div_ceil(64)];
    encode(block_a, |i, b| coded[i / 64] |= (b as u64) << (i % 64));
    coded
}

/// Coded bit `i` as the sign a cell carries.
fn coded_sign(coded: &Coded, i: usize) -> f32 {
    1.0 - 2.0 * ((coded[i / 64] >> (i % 64)) & 1) as f32
}

/// Per aligned frame under the lock: the cell sums of its four slots and
/// its pilots (sign-corrected), and how many cells went in (0: silent).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Sums {
    slot: [f32; SLOTS],
    pilot: f32,
    cells: u8,
}

impl Sums {
    const ZERO: Sums = Sums {
        slot: [0.0; SLOTS],
        pilot: 0.0,
        cells: 0,
    };
}

/// Streaming robust-layer detector. See the module docs.
#[derive(Clone)]
pub struct Detector {
    config: DetectConfig,
    mask: u8,
    mix_gain: f32,
    keys: KeySchedule,
    cells: Cells,
    maps: [PeriodMap; 2],
    /// Keyed cell phases, 1/256 turns, per phase index.
    phases: [[u8; BINS]; PHASE_CYCLE],
    /// Pilot bins (in-band index) and signs per phase index.
    pilots: [[(u8, i8); PILOTS]; PHASE_CYCLE],
    input: [f32; 2 * IN_HIST],
    in_pos: usize,
    in_count: u64,
    u: [f32; 2 * FRAME],
    u_pos: usize,
    u_count: u64,
    history: [[u8; PHASE_BYTES]; RING],
    silent: [u64; RING / 64],
    sums: [Sums; RING],
    frames: u64,
    /// Stream sample of input 0 since the last restart.
    origin: u64,
    lock: Option<Timing>,
    misses: u32,
    since_acq: u32,
    acq_count: u32,
    search: Search,
    since_track: u32,
    since_decode: u32,
    decode_count: u32,
    found: Option<PeriodPhase>,
    /// The decode attempt in progress: period phases to try, how many, and
    /// the next (from `queue_len` on, the same on the accumulator).
    queue: [Option<PeriodPhase>; QUEUE],
    queue_len: u8,
    queue_next: u8,
    /// Slot sums per period position, per class (short, long), since the
    /// lock; position of aligned frame d is ((d + combine_offset) / 2) mod P.
    combined: [[[f32; SLOTS]; COMBINE_ROWS]; 2],
    combine_offset: i64,
    combined_frames: u32,
    known: heapless::Vec<Known, MAX_KNOWN>,
    /// Detector frame where the next confirmation window starts.
    presence_from: u64,
    last_period: Option<(Id, u64)>,
    viterbi: Viterbi,
    llr_a: [f32; MAX_A_CODED],
    llr_b: [f32; B_CODED],
    expected_now: Option<u64>,
    stats: Stats,
}

impl core::fmt::Debug for Detector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("robust::Detector")
            .field("config", &self.config)
            .field("locked", &self.lock.is_some())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Detector {
    /// A detector that must be [`configure`](Detector::configure)d before
    /// use; `const` and all zero bytes, so a `static` of it lands in `.bss`.
    pub const fn unconfigured() -> Detector {
        Detector {
            config: DetectConfig {
                sample_rate: 0,
                channels: 0,
                searched_channels: crate::config::ChannelMask(0),
                profiles: Profiles::NONE,
                key: crate::config::Key::from_bytes([0; 16]),
                sync_threshold: 0.0,
                soft_combining: false,
                check_binding: false,
            },
            mask: 0,
            mix_gain: 0.0,
            keys: KeySchedule::zeroed(),
            cells: Cells::zeroed(),
            maps: [PeriodMap::zeroed(), PeriodMap::zeroed()],
            phases: [[0; BINS]; PHASE_CYCLE],
            pilots: [[(0, 0); PILOTS]; PHASE_CYCLE],
            input: [0.0; 2 * IN_HIST],
            in_pos: 0,
            in_count: 0,
            u: [0.0; 2 * FRAME],
            u_pos: 0,
            u_count: 0,
            history: [[0; PHASE_BYTES]; RING],
            silent: [0; RING / 64],
            sums: [Sums::ZERO; RING],
            frames: 0,
            origin: 0,
            lock: None,
            misses: 0,
            since_acq: 0,
            acq_count: 0,
            search: Search::Idle,
            since_track: 0,
            since_decode: 0,
            decode_count: 0,
            found: None,
            queue: [None; QUEUE],
            queue_len: 0,
            queue_next: 0,
            combined: [[[0.0; SLOTS]; COMBINE_ROWS]; 2],
            combine_offset: 0,
            combined_frames: 0,
            known: heapless::Vec::new(),
            presence_from: 0,
            last_period: None,
            viterbi: Viterbi::new(),
            llr_a: [0.0; MAX_A_CODED],
            llr_b: [0.0; B_CODED],
            expected_now: None,
            stats: Stats {
                frames: 0,
                acquisitions: 0,
                candidates: 0,
                locks: 0,
                mac_checks: 0,
                presence_checks: 0,
                decoded: 0,
            },
        }
    }

    /// A configured detector, or why the configuration cannot run.
    pub fn new(config: &DetectConfig) -> Result<Detector, ConfigError> {
        let mut d = Detector::unconfigured();
        d.configure(config)?;
        Ok(d)
    }

    /// Whether the robust detector can run with `config`.
    pub fn check(config: &DetectConfig) -> Result<u8, ConfigError> {
        Profiles::only(Profile::Robust).check(config.sample_rate)?;
        check_channels(config.channels)?;
        config.searched_channels.resolve(config.channels)
    }

    /// (Re)configure in place and forget all state (known IDs too). On
    /// error nothing changes.
    pub fn configure(&mut self, config: &DetectConfig) -> Result<(), ConfigError> {
        let mask = Self::check(config)?;
        let keys = KeySchedule::new(&config.key);
        self.cells = Cells::new(&keys);
        for q in 0..PHASE_CYCLE {
            let phases = &mut self.phases[q];
            cell_phases(&keys, q, |b, v| phases[b] = v);
            let mut n = 0;
            for b in 0..BINS {
                if let Role::Pilot(s) = self.cells.role(q, b) {
                    self.pilots[q][n] = (b as u8, s);
                    n += 1;
                }
            }
        }
        self.maps = [
            PeriodMap::new(&keys, FrameClass::Short),
            PeriodMap::new(&keys, FrameClass::Long),
        ];
        self.keys = keys;
        self.config = *config;
        self.mask = mask;
        self.mix_gain = 1.0 / mask.count_ones() as f32;
        self.known.clear();
        self.last_period = None;
        self.stats = Stats::default();
        self.restart(0);
        self.expected_now = None;
        Ok(())
    }

    /// The configuration in force.
    pub fn config(&self) -> &DetectConfig {
        &self.config
    }

    /// What the detector has done so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Whether the detector holds a lock on a mark's timing.
    pub fn locked(&self) -> bool {
        self.lock.is_some()
    }

    /// Worst-case samples from the end of the audio that decodes a period
    /// to its report: one decode interval plus the analysis frame.
    pub const fn latency_samples(&self) -> u64 {
        ((DECODE_EVERY as usize * DHOP + FRAME) * RATIO) as u64
    }

    /// The mark's strength per aligned frame still in the history, under
    /// the lock: (stream sample of the frame's centre, mean pilot
    /// correlation per cell: about 0 unmarked, 0.05–0.3 marked). Writes up
    /// to `out.len()` entries, oldest first, and returns how many; none
    /// without a lock.
    pub fn strengths(&self, out: &mut [(u64, f32)]) -> usize {
        let Some(t) = self.lock else { return 0 };
        let mut n = 0;
        let mut d = self.first_aligned(&t);
        while d < self.frames && n < out.len() {
            let s = &self.sums[(d % RING as u64) as usize];
            let centre = self.origin as f32 + RATIO as f32 * (centre_of(d) + t.tau_at(d));
            let strength = if s.cells > 0 {
                s.pilot / PILOTS as f32
            } else {
                0.0
            };
            out[n] = (centre.max(0.0) as u64, strength);
            n += 1;
            d += 2;
        }
        n
    }

    /// Confirm `id` every second from now on (an issued ID from a list, or
    /// one decoded earlier). Returns false if [`MAX_KNOWN`] are known.
    pub fn expect(&mut self, id: &Id) -> bool {
        if self.known.iter().any(|k| k.id == *id) {
            return true;
        }
        let sealed = seal_a(&self.keys, id);
        self.known
            .push(Known {
                id: *id,
                class: id.class(),
                coded: coded_bits(sealed.as_bytes()),
                phase: None,
            })
            .is_ok()
    }

    /// Consume interleaved frames; `now` is the stream sample index of the
    /// first. Calls `on_event` for each decode and confirmation.
    pub fn process<S: Sample>(
        &mut self,
        now: u64,
        frames: &[S],
        mut on_event: impl FnMut(&Event),
    ) -> Result<(), ProcessError> {
        let ch = self.config.channels as usize;
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
            self.restart(now);
        }
        for frame in frames.chunks_exact(ch) {
            let mut sum = 0.0f32;
            for (c, x) in frame.iter().enumerate() {
                if self.mask & (1 << c) != 0 {
                    let v = x.to_unit();
                    if v.is_finite() {
                        sum += v.clamp(-64.0, 64.0);
                    }
                }
            }
            self.push_input(sum * self.mix_gain, &mut on_event);
        }
        self.stats.frames += (frames.len() / ch) as u64;
        self.expected_now = Some(now + (frames.len() / ch) as u64);
        Ok(())
    }

    /// End of stream: a last decode of what the history holds.
    pub fn finish(&mut self, mut on_event: impl FnMut(&Event)) {
        // The stream has ended: what the search had left, at once.
        while self.search != Search::Idle {
            self.search_step(u16::MAX, i32::MAX);
        }
        if self.lock.is_some() {
            self.decode(true, &mut on_event);
        }
        self.expected_now = None;
    }

    fn restart(&mut self, now: u64) {
        self.origin = now;
        self.input = [0.0; 2 * IN_HIST];
        self.in_pos = 0;
        self.in_count = 0;
        self.u = [0.0; 2 * FRAME];
        self.u_pos = 0;
        self.u_count = 0;
        self.silent = [u64::MAX; RING / 64];
        self.frames = 0;
        self.lock = None;
        self.found = None;
        self.misses = 0;
        self.since_acq = 0;
        self.acq_count = 0;
        self.search = Search::Idle;
        self.queue_len = 0;
        self.since_track = 0;
        self.since_decode = 0;
        self.decode_count = 0;
        self.presence_from = 0;
        for k in self.known.iter_mut() {
            k.phase = None;
        }
        self.expected_now = Some(now);
    }

    #[inline]
    fn push_input(&mut self, x: f32, on_event: &mut impl FnMut(&Event)) {
        let v = if x.abs() < 1e-30 { 0.0 } else { x };
        self.input[self.in_pos] = v;
        self.input[self.in_pos + IN_HIST] = v;
        self.in_pos = if self.in_pos + 1 == IN_HIST {
            0
        } else {
            self.in_pos + 1
        };
        self.in_count += 1;
        // u[t] (stream time 3t) is complete with input 3t + 24.
        let i = self.in_count - 1;
        if i < ANALYSIS_DELAY as u64 || (i - ANALYSIS_DELAY as u64) % RATIO as u64 != 0 {
            return;
        }
        let end = self.in_pos + IN_HIST;
        let u = dot(&ANALYSIS, &self.input[end - ANALYSIS_TAPS..end]);
        self.u[self.u_pos] = u;
        self.u[self.u_pos + FRAME] = u;
        self.u_pos = if self.u_pos + 1 == FRAME {
            0
        } else {
            self.u_pos + 1
        };
        self.u_count += 1;
        if self.u_count >= FRAME as u64 && (self.u_count - FRAME as u64) % DHOP as u64 == 0 {
            self.analyse_frame();
            self.after_frame(on_event);
        }
    }

    /// STFT of the newest 512 mark samples into the phase history. Frame d
    /// (counted from the restart) is centred at mark time 128·d + 256.
    fn analyse_frame(&mut self) {
        let mut buf = [0.0f32; FRAME];
        let src = &self.u[self.u_pos..self.u_pos + FRAME];
        for ((b, x), w) in buf.iter_mut().zip(src).zip(WINDOW.iter()) {
            *b = x * w;
        }
        let spec = microfft::real::rfft_512(&mut buf);
        let slot = (self.frames % RING as u64) as usize;
        let mut power = 0.0f32;
        let row = &mut self.history[slot];
        *row = [0; PHASE_BYTES];
        for b in 0..BINS {
            let c: Complex32 = spec[FIRST_BIN + b];
            power += c.re * c.re + c.im * c.im;
            let level = ((atan2_turns(c.im, c.re) * 16.0 + 0.5) as u32 & 15) as u8;
            row[b / 2] |= level << (4 * (b % 2));
        }
        // log2_fast maps NaN and 0 to −126: silent.
        let silent = log2_fast(power) < log2_fast(FULL_SCALE_BIN_POWER) + SILENCE_DB * DB_TO_LOG2;
        let (w, bit) = (slot / 64, slot % 64);
        if silent {
            self.silent[w] |= 1 << bit;
        } else {
            self.silent[w] &= !(1 << bit);
        }
        self.frames += 1;
    }

    #[inline]
    fn phase16(&self, d: u64, b: usize) -> i32 {
        ((self.history[(d % RING as u64) as usize][b / 2] >> (4 * (b % 2))) & 15) as i32
    }

    #[inline]
    fn is_silent(&self, d: u64) -> bool {
        let slot = (d % RING as u64) as usize;
        (self.silent[slot / 64] >> (slot % 64)) & 1 == 1
    }

    /// Oldest detector frame still in the history.
    fn oldest(&self) -> u64 {
        self.frames.saturating_sub(RING as u64)
    }

    /// The oldest aligned frame still in the history.
    fn first_aligned(&self, t: &Timing) -> u64 {
        let o = self.oldest();
        o + ((o + t.frame) % 2)
    }

    // Out of line (once a detector frame): the search's buffers stay off
    // the caller's stack frame.
    #[inline(never)]
    fn after_frame(&mut self, on_event: &mut impl FnMut(&Event)) {
        let newest = self.frames - 1;
        if let Some(t) = self.lock {
            if t.aligned(newest) {
                let sums = self.cell_sums(newest, &t);
                self.sums[(newest % RING as u64) as usize] = sums;
                self.combine(newest, &sums);
            }
            self.since_track += 1;
            if self.since_track >= TRACK_EVERY {
                self.since_track = 0;
                self.track();
            }
            self.since_decode += 1;
            if self.lock.is_some() && self.since_decode >= DECODE_EVERY {
                self.since_decode = 0;
                self.decode_count = self.decode_count.wrapping_add(1);
                let full = self.decode_count % FULL_SEARCH_EVERY == 0;
                self.start_decode(full);
            }
            self.decode_step(DECODE_TRIES_PER_FRAME, on_event);
            if self.lock.is_some() && !self.known.is_empty() {
                self.confirm(on_event);
            }
        } else {
            self.since_acq += 1;
            // A slow or deep sweep gives way to the next attempt: its window
            // is older, and the quick sweep of the newer one finds most locks.
            let behind = matches!(self.search, Search::Scan { sweep, .. } if sweep != Sweep::Quick);
            if (self.search == Search::Idle || behind)
                && self.since_acq >= ACQ_EVERY
                && self.frames >= ACQ_WINDOW as u64
            {
                self.since_acq = 0;
                self.start_acquisition();
            }
            self.search_step(HYPOTHESES_PER_FRAME, REFINE_DRIFTS_PER_FRAME);
        }
    }

    /// A cell's correlation phase in 1/256 turns: stored phase minus keyed
    /// phase plus the timing rotation `rot` (1/256 turns).
    #[inline]
    fn angle(&self, d: u64, q: usize, b: usize, rot: f32) -> usize {
        // Rounds rot to the nearest step (rot stays well above −2^14).
        let r = (rot + 16_384.5) as i32 - 16_384;
        ((self.phase16(d, b) * 16 - self.phases[q][b] as i32 + r) & 255) as usize
    }

    /// The pilot cross-spectrum of aligned frames `first, first + 2, ...`
    /// (`count` of them, the first holding phase index `q`), each rotated
    /// for a timing that grows by `drift` per detector frame from frame
    /// `centre`. Returns the number of pilot cells added.
    fn pilot_spectrum(
        &self,
        first: u64,
        count: usize,
        q: usize,
        drift: f32,
        centre: f32,
        out: &mut [Complex32; FRAME],
    ) -> f32 {
        *out = [Complex32::new(0.0, 0.0); FRAME];
        let mut cells = 0.0f32;
        for j in 0..count {
            let d = first + 2 * j as u64;
            if self.is_silent(d) {
                continue;
            }
            let qj = (q + j) % PHASE_CYCLE;
            // e^{+j2πk·Δτ/512} in 1/256 turns: k·Δτ/2.
            let half_dtau = 0.5 * drift * (d as f32 - centre);
            for &(b, s) in self.pilots[qj].iter() {
                let b = b as usize;
                let k = FIRST_BIN + b;
                let (c, sn) = UNIT[self.angle(d, qj, b, k as f32 * half_dtau)];
                let sign = s as f32;
                out[k].re += sign * c;
                out[k].im += sign * sn;
            }
            cells += PILOTS as f32;
        }
        cells
    }

    /// Best timing lag of a pilot spectrum within ±64 samples: (score, τ).
    fn best_lag(spec: &mut [Complex32; FRAME], cells: f32) -> (f32, f32) {
        if cells <= 0.0 {
            return (0.0, 0.0);
        }
        ifft_unscaled(spec);
        let half = DHOP / 2;
        let mut best = (0usize, -1.0f32);
        for n in (0..=half).chain(FRAME - half..FRAME) {
            let p = spec[n].norm_sqr();
            if p > best.1 {
                best = (n, p);
            }
        }
        let at = |n: usize| spec[n % FRAME].norm_sqr();
        let n = best.0;
        let (l, r) = (at(n + FRAME - 1), at(n + 1));
        let denom = l - 2.0 * best.1 + r;
        let frac = if denom < 0.0 {
            (0.5 * (l - r) / denom).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        let lag = if n > FRAME / 2 {
            n as f32 - FRAME as f32
        } else {
            n as f32
        };
        (best.1 / cells, lag + frac)
    }

    /// Begin a search of the last 0.5 s of pilots, to go on to a slow or a
    /// deep sweep on some attempts if it finds nothing.
    fn start_acquisition(&mut self) {
        self.stats.acquisitions += 1;
        let then = if self.acq_count % SLOW_EVERY == 0 {
            Some(Sweep::Slow)
        } else if self.acq_count % SLOW_EVERY == SLOW_EVERY / 2 && self.frames >= DEEP_WINDOW as u64
        {
            Some(Sweep::Deep)
        } else {
            None
        };
        self.search = Search::Scan {
            newest: self.frames - 1,
            sweep: Sweep::Quick,
            next: 0,
            best: None,
            then,
        };
        self.acq_count = self.acq_count.wrapping_add(1);
    }

    /// Advance the search by at most `hypotheses` scan hypotheses or
    /// `drifts` refinement drifts; a candidate that stands out after both
    /// refinements becomes the lock.
    fn search_step(&mut self, hypotheses: u16, drifts: i32) {
        match self.search {
            Search::Idle => {}
            Search::Scan {
                newest,
                sweep,
                mut next,
                mut best,
                then,
            } => {
                let steps = sweep.steps();
                let drifts_per_q = (2 * steps + 1) as u16;
                let total = 2 * PHASE_CYCLE as u16 * drifts_per_q;
                let count = sweep.frames();
                let mut spec = [Complex32::new(0.0, 0.0); FRAME];
                let mut left = hypotheses;
                while left > 0 && next < total {
                    let parity = (next / (PHASE_CYCLE as u16 * drifts_per_q)) as u64;
                    let q = (next / drifts_per_q) as usize % PHASE_CYCLE;
                    let h = (next % drifts_per_q) as i32 - steps;
                    next += 1;
                    if sweep == Sweep::Slow && h.abs() <= QUICK_DRIFTS {
                        continue;
                    }
                    left = left.saturating_sub(sweep.cost());
                    let last = newest - ((newest + parity) % 2);
                    let first = last - 2 * (count as u64 - 1);
                    let centre = first as f32 + (count - 1) as f32;
                    let drift = sweep.drift_step() * h as f32;
                    let cells = self.pilot_spectrum(first, count, q, drift, centre, &mut spec);
                    let (score, tau) = Self::best_lag(&mut spec, cells);
                    let score = score - sweep.penalty();
                    if best.is_none_or(|b| score > b.score) {
                        best = Some(Timing {
                            frame: first,
                            q,
                            tau: tau - drift * (centre - first as f32),
                            drift,
                            score,
                        });
                    }
                }
                let found = best.filter(|b| b.score >= CANDIDATE_SCORE);
                self.search = match (found, then) {
                    _ if next < total => Search::Scan {
                        newest,
                        sweep,
                        next,
                        best,
                        then,
                    },
                    (None, Some(sweep)) => Search::Scan {
                        newest,
                        sweep,
                        next: 0,
                        best,
                        then: None,
                    },
                    (Some(candidate), _) => {
                        self.stats.candidates += 1;
                        // The oldest aligned frame the history holds now;
                        // it stays in it for the refinement's few frames.
                        let from = self.first_aligned(&candidate) + 2 * REFINE_MARGIN;
                        Search::Refine {
                            base: candidate,
                            from,
                            newest,
                            wide: true,
                            next: -COARSE_SPAN,
                            best: None,
                        }
                    }
                    (None, None) => Search::Idle,
                };
            }
            Search::Refine {
                base,
                from,
                newest,
                wide,
                mut next,
                mut best,
            } => {
                let (span, step) = if wide {
                    (COARSE_SPAN, DRIFT_STEP / 4.0)
                } else {
                    (FINE_SPAN, DRIFT_STEP / 16.0)
                };
                let end = next.saturating_add(drifts).min(span + 1);
                let mut ok = true;
                while ok && next < end {
                    ok = self.refine_drift(base, from, newest, next, step, wide, &mut best);
                    next += 1;
                }
                self.search = match best.map(normalise) {
                    _ if !ok => Search::Idle,
                    _ if next <= span => Search::Refine {
                        base,
                        from,
                        newest,
                        wide,
                        next,
                        best,
                    },
                    Some(coarse) if wide => Search::Refine {
                        base: coarse,
                        from: coarse.frame,
                        newest,
                        wide: false,
                        next: -FINE_SPAN,
                        best: None,
                    },
                    Some(t) => {
                        if t.score >= LOCK_SCORE {
                            self.take_lock(t);
                        }
                        Search::Idle
                    }
                    None => Search::Idle,
                };
            }
        }
    }

    /// Lock on `t`: cell sums and the long-term accumulator from the
    /// history.
    fn take_lock(&mut self, t: Timing) {
        #[cfg(feature = "trace")]
        std::eprintln!("lock {t:?}");
        self.stats.locks += 1;
        self.lock = Some(t);
        self.misses = 0;
        self.found = None;
        self.since_decode = DECODE_EVERY;
        self.since_track = 0;
        self.presence_from = self.frames;
        self.recompute_sums();
        self.combined = [[[0.0; SLOTS]; COMBINE_ROWS]; 2];
        self.combine_offset = -(t.frame as i64);
        self.combined_frames = 0;
        let mut d = self.first_aligned(&t);
        while d < self.frames {
            let sums = self.sums[(d % RING as u64) as usize];
            self.combine(d, &sums);
            d += 2;
        }
    }

    /// Add aligned frame d's sums into both classes' accumulators.
    fn combine(&mut self, d: u64, sums: &Sums) {
        if sums.cells == 0 {
            return;
        }
        let e = (d as i64 + self.combine_offset).div_euclid(2);
        for class in FrameClass::ALL {
            let c = (class == FrameClass::Long) as usize;
            let row = &mut self.combined[c][e.rem_euclid(period_frames(class) as i64) as usize];
            for (acc, v) in row.iter_mut().zip(sums.slot) {
                *acc = *acc * COMBINE_DECAY + v;
            }
        }
        self.combined_frames += 1;
    }

    /// Fine search around `t` over the aligned frames from `from` to the
    /// newest: drift ± `span` steps of `step`; for each, the timing within
    /// ±2 samples of `t`'s prediction in quarter steps. The result is
    /// referenced to frame `from`.
    fn refine(&self, t: Timing, from: u64, span: i32, step: f32) -> Option<Timing> {
        let newest = self.frames - 1;
        let mut best = None;
        for h in -span..=span {
            if !self.refine_drift(t, from, newest, h, step, false, &mut best) {
                return None;
            }
        }
        best.map(normalise)
    }

    /// One drift of a refinement around `t` (`t.drift` + h·`step`) on the
    /// aligned frames `from..=newest`: the timing anywhere within ±64
    /// samples (`wide`, by inverse FFT) or within ±2 samples of `t`'s
    /// prediction in quarter steps, kept in `best` if it scores higher.
    /// `false` if there is nothing to refine on.
    #[allow(clippy::too_many_arguments)]
    fn refine_drift(
        &self,
        t: Timing,
        from: u64,
        newest: u64,
        h: i32,
        step: f32,
        wide: bool,
        best: &mut Option<Timing>,
    ) -> bool {
        let last = t.last_aligned(newest);
        if last < from {
            return false;
        }
        let count = ((last - from) / 2 + 1) as usize;
        let q_from = t.q_at(from);
        let centre = from as f32 + (count - 1) as f32;
        let mut spec = [Complex32::new(0.0, 0.0); FRAME];
        let drift = t.drift + h as f32 * step;
        let cells = self.pilot_spectrum(from, count, q_from, drift, centre, &mut spec);
        if cells <= 0.0 {
            return false;
        }
        let mut consider = |score: f32, lag: f32| {
            if best.is_none_or(|b| score > b.score) {
                *best = Some(Timing {
                    frame: from,
                    q: q_from,
                    tau: lag - drift * (centre - from as f32),
                    drift,
                    score,
                });
            }
        };
        if wide {
            let (score, lag) = Self::best_lag(&mut spec, cells);
            consider(score, lag);
            return true;
        }
        let tau_c = t.tau + t.drift * (centre - t.frame as f32);
        for l in -8..=8 {
            let lag = tau_c + l as f32 * 0.25;
            let mut acc = Complex32::new(0.0, 0.0);
            // e^{+j2πk·lag/512}, in 1/256 turns per bin: lag/2.
            let step_turns = 0.5 * lag;
            let mut rot = FIRST_BIN as f32 * step_turns;
            for v in &spec[FIRST_BIN..=LAST_BIN] {
                let r = ((rot + 16_384.5) as i32 - 16_384) & 255;
                let (c, s) = UNIT[r as usize];
                acc.re += v.re * c - v.im * s;
                acc.im += v.re * s + v.im * c;
                rot += step_turns;
            }
            consider(acc.norm_sqr() / cells, lag);
        }
        true
    }

    /// Follow the lock on the whole history (weak marks need all of it);
    /// drop it after three weak refinements in a row. The cell sums follow
    /// the timing.
    fn track(&mut self) {
        let Some(t) = self.lock else { return };
        let newest = t.last_aligned(self.frames - 1);
        let from = self.first_aligned(&t);
        match self.refine(t, from, 2, DRIFT_STEP / 16.0) {
            Some(n) if n.score >= LOCK_SCORE * 0.5 => {
                self.misses = 0;
                if n.aligned(newest) != t.aligned(newest) {
                    // Frames now align one detector frame later (τ fell by
                    // 128) or earlier: the embedder frames run on.
                    self.combine_offset += if n.tau < t.tau_at(n.frame) { -1 } else { 1 };
                }
                let moved = (n.tau_at(newest) - t.tau_at(newest)).abs() > 0.3
                    || n.aligned(newest) != t.aligned(newest);
                self.lock = Some(n);
                if moved {
                    self.recompute_sums();
                }
            }
            _ => {
                self.misses += 1;
                if self.misses >= 3 {
                    self.lock = None;
                    self.found = None;
                }
            }
        }
    }

    /// Cell sums of aligned frame `d` under timing `t`.
    fn cell_sums(&self, d: u64, t: &Timing) -> Sums {
        let mut s = Sums::default();
        if self.is_silent(d) {
            return s;
        }
        let q = t.q_at(d);
        let half_tau = 0.5 * t.tau_at(d);
        let mut rot = FIRST_BIN as f32 * half_tau;
        for b in 0..BINS {
            let v = UNIT[self.angle(d, q, b, rot)].0;
            match self.cells.role(q, b) {
                Role::Pilot(sign) => s.pilot += v * sign as f32,
                Role::Slot(j) => s.slot[j as usize] += v,
            }
            rot += half_tau;
        }
        s.cells = 1;
        s
    }

    fn recompute_sums(&mut self) {
        let Some(t) = self.lock else { return };
        let mut d = self.first_aligned(&t);
        while d < self.frames {
            self.sums[(d % RING as u64) as usize] = self.cell_sums(d, &t);
            d += 2;
        }
    }

    /// Queue a decode attempt: the period phase that decoded last, or
    /// (`full`, or none yet) every class and period phase; [`decode_step`]
    /// tries them a few per frame, on the history and then on the
    /// long-term accumulator.
    ///
    /// [`decode_step`]: Detector::decode_step
    fn start_decode(&mut self, full: bool) {
        let Some(t) = self.lock else { return };
        let first = self.first_aligned(&t);
        let mut n = 0;
        if let Some(p) = self.found {
            self.queue[0] = Some(p);
            n = 1;
        }
        if full || self.found.is_none() {
            let q_first = t.q_at(first);
            for class in [FrameClass::Long, FrameClass::Short] {
                for c in 0..period_frames(class) / PHASE_CYCLE {
                    self.queue[n] = Some(PeriodPhase {
                        class,
                        frame: first,
                        f: q_first + PHASE_CYCLE * c,
                    });
                    n += 1;
                }
            }
        }
        self.queue_len = n as u8;
        self.queue_next = 0;
    }

    /// Try at most `budget` queued period phases (a try is a Viterbi
    /// decode and a MAC check); the queue empties on the first decode.
    fn decode_step(&mut self, budget: usize, on_event: &mut impl FnMut(&Event)) {
        let n = self.queue_len as usize;
        let mut tries = 0;
        while (self.queue_next as usize) < 2 * n && tries < budget {
            let Some(t) = self.lock else {
                self.queue_len = 0;
                return;
            };
            let first = self.first_aligned(&t);
            let last = t.last_aligned(self.frames - 1);
            if last < first {
                self.queue_len = 0;
                return;
            }
            let count = ((last - first) / 2 + 1) as usize;
            let k = self.queue_next as usize;
            self.queue_next += 1;
            // The second pass: more than the history has seen, from the
            // long-term accumulator.
            let combined = k >= n;
            if combined && self.combined_frames as usize <= count {
                self.queue_len = 0;
                return;
            }
            let Some(p) = self.queue[k % n] else { continue };
            // Re-anchored: the history's oldest frame moves on.
            let p = PeriodPhase {
                class: p.class,
                frame: first,
                f: p.f_at(first),
            };
            tries += 1;
            if let Some(ev) = self.try_period(&t, first, count, &p, combined) {
                on_event(&Event::Detection(ev));
                self.queue_len = 0;
                return;
            }
        }
        if self.queue_next as usize >= 2 * n {
            self.queue_len = 0;
        }
    }

    /// A whole decode attempt at once (end of stream).
    fn decode(&mut self, full: bool, on_event: &mut impl FnMut(&Event)) {
        self.start_decode(full);
        self.decode_step(usize::MAX, on_event);
    }

    /// Block A (and the newest whole period's block B) under one period
    /// phase, from the history or (`combined`) the long-term accumulator.
    fn try_period(
        &mut self,
        t: &Timing,
        first: u64,
        count: usize,
        p: &PeriodPhase,
        combined: bool,
    ) -> Option<Detection> {
        let class = p.class;
        let period = period_frames(class);
        let map = &self.maps[(class == FrameClass::Long) as usize];
        let n_a = class.a_coded();
        self.llr_a[..n_a].iter_mut().for_each(|v| *v = 0.0);
        let (mut pilot, mut cells) = (0.0f32, 0.0f32);
        for j in 0..count {
            let d = first + 2 * j as u64;
            let s = &self.sums[(d % RING as u64) as usize];
            if s.cells == 0 {
                continue;
            }
            pilot += s.pilot;
            cells += PILOTS as f32;
            if combined {
                continue;
            }
            let f = (p.f + j) % period;
            for (slot, &v) in s.slot.iter().enumerate() {
                if let Content::A(i) = map.content(f, slot) {
                    self.llr_a[i as usize] += v;
                }
            }
        }
        if combined {
            // Accumulator row of aligned frame `first`, and its period frame.
            let e = (first as i64 + self.combine_offset).div_euclid(2);
            let c = (class == FrameClass::Long) as usize;
            for j in 0..period {
                let row = &self.combined[c][(e + j as i64).rem_euclid(period as i64) as usize];
                let f = (p.f + j) % period;
                for (slot, &v) in row.iter().enumerate() {
                    if let Content::A(i) = map.content(f, slot) {
                        self.llr_a[i as usize] += v;
                    }
                }
            }
        }
        let mut a = [0u8; MAX_A_BYTES];
        let bytes = &mut a[..class.a_bytes()];
        let dec = self.viterbi.decode(&self.llr_a[..n_a], bytes)?;
        self.stats.mac_checks += 1;
        let (id, mac) = open_a(&self.keys, &BlockA::new_unchecked(&*bytes)).ok()?;
        // Every period phase that decodes is this one from now on.
        self.found = Some(*p);
        // The newest whole period in the history (else the newest begun):
        // the aligned index of its frame 0 (negative: before the history).
        let f_last = (p.f + count - 1) % period;
        let j_last = count as i64 - 1 - f_last as i64;
        let j0 = if j_last + period as i64 > count as i64 && j_last >= period as i64 {
            j_last - period as i64
        } else {
            j_last
        };
        let j0 = self.place(&coded_bits(bytes), p, count, j0, combined)?;
        let counter = if j0 >= 0 && j0 as usize + period <= count {
            self.decode_b(class, first, j0 as usize)
                .and_then(|b| open_b(&self.keys, &mac, &BlockB::new_unchecked(&b[..])).ok())
        } else {
            None
        };
        let d0 = first as i64 + 2 * j0;
        let centre =
            (DHOP as i64 * d0 + HOP as i64) as f32 + t.tau + t.drift * (d0 - t.frame as i64) as f32;
        let start = libm::roundf(self.origin as f32 + RATIO as f32 * centre).max(0.0) as u64;
        let phase = PeriodPhase {
            class,
            frame: first,
            f: p.f,
        };
        if self.expect(&id) {
            if let Some(k) = self.known.iter_mut().find(|k| k.id == id) {
                k.phase = Some(phase);
            }
        }
        if self
            .last_period
            .is_some_and(|(i, s)| i == id && s.abs_diff(start) < (HOP * RATIO) as u64)
        {
            return None;
        }
        self.last_period = Some((id, start));
        self.stats.decoded += 1;
        let mean = if cells > 0.0 { pilot / cells } else { 0.0 };
        let snr = mean * mean / (CELL_NOISE - mean * mean).max(1e-6);
        let frames = if combined {
            self.combined_frames as usize
        } else {
            count
        };
        Some(Detection {
            profile: Profile::Robust,
            id,
            counter,
            start_sample: start,
            snr_db: 10.0 * libm::log10f(snr.max(1e-9)),
            corrected_bits: dec.corrected_bits,
            bursts_combined: frames.div_ceil(period).min(u8::MAX as usize) as u8,
            clock_ppm: t.drift / DHOP as f32 * 1e6,
        })
    }

    /// Viterbi on block B of the period whose frame 0 is aligned index `j0`.
    fn decode_b(&mut self, class: FrameClass, first: u64, j0: usize) -> Option<[u8; B_BYTES]> {
        let map = &self.maps[(class == FrameClass::Long) as usize];
        self.llr_b = [0.0; B_CODED];
        for f in 0..map.frames() {
            let d = first + 2 * (j0 + f) as u64;
            let s = &self.sums[(d % RING as u64) as usize];
            for (slot, &v) in s.slot.iter().enumerate() {
                if let Content::B(i) = map.content(f, slot) {
                    self.llr_b[i as usize] += v;
                }
            }
        }
        let mut b = [0u8; B_BYTES];
        self.viterbi.decode(&self.llr_b, &mut b)?;
        Some(b)
    }

    /// How strongly the aligned frames `from, from + 2, …` (`frames` of
    /// them, the first at period frame `f_from`) carry `coded`'s block-A
    /// pattern, as a z-score; `None` if none of them is in the history
    /// and sounding. Only the ID's own cells count: the pilots are every
    /// ID's (the key's), so they would confirm any ID while another airs.
    fn pattern_z(
        &self,
        coded: &Coded,
        class: FrameClass,
        from: u64,
        f_from: usize,
        frames: usize,
    ) -> Option<f32> {
        let period = period_frames(class);
        let map = &self.maps[(class == FrameClass::Long) as usize];
        let (mut sum, mut cells, mut energy) = (0.0f32, 0.0f32, 0.0f32);
        for j in 0..frames {
            let d = from + 2 * j as u64;
            let s = &self.sums[(d % RING as u64) as usize];
            if s.cells == 0 || d < self.oldest() {
                continue;
            }
            let f = (f_from + j) % period;
            for (slot, &v) in s.slot.iter().enumerate() {
                if let Content::A(i) = map.content(f, slot) {
                    sum += coded_sign(coded, i as usize) * v;
                    cells += super::SLOT_CELLS as f32;
                    energy += v * v;
                }
            }
        }
        // Normalised by the slots' own spread when it exceeds the noise's:
        // another ID's strong mark then scores like noise against this
        // ID's pattern.
        (cells > 0.0).then(|| sum / libm::sqrtf((CELL_NOISE * cells).max(energy)))
    }

    /// The newest whole period of the history (whose oldest aligned frame
    /// `p` is anchored at, `count` of them), at or before aligned index
    /// `j0`, that carries the decoded ID (`coded`), when the history says
    /// enough to tell: its per-period strength, from the whole history, is
    /// at least [`PLACE_Z`]. A period then carries it if it scores above
    /// half that and at most 3 below it. After a splice the history still
    /// holds the ID that played before, so a decode need not be the newest
    /// period's. `Some(j0)` when the history cannot tell or `j0` is not
    /// whole in it; `None` when no whole period carries it.
    fn place(
        &self,
        coded: &Coded,
        p: &PeriodPhase,
        count: usize,
        j0: i64,
        combined: bool,
    ) -> Option<i64> {
        let (class, first, f0) = (p.class, p.frame, p.f);
        let period = period_frames(class);
        // No sounding frame in the history: nothing of it carries the ID.
        let whole = self.pattern_z(coded, class, first, f0, count)?;
        if j0 < 0 || j0 as usize + period > count {
            return Some(j0);
        }
        let expected = whole * libm::sqrtf(period as f32 / count as f32);
        let pass = if expected >= PLACE_Z {
            (expected - 3.0).max(0.5 * expected)
        } else if combined {
            COMBINED_PLACE_Z
        } else {
            return Some(j0);
        };
        let mut j = j0;
        while j >= 0 {
            let first_j = first + 2 * j as u64;
            let z = self.pattern_z(coded, class, first_j, (f0 + j as usize) % period, period);
            if z.is_some_and(|z| z >= pass) {
                return Some(j);
            }
            j -= period as i64;
        }
        None
    }

    /// One confirmation per known ID for each ~1 s of aligned frames.
    fn confirm(&mut self, on_event: &mut impl FnMut(&Event)) {
        let Some(t) = self.lock else { return };
        let from = self.presence_from + ((self.presence_from + t.frame) % 2);
        if self.frames < from + 2 * PRESENCE_FRAMES as u64 - 1 {
            return;
        }
        self.presence_from = from + 2 * PRESENCE_FRAMES as u64;
        for k in 0..self.known.len() {
            let known = self.known[k];
            let class = known.class;
            let period = period_frames(class);
            let q_from = t.q_at(from);
            let mut best = f32::NEG_INFINITY;
            let tries = if known.phase.is_some() {
                1
            } else {
                period / PHASE_CYCLE
            };
            for c in 0..tries {
                let f_from = match known.phase {
                    Some(p) => p.f_at(from),
                    None => q_from + PHASE_CYCLE * c,
                };
                if let Some(z) = self.pattern_z(&known.coded, class, from, f_from, PRESENCE_FRAMES)
                {
                    best = best.max(z);
                }
            }
            if best.is_finite() {
                self.stats.presence_checks += tries as u64;
                let centre = centre_of(from) - (HOP / 2) as f32 + t.tau_at(from);
                let start =
                    libm::roundf(self.origin as f32 + RATIO as f32 * centre).max(0.0) as u64;
                let end = start + (RATIO * HOP * PRESENCE_FRAMES) as u64;
                on_event(&Event::Presence(Presence {
                    id: known.id,
                    start_sample: start,
                    end_sample: end,
                    z: best,
                    present: best >= PRESENCE_Z,
                }));
            }
        }
    }
}

/// Move the reference frame so |τ| ≤ 64: a mark frame 128 samples after
/// detector frame d is the one centred on detector frame d + 1 (the other
/// parity), and the aligned frames keep their phase indices.
fn normalise(mut t: Timing) -> Timing {
    let half = (DHOP / 2) as f32;
    while t.tau > half {
        t.tau -= DHOP as f32;
        t.frame += 1;
    }
    while t.tau < -half && t.frame > 0 {
        t.tau += DHOP as f32;
        t.frame -= 1;
    }
    t
}

/// Mark time of detector frame d's centre.
fn centre_of(d: u64) -> f32 {
    (DHOP as u64 * d + HOP as u64) as f32
}
