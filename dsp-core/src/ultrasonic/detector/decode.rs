//! The decode path: one candidate burst from timing to an authenticated
//! event. Estimate timing, pilot variant, carrier and noise (`demod`), turn
//! the data symbols into LLRs, Viterbi-decode block A and check its MAC, then
//! block B (the counter). A candidate that looked like signal but failed is
//! kept for soft combining (`combine`) and retried with later ones.

use crate::fec::interleaved_position;
use crate::frame::{open_a, open_b_bound, BlockA, BlockB, B_BYTES};
use crate::key::VARIANTS;
use crate::layout::{FrameClass, B_CODED};
use crate::math::power_to_db;

use super::combine::{agreement, Reception, Selection};
use super::demod::Estimate;
use super::preamble::SyncHit;
use super::Detector;
use crate::config::Id;
use crate::event::{Collision, Detection, Event, Transplant};

/// Pilot quality gate on A²/σ² per symbol. Noise and sidelobe candidates
/// reach ~0.25 after the timing and frequency search; a burst at −12 dB in-band
/// SNR gives ~0.4.
const QUALITY_GATE: f32 = 0.3;
/// A burst counts as part of a combined decode if its LLRs agree with the
/// decoded code word this well (noise: 0 ± 0.06; a burst at −12 dB: ~0.5).
const REAL_BURST_AGREEMENT: f32 = 0.25;
/// Pilot A²/σ² from which a burst that fails to authenticate is called
/// unreadable rather than weak (9 dB). A single copy decodes from ~0.4;
/// damaged ones that fail (noise, rooms, a cut inside the burst) measured
/// 0.3–3.8, clean ones 15–20; two copies averaged or spliced 16–25.
const UNREADABLE_GATE: f32 = 8.0;
/// Unreadable bursts further apart than this (stream seconds) start a new
/// run; a run is reported from its second burst on.
const COLLISION_GAP_S: u64 = 60;

impl Detector {
    /// Demodulate and decode one candidate, combining with earlier ones if needed.
    pub(super) fn examine(&mut self, hit: &SyncHit, on_event: &mut impl FnMut(&Event)) {
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
        let mut best: Option<(Estimate, FrameClass)> = None;
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
            if best.is_none_or(|(b, _)| est.symbol_snr() > b.symbol_snr()) {
                best = Some((est, class));
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
                let (block_b, corrected_b) = self.decode_b(&mac, est.variant);
                let r = self.reception(&est);
                let det = Detection {
                    profile: self.config.profiles.ultrasonic().unwrap_or_default(),
                    id,
                    counter: block_b.map(|b| b.0),
                    start_sample: r.start_sample,
                    snr_db: r.snr_db,
                    corrected_bits: corrected + corrected_b,
                    bursts_combined: 1,
                    clock_ppm: r.clock_ppm,
                };
                self.history.clear();
                self.emit(det, block_b.map(|b| b.1), on_event);
                return;
            }
        }
        if !looked_like_signal {
            return;
        }
        self.stats.demodulated += 1;
        let (est, class) = best.unwrap_or((first, FrameClass::Long));
        let own = self.reception(&est);
        if self.config.soft_combining {
            if self.history.len() > 0 {
                for which in [Selection::All, Selection::Newest] {
                    if which == Selection::Newest && self.history.len() == 1 {
                        break;
                    }
                    for class in [FrameClass::Long, FrameClass::Short] {
                        if let Some((det, fingerprint)) = self.try_combined(class, which, &est, own)
                        {
                            self.stats.combined += 1;
                            self.history.clear();
                            self.emit(det, fingerprint, on_event);
                            return;
                        }
                    }
                }
            }
            self.history.push(&self.short_a, &self.long_a, own);
        }
        if est.symbol_snr() >= UNREADABLE_GATE {
            self.unreadable(&est, class, own.start_sample, on_event);
        }
    }

    /// A burst whose pilots are strong but whose data did not authenticate:
    /// extend or start the run, and report it from its second burst on.
    fn unreadable(
        &mut self,
        est: &Estimate,
        class: FrameClass,
        start: u64,
        on_event: &mut impl FnMut(&Event),
    ) {
        self.stats.unreadable += 1;
        let rate = self.phy.sample_rate as u64;
        let end = start + self.phy.burst_ms(class) as u64 * rate / 1000;
        let pilot_snr_db = power_to_db(est.symbol_snr());
        let gap = COLLISION_GAP_S * rate;
        let run = match self.collision {
            Some(c) if start >= c.start_sample && start.saturating_sub(c.end_sample) <= gap => {
                Collision {
                    end_sample: end.max(c.end_sample),
                    marks: c.marks.saturating_add(1),
                    pilot_snr_db,
                    ..c
                }
            }
            _ => Collision {
                profile: self.config.profiles.ultrasonic().unwrap_or_default(),
                start_sample: start,
                end_sample: end,
                marks: 1,
                pilot_snr_db,
            },
        };
        self.collision = Some(run);
        if run.marks >= 2 {
            on_event(&Event::Collision(run));
        }
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
    ) -> Option<(Detection, Option<u8>)> {
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
        let block_b = if own_real {
            self.decode_b_for(est, &mac).0
        } else {
            None
        };
        let det = Detection {
            profile: self.config.profiles.ultrasonic().unwrap_or_default(),
            id,
            counter: block_b.map(|b| b.0),
            start_sample: reception.start_sample,
            snr_db: reception.snr_db,
            corrected_bits: corrected,
            bursts_combined: bursts,
            clock_ppm: reception.clock_ppm,
        };
        Some((det, block_b.map(|b| b.1)))
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

    /// Block B from `soft` for a verified MAC: counter and programme
    /// fingerprint. The counter must also agree with the variant the pilots
    /// showed (counter mod 4).
    fn decode_b(&mut self, mac: &[u8; 4], variant: usize) -> (Option<(u16, u8)>, u16) {
        let mut llr = [0.0f32; B_CODED];
        for (i, v) in llr.iter_mut().enumerate() {
            *v = self.soft[interleaved_position(i, B_CODED)];
        }
        let mut bytes = [0u8; B_BYTES];
        let Some(d) = self.viterbi.decode(&llr, &mut bytes) else {
            return (None, 0);
        };
        match open_b_bound(&self.keys, mac, &BlockB::new_unchecked(&bytes[..])) {
            Ok((counter, fingerprint)) if counter as usize % VARIANTS == variant => {
                (Some((counter, fingerprint)), d.corrected_bits)
            }
            _ => (None, 0),
        }
    }

    /// Block B of the current burst after a combined decode.
    fn decode_b_for(&mut self, est: &Estimate, mac: &[u8; 4]) -> (Option<(u16, u8)>, u16) {
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

    /// Report `det`, checked against the programme before it when its block
    /// B gave the burst's `fingerprint` and the configuration asks: a burst
    /// whose fingerprint is not the programme's is a [`Transplant`], never a
    /// detection.
    fn emit(&mut self, det: Detection, fingerprint: Option<u8>, on_event: &mut impl FnMut(&Event)) {
        let tolerance = self.phy.sample_rate as u64 / 100;
        if let Some((id, at)) = self.last {
            if id == det.id && at.abs_diff(det.start_sample) < tolerance {
                return;
            }
        }
        self.last = Some((det.id, det.start_sample));
        // A burst read ends any run of unreadable ones.
        self.collision = None;
        let check = fingerprint
            .filter(|_| self.config.check_binding)
            .and_then(|f| {
                self.listener
                    .check(f, det.start_sample.checked_sub(self.origin)?)
            });
        match check {
            Some(check) if check.transplanted() => {
                self.stats.transplants += 1;
                on_event(&Event::Transplant(Transplant {
                    detection: det,
                    check,
                }));
            }
            _ => {
                self.stats.detections += 1;
                on_event(&Event::Detection(det));
            }
        }
    }
}
