//! Baseband history: the last `BB_CAPACITY` complex samples, indexed by their
//! absolute baseband index so candidates can refer to them until decoded.

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
}

impl Ring {
    pub const fn new() -> Ring {
        Ring {
            buf: [Complex::ZERO; BB_CAPACITY],
            len: 0,
        }
    }

    pub fn reset(&mut self) {
        self.len = 0;
    }

    #[inline]
    pub fn push(&mut self, y: Complex) {
        self.buf[(self.len % BB_CAPACITY as u64) as usize] = y;
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

    /// Samples from `m` on, in order; zero where not (or no longer) held.
    pub fn iter_from(&self, m: i64) -> impl Iterator<Item = Complex> + '_ {
        let (oldest, len) = (self.oldest() as i64, self.len as i64);
        // One modulo here, then a wrapping index: u64 division is a library
        // call on Cortex-M.
        let mut slot = m.rem_euclid(BB_CAPACITY as i64) as usize;
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
    pub fn slices(&self, start: u64, n: usize) -> (&[Complex], &[Complex]) {
        let s = (start % BB_CAPACITY as u64) as usize;
        if s + n <= BB_CAPACITY {
            (&self.buf[s..s + n], &[])
        } else {
            (&self.buf[s..], &self.buf[..s + n - BB_CAPACITY])
        }
    }
}
