//! Soft combining. Block A is identical in every burst of one ID and key, so
//! the LLRs of bursts that failed alone can be added (maximum-ratio combining:
//! each LLR is already weighted by its burst's A/σ²). Four bursts give 6 dB.
//!
//! The history keeps the last `HISTORY` failed candidates that looked like
//! signal (passed the pilot quality gate), as 8-bit LLRs with a scale. A new
//! failure is tried with all of them and with the newest alone, for each
//! frame class; any decode still has to pass the 32-bit MAC. Any success
//! clears the history.

use crate::fec::encode;
use crate::layout::FrameClass;

pub(crate) const HISTORY: usize = 8;
const SHORT: usize = FrameClass::Short.a_coded();
const LONG: usize = FrameClass::Long.a_coded();

/// Where and how a stored burst was received, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Reception {
    pub start_sample: u64,
    pub snr_db: f32,
    pub clock_ppm: f32,
}

#[derive(Clone, Copy)]
struct Entry {
    short: [i8; SHORT],
    long: [i8; LONG],
    short_scale: f32,
    long_scale: f32,
    reception: Reception,
}

impl Entry {
    const EMPTY: Entry = Entry {
        short: [0; SHORT],
        long: [0; LONG],
        short_scale: 0.0,
        long_scale: 0.0,
        reception: Reception {
            start_sample: 0,
            snr_db: 0.0,
            clock_ppm: 0.0,
        },
    };

    fn llr(&self, class: FrameClass) -> (&[i8], f32) {
        match class {
            FrameClass::Short => (&self.short, self.short_scale),
            FrameClass::Long => (&self.long, self.long_scale),
        }
    }
}

/// Which stored bursts to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    All,
    Newest,
}

#[derive(Clone)]
pub(crate) struct History {
    entries: [Entry; HISTORY],
    len: usize,
    /// Slot the next entry goes to.
    next: usize,
}

impl History {
    pub const fn new() -> History {
        History {
            entries: [Entry::EMPTY; HISTORY],
            len: 0,
            next: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn clear(&mut self) {
        self.len = 0;
        self.next = 0;
    }

    /// Remember a failed burst's block-A LLRs (coded order) for both classes.
    pub fn push(&mut self, short: &[f32], long: &[f32], reception: Reception) {
        let e = &mut self.entries[self.next];
        e.short_scale = quantize(short, &mut e.short);
        e.long_scale = quantize(long, &mut e.long);
        e.reception = reception;
        self.next = (self.next + 1) % HISTORY;
        self.len = (self.len + 1).min(HISTORY);
    }

    /// Add the selected entries' LLRs for `class` into `acc`; returns how many.
    pub fn add_into(&self, class: FrameClass, which: Selection, acc: &mut [f32]) -> usize {
        let count = match which {
            Selection::All => self.len,
            Selection::Newest => self.len.min(1),
        };
        for age in 0..count {
            let (q, scale) = self.entry(age).llr(class);
            for (a, &v) in acc.iter_mut().zip(q) {
                *a += v as f32 * scale;
            }
        }
        count
    }

    fn entry(&self, age: usize) -> &Entry {
        &self.entries[(self.next + HISTORY - 1 - age) % HISTORY]
    }

    /// How well stored entry `age` (0 = newest) agrees with the code word of
    /// `info`, and where it was received. Noise candidates that slipped into
    /// a combination agree near 0; real bursts well above.
    pub fn agreement(&self, age: usize, class: FrameClass, info: &[u8]) -> (f32, Reception) {
        let e = self.entry(age);
        let (q, _) = e.llr(class);
        let mut buf = [0.0f32; LONG];
        for (b, &v) in buf.iter_mut().zip(q) {
            *b = v as f32;
        }
        (agreement(&buf[..class.a_coded()], info), e.reception)
    }
}

/// Normalised correlation of LLRs with the code word of `info`: Σ llr·s / Σ|llr|.
pub(crate) fn agreement(llr: &[f32], info: &[u8]) -> f32 {
    let (mut dot, mut total) = (0.0f32, 0.0f32);
    encode(info, |i, bit| {
        if let Some(&l) = llr.get(i) {
            dot += if bit == 0 { l } else { -l };
            total += l.abs();
        }
    });
    if total > 0.0 {
        dot / total
    } else {
        0.0
    }
}

/// 8-bit LLRs with one scale; returns the scale.
fn quantize(llr: &[f32], out: &mut [i8]) -> f32 {
    let peak = llr.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak.is_nan() || peak <= 0.0 {
        out.iter_mut().for_each(|q| *q = 0);
        return 0.0;
    }
    let scale = peak / 127.0;
    for (q, v) in out.iter_mut().zip(llr) {
        *q = libm::roundf(v / scale) as i8;
    }
    scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_entries_and_sums_them() {
        let mut h = History::new();
        for i in 0..HISTORY + 3 {
            let v = [i as f32; LONG];
            h.push(&v[..SHORT], &v, Reception::default());
        }
        assert_eq!(h.len(), HISTORY);
        let mut acc = [0.0f32; LONG];
        assert_eq!(h.add_into(FrameClass::Long, Selection::Newest, &mut acc), 1);
        assert!((acc[0] - (HISTORY + 2) as f32).abs() < 0.1);
        let mut acc = [0.0f32; SHORT];
        assert_eq!(
            h.add_into(FrameClass::Short, Selection::All, &mut acc),
            HISTORY
        );
        let expected: f32 = (3..HISTORY + 3).map(|i| i as f32).sum();
        assert!((acc[5] - expected).abs() < 0.5, "{} vs {expected}", acc[5]);
        h.clear();
        assert_eq!(h.add_into(FrameClass::Short, Selection::All, &mut acc), 0);
    }
}
