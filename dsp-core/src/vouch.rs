//! # The robust layer vouches for an ultrasonic burst's programme
//!
//! A burst whose programme fingerprint ([`binding`](crate::binding))
//! disagrees is either lifted from another programme (a transplant) or a
//! genuine burst whose programme something louder covered: a voice-over
//! 10 dB over the programme changes the band energies just as a transplant
//! does. Where both layers are sent, the robust layer tells them apart: a
//! lifted ultrasonic band carries no robust mark (the robust mark sits
//! under the programme and cannot be lifted without the unmarked original),
//! while a ducked programme under a voice still carries its own.
//!
//! So with both layers searched and bindings checked, a disagreeing burst is
//! *held*, not reported, and the robust detector is told to confirm its ID
//! each second. If the robust layer reports the same ID present (a decoded
//! period or a confirmed second) within [`VOUCH_S`] of the burst, the burst
//! is reported as the detection it is; if the hold ends first it is reported
//! as transplanted. Held bursts add [`Vouching::hold_samples`] to the
//! detector's latency. Bursts whose fingerprint agrees are never held.
//!
//! Measured (`cargo xtask programme`, 10 recorded clips, both layers):
//! genuine bursts under a voice-over, 0 of 150 flagged (66 % with the
//! ultrasonic layer alone); lifted bands, 53 % flagged, as without the
//! robust layer (a lifted band on unmarked programme finds no robust mark).
//!
//! What it cannot tell: a *difference* attack, the marked copy minus the
//! unmarked original (which the attacker must have), lifts both marks, and
//! then the robust mark vouches for the burst it travels with. The robust
//! layer's own binding slots are still sent as 0.
//!
//! The times are stream samples of one clock at the rate given to
//! [`Vouching::configure`]: the engine's own, or the host's common clock
//! when the layers run at different rates.

use crate::config::{Id, Layer};
use crate::event::Event;
use crate::robust;

/// How close to a burst, seconds, the robust layer's report of the same ID
/// must fall to vouch for the burst's programme. Once locked the robust
/// detector confirms an ID each second; on quiet programme under a
/// voice-over it takes up to 10 s to lock (it combines periods), and a
/// burst that early must wait for it. An airing's two layers go together,
/// so a report that near is of the same programme.
pub const VOUCH_S: u32 = 10;
/// Bursts held at once: the default schedule (a burst every 2 s) holds 6;
/// the shortest bursts back to back (490 ms at 48 kHz) would hold 24. If
/// more come, the oldest is reported as transplanted.
pub const HELD: usize = 24;
/// Robust reports of an ID's presence remembered for bursts decoded later.
const VOUCHES: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Held<T> {
    burst: T,
    id: Id,
    start: u64,
    end: u64,
    until: u64,
    vouched: bool,
}

/// Where the robust layer reported an ID present.
#[derive(Debug, Clone, Copy)]
struct Vouch {
    id: Id,
    start: u64,
    end: u64,
}

/// Disagreeing bursts (`T`: however the caller carries one) waiting for the
/// robust layer's word. Fixed capacity; `const`-constructible.
#[derive(Debug, Clone)]
pub struct Vouching<T> {
    held: heapless::Vec<Held<T>, HELD>,
    vouches: heapless::Deque<Vouch, VOUCHES>,
    margin: u64,
    hold: u64,
}

impl<T: Copy> Vouching<T> {
    /// Holds nothing and waits for nothing until configured.
    pub const fn new() -> Vouching<T> {
        Vouching {
            held: heapless::Vec::new(),
            vouches: heapless::Deque::new(),
            margin: 0,
            hold: 0,
        }
    }

    /// Times in samples at `rate` Hz; `robust_latency`: the robust
    /// detector's worst-case report delay, in the same samples. Forgets
    /// everything held.
    pub fn configure(&mut self, rate: u32, robust_latency: u64) {
        self.held.clear();
        self.vouches.clear();
        self.margin = u64::from(VOUCH_S) * u64::from(rate);
        // The margin, one confirmation window (1 s) and the robust latency.
        self.hold = self.margin + u64::from(rate) + robust_latency;
    }

    /// How long after its end a burst can be held.
    pub fn hold_samples(&self) -> u64 {
        self.hold
    }

    /// The IDs held bursts carry (for the robust detector to confirm).
    fn held_ids(&self) -> impl Iterator<Item = &Id> {
        self.held.iter().map(|h| &h.id)
    }

    /// Hold a disagreeing burst of `id` over `start..end`. Returns the
    /// oldest held burst if the hold was full (never vouched for: report it
    /// as transplanted).
    pub fn hold(&mut self, burst: T, id: Id, start: u64, end: u64) -> Option<T> {
        let mut h = Held {
            burst,
            id,
            start,
            end,
            until: end.saturating_add(self.hold),
            vouched: false,
        };
        h.vouched = self.vouches.iter().any(|v| self.near(v, &h));
        let evicted = self.held.is_full().then(|| self.held.remove(0).burst);
        let _ = self.held.push(h);
        evicted
    }

    /// The robust layer reported `id` present over `start..end`.
    pub fn vouch(&mut self, id: Id, start: u64, end: u64) {
        let v = Vouch { id, start, end };
        for i in 0..self.held.len() {
            let near = self.near(&v, &self.held[i]);
            self.held[i].vouched |= near;
        }
        if self.vouches.is_full() {
            self.vouches.pop_front();
        }
        let _ = self.vouches.push_back(v);
    }

    /// The robust layer's event `e` vouches for its ID: a decode over its
    /// period, a confirmed second over its window. Nothing else vouches.
    pub fn vouch_for(&mut self, e: &Event) {
        match *e {
            Event::Detection(d) if d.profile.layer() == Layer::Robust => {
                let end = d.start_sample + robust::period_samples(d.id.class());
                self.vouch(d.id, d.start_sample, end);
            }
            Event::Presence(p) if p.present => self.vouch(p.id, p.start_sample, p.end_sample),
            _ => {}
        }
    }

    /// Have the robust detector confirm each second the IDs held bursts
    /// carry (a full list of known IDs leaves its own decodes to vouch).
    pub fn expect_held(&self, robust: &mut robust::Detector) {
        for id in self.held_ids() {
            let _ = robust.expect(id);
        }
    }

    /// Give each held burst whose wait is over at stream sample `now` (all
    /// of them at the end of the stream, `None`) its verdict: `f(burst,
    /// vouched)`. A vouched burst goes at once.
    pub fn release(&mut self, now: Option<u64>, mut f: impl FnMut(T, bool)) {
        let mut i = 0;
        while i < self.held.len() {
            let h = self.held[i];
            if h.vouched || now.is_none_or(|n| n >= h.until) {
                self.held.remove(i);
                f(h.burst, h.vouched);
            } else {
                i += 1;
            }
        }
    }

    fn near(&self, v: &Vouch, h: &Held<T>) -> bool {
        v.id == h.id
            && v.start <= h.end.saturating_add(self.margin)
            && v.end.saturating_add(self.margin) >= h.start
    }
}

impl<T: Copy> Default for Vouching<T> {
    fn default() -> Self {
        Vouching::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 1000;

    fn vouching() -> Vouching<u32> {
        let mut v = Vouching::new();
        v.configure(RATE, 500);
        v
    }

    fn verdicts(v: &mut Vouching<u32>, now: Option<u64>) -> std::vec::Vec<(u32, bool)> {
        let mut out = std::vec::Vec::new();
        v.release(now, |b, ok| out.push((b, ok)));
        out
    }

    #[test]
    fn a_burst_is_vouched_for_only_by_its_own_id_near_it() {
        let (a, b) = (Id::new(&[1]).unwrap(), Id::new(&[2]).unwrap());
        let mut v = vouching();
        let margin = u64::from(VOUCH_S * RATE);
        assert_eq!(v.hold(7, a, 20_000, 21_000), None);
        v.vouch(b, 20_000, 21_000);
        v.vouch(a, 21_000 + margin + 1, 23_000 + margin);
        assert_eq!(verdicts(&mut v, Some(21_000)), []);
        assert_eq!(v.held_ids().count(), 1);
        v.vouch(a, 21_000 + margin, 22_000 + margin);
        assert_eq!(verdicts(&mut v, Some(21_000)), [(7, true)]);
        assert_eq!(v.held_ids().count(), 0);
    }

    #[test]
    fn a_burst_nobody_vouches_for_is_a_transplant_when_its_hold_ends() {
        let a = Id::new(&[1]).unwrap();
        let mut v = vouching();
        v.hold(1, a, 0, 1000);
        let until = 1000 + v.hold_samples();
        assert_eq!(verdicts(&mut v, Some(until - 1)), []);
        assert_eq!(verdicts(&mut v, Some(until)), [(1, false)]);
        v.hold(2, a, 5000, 6000);
        assert_eq!(verdicts(&mut v, None), [(2, false)]);
    }

    #[test]
    fn an_earlier_report_vouches_for_a_burst_decoded_later() {
        let a = Id::new(&[1]).unwrap();
        let mut v = vouching();
        v.vouch(a, 10_000, 11_000);
        v.hold(3, a, 15_000, 16_000);
        assert_eq!(verdicts(&mut v, Some(16_000)), [(3, true)]);
    }

    #[test]
    fn a_full_hold_gives_up_its_oldest_unvouched() {
        let a = Id::new(&[1]).unwrap();
        let mut v = vouching();
        for k in 0..HELD as u32 {
            assert_eq!(
                v.hold(k, a, u64::from(k) * 100, u64::from(k) * 100 + 50),
                None
            );
        }
        assert_eq!(v.hold(99, a, 90_000, 90_050), Some(0));
        assert_eq!(v.held_ids().count(), HELD);
    }
}
