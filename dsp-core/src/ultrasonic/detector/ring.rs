//! Baseband history: the last `BB_CAPACITY` complex samples, indexed by their
//! absolute baseband index so candidates can refer to them until decoded.
//!
//! The slot of the newest sample is kept as `head`, so the per-sample paths
//! (push, the preamble search's reads) find slots by small `usize`
//! arithmetic: a `u64` division is a library call on Cortex-M.

use crate::layout::MAX_BURST_SYMBOLS;
use crate::math::Complex;

/// Room for the longest burst at the highest baseband oversampling (4.09)
/// plus the sync decision delay and timing/drift margins.
pub(crate) const BB_CAPACITY: usize = 2560;
const _: () = assert!(BB_CAPACITY as f32 > MAX_BURST_SYMBOLS as f32 * 4.09 + 64.0);

#[derive(Clone)]
pub(crate) struct Ring {
    buf: [Complex; BB_CAPACITY],
    /// Samples pushed since reset; the newest has index `len - 1`.
    len: u64,
    /// Slot the next sample goes to (`len mod BB_CAPACITY`).
    head: usize,
}

impl Ring {
    pub const fn new() -> Ring {
        Ring {
            buf: [Complex::ZERO; BB_CAPACITY],
            len: 0,
            head: 0,
        }
    }

    pub fn reset(&mut self) {
        self.len = 0;
        self.head = 0;
    }

    #[inline]
    pub fn push(&mut self, y: Complex) {
        self.buf[self.head] = y;
        self.head += 1;
        if self.head == BB_CAPACITY {
            self.head = 0;
        }
        self.len += 1;
    }

    /// Number of samples pushed so far (index of the next one).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Oldest index still held.
    pub fn oldest(&self) -> u64 {
        self.len.saturating_sub(BB_CAPACITY as u64)
    }

    /// Slot of index `m`, which must lie in `oldest()..=len()` (the distance
    /// back from the head is then at most `BB_CAPACITY`).
    #[inline]
    fn slot(&self, m: u64) -> usize {
        let back = (self.len - m) as usize;
        if back <= self.head {
            self.head - back
        } else {
            self.head + BB_CAPACITY - back
        }
    }

    /// The sample at index `m`; zero where not (or no longer) held.
    #[inline]
    pub fn get(&self, m: u64) -> Complex {
        if m >= self.oldest() && m < self.len {
            self.buf[self.slot(m)]
        } else {
            Complex::ZERO
        }
    }

    /// Samples from `m` on, in order; zero where not (or no longer) held.
    pub fn iter_from(&self, m: i64) -> impl Iterator<Item = Complex> + '_ {
        let (oldest, len) = (self.oldest() as i64, self.len as i64);
        // The slot of `m`, then stepped along with `i`; only a start outside
        // the held range (rare) needs a division.
        let anchor = m.clamp(oldest, len);
        let mut slot = self.slot(anchor as u64);
        if m != anchor {
            let offset = (m - anchor).rem_euclid(BB_CAPACITY as i64) as usize;
            slot = (slot + offset) % BB_CAPACITY;
        }
        (m..).map(move |i| {
            let v = if i >= oldest && i < len {
                self.buf[slot]
            } else {
                Complex::ZERO
            };
            slot += 1;
            if slot == BB_CAPACITY {
                slot = 0;
            }
            v
        })
    }

    /// `n` samples from `start` as up to two slices; the caller makes sure
    /// they are held (`oldest() <= start`, `start + n <= len()`).
    #[inline]
    pub fn slices(&self, start: u64, n: usize) -> (&[Complex], &[Complex]) {
        let s = self.slot(start);
        if s + n <= BB_CAPACITY {
            (&self.buf[s..s + n], &[])
        } else {
            (&self.buf[s..], &self.buf[..s + n - BB_CAPACITY])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(i: u64) -> Complex {
        Complex::new(i as f32, -(i as f32))
    }

    fn filled(n: u64) -> Ring {
        let mut r = Ring::new();
        for i in 0..n {
            r.push(value(i));
        }
        r
    }

    #[test]
    fn holds_the_newest_capacity_samples() {
        for n in [
            0,
            1,
            7,
            BB_CAPACITY as u64,
            BB_CAPACITY as u64 + 1,
            3 * BB_CAPACITY as u64 + 17,
        ] {
            let r = filled(n);
            assert_eq!(r.len(), n);
            assert_eq!(r.oldest(), n.saturating_sub(BB_CAPACITY as u64));
            for m in r.oldest()..n {
                assert_eq!(r.get(m), value(m), "n {n} m {m}");
            }
            assert_eq!(r.get(n), Complex::ZERO);
            if r.oldest() > 0 {
                assert_eq!(r.get(r.oldest() - 1), Complex::ZERO);
            }
        }
    }

    #[test]
    fn iterates_across_the_wrap_with_zeros_outside() {
        let n = 2 * BB_CAPACITY as u64 + 100;
        let r = filled(n);
        let oldest = r.oldest() as i64;
        for start in [oldest - 5, oldest, oldest + 1, n as i64 - 3, -4] {
            for (i, v) in r.iter_from(start).take(12).enumerate() {
                let m = start + i as i64;
                let want = if m >= oldest && m < n as i64 {
                    value(m as u64)
                } else {
                    Complex::ZERO
                };
                assert_eq!(v, want, "start {start} m {m}");
            }
        }
    }

    #[test]
    fn slices_split_at_the_wrap() {
        let r = filled(BB_CAPACITY as u64 + 10);
        // Index CAP is in slot 0: a run from CAP - 3 splits 3 + 5.
        let start = BB_CAPACITY as u64 - 3;
        let (a, b) = r.slices(start, 8);
        assert_eq!((a.len(), b.len()), (3, 5));
        for (i, v) in a.iter().chain(b).enumerate() {
            assert_eq!(*v, value(start + i as u64));
        }
        let (a, b) = r.slices(r.oldest(), 4);
        assert_eq!((a.len(), b.len()), (4, 0));
        assert_eq!(a[0], value(r.oldest()));
    }
}
