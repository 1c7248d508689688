//! The mark's look-ahead gain: as large as full scale allows, and smooth.
//!
//! Where the programme nears full scale the mark must be lowered, and how it
//! is lowered matters: any change of the mark's gain multiplies the mark by
//! that change, so a gain that switches from sample to sample (cutting each
//! sample's mark to the room left) spreads the mark into the audible band.
//! Here the gain is computed from the programme up to [`lookahead`] samples
//! ahead (2 ms; the embedder delays its output by as much), in exact integer
//! arithmetic so every target gets the same bits:
//!
//! 1. `allowed(t)`: the largest gain that keeps sample t within full scale on
//!    every marked channel, `(1 − max |x|) / A`, in steps of 1/4096 rounded
//!    down, at most 1.
//! 2. `m(t)`: the minimum of `allowed` over `t ..= t + L`.
//! 3. `g(t)`: `m` smoothed by three cascaded moving sums of length `b`
//!    (a quadratic B-spline, `3b − 2 ≤ L + 1` samples long), normalised.
//!
//! Every `m(t − j)` that `g(t)` averages covers sample t itself, so
//! `g(t) ≤ allowed(t)`: the mark never pushes a sample past full scale. The
//! gain has a continuous slope and falls or recovers over L samples, so
//! what it adds to the mark's spectrum decays as 1/f³ from the carrier.
//! While the programme leaves room everywhere in the window, the gain is
//! exactly 1 and nothing is computed.
//!
//! [`lookahead`]: Limiter::lookahead

use crate::math::max_f32;

/// Look-ahead in samples at the highest rate (2 ms at 96 kHz).
pub(crate) const MAX_LOOKAHEAD: usize = 192;
/// Gain steps in one (Q12).
const FULL: u32 = Limiter::FULL;
/// Longest moving sum (`(MAX_LOOKAHEAD + 3) / 3`).
const MAX_BOX: usize = (MAX_LOOKAHEAD + 3) / 3;
const _: () = assert!((MAX_BOX as u64).pow(3) * FULL as u64 <= u32::MAX as u64);

/// One moving sum of `len` inputs over a ring.
#[derive(Debug, Clone, Copy, PartialEq)]
struct MovingSum {
    ring: [u32; MAX_BOX],
    pos: u16,
    sum: u32,
}

impl MovingSum {
    /// Steady with every input `v`.
    fn steady(len: usize, v: u32) -> MovingSum {
        let mut ring = [0; MAX_BOX];
        ring[..len].iter_mut().for_each(|r| *r = v);
        MovingSum {
            ring,
            pos: 0,
            sum: v * len as u32,
        }
    }

    #[inline(always)]
    fn push(&mut self, len: usize, v: u32) -> u32 {
        let p = self.pos as usize;
        self.sum = self.sum - self.ring[p] + v;
        self.ring[p] = v;
        self.pos = if p + 1 == len { 0 } else { p as u16 + 1 };
        self.sum
    }
}

/// The look-ahead gain of one stream (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Limiter {
    lookahead: u16,
    box_len: u16,
    inv_amplitude: f32,
    inv_norm: f32,
    /// Sliding minimum: a monotonic queue of (time, allowed), oldest first,
    /// in a ring of `lookahead + 1`.
    queue_t: [u32; MAX_LOOKAHEAD + 1],
    queue_v: [u16; MAX_LOOKAHEAD + 1],
    head: u16,
    len: u16,
    t: u32,
    sums: [MovingSum; 3],
    /// Inputs of full room in a row; past `steady_after`, the state is that
    /// of an endless run of them and the gain is 1.
    quiet: u32,
    steady_after: u32,
}

impl Limiter {
    /// Full room: [`allowed`](Limiter::allowed) when the mark fits whole.
    pub(crate) const FULL: u32 = 4096;

    /// Whether the window holds only full room: the gain is 1 and pushing
    /// full room changes nothing.
    #[inline(always)]
    pub(crate) fn at_rest(&self) -> bool {
        self.quiet >= self.steady_after
    }

    /// No stream yet: all zero, `const` (see [`configure`](Limiter::configure)).
    pub(crate) const fn unconfigured() -> Limiter {
        const IDLE: MovingSum = MovingSum {
            ring: [0; MAX_BOX],
            pos: 0,
            sum: 0,
        };
        Limiter {
            lookahead: 0,
            box_len: 0,
            inv_amplitude: 0.0,
            inv_norm: 0.0,
            queue_t: [0; MAX_LOOKAHEAD + 1],
            queue_v: [0; MAX_LOOKAHEAD + 1],
            head: 0,
            len: 0,
            t: 0,
            sums: [IDLE; 3],
            quiet: 0,
            steady_after: 0,
        }
    }

    /// For a stream at `rate` Hz and a mark of peak `amplitude` (fraction of
    /// full scale).
    #[cfg(test)]
    pub(crate) fn new(rate: u32, amplitude: f32) -> Limiter {
        let mut l = Limiter::unconfigured();
        l.configure(rate, amplitude);
        l
    }

    /// Start afresh, in place, for a stream at `rate` Hz and a mark of peak
    /// `amplitude` (fraction of full scale).
    pub(crate) fn configure(&mut self, rate: u32, amplitude: f32) {
        let lookahead = ((rate as usize * 2).div_ceil(1000)).min(MAX_LOOKAHEAD);
        let box_len = (lookahead + 3) / 3;
        let norm = (box_len as u32).pow(3) * FULL;
        self.lookahead = lookahead as u16;
        self.box_len = box_len as u16;
        self.inv_amplitude = 1.0 / amplitude;
        self.inv_norm = 1.0 / norm as f32;
        self.queue_t.fill(0);
        self.queue_v.fill(0);
        self.head = 0;
        self.t = 0;
        self.steady_after = (lookahead + 3 * box_len) as u32;
        self.make_steady();
    }

    /// Samples the gain looks ahead: the embedder's latency.
    pub(crate) fn lookahead(&self) -> usize {
        self.lookahead as usize
    }

    /// How far back the gain remembers: the gain for output t depends only
    /// on the inputs from t − memory on, so a limiter put at rest that
    /// many inputs before a burst gives the burst the same gains.
    pub(crate) fn memory(&self) -> u64 {
        self.steady_after as u64
    }

    /// Forget everything pushed: the state after an endless run of full room.
    pub(crate) fn rest(&mut self) {
        if !self.at_rest() {
            self.make_steady();
        }
    }

    /// The state after an endless run of full room.
    fn make_steady(&mut self) {
        let b = self.box_len as usize;
        let s1 = FULL * b as u32;
        let s2 = s1 * b as u32;
        self.sums = [
            MovingSum::steady(b, FULL),
            MovingSum::steady(b, s1),
            MovingSum::steady(b, s2),
        ];
        self.len = 0;
        self.quiet = self.steady_after;
    }

    /// The room sample t leaves, from its marked channels' largest
    /// magnitude (NaN and infinity leave none).
    #[inline(always)]
    pub(crate) fn allowed(&self, peak: f32) -> u32 {
        let room = (1.0 - peak) * self.inv_amplitude;
        if room >= 1.0 {
            FULL
        } else if room > 0.0 {
            // Truncation rounds down: never more than the room.
            (room * FULL as f32) as u32
        } else {
            0
        }
    }

    /// Largest magnitude of the marked samples of one frame.
    #[inline(always)]
    pub(crate) fn peak(values: impl Iterator<Item = f32>) -> f32 {
        values.fold(0.0, |p, v| max_f32(p, v.abs()))
    }

    /// Take `allowed` for the newest input sample t; the gain for sample
    /// t − lookahead.
    #[inline]
    pub(crate) fn push(&mut self, allowed: u32) -> f32 {
        if allowed == FULL && self.quiet >= self.steady_after {
            return 1.0;
        }
        if self.quiet >= self.steady_after {
            self.make_steady();
        }
        self.quiet = if allowed == FULL { self.quiet + 1 } else { 0 };
        let cap = self.lookahead as usize + 1;
        let wrap = |i: usize| if i >= cap { i - cap } else { i };
        let t = self.t;
        self.t = t.wrapping_add(1);
        // The window is t − L ..= t: first drop the oldest if it has left
        // (at most one a step), then queued values no smaller than the new
        // one, then put the new one in. At most L + 1 = `cap` stay queued.
        let mut head = self.head as usize;
        let mut len = self.len as usize;
        if len > 0 && t.wrapping_sub(self.queue_t[head]) > self.lookahead as u32 {
            head = wrap(head + 1);
            len -= 1;
        }
        while len > 0 && u32::from(self.queue_v[wrap(head + len - 1)]) >= allowed {
            len -= 1;
        }
        let slot = wrap(head + len);
        self.queue_t[slot] = t;
        self.queue_v[slot] = allowed as u16;
        self.head = head as u16;
        self.len = (len + 1) as u16;
        let m = u32::from(self.queue_v[self.head as usize]);
        let b = self.box_len as usize;
        let s1 = self.sums[0].push(b, m);
        let s2 = self.sums[1].push(b, s1);
        let s3 = self.sums[2].push(b, s2);
        s3 as f32 * self.inv_norm
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// Gains for a sequence of allowed values, aligned with them.
    fn run(rate: u32, allowed: &[u32]) -> Vec<f32> {
        let mut l = Limiter::new(rate, 0.1);
        let n = l.lookahead();
        let mut g: Vec<f32> = allowed
            .iter()
            .chain(core::iter::repeat_n(&FULL, n))
            .map(|&a| l.push(a))
            .collect();
        g.drain(..n);
        g
    }

    /// The queue's minimum and the three moving sums, against the
    /// definition computed the slow way, on long loud runs (where the
    /// queue stays full) and on random room.
    #[test]
    fn the_gain_is_the_smoothed_sliding_minimum() {
        let mut seed = 9u32;
        for rate in [44_100, 48_000, 96_000, 192_000] {
            let allowed: Vec<u32> = (0..6_000)
                .map(|i| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    match (i / 1_000) % 3 {
                        // Rising room: nothing is ever popped from the back.
                        0 => (i % 1_000) as u32 * 4,
                        1 => (seed >> 20) % (FULL + 1),
                        _ => FULL,
                    }
                })
                .collect();
            let l = Limiter::new(rate, 0.1);
            let (la, b) = (l.lookahead(), l.box_len as usize);
            let at = |t: isize| if t < 0 { FULL } else { allowed[t as usize] };
            let min: Vec<u32> = (0..allowed.len() as isize)
                .map(|t| (t - la as isize..=t).map(at).min().unwrap())
                .collect();
            let boxed = |x: &[u32]| -> Vec<u32> {
                (0..x.len())
                    .map(|t| (0..b).map(|k| if t >= k { x[t - k] } else { x[0] }).sum())
                    .collect()
            };
            let s3 = boxed(&boxed(&boxed(&min)));
            let mut l = Limiter::new(rate, 0.1);
            for (t, &a) in allowed.iter().enumerate() {
                let g = l.push(a);
                // Before the sums fill, they hold full room, not x[0].
                if t >= 3 * b {
                    assert_eq!(g, s3[t] as f32 * l.inv_norm, "{rate} Hz, t {t}");
                }
            }
        }
    }

    #[test]
    fn the_gain_never_exceeds_the_room_and_is_one_with_room() {
        let mut seed = 3u32;
        for rate in [44_100, 48_000, 96_000] {
            let allowed: Vec<u32> = (0..20_000)
                .map(|i| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    match (i / 700) % 3 {
                        0 => FULL,
                        1 => (seed >> 20) % (FULL + 1),
                        _ => FULL - (seed >> 28),
                    }
                })
                .collect();
            let g = run(rate, &allowed);
            for (i, (&a, &g)) in allowed.iter().zip(&g).enumerate() {
                assert!(
                    g * FULL as f32 <= a as f32 + 1e-3,
                    "{rate} Hz, {i}: {g} > {a}"
                );
            }
            // Before the first lowering comes into view the gain is exactly 1.
            let clear = 700 - Limiter::new(rate, 0.1).lookahead() - 1;
            assert!(g[..clear].iter().all(|&g| g == 1.0));
            assert!(g[clear..900].iter().any(|&g| g < 1.0));
            assert_eq!(run(rate, &[FULL; 3000]), std::vec![1.0; 3000]);
        }
    }

    #[test]
    fn the_gain_moves_smoothly_over_the_lookahead() {
        // One sample with no room: the gain dips around it and nowhere else,
        // falling and recovering over L samples without a jump.
        let mut allowed = std::vec![FULL; 2000];
        allowed[1000] = 0;
        let g = run(48_000, &allowed);
        assert_eq!(g[1000], 0.0);
        assert_eq!(g[1000 - 97], 1.0);
        assert_eq!(g[1000 + 97], 1.0);
        let steepest = g
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max);
        // A quadratic B-spline over 97 samples: at most ~3 % of full scale a step.
        assert!(steepest < 0.04, "{steepest}");
    }

    #[test]
    fn a_limiter_put_at_rest_its_memory_ahead_gives_the_same_gains() {
        // The embedder skips the programme between bursts: inputs skipped
        // mid-loud-passage, then `rest`, then the inputs from `memory`
        // before the burst on, must give the burst the gains of a limiter
        // that read everything.
        let mut seed = 5u32;
        let allowed: Vec<u32> = (0..4_000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 20) % (FULL + 1)
            })
            .collect();
        let mut whole = Limiter::new(48_000, 0.05);
        let gains: Vec<f32> = allowed.iter().map(|&a| whole.push(a)).collect();
        let mut skipping = Limiter::new(48_000, 0.05);
        let memory = skipping.memory() as usize;
        let (stop, resume) = (1_000, 2_500);
        for &a in &allowed[..stop] {
            skipping.push(a);
        }
        assert!(!skipping.at_rest());
        skipping.rest();
        assert!(skipping.at_rest());
        let mut compared = 0;
        for (t, &a) in allowed.iter().enumerate().skip(resume) {
            let g = skipping.push(a);
            if t >= resume + memory {
                assert_eq!(g, gains[t], "t {t}");
                compared += 1;
            }
        }
        assert!(compared > 1_000 && gains[resume + memory..].iter().any(|&g| g < 0.5));
    }

    #[test]
    fn steady_state_shortcut_gives_the_same_bits() {
        // The shortcut after a long quiet run must equal computing everything.
        let mut a = Limiter::new(48_000, 0.05);
        let mut b = Limiter::new(48_000, 0.05);
        b.steady_after = u32::MAX;
        let input: Vec<u32> = (0..5000)
            .map(|i| if i % 1500 < 40 { 1234 } else { FULL })
            .collect();
        for &v in &input {
            assert_eq!(a.push(v).to_bits(), b.push(v).to_bits());
        }
    }
}
