//! Binding an ultrasonic burst to the programme it was embedded in.
//!
//! The ultrasonic band can be lifted from a marked file with a high-pass
//! filter and mixed onto any other programme, which would then report the
//! ID. So each burst also carries a keyed fingerprint of the programme just
//! before it, and the detector checks it against the programme it hears.
//!
//! * **Fingerprint.** The channels' mean through an 8th-order Butterworth
//!   low-pass at 8 kHz (four biquads: the detector hears the mark as well,
//!   and a burst's ramps must not reach the fingerprint), then, on every
//!   `rate / 16 kHz`-th sample, four band-passes (a Butterworth high-pass
//!   and low-pass biquad each: 300–800 Hz,
//!   0.8–1.8 kHz, 1.8–3.6 kHz, 3.6–7.2 kHz), its energy summed over three
//!   80 ms windows that end 5 ms before the burst starts:
//!   `[s − 245 ms, s − 165 ms)`, `[s − 165, s − 85)`, `[s − 85, s − 5)`.
//!   Bit `2b + j` (band `b`, `j` = 0, 1) is 1 when the band's energy rose
//!   from window `j` to `j + 1`. Band energies between
//!   windows survive every chain the ultrasonic layer survives (codecs keep
//!   them, gains and clocks leave their ratios), and they are the
//!   programme's own: lifted marks carry another programme's.
//! * **On air.** Block B of an ultrasonic burst: encrypted counter (16
//!   bits), the fingerprint XOR low8(PRF(0x08, MAC ‖ counter LE)), and the
//!   check low8(PRF(0x09, MAC ‖ counter LE ‖ that byte)) (`frame.rs`). The
//!   burst's length does not change.
//! * **Check.** The detector keeps the four band energies per 5 ms tick for
//!   the last 1.6 s, so when a burst decodes it sums the same windows behind
//!   the burst's start (edge ticks by their overlap). It compares the bits
//!   it can hear change: both windows above [`FLOOR`] (mean square, about
//!   −80 dBFS), and a change of at least [`CLEAR_DB`] and at least
//!   [`SPREADS`] times what the windows' own tick-to-tick spread would give
//!   (noise, added by a chain or the programme's own, wanders between
//!   windows; a programme's change stands out of it). A genuine bit can
//!   still disagree where the programme barely changed and noise tipped it,
//!   but then by a fraction of a dB; a lifted burst's bits are independent
//!   of the programme it is heard in, so each disagrees with probability ½
//!   and by as much as that programme changes. A burst whose disagreeing
//!   bits' changes add up to [`MISMATCH_DB`] is reported as transplanted
//!   ([`Event::Transplant`](crate::Event::Transplant)), never as a
//!   detection.
//! * **Measured** (`cargo xtask programme`, 10 recorded clips): 0 of 1 500
//!   genuine bursts flagged through none, FLAC, AAC 256k, 44.1 kHz, ±1000
//!   ppm, ±gain, loudnorm and pink noise 10 dB under the programme; 52 % of
//!   300 lifted bursts flagged. The rest are reported as detections: the
//!   programme they were mixed onto was too steady in the 245 ms before
//!   them to tell, which is this design's limit (8 bits, 240 ms). Synthetic
//!   silence, tones and pink noise under loud pink noise: 1 of 1 440
//!   genuine bursts flagged.
//! * **Off by default for the ultrasonic layer alone**
//!   ([`DetectConfig::check_binding`](crate::DetectConfig)): a voice-over
//!   louder than the programme (the suite's: programme −10 dB under speech)
//!   changes the band energies exactly as a transplant does, and two thirds
//!   of such genuine bursts read as transplanted. Where both layers are
//!   searched the robust layer tells a ducked programme under a voice from
//!   an absent one ([`vouch`](crate::vouch): 0 of 150 such bursts flagged),
//!   so the host checks by default there.
//!
//! The embedder runs the filters only in the 255 ms before each burst (10 ms
//! of them to settle, from rest: the same samples whatever the blocks);
//! the detector runs them on every sample.

/// Bands of the fingerprint.
pub(crate) const BANDS: usize = 4;
/// Windows before the burst.
pub(crate) const WINDOWS: usize = 3;
// The embedder picks a window by two comparisons.
const _: () = assert!(WINDOWS == 3);
const BAND_HZ: [(f32, f32); BANDS] = [
    (300.0, 800.0),
    (800.0, 1800.0),
    (1800.0, 3600.0),
    (3600.0, 7200.0),
];
const WINDOW_MS: u64 = 80;
const GAP_MS: u64 = 5;
const SETTLE_MS: u64 = 10;
/// Mean square below which a band says nothing (−80 dBFS).
pub const FLOOR: f32 = 1e-8;
/// Smallest change between windows the detector compares, dB.
pub const CLEAR_DB: f32 = 0.25;
/// ... and in multiples of what the windows' own tick-to-tick spread would
/// give: noise (added by a chain, or the programme's own) wanders, a
/// programme's change stands out of it.
pub const SPREADS: f32 = 3.5;
/// Summed change (dB) over the disagreeing bits that makes a burst
/// transplanted.
pub const MISMATCH_DB: f32 = 1.5;
/// Detector ticks: 5 ms each, 1.6 s kept (the windows and a long burst,
/// which decodes once it has arrived).
const TICKS: usize = 320;

/// The window edges for a burst at `start`, samples at `rate`: the first
/// window's start and each window's length (windows are contiguous).
fn windows(rate: u32) -> (u64, u64) {
    let ms = |m: u64| m * rate as u64 / 1000;
    (ms(WINDOWS as u64 * WINDOW_MS + GAP_MS), ms(WINDOW_MS))
}

/// One RBJ biquad (transposed direct form II).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    s: [f32; 2],
}

impl Biquad {
    const ZERO: Biquad = Biquad {
        b: [0.0; 3],
        a: [0.0; 2],
        s: [0.0; 2],
    };

    /// Butterworth (Q = 1/√2) low-pass or high-pass at `f` Hz.
    fn butterworth(rate: u32, f: f32, high: bool) -> Biquad {
        let w = 2.0 * core::f32::consts::PI * f / rate as f32;
        let (sin, cos) = (libm::sinf(w), libm::cosf(w));
        let alpha = sin / core::f32::consts::SQRT_2;
        let a0 = 1.0 + alpha;
        let (b0, b1) = if high {
            ((1.0 + cos) / 2.0, -(1.0 + cos))
        } else {
            ((1.0 - cos) / 2.0, 1.0 - cos)
        };
        Biquad {
            b: [b0 / a0, b1 / a0, b0 / a0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            s: [0.0; 2],
        }
    }

    #[cfg(test)]
    fn step(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.s[0];
        self.s[0] = self.b[1] * x - self.a[0] * y + self.s[1];
        self.s[1] = self.b[2] * x - self.a[1] * y;
        y
    }

    /// `step` over a block in place, coefficients and state in registers:
    /// the same arithmetic, sample for sample.
    #[inline(never)]
    fn run(&mut self, block: &mut [f32]) {
        let ([b0, b1, b2], [a1, a2], [mut s0, mut s1]) = (self.b, self.a, self.s);
        for x in block {
            let y = b0 * *x + s0;
            s0 = b1 * *x - a1 * y + s1;
            s1 = b2 * *x - a2 * y;
            *x = y;
        }
        self.s = [s0, s1];
    }
}

/// Sections of the low-pass every band shares, and its corner: the
/// detector hears the mark too, and neither a burst nor its images after
/// the decimation below may reach the fingerprint (8th order: an 18 kHz
/// mark at −30 dBFS lands under −100 dBFS).
const GUARD_SECTIONS: usize = 4;
const GUARD_HZ: f32 = 8000.0;
/// The band-passes run at about 16 kHz (every `rate / 16 kHz`-th sample).
const BAND_RATE: u32 = 16_000;

/// The shared low-pass at the stream rate, then the four band-passes on
/// every `step`-th of its outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bands {
    guard: [Biquad; GUARD_SECTIONS],
    stages: [[Biquad; 2]; BANDS],
    step: u32,
    phase: u32,
}

impl Bands {
    pub const fn zeroed() -> Bands {
        Bands {
            guard: [Biquad::ZERO; GUARD_SECTIONS],
            stages: [[Biquad::ZERO; 2]; BANDS],
            step: 0,
            phase: 0,
        }
    }

    pub fn new(rate: u32) -> Bands {
        let step = (rate / BAND_RATE).max(1);
        let slow = rate / step;
        let mut stages = [[Biquad::ZERO; 2]; BANDS];
        for (s, &(lo, hi)) in stages.iter_mut().zip(&BAND_HZ) {
            *s = [
                Biquad::butterworth(slow, lo, true),
                Biquad::butterworth(slow, hi, false),
            ];
        }
        Bands {
            guard: [Biquad::butterworth(rate, GUARD_HZ, false); GUARD_SECTIONS],
            stages,
            step,
            phase: 0,
        }
    }

    pub fn reset(&mut self) {
        for s in self
            .guard
            .iter_mut()
            .chain(self.stages.iter_mut().flatten())
        {
            s.s = [0.0; 2];
        }
        self.phase = 0;
    }

    /// Each band's output power for input `x`, on every `step`-th sample
    /// (weighted by `step`, so sums over time keep the stream rate's scale).
    #[cfg(test)]
    pub fn push(&mut self, x: f32) -> Option<[f32; BANDS]> {
        let x = self.guard.iter_mut().fold(x, |x, s| s.step(x));
        self.phase += 1;
        if self.phase < self.step {
            return None;
        }
        self.phase = 0;
        let mut out = [0.0f32; BANDS];
        for (o, [hp, lp]) in out.iter_mut().zip(self.stages.iter_mut()) {
            let y = lp.step(hp.step(x));
            *o = self.step as f32 * y * y;
        }
        Some(out)
    }

    /// [`push`](Bands::push) of every sample of `block` (at most
    /// [`BLOCK`] long; filtered in place), section by section with
    /// coefficients and state in registers: the same arithmetic, bit for
    /// bit. Writes each sample that gives powers, in order, with its index
    /// in the block, to `out`; returns how many.
    #[inline(never)]
    pub fn push_block(&mut self, block: &mut [f32], out: &mut Powers) -> usize {
        let len = block.len().min(BLOCK);
        let block = &mut block[..len];
        for s in self.guard.iter_mut() {
            s.run(block);
        }
        let step = self.step.max(1) as usize;
        // The first sample that completes a step, then every step-th.
        let first = step - 1 - (self.phase as usize).min(step - 1);
        let mut slow = [[0.0f32; BLOCK]; BANDS];
        let mut n = 0;
        for &x in block.iter().skip(first).step_by(step) {
            for band in slow.iter_mut() {
                band[n] = x;
            }
            n += 1;
        }
        self.phase = ((self.phase as usize + block.len()) % step) as u32;
        let weight = step as f32;
        for (band, [hp, lp]) in slow.iter_mut().zip(self.stages.iter_mut()) {
            hp.run(&mut band[..n]);
            lp.run(&mut band[..n]);
            for y in &mut band[..n] {
                *y = weight * *y * *y;
            }
        }
        for (k, (o, i)) in out
            .iter_mut()
            .zip((first..).step_by(step))
            .take(n)
            .enumerate()
        {
            *o = (i, core::array::from_fn(|b| slow[b][k]));
        }
        n
    }
}

/// What [`Bands::push_block`] gives: sample index in the block, powers.
pub(crate) type Powers = [(usize, [f32; BANDS]); BLOCK];

/// Longest block [`Bands::push_block`] takes.
pub(crate) const BLOCK: usize = 64;

/// The fingerprint bits from window energies. No floor here: the level the
/// detector hears depends on gains and channels, so the embedder gives the
/// sign of every change, and the detector decides what it can compare.
pub(crate) fn fingerprint(energy: &[[f32; BANDS]; WINDOWS]) -> u8 {
    let mut bits = 0u8;
    for (j, pair) in energy.windows(2).enumerate() {
        for (b, (e0, e1)) in pair[0].iter().zip(&pair[1]).enumerate() {
            if e1 > e0 {
                bits |= 1 << (2 * b + j);
            }
        }
    }
    bits
}

/// What the detector made of a burst's fingerprint.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BindCheck {
    /// Fingerprint bits the detector heard clearly enough to compare.
    pub checked: u8,
    /// Of those, bits that disagree with the burst's.
    pub mismatched: u8,
    /// The disagreeing bits' changes as heard, |dB|, summed.
    pub mismatch_db: f32,
}

impl BindCheck {
    /// Whether the burst belongs to another programme.
    pub fn transplanted(&self) -> bool {
        self.mismatch_db >= MISMATCH_DB
    }
}

/// Compare a burst's `sent` bits with the window energies heard.
pub(crate) fn check(sent: u8, heard: &Heard, window_len: u64) -> BindCheck {
    let floor = FLOOR * window_len as f32;
    let mut out = BindCheck::default();
    for b in 0..BANDS {
        for j in 0..WINDOWS - 1 {
            let (e0, e1) = (heard.energy[j][b], heard.energy[j + 1][b]);
            // NaN fails every comparison: never compared.
            if !(e0 >= floor && e1 >= floor) {
                continue;
            }
            let db = 10.0 * libm::log10f(e1 / e0);
            // How far the windows' own tick-to-tick spread alone moves it.
            let spread_db = 4.343 * libm::sqrtf(heard.spread[j][b] + heard.spread[j + 1][b]);
            if !(db.abs() >= CLEAR_DB && db.abs() >= SPREADS * spread_db) {
                continue;
            }
            out.checked += 1;
            if (db > 0.0) != ((sent >> (2 * b + j)) & 1 == 1) {
                out.mismatched += 1;
                out.mismatch_db += db.abs();
            }
        }
    }
    out
}

/// The window energies a detector heard before a burst, and how much each
/// would wander by its ticks' spread alone (relative variance of the sum).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Heard {
    pub energy: [[f32; BANDS]; WINDOWS],
    pub spread: [[f32; BANDS]; WINDOWS],
}

/// A tick's energy as stored: log2 · 256, 0 (and NaN) as the least.
fn to_log(e: f32) -> i16 {
    if e > 0.0 {
        libm::roundf(libm::log2f(e) * 256.0).clamp(-32_767.0, 32_767.0) as i16
    } else {
        i16::MIN
    }
}

fn from_log(v: i16) -> f32 {
    if v == i16::MIN {
        0.0
    } else {
        libm::exp2f(v as f32 / 256.0)
    }
}

/// Bursts whose windows can be open at once: back-to-back bursts as short
/// as 82 ms (`ultrasonic-wide` at 96 kHz) overlap four deep.
const TARGETS: usize = 5;

/// The embedder's side: window energies before the next bursts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Binder {
    bands: Bands,
    /// Samples from the first window's start to the burst, per window, and
    /// of filter settling before the first window.
    lead: u64,
    window: u64,
    settle: u64,
    /// Bursts being measured (start) and their window energies.
    targets: [(Option<u64>, [[f32; BANDS]; WINDOWS]); TARGETS],
    /// The sample after the last one the filters took.
    next_fed: u64,
}

impl Binder {
    pub const fn zeroed() -> Binder {
        Binder {
            bands: Bands::zeroed(),
            lead: 0,
            window: 0,
            settle: 0,
            targets: [(None, [[0.0; BANDS]; WINDOWS]); TARGETS],
            next_fed: u64::MAX,
        }
    }

    pub fn new(rate: u32) -> Binder {
        let (lead, window) = windows(rate);
        Binder {
            bands: Bands::new(rate),
            lead,
            window,
            settle: SETTLE_MS * rate as u64 / 1000,
            ..Binder::zeroed()
        }
    }

    /// Input frames from stream time `t0` (`channels` interleaved); burst
    /// `k` of the schedule starts at input time `start(k)`, and `next` is
    /// the first burst not yet begun.
    pub fn push<S: crate::sample::Sample>(
        &mut self,
        t0: u64,
        frames: &[S],
        channels: usize,
        next: u64,
        start: impl Fn(u64) -> u64,
    ) {
        let n = (frames.len() / channels) as u64;
        let end = t0 + n;
        // The bursts whose windows (with settling) meet these frames.
        let mut open = [0u64; TARGETS];
        let mut count = 0;
        let mut k = next;
        while count < TARGETS {
            let s = start(k);
            if s.saturating_sub(self.lead + self.settle) >= end {
                break;
            }
            // Still measuring: its last window ends after t0.
            if s.saturating_sub(self.lead) + WINDOWS as u64 * self.window > t0 {
                open[count] = s;
                count += 1;
            }
            k += 1;
        }
        if count == 0 {
            return;
        }
        for &s in &open[..count] {
            if !self.targets.iter().any(|t| t.0 == Some(s)) {
                // The oldest target (an earlier start) makes way.
                let slot = (0..TARGETS)
                    .min_by_key(|&i| self.targets[i].0.unwrap_or(0))
                    .unwrap_or(0);
                self.targets[slot] = (Some(s), [[0.0; BANDS]; WINDOWS]);
            }
        }
        // Exactly the samples inside some open burst's span (settling and
        // windows), whatever the blocks: spans in schedule order, merged where
        // they meet; the filters start afresh where one begins after a gap.
        let (lead, settle, window) = (self.lead, self.settle, self.window);
        let span = |s: u64| {
            (
                s.saturating_sub(lead + settle),
                s.saturating_sub(lead) + WINDOWS as u64 * window,
            )
        };
        let mut i = 0;
        while i < count {
            let (from, mut until) = span(open[i]);
            i += 1;
            while i < count && span(open[i]).0 <= until {
                until = until.max(span(open[i]).1);
                i += 1;
            }
            let (from, until) = (from.max(t0), until.min(end));
            if from >= until {
                continue;
            }
            if from != self.next_fed {
                self.bands.reset();
            }
            self.next_fed = until;
            let part = &frames[(from - t0) as usize * channels..(until - t0) as usize * channels];
            self.feed(from, part, channels);
        }
    }

    /// The channels' mean of `frames` from time `t0`, a block at a time.
    fn feed<S: crate::sample::Sample>(&mut self, t0: u64, frames: &[S], channels: usize) {
        let scale = 1.0 / channels as f32;
        for (k, part) in frames.chunks(BLOCK * channels).enumerate() {
            let mut mono = [0.0f32; BLOCK];
            for (m, frame) in mono.iter_mut().zip(part.chunks_exact(channels)) {
                let mut sum = 0.0f32;
                for x in frame {
                    let v = x.to_unit();
                    if v.is_finite() {
                        sum += v.clamp(-1.0, 1.0);
                    }
                }
                *m = sum * scale;
            }
            let len = part.len() / channels;
            self.take(t0 + (k * BLOCK) as u64, &mut mono[..len]);
        }
    }

    /// Mono input samples from time `t0` into the open targets' windows.
    // Out of line: one copy for every sample type (flash on an MCU).
    #[inline(never)]
    fn take(&mut self, t0: u64, mono: &mut [f32]) {
        let (lead, window) = (self.lead, self.window);
        let mut powers = [(0, [0.0; BANDS]); BLOCK];
        let n = self.bands.push_block(mono, &mut powers);
        for &(i, p) in &powers[..n] {
            let t = t0 + i as u64;
            for (target, energy) in self.targets.iter_mut() {
                let Some(s) = *target else { continue };
                let Some(first) = s.checked_sub(lead) else {
                    continue;
                };
                if t < first || t >= first + WINDOWS as u64 * window {
                    continue;
                }
                // Which window, by comparison (no 64-bit divide per sample).
                let j = (t >= first + window) as usize + (t >= first + 2 * window) as usize;
                for (e, p) in energy[j].iter_mut().zip(p) {
                    *e += p;
                }
            }
        }
    }

    /// The fingerprint of the burst at `start`: 0 unless its windows were
    /// measured (a stream that starts or jumps less than 245 ms before it).
    pub fn bits(&self, start: u64) -> u8 {
        self.targets
            .iter()
            .find(|t| t.0 == Some(start) && start >= self.lead)
            .map_or(0, |t| fingerprint(&t.1))
    }

    /// Forget the windows (a jump in time).
    pub fn reset(&mut self) {
        self.targets = [(None, [[0.0; BANDS]; WINDOWS]); TARGETS];
        self.next_fed = u64::MAX;
    }
}

/// The detector's side: band energies per 5 ms tick for the last 1.6 s.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Listener {
    bands: Bands,
    tick: u32,
    lead: u64,
    window: u64,
    /// Samples since the stream's start; of the tick in progress, samples
    /// still to come, its ring slot and its energies so far.
    samples: u64,
    left: u32,
    slot: u32,
    acc: [f32; BANDS],
    /// Tick energies as log2 · 256 (0.01 dB steps, half the memory).
    ticks: [[i16; BANDS]; TICKS],
}

impl Listener {
    /// All zero bytes (a `static` detector stays in `.bss`); `configure`
    /// before use.
    pub const fn zeroed() -> Listener {
        Listener {
            bands: Bands::zeroed(),
            tick: 0,
            lead: 0,
            window: 0,
            samples: 0,
            left: 0,
            slot: 0,
            acc: [0.0; BANDS],
            ticks: [[0; BANDS]; TICKS],
        }
    }

    pub fn configure(&mut self, rate: u32) {
        let (lead, window) = windows(rate);
        self.bands = Bands::new(rate);
        self.tick = (rate / 200).max(1);
        self.lead = lead;
        self.window = window;
        self.reset();
    }

    /// A new stream: nothing heard yet.
    pub fn reset(&mut self) {
        self.bands.reset();
        self.samples = 0;
        self.left = self.tick.max(1);
        self.slot = 0;
        self.acc = [0.0; BANDS];
        self.ticks = [[i16::MIN; BANDS]; TICKS];
    }

    /// Mixed (mono, sanitised) samples, in order.
    // Out of line: the detector's `process` has a copy per sample type.
    #[inline(never)]
    pub fn push(&mut self, mixed: &[f32]) {
        // Counters, not divisions: a 64-bit divide per sample is dear on
        // Cortex-M.
        for part in mixed.chunks(BLOCK) {
            let mut block = [0.0f32; BLOCK];
            let block = &mut block[..part.len()];
            block.copy_from_slice(part);
            // Powers in order, each with its sample; then ticks by runs.
            let mut powers = [(0, [0.0; BANDS]); BLOCK];
            let n = self.bands.push_block(block, &mut powers);
            let (mut pos, mut next) = (0, 0);
            while pos < part.len() {
                let run = (self.left as usize).min(part.len() - pos);
                while next < n && powers[next].0 < pos + run {
                    for (a, p) in self.acc.iter_mut().zip(powers[next].1) {
                        *a += p;
                    }
                    next += 1;
                }
                pos += run;
                self.left -= run as u32;
                if self.left == 0 {
                    self.left = self.tick.max(1);
                    for (t, &a) in self.ticks[self.slot as usize].iter_mut().zip(&self.acc) {
                        *t = to_log(a);
                    }
                    self.slot = if self.slot + 1 == TICKS as u32 {
                        0
                    } else {
                        self.slot + 1
                    };
                    self.acc = [0.0; BANDS];
                }
            }
        }
        self.samples += mixed.len() as u64;
    }

    /// The window energies before a burst starting `start` samples into the
    /// stream, or `None` if they are not all in the history.
    pub fn heard(&self, start: u64) -> Option<Heard> {
        let tick = self.tick.max(1) as u64;
        let done = self.samples / tick;
        let first = start.checked_sub(self.lead)?;
        let end = first + WINDOWS as u64 * self.window;
        if end > done * tick || first / tick + (TICKS as u64) < done {
            return None;
        }
        let mut out = Heard {
            energy: [[0.0; BANDS]; WINDOWS],
            spread: [[0.0; BANDS]; WINDOWS],
        };
        for j in 0..WINDOWS {
            let (a, b) = (
                first + j as u64 * self.window,
                first + (j as u64 + 1) * self.window,
            );
            let (mut n, mut sq) = (0.0f32, [0.0f32; BANDS]);
            for k in a / tick..b.div_ceil(tick) {
                let lo = (k * tick).max(a);
                let hi = ((k + 1) * tick).min(b);
                let w = (hi - lo) as f32 / tick as f32;
                n += w;
                let row = &self.ticks[(k % TICKS as u64) as usize];
                for ((o, q), &p) in out.energy[j].iter_mut().zip(sq.iter_mut()).zip(row) {
                    let e = from_log(p);
                    *o += w * e;
                    *q += w * e * e;
                }
            }
            for ((s, &e), &q) in out.spread[j].iter_mut().zip(&out.energy[j]).zip(&sq) {
                // n · var(tick) / E², var(tick) = q/n − (E/n)².
                *s = if e > 0.0 {
                    (q * n / (e * e) - 1.0).max(0.0) / n
                } else {
                    0.0
                };
            }
        }
        Some(out)
    }

    /// Check `sent` bits for a burst starting `start` samples into the
    /// stream; `None` when its windows are not all heard.
    pub fn check(&self, sent: u8, start: u64) -> Option<BindCheck> {
        self.heard(start).map(|h| check(sent, &h, self.window))
    }
}

/// Largest of the window energies (for tests).
#[cfg(test)]
fn peak(e: &[[f32; BANDS]; WINDOWS]) -> f32 {
    e.iter()
        .flatten()
        .fold(0.0, |a, &b| crate::math::max_f32(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One tone per band, each stepping in level from window to window of a
    /// burst at `start` (steady within each window).
    fn stepping_tones(rate: u32, n: usize, start: u64) -> std::vec::Vec<f32> {
        let (lead, window) = windows(rate);
        let levels = [
            [0.2, 0.02, 0.1],
            [0.02, 0.2, 0.05],
            [0.1, 0.1, 0.01],
            [0.01, 0.05, 0.2],
        ];
        let hz = [450.0, 1200.0, 2500.0, 5000.0];
        (0..n)
            .map(|i| {
                let t = i as f32 / rate as f32;
                let j = ((i as u64).saturating_sub(start - lead) / window).min(2) as usize;
                (0..BANDS)
                    .map(|b| levels[b][j] * libm::sinf(2.0 * core::f32::consts::PI * hz[b] * t))
                    .sum()
            })
            .collect()
    }

    #[test]
    fn blocks_give_the_powers_of_sample_by_sample_filtering_bit_for_bit() {
        for rate in [44_100, 48_000, 96_000] {
            let x = stepping_tones(rate, 8_000, rate as u64);
            let (mut one, mut blocks) = (Bands::new(rate), Bands::new(rate));
            let want: std::vec::Vec<(usize, [f32; BANDS])> = x
                .iter()
                .enumerate()
                .filter_map(|(i, &v)| one.push(v).map(|p| (i, p)))
                .collect();
            let mut got = std::vec::Vec::new();
            let mut at = 0;
            for len in [1usize, 7, 64, 2, 33].iter().cycle() {
                if at >= x.len() {
                    break;
                }
                let mut part = x[at..(at + len).min(x.len())].to_vec();
                let mut powers = [(0, [0.0; BANDS]); BLOCK];
                let n = blocks.push_block(&mut part, &mut powers);
                got.extend(powers[..n].iter().map(|&(i, p)| (at + i, p)));
                at += part.len();
            }
            assert!(want.len() > 1_000, "{rate}");
            assert_eq!(got, want, "{rate}");
        }
    }

    #[test]
    fn the_listener_hears_what_the_binder_measured() {
        let rate = 48_000;
        let start = 60_000u64;
        let x = stepping_tones(rate, rate as usize * 2, start);
        let mut binder = Binder::new(rate);
        for (k, c) in x.chunks(1000).enumerate() {
            binder.push((k * 1000) as u64, c, 1, 0, |k| start + 100_000 * k);
        }
        let sent = binder.bits(start);
        let mut l = Listener::zeroed();
        l.configure(rate);
        l.push(&x[..start as usize]);
        let h = l.heard(start).unwrap();
        assert!(peak(&h.energy) > 0.0);
        let c = check(sent, &h, l.window);
        assert!(c.checked >= 3, "{c:?}");
        assert_eq!(c.mismatched, 0, "{c:?}");
        // Another programme's bits disagree somewhere.
        let c = check(!sent, &h, l.window);
        assert_eq!(c.mismatched, c.checked);
        assert!(c.transplanted());
    }

    #[test]
    fn stored_tick_energies_keep_a_hundredth_of_a_db() {
        for e in [1e-12f32, 3e-5, 0.7, 42.0, 2.0e4] {
            let back = from_log(to_log(e));
            assert!(
                (10.0 * libm::log10f(back / e)).abs() < 0.01,
                "{e} -> {back}"
            );
        }
        assert_eq!(from_log(to_log(0.0)), 0.0);
        assert_eq!(from_log(to_log(f32::NAN)), 0.0);
    }

    #[test]
    fn silence_and_steady_noise_compare_nothing() {
        let rate = 48_000;
        let mut l = Listener::zeroed();
        l.configure(rate);
        l.push(&[0.0; 48_000]);
        assert_eq!(l.check(0xff, 30_000).unwrap().checked, 0);
        assert_eq!(l.check(0, 10_000), None, "before the windows are heard");
    }
}
