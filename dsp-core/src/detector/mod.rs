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
//! * All memory is inside the struct (`size_of::<Detector>()`, ~40 KiB).
//!   On an MCU, build it in place: `static mut D: Detector =
//!   Detector::unconfigured();` then `configure`.

mod combine;
mod demod;
mod frontend;
mod ring;
mod sync;

use core::fmt;

use heapless::Vec;

use crate::config::{check_channels, DetectConfig, Id, Phy, Profile};
use crate::error::{ConfigError, ProcessError};
use crate::fec::{interleaved_position, Viterbi};
use crate::frame::{open_a, open_b, BlockA, BlockB, B_BYTES, MAX_A_BYTES};
use crate::key::{KeySchedule, VARIANTS};
use crate::layout::{FrameClass, B_CODED, MAX_A_CODED, MAX_DATA_SYMBOLS};
use crate::math::power_to_db;
use crate::sample::Sample;

use combine::{agreement, History, Reception, Selection};
use demod::{Demod, Estimate, Known};
use frontend::FrontEnd;
use ring::Ring;
use sync::{Sync, SyncHit};

/// Default preamble threshold: about one false sync per 10 s of noise; every
/// false sync is then rejected by the pilot gate or the MAC.
pub const DEFAULT_SYNC_THRESHOLD: f32 = 11.0;
pub const MIN_SYNC_THRESHOLD: f32 = 6.0;
pub const MAX_SYNC_THRESHOLD: f32 = 100.0;
/// Candidates waiting for the rest of their burst.
const MAX_CANDIDATES: usize = 4;
/// Pilot quality gate on A²/σ² per symbol. Noise and sidelobe candidates
/// reach ~0.25 after the timing and frequency search; a burst at −12 dB in-band
/// SNR gives ~0.4.
const QUALITY_GATE: f32 = 0.3;
/// Input beyond ±64 full scale is clamped (keeps sums finite).
const INPUT_LIMIT: f32 = 64.0;
/// A burst counts as part of a combined decode if its LLRs agree with the
/// decoded code word this well (noise: 0 ± 0.06; a burst at −12 dB: ~0.5).
const REAL_BURST_AGREEMENT: f32 = 0.25;

/// One burst found and authenticated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub id: Id,
    /// Burst counter, if this burst's own counter block verified.
    pub counter: Option<u16>,
    /// Sample index of the burst's first sample (start of the ramp).
    pub start_sample: u64,
    /// Estimated SNR in the profile's band (mark power / noise power), dB.
    pub snr_db: f32,
    /// Channel bits the code corrected.
    pub corrected_bits: u16,
    /// 1 for a single burst, more when soft combining was needed.
    pub bursts_combined: u8,
    /// Estimated sample-clock offset of the stream against the embedder's.
    pub clock_ppm: f32,
}

impl fmt::Display for Detection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "id {} at sample {}", self.id, self.start_sample)?;
        match self.counter {
            Some(c) => write!(f, ", counter {c}")?,
            None => write!(f, ", counter ?")?,
        }
        write!(
            f,
            ", SNR {:.1} dB, {} bits corrected, {} burst(s), {:+.0} ppm",
            self.snr_db, self.corrected_bits, self.bursts_combined, self.clock_ppm
        )
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Detection {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(
            f,
            "id {} at {} counter {} snr {} dB corrected {} combined {}",
            self.id,
            self.start_sample,
            self.counter,
            self.snr_db,
            self.corrected_bits,
            self.bursts_combined
        )
    }
}

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
    pub detections: u64,
    /// Detections that needed more than one burst.
    pub combined: u64,
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
    sync: Sync,
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
    /// bytes, so a `static` of it lands in `.bss` (no 40 KiB image in flash)
    /// and nothing moves 40 KiB through the stack. Until configured,
    /// `process` returns [`ProcessError::Unconfigured`].
    pub const fn unconfigured() -> Detector {
        Detector {
            config: DetectConfig {
                sample_rate: 0,
                channels: 0,
                searched_channels: crate::config::ChannelMask(0),
                profile: Profile::Ultrasonic,
                key: crate::config::Key::from_bytes([0; 16]),
                sync_threshold: 0.0,
                soft_combining: false,
            },
            phy: Phy {
                profile: Profile::Ultrasonic,
                sample_rate: 0,
                band: crate::config::Band {
                    low_hz: 0,
                    high_hz: 0,
                },
                carrier_hz: 0,
                symbol_rate: 0,
                decimation: 0,
            },
            mask: 0,
            mix_gain: 0.0,
            keys: KeySchedule::zeroed(),
            front: FrontEnd::unconfigured(),
            ring: Ring::new(),
            sync: Sync::unconfigured(),
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
            stats: DetectorStats {
                frames: 0,
                sync_hits: 0,
                demodulated: 0,
                mac_checks: 0,
                detections: 0,
                combined: 0,
            },
        }
    }

    pub fn new(config: &DetectConfig) -> Result<Detector, ConfigError> {
        let mut d = Detector::unconfigured();
        d.configure(config)?;
        Ok(d)
    }

    /// (Re)configure in place and forget all state. On error nothing changes.
    pub fn configure(&mut self, config: &DetectConfig) -> Result<(), ConfigError> {
        let phy = Phy::new(config.profile, config.sample_rate)?;
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
        self.sync.configure(&phy, &self.keys, t);
        self.demod.configure(&phy);
        self.history.clear();
        self.stats = DetectorStats::default();
        self.last = None;
        self.restart(0);
        self.expected_now = None;
        Ok(())
    }

    pub fn config(&self) -> &DetectConfig {
        &self.config
    }

    pub fn phy(&self) -> &Phy {
        &self.phy
    }

    pub fn stats(&self) -> &DetectorStats {
        &self.stats
    }

    /// Samples of delay between a burst's end and its report (worst case).
    pub fn latency_samples(&self) -> u64 {
        (self.demod.span(FrameClass::Long) + 16) * self.phy.decimation as u64
    }

    /// Consume interleaved frames; `now` is the sample index of the first.
    /// Calls `on_detection` for each burst found.
    pub fn process<S: Sample>(
        &mut self,
        now: u64,
        frames: &[S],
        mut on_detection: impl FnMut(&Detection),
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
                self.drain(&mut on_detection);
            }
            self.restart(now);
        }
        for frame in frames.chunks_exact(ch) {
            let x = self.mix(frame);
            if let Some(y) = self.front.push(x) {
                self.ring.push(y);
                if let Some(hit) = self.sync.push(&self.ring) {
                    self.add_candidate(hit);
                }
                if !self.candidates.is_empty() {
                    self.service(false, &mut on_detection);
                }
            }
        }
        self.stats.frames += (frames.len() / ch) as u64;
        self.expected_now = Some(now + (frames.len() / ch) as u64);
        Ok(())
    }

    /// End of stream: decode what is pending with the samples that arrived.
    pub fn finish(&mut self, mut on_detection: impl FnMut(&Detection)) {
        self.drain(&mut on_detection);
        self.expected_now = None;
    }

    fn drain(&mut self, on_detection: &mut impl FnMut(&Detection)) {
        if let Some(hit) = self.sync.flush() {
            self.add_candidate(hit);
        }
        self.service(true, on_detection);
    }

    fn restart(&mut self, now: u64) {
        self.origin = now;
        self.front.reset();
        self.ring.reset();
        self.sync.reset();
        self.candidates.clear();
        self.expected_now = Some(now);
    }

    #[inline]
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
        let near = (self.sync.reference_len() / 2) as u64;
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
    fn service(&mut self, final_pass: bool, on_detection: &mut impl FnMut(&Detection)) {
        let span = self.demod.span(FrameClass::Long);
        let mut i = 0;
        while i < self.candidates.len() {
            let c = self.candidates[i];
            let lost = c.start < self.ring.oldest();
            if lost {
                self.candidates.swap_remove(i);
            } else if final_pass || self.ring.len() >= c.start + span {
                self.candidates.swap_remove(i);
                self.examine(&c, on_detection);
            } else {
                i += 1;
            }
        }
    }

    /// Demodulate and decode one candidate, combining with earlier ones if needed.
    fn examine(&mut self, hit: &SyncHit, on_detection: &mut impl FnMut(&Detection)) {
        let mut first = Estimate {
            base: hit.start,
            offset: hit.start_frac,
            freq_hz: hit.freq_hz,
            phase: 0.0,
            amplitude: 0.0,
            noise: 0.0,
            variant: 0,
        };
        self.demod.refine_timing(&self.ring, &self.keys, &mut first);
        let mut looked_like_signal = false;
        let mut best: Option<Estimate> = None;
        self.short_a.iter_mut().for_each(|v| *v = 0.0);
        self.long_a.iter_mut().for_each(|v| *v = 0.0);
        for class in [FrameClass::Long, FrameClass::Short] {
            // The variant whose pilots add most coherent energy is the
            // burst's (counter mod 4).
            self.demod.known(&self.ring, &first, class, &mut self.known);
            let mut est = first;
            let mut best_energy = f32::NEG_INFINITY;
            for variant in 0..VARIANTS {
                let mut trial = Estimate { variant, ..first };
                let (energy, _) = self
                    .demod
                    .fit(&self.known, &self.keys, class, &mut trial, 1.25);
                if energy > best_energy {
                    best_energy = energy;
                    est = trial;
                }
            }
            // Again under the offset found, then amplitude and noise.
            self.demod.known(&self.ring, &est, class, &mut self.known);
            let (_, nu) = self
                .demod
                .fit(&self.known, &self.keys, class, &mut est, 0.25);
            self.demod
                .measure(&self.known, &self.keys, class, nu, &mut est);
            #[cfg(feature = "trace")]
            std::eprintln!(
                "candidate {hit:?} {class:?} -> {est:?} snr {}",
                est.symbol_snr()
            );
            if !(est.symbol_snr() >= QUALITY_GATE && est.amplitude > 0.0) {
                continue;
            }
            looked_like_signal = true;
            if best.is_none_or(|b| est.symbol_snr() > b.symbol_snr()) {
                best = Some(est);
            }
            let n = class.data_symbols();
            self.soft_bits(&est, n);
            let n_a = class.a_coded();
            let a = match class {
                FrameClass::Short => &mut self.short_a[..],
                FrameClass::Long => &mut self.long_a[..],
            };
            for (i, v) in a.iter_mut().enumerate().take(n_a) {
                *v = self.soft[B_CODED + interleaved_position(i, n_a)];
            }
            self.scratch[..n_a].copy_from_slice(&a[..n_a]);
            if let Some((id, mac, corrected)) = self.decode_a(class, n_a) {
                let (counter, corrected_b) = self.decode_b(&mac, est.variant);
                let r = self.reception(&est);
                let det = Detection {
                    id,
                    counter,
                    start_sample: r.start_sample,
                    snr_db: r.snr_db,
                    corrected_bits: corrected + corrected_b,
                    bursts_combined: 1,
                    clock_ppm: r.clock_ppm,
                };
                self.history.clear();
                self.emit(det, on_detection);
                return;
            }
        }
        if !looked_like_signal {
            return;
        }
        self.stats.demodulated += 1;
        if !self.config.soft_combining {
            return;
        }
        let est = best.unwrap_or(first);
        let own = self.reception(&est);
        if self.history.len() > 0 {
            for which in [Selection::All, Selection::Newest] {
                if which == Selection::Newest && self.history.len() == 1 {
                    break;
                }
                for class in [FrameClass::Long, FrameClass::Short] {
                    if let Some(det) = self.try_combined(class, which, &est, own) {
                        self.stats.combined += 1;
                        self.history.clear();
                        self.emit(det, on_detection);
                        return;
                    }
                }
            }
        }
        self.history.push(&self.short_a, &self.long_a, own);
    }

    /// Add stored bursts to this one's block A and decode. The report names
    /// the newest burst that agrees with the decoded code word, so a noise
    /// candidate that happened to trigger the attempt never gives its time.
    fn try_combined(
        &mut self,
        class: FrameClass,
        which: Selection,
        est: &Estimate,
        own: Reception,
    ) -> Option<Detection> {
        let n_a = class.a_coded();
        let own_llr = match class {
            FrameClass::Short => &self.short_a[..],
            FrameClass::Long => &self.long_a[..n_a],
        };
        self.scratch[..n_a].copy_from_slice(own_llr);
        let added = self
            .history
            .add_into(class, which, &mut self.scratch[..n_a]);
        let (id, mac, corrected) = self.decode_a(class, n_a)?;
        let info = &self.a_bytes[..class.a_bytes()];
        let own_llr = match class {
            FrameClass::Short => &self.short_a[..],
            FrameClass::Long => &self.long_a[..n_a],
        };
        let own_real = agreement(own_llr, info) >= REAL_BURST_AGREEMENT;
        let mut newest = own_real.then_some(own);
        let mut bursts = own_real as u8;
        for age in 0..added {
            let (agree, reception) = self.history.agreement(age, class, info);
            if agree >= REAL_BURST_AGREEMENT {
                bursts += 1;
                newest = newest.or(Some(reception));
            }
        }
        let reception = newest?;
        // The counter comes from this burst's own block B, if it holds.
        let counter = if own_real {
            self.decode_b_for(est, &mac).0
        } else {
            None
        };
        Some(Detection {
            id,
            counter,
            start_sample: reception.start_sample,
            snr_db: reception.snr_db,
            corrected_bits: corrected,
            bursts_combined: bursts,
            clock_ppm: reception.clock_ppm,
        })
    }

    /// Viterbi + MAC on `scratch[..n_a]`.
    fn decode_a(&mut self, class: FrameClass, n_a: usize) -> Option<(Id, [u8; 4], u16)> {
        let a_bytes = class.a_bytes();
        let decoded = self
            .viterbi
            .decode(&self.scratch[..n_a], &mut self.a_bytes[..a_bytes])?;
        self.stats.mac_checks += 1;
        let view = BlockA::new_unchecked(&self.a_bytes[..a_bytes]);
        let (id, mac) = open_a(&self.keys, &view).ok()?;
        Some((id, mac, decoded.corrected_bits))
    }

    /// LLRs of data symbols `0..n` into `soft`, descrambled with the burst's variant.
    fn soft_bits(&mut self, est: &Estimate, n: usize) {
        self.demod.soft_bits(&self.ring, est, &mut self.soft[..n]);
        for (j, v) in self.soft[..n].iter_mut().enumerate() {
            if self.keys.scramble_bit(est.variant, j) == 1 {
                *v = -*v;
            }
        }
    }

    /// Block B from `soft` for a verified MAC. The counter must also agree
    /// with the variant the pilots showed (counter mod 4).
    fn decode_b(&mut self, mac: &[u8; 4], variant: usize) -> (Option<u16>, u16) {
        let mut llr = [0.0f32; B_CODED];
        for (i, v) in llr.iter_mut().enumerate() {
            *v = self.soft[interleaved_position(i, B_CODED)];
        }
        let mut bytes = [0u8; B_BYTES];
        let Some(d) = self.viterbi.decode(&llr, &mut bytes) else {
            return (None, 0);
        };
        match open_b(&self.keys, mac, &BlockB::new_unchecked(&bytes[..])) {
            Ok(counter) if counter as usize % VARIANTS == variant => {
                (Some(counter), d.corrected_bits)
            }
            _ => (None, 0),
        }
    }

    /// Block B of the current burst after a combined decode.
    fn decode_b_for(&mut self, est: &Estimate, mac: &[u8; 4]) -> (Option<u16>, u16) {
        self.soft_bits(est, B_CODED);
        self.decode_b(mac, est.variant)
    }

    fn reception(&self, est: &Estimate) -> Reception {
        // Whole baseband samples in integers: f32 would lose samples after hours.
        let d = self.phy.decimation as u64;
        let fraction = libm::roundf(est.offset * d as f32 + self.front.centre_offset()) as i64;
        let start = (self.origin + est.base * d).saturating_add_signed(fraction);
        let es_n0 = est.symbol_snr() / 2.0;
        let band_snr = es_n0 * self.phy.symbol_rate as f32 / self.phy.band.width_hz() as f32;
        Reception {
            start_sample: start,
            snr_db: power_to_db(band_snr),
            clock_ppm: est.freq_hz / self.phy.carrier_hz as f32 * 1e6,
        }
    }

    fn emit(&mut self, det: Detection, on_detection: &mut impl FnMut(&Detection)) {
        let tolerance = self.phy.sample_rate as u64 / 100;
        if let Some((id, at)) = self.last {
            if id == det.id && at.abs_diff(det.start_sample) < tolerance {
                return;
            }
        }
        self.last = Some((det.id, det.start_sample));
        self.stats.detections += 1;
        on_detection(&det);
    }
}
