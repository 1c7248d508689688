//! The detector: finds bursts in a stream of interleaved frames and reports
//! the IDs it can prove.
//!
//! ```text
//! frames ─► channel sum ─► front end ─► baseband ring ─► preamble search
//!            (sanitised)   (mix, filter,   (~1 s)          │ hits
//!                           decimate)                      ▼
//!                    events ◄─ MAC check ◄─ Viterbi ◄─ demodulation ◄─ candidates
//!                                 ▲                          │ failures
//!                                 └──── soft combining ◄─────┘
//! ```
//!
//! * Time is passed in as sample indices; events report the burst's first
//!   sample on that clock. A jump in `now` ends the stream there and starts a
//!   new one (pending candidates are decoded with what arrived).
//! * Every report passed a 32-bit MAC over the frame plus header and padding
//!   checks; see the crate docs for the false-alarm arithmetic.
//! * Non-finite input counts as silence and input is clamped to ±64 full
//!   scale, so nothing can poison the filters.
//! * Speed without a changed bit: input is mixed in blocks, the front end
//!   keeps its open outputs in registers for a block, and the preamble
//!   search correlates a batch of windows side by side (see `preamble`).
//!   Every sum keeps its order, so events, SNRs and offsets are those of a
//!   sample-at-a-time loop, on every target.
//! * All memory is inside the struct (`size_of::<Detector>()`, ~44 KiB).
//!   On an MCU, build it in place: `static mut D: Detector =
//!   Detector::unconfigured();` then `configure`.

mod combine;
mod decode;
mod demod;
mod frontend;
mod preamble;
mod ring;

use core::fmt;

use heapless::Vec;

use crate::binding::Listener;
use crate::config::{
    check_channels, DetectConfig, Id, Phy, Profile, Profiles, MAX_SYNC_THRESHOLD,
    MIN_SYNC_THRESHOLD,
};
use crate::error::{ConfigError, ProcessError};
use crate::event::{Collision, Event};
use crate::fec::Viterbi;
use crate::frame::MAX_A_BYTES;
use crate::key::KeySchedule;
use crate::layout::{FrameClass, MAX_A_CODED, MAX_DATA_SYMBOLS};
use crate::math::Complex;
use crate::sample::Sample;

use combine::History;
use demod::{Demod, Known};
use frontend::FrontEnd;
use preamble::{PreambleSearch, SyncHit};
use ring::Ring;

/// Candidates waiting for the rest of their burst.
const MAX_CANDIDATES: usize = 4;
/// Frames mixed to mono at a time, on the stack.
const MIX_BLOCK: usize = 64;
/// Input beyond ±64 full scale is clamped (keeps sums finite).
const INPUT_LIMIT: f32 = 64.0;

/// What the detector has done so far (for logs and false-alarm accounting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DetectorStats {
    /// Input frames consumed.
    pub frames: u64,
    /// Preamble correlations above threshold.
    pub sync_hits: u64,
    /// Candidates whose pilots looked like signal.
    pub demodulated: u64,
    /// MAC verifications tried (each has a 2^-32 chance to pass by luck).
    pub mac_checks: u64,
    /// Events reported.
    pub detections: u64,
    /// Detections that needed more than one burst.
    pub combined: u64,
    /// Bursts whose pilots were strong but whose data did not authenticate
    /// (see [`Collision`]).
    pub unreadable: u64,
    /// Bursts read whose programme fingerprint is another programme's (see
    /// [`Transplant`](crate::Transplant)); not counted in `detections`.
    pub transplants: u64,
}

/// Streaming watermark detector. See the module docs.
#[derive(Clone)]
pub struct Detector {
    config: DetectConfig,
    phy: Phy,
    mask: u8,
    mix_gain: f32,
    keys: KeySchedule,
    front: FrontEnd,
    ring: Ring,
    preamble: PreambleSearch,
    demod: Demod,
    known: Known,
    viterbi: Viterbi,
    history: History,
    candidates: Vec<SyncHit, MAX_CANDIDATES>,
    soft: [f32; MAX_DATA_SYMBOLS],
    short_a: [f32; FrameClass::Short.a_coded()],
    long_a: [f32; MAX_A_CODED],
    scratch: [f32; MAX_A_CODED],
    a_bytes: [u8; MAX_A_BYTES],
    /// Input index of the current stream's first sample.
    origin: u64,
    expected_now: Option<u64>,
    last: Option<(Id, u64)>,
    /// The run of strong but unreadable bursts under way, if any.
    collision: Option<Collision>,
    /// Band energies of the programme, for the bursts' fingerprints.
    listener: Listener,
    stats: DetectorStats,
}

impl fmt::Debug for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Detector")
            .field("config", &self.config)
            .field("phy", &self.phy)
            .field("pending_candidates", &self.candidates.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Detector {
    /// A detector that must be `configure`d before use; `const` and all zero
    /// bytes, so a `static` of it lands in `.bss` (no 44 KiB image in flash)
    /// and nothing moves 44 KiB through the stack. Until configured,
    /// `process` returns [`ProcessError::Unconfigured`].
    pub const fn unconfigured() -> Detector {
        Detector {
            config: DetectConfig {
                sample_rate: 0,
                channels: 0,
                searched_channels: crate::config::ChannelMask(0),
                profiles: Profiles::only(Profile::Ultrasonic),
                key: crate::config::Key::from_bytes([0; 16]),
                sync_threshold: 0.0,
                soft_combining: false,
                check_binding: false,
            },
            phy: Phy::UNCONFIGURED,
            mask: 0,
            mix_gain: 0.0,
            keys: KeySchedule::zeroed(),
            front: FrontEnd::unconfigured(),
            ring: Ring::new(),
            preamble: PreambleSearch::unconfigured(),
            demod: Demod::unconfigured(),
            known: Known::new(),
            viterbi: Viterbi::new(),
            history: History::new(),
            candidates: Vec::new(),
            soft: [0.0; MAX_DATA_SYMBOLS],
            short_a: [0.0; FrameClass::Short.a_coded()],
            long_a: [0.0; MAX_A_CODED],
            scratch: [0.0; MAX_A_CODED],
            a_bytes: [0; MAX_A_BYTES],
            origin: 0,
            expected_now: None,
            last: None,
            collision: None,
            listener: Listener::zeroed(),
            stats: DetectorStats {
                frames: 0,
                sync_hits: 0,
                demodulated: 0,
                mac_checks: 0,
                detections: 0,
                combined: 0,
                unreadable: 0,
                transplants: 0,
            },
        }
    }

    /// A configured detector, or why the configuration cannot run.
    pub fn new(config: &DetectConfig) -> Result<Detector, ConfigError> {
        let mut d = Detector::unconfigured();
        d.configure(config)?;
        Ok(d)
    }

    /// (Re)configure in place and forget all state. On error nothing changes.
    pub fn configure(&mut self, config: &DetectConfig) -> Result<(), ConfigError> {
        let phy = Phy::new(
            config.profiles.ultrasonic().ok_or(ConfigError::NoProfile)?,
            config.sample_rate,
        )?;
        check_channels(config.channels)?;
        let mask = config.searched_channels.resolve(config.channels)?;
        let t = config.sync_threshold;
        if !(MIN_SYNC_THRESHOLD..=MAX_SYNC_THRESHOLD).contains(&t) {
            return Err(ConfigError::SyncThreshold { value: t });
        }
        self.config = *config;
        self.phy = phy;
        self.mask = mask;
        self.mix_gain = 1.0 / mask.count_ones() as f32;
        self.keys = KeySchedule::new(&config.key);
        self.front.configure(&phy);
        self.preamble.configure(&phy, &self.keys, t);
        self.demod.configure(&phy);
        self.listener.configure(config.sample_rate);
        self.history.clear();
        self.stats = DetectorStats::default();
        self.last = None;
        self.collision = None;
        self.restart(0);
        self.expected_now = None;
        Ok(())
    }

    /// The configuration in force.
    pub fn config(&self) -> &DetectConfig {
        &self.config
    }

    /// The physical parameters in force.
    pub fn phy(&self) -> &Phy {
        &self.phy
    }

    /// What the detector has done since it was configured.
    pub fn stats(&self) -> &DetectorStats {
        &self.stats
    }

    /// Samples of delay between a burst's end and its report (worst case).
    pub fn latency_samples(&self) -> u64 {
        (self.demod.span(FrameClass::Long) + 16) * self.phy.decimation as u64
    }

    /// Consume interleaved frames; `now` is the sample index of the first.
    /// Calls `on_event` for each burst found, and for each unreadable burst
    /// of a run that looks like collusion ([`Collision`]).
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
            if self.expected_now.is_some() {
                self.drain(&mut on_event);
            }
            self.restart(now);
        }
        let mut mixed = [0.0f32; MIX_BLOCK];
        let mut baseband = [Complex::ZERO; MIX_BLOCK];
        for block in frames.chunks(ch * MIX_BLOCK) {
            let mixed = &mut mixed[..block.len() / ch];
            self.mix_block(block, mixed);
            if self.config.check_binding {
                self.listener.push(mixed);
            }
            let n = self.front.push_block(mixed, &mut baseband);
            for &y in &baseband[..n] {
                if self.preamble.stage(y) {
                    self.drain_stage(&mut on_event);
                }
            }
        }
        self.drain_stage(&mut on_event);
        self.stats.frames += (frames.len() / ch) as u64;
        self.expected_now = Some(now + (frames.len() / ch) as u64);
        Ok(())
    }

    /// End of stream: decode what is pending with the samples that arrived.
    pub fn finish(&mut self, mut on_event: impl FnMut(&Event)) {
        self.drain(&mut on_event);
        self.expected_now = None;
    }

    /// Correlate the staged baseband samples as a batch, then take each in
    /// turn as if it had just arrived: ring, preamble decision, decoding.
    fn drain_stage(&mut self, on_event: &mut impl FnMut(&Event)) {
        let staged = self.preamble.staged();
        if staged == 0 {
            return;
        }
        self.preamble.analyse_stage();
        for b in 0..staged {
            self.ring.push(self.preamble.staged_sample(b));
            if let Some(hit) = self.preamble.push(&self.ring, b) {
                self.add_candidate(hit);
            }
            if !self.candidates.is_empty() {
                self.service(false, on_event);
            }
        }
        self.preamble.clear_stage();
    }

    fn drain(&mut self, on_event: &mut impl FnMut(&Event)) {
        if let Some(hit) = self.preamble.flush() {
            self.add_candidate(hit);
        }
        self.service(true, on_event);
    }

    fn restart(&mut self, now: u64) {
        self.origin = now;
        self.collision = None;
        self.listener.reset();
        self.front.reset();
        self.ring.reset();
        self.preamble.reset();
        self.candidates.clear();
        self.expected_now = Some(now);
    }

    /// One mixed value per frame of `block` into `out`. Mono input (the
    /// common case; its one channel is always searched) takes a loop of its
    /// own with a fixed frame length, which vectorises: 1.4 M of the
    /// 6.5 M instructions per second a channel-count loop would add back.
    fn mix_block<S: Sample>(&self, block: &[S], out: &mut [f32]) {
        if self.config.channels == 1 {
            for (o, x) in out.iter_mut().zip(block) {
                *o = self.mix(core::slice::from_ref(x));
            }
        } else {
            let ch = self.config.channels as usize;
            for (o, frame) in out.iter_mut().zip(block.chunks_exact(ch)) {
                *o = self.mix(frame);
            }
        }
    }

    #[inline(always)]
    fn mix<S: Sample>(&self, frame: &[S]) -> f32 {
        let mut sum = 0.0f32;
        for (c, x) in frame.iter().enumerate() {
            if self.mask & (1 << c) != 0 {
                let v = x.to_unit();
                if v.is_finite() {
                    sum += v.clamp(-INPUT_LIMIT, INPUT_LIMIT);
                }
            }
        }
        let v = sum * self.mix_gain;
        // Flush denormals: they cost cycles on some FPUs and carry nothing.
        if v.abs() < 1e-30 {
            0.0
        } else {
            v
        }
    }

    fn add_candidate(&mut self, hit: SyncHit) {
        self.stats.sync_hits += 1;
        let near = (self.preamble.reference_len() / 2) as u64;
        if let Some(c) = self
            .candidates
            .iter_mut()
            .find(|c| c.start.abs_diff(hit.start) < near)
        {
            if hit.metric > c.metric {
                *c = hit;
            }
            return;
        }
        if let Err(hit) = self.candidates.push(hit) {
            if let Some(weakest) = self
                .candidates
                .iter_mut()
                .min_by(|a, b| a.metric.total_cmp(&b.metric))
            {
                if hit.metric > weakest.metric {
                    *weakest = hit;
                }
            }
        }
    }

    /// Decode candidates whose bursts have fully arrived (or all, at the end).
    fn service(&mut self, final_pass: bool, on_event: &mut impl FnMut(&Event)) {
        let span = self.demod.span(FrameClass::Long);
        let mut i = 0;
        while i < self.candidates.len() {
            let c = self.candidates[i];
            let lost = c.start < self.ring.oldest();
            if lost {
                self.candidates.swap_remove(i);
            } else if final_pass || self.ring.len() >= c.start + span {
                self.candidates.swap_remove(i);
                self.examine(&c, on_event);
            } else {
                i += 1;
            }
        }
    }
}
