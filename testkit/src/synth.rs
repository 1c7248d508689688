//! Deterministic synthetic programme material, mono, as `f32` in ±1.
//!
//! Every generator is driven by a seed and uses only integer phase
//! accumulators, a sine table built once with `libm`, and biquads, so output
//! is bit-identical everywhere and cheap enough for hours of audio.

use std::f32::consts::{PI, TAU};
use std::sync::OnceLock;

use crate::rng::Rng;

/// Kinds of material, for loops over "everything a mark may meet".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Silence,
    Music,
    Speech,
    WhiteNoise,
    PinkNoise,
    BrownNoise,
    Tones,
    Sweep,
    Chirps,
    UltrasonicTones,
    /// FSK/MSK beacons in 18–22 kHz, including MSK at hushmark's own carriers.
    DataOverSound,
    /// Music with strong content above 18 kHz (cymbals, sizzle).
    HfRich,
    /// Music and a bass tone pressed up against full scale.
    NearFullScale,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Silence,
        Kind::Music,
        Kind::Speech,
        Kind::WhiteNoise,
        Kind::PinkNoise,
        Kind::BrownNoise,
        Kind::Tones,
        Kind::Sweep,
        Kind::Chirps,
        Kind::UltrasonicTones,
        Kind::DataOverSound,
        Kind::HfRich,
        Kind::NearFullScale,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Silence => "silence",
            Kind::Music => "music",
            Kind::Speech => "speech",
            Kind::WhiteNoise => "white-noise",
            Kind::PinkNoise => "pink-noise",
            Kind::BrownNoise => "brown-noise",
            Kind::Tones => "tones",
            Kind::Sweep => "sweep",
            Kind::Chirps => "chirps",
            Kind::UltrasonicTones => "ultrasonic-tones",
            Kind::DataOverSound => "data-over-sound",
            Kind::HfRich => "hf-rich",
            Kind::NearFullScale => "near-full-scale",
        }
    }
}

/// `n` samples of `kind` at `fs`.
pub fn generate(kind: Kind, fs: u32, n: usize, seed: u64) -> Vec<f32> {
    let fs = fs as f32;
    match kind {
        Kind::Silence => vec![0.0; n],
        Kind::Music => music(fs, n, seed),
        Kind::Speech => speech(fs, n, seed),
        Kind::WhiteNoise => white_noise(n, 0.1, seed),
        Kind::PinkNoise => pink_noise(n, 0.1, seed),
        Kind::BrownNoise => brown_noise(n, 0.1, seed),
        Kind::Tones => tones(fs, n, seed),
        Kind::Sweep => sweep(fs, n),
        Kind::Chirps => chirps(fs, n, seed),
        Kind::UltrasonicTones => ultrasonic_tones(fs, n, seed),
        Kind::DataOverSound => data_over_sound(fs, n, seed),
        Kind::HfRich => hf_rich(fs, n, seed),
        Kind::NearFullScale => near_full_scale(fs, n, seed),
    }
}

/// Mono `x` on every one of `channels` channels, interleaved.
pub fn on_channels(x: &[f32], channels: u16) -> Vec<f32> {
    x.iter()
        .flat_map(|&v| std::iter::repeat_n(v, channels as usize))
        .collect()
}

const TABLE_BITS: u32 = 12;
const TABLE_LEN: usize = 1 << TABLE_BITS;

fn sine_table() -> &'static [f32; TABLE_LEN + 1] {
    static TABLE: OnceLock<Box<[f32; TABLE_LEN + 1]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Box::new([0.0f32; TABLE_LEN + 1]);
        for (i, v) in t.iter_mut().enumerate() {
            *v = libm::sin(i as f64 * std::f64::consts::TAU / TABLE_LEN as f64) as f32;
        }
        t
    })
}

/// Sine of a `u32` phase (2^32 = one turn), table with linear interpolation.
#[inline]
fn sin_u32(phase: u32) -> f32 {
    let t = sine_table();
    let i = (phase >> (32 - TABLE_BITS)) as usize;
    let f = (phase & ((1 << (32 - TABLE_BITS)) - 1)) as f32
        * (1.0 / (1u32 << (32 - TABLE_BITS)) as f32);
    t[i] + (t[i + 1] - t[i]) * f
}

/// Sine of a phase in turns (`[0, 1)`).
#[inline]
fn sin_turns(phase: f64) -> f32 {
    sin_u32((phase * 4_294_967_296.0) as u32)
}

/// A phase accumulator whose frequency may change every sample (sweeps,
/// chirps, FSK), in f64 so long glides do not drift.
#[derive(Debug, Clone, Copy, Default)]
struct Glide {
    phase: f64,
}

impl Glide {
    #[inline]
    fn next(&mut self, freq: f32, fs: f32) -> f32 {
        self.phase = (self.phase + (freq / fs) as f64).fract();
        sin_turns(self.phase)
    }
}

fn increment(freq: f32, fs: f32) -> u32 {
    ((freq / fs).rem_euclid(1.0) as f64 * 4_294_967_296.0) as u32
}

/// A sine oscillator.
#[derive(Debug, Clone, Copy)]
struct Osc {
    phase: u32,
    inc: u32,
}

impl Osc {
    fn new(freq: f32, fs: f32, phase: u32) -> Osc {
        Osc {
            phase,
            inc: increment(freq, fs),
        }
    }

    #[inline]
    fn next(&mut self) -> f32 {
        let v = sin_u32(self.phase);
        self.phase = self.phase.wrapping_add(self.inc);
        v
    }
}

/// RBJ-cookbook biquad (direct form I).
#[derive(Debug, Clone, Copy, Default)]
pub struct Biquad {
    b0: f32,
    b1: f32,
    b2: f32,
    a1: f32,
    a2: f32,
    x1: f32,
    x2: f32,
    y1: f32,
    y2: f32,
}

impl Biquad {
    fn from_coefs(b: [f32; 3], a: [f32; 3]) -> Biquad {
        Biquad {
            b0: b[0] / a[0],
            b1: b[1] / a[0],
            b2: b[2] / a[0],
            a1: a[1] / a[0],
            a2: a[2] / a[0],
            ..Default::default()
        }
    }

    /// cos ω and α of the cookbook's designs at `f` Hz.
    fn cos_alpha(f: f32, q: f32, fs: f32) -> (f32, f32) {
        let w = TAU * f / fs;
        (libm::cosf(w), libm::sinf(w) / (2.0 * q))
    }

    pub fn lowpass(f: f32, q: f32, fs: f32) -> Biquad {
        let (c, alpha) = Biquad::cos_alpha(f, q, fs);
        Biquad::from_coefs(
            [(1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0],
            [1.0 + alpha, -2.0 * c, 1.0 - alpha],
        )
    }

    pub fn highpass(f: f32, q: f32, fs: f32) -> Biquad {
        let (c, alpha) = Biquad::cos_alpha(f, q, fs);
        Biquad::from_coefs(
            [(1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0],
            [1.0 + alpha, -2.0 * c, 1.0 - alpha],
        )
    }

    /// Band-pass with 0 dB peak gain.
    pub fn bandpass(f: f32, q: f32, fs: f32) -> Biquad {
        let (c, alpha) = Biquad::cos_alpha(f, q, fs);
        Biquad::from_coefs([alpha, 0.0, -alpha], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
    }

    /// Change coefficients, keep state (for moving formants).
    fn retune(&mut self, other: Biquad) {
        self.b0 = other.b0;
        self.b1 = other.b1;
        self.b2 = other.b2;
        self.a1 = other.a1;
        self.a2 = other.a2;
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        let y = self.b0 * x + self.b1 * self.x1 + self.b2 * self.x2
            - self.a1 * self.y1
            - self.a2 * self.y2;
        self.x2 = self.x1;
        self.x1 = x;
        self.y2 = self.y1;
        // Flush denormals so long silences stay fast.
        self.y1 = if y.abs() < 1e-25 { 0.0 } else { y };
        y
    }
}

fn normalize_peak(x: &mut [f32], peak: f32) {
    let m = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if m > 0.0 {
        let g = peak / m;
        x.iter_mut().for_each(|v| *v *= g);
    }
}

pub fn white_noise(n: usize, rms: f32, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| rms * r.gaussian()).collect()
}

/// Pink (−3 dB/octave) noise, Paul Kellet's refined filter.
pub fn pink_noise(n: usize, rms: f32, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let mut b = [0.0f32; 7];
    let mut out: Vec<f32> = (0..n)
        .map(|_| {
            let w = r.gaussian();
            b[0] = 0.99886 * b[0] + w * 0.055_517_9;
            b[1] = 0.99332 * b[1] + w * 0.075_075_9;
            b[2] = 0.96900 * b[2] + w * 0.153_852;
            b[3] = 0.86650 * b[3] + w * 0.310_485_6;
            b[4] = 0.55000 * b[4] + w * 0.532_952_2;
            b[5] = -0.7616 * b[5] - w * 0.016_898;
            let v = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362;
            b[6] = w * 0.115_926;
            v
        })
        .collect();
    set_rms(&mut out, rms);
    out
}

pub fn brown_noise(n: usize, rms: f32, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let mut s = 0.0f32;
    let mut out: Vec<f32> = (0..n)
        .map(|_| {
            s = 0.998 * s + 0.05 * r.gaussian();
            s
        })
        .collect();
    set_rms(&mut out, rms);
    out
}

fn set_rms(x: &mut [f32], rms: f32) {
    let p = x.iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>() / x.len().max(1) as f64;
    if p > 0.0 {
        let g = rms / (p.sqrt() as f32);
        x.iter_mut().for_each(|v| *v *= g);
    }
}

/// An additive note: `harmonics` partials falling as 1/k^1.3.
struct Note {
    freq: f32,
    amp: f32,
    harmonics: usize,
    /// Attack and decay times in seconds.
    attack: f32,
    decay: f32,
}

fn add_note(out: &mut [f32], fs: f32, start: usize, len: usize, note: Note) {
    let Note {
        freq,
        amp,
        harmonics,
        attack,
        decay,
    } = note;
    let end = (start + len).min(out.len());
    if start >= end {
        return;
    }
    let mut oscs: Vec<(Osc, f32)> = (1..=harmonics)
        .filter(|&k| freq * (k as f32) < 0.45 * fs)
        .map(|k| {
            (
                Osc::new(freq * k as f32, fs, 0),
                1.0 / libm::powf(k as f32, 1.3),
            )
        })
        .collect();
    let attack_n = (attack * fs).max(1.0);
    let decay_k = libm::expf(-1.0 / (decay * fs).max(1.0));
    let release_n = (0.03 * fs).min(len as f32 / 2.0).max(1.0);
    let mut env_decay = 1.0f32;
    for (i, o) in out[start..end].iter_mut().enumerate() {
        let t = i as f32;
        let a = (t / attack_n).min(1.0);
        let r = ((len - i) as f32 / release_n).min(1.0);
        env_decay *= decay_k;
        let env = amp * a * r * (0.35 + 0.65 * env_decay);
        let mut s = 0.0;
        for (osc, g) in oscs.iter_mut() {
            s += *g * osc.next();
        }
        *o += env * s;
    }
}

/// Music-like: chords, melody, bass, kick, snare, hi-hats; −1 dBFS peak.
pub fn music(fs: f32, n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let mut out = vec![0.0f32; n];
    let bpm = r.range(80.0, 140.0);
    let beat = (60.0 / bpm * fs) as usize;
    let root = r.range(98.0, 196.0);
    let scale = [0, 2, 4, 7, 9, 12, 14, 16, 19, 21];
    let note = |deg: usize, octave: i32| {
        root * libm::powf(2.0, scale[deg % scale.len()] as f32 / 12.0 + octave as f32)
    };
    let mut hat_lp = [
        Biquad::lowpass(15_000.0, 0.54, fs),
        Biquad::lowpass(15_000.0, 1.31, fs),
    ];
    let mut hat_hp = Biquad::highpass(7_000.0, 0.7, fs);
    let mut snare_bp = Biquad::bandpass(1_800.0, 1.2, fs);
    let mut noise = Rng::new(seed ^ 0xABCD);
    let mut t = 0;
    let mut bar = 0;
    while t < n {
        let chord: Vec<usize> = (0..3 + r.below(2) as usize)
            .map(|_| r.below(10) as usize)
            .collect();
        for &deg in &chord {
            let n = Note {
                freq: note(deg, 1),
                amp: 0.08,
                harmonics: 6,
                attack: 0.03,
                decay: 1.5,
            };
            add_note(&mut out, fs, t, 4 * beat, n);
        }
        for b in 0..4 {
            let s = t + b * beat;
            let melody = Note {
                freq: note(r.below(10) as usize, 2),
                amp: 0.07,
                harmonics: 6,
                attack: 0.005,
                decay: 0.25,
            };
            add_note(&mut out, fs, s, beat, melody);
            if b % 2 == 0 {
                let bass = Note {
                    freq: note(chord[0], -1),
                    amp: 0.18,
                    harmonics: 3,
                    attack: 0.01,
                    decay: 0.6,
                };
                add_note(&mut out, fs, s, 2 * beat, bass);
                // Kick: falling sine.
                let mut ph = 0.0f32;
                for i in 0..((0.25 * fs) as usize).min(n.saturating_sub(s)) {
                    let tt = i as f32 / fs;
                    let f = 45.0 + 110.0 * libm::expf(-tt / 0.04);
                    ph += TAU * f / fs;
                    out[s + i] += 0.5 * libm::expf(-tt / 0.12) * libm::sinf(ph);
                }
            } else {
                for i in 0..((0.2 * fs) as usize).min(n.saturating_sub(s)) {
                    let tt = i as f32 / fs;
                    let v = snare_bp.process(noise.gaussian());
                    out[s + i] += 0.35 * libm::expf(-tt / 0.06) * v;
                }
            }
            for h in 0..2 {
                let hs = s + h * beat / 2;
                for i in 0..((0.08 * fs) as usize).min(n.saturating_sub(hs)) {
                    let tt = i as f32 / fs;
                    let mut v = hat_hp.process(noise.gaussian());
                    for f in hat_lp.iter_mut() {
                        v = f.process(v);
                    }
                    out[hs + i] += 0.12 * libm::expf(-tt / 0.02) * v;
                }
            }
        }
        t += 4 * beat;
        bar += 1;
    }
    let _ = bar;
    normalize_peak(&mut out, 0.89);
    out
}

/// Speech-like: glottal pulses through moving formants, fricatives, pauses.
pub fn speech(fs: f32, n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let mut out = vec![0.0f32; n];
    let mut formants = [
        Biquad::bandpass(500.0, 6.0, fs),
        Biquad::bandpass(1500.0, 8.0, fs),
        Biquad::bandpass(2500.0, 10.0, fs),
    ];
    let mut tilt = [Biquad::lowpass(800.0, 0.7, fs)];
    let mut fric = Biquad::bandpass(5_500.0, 2.0, fs);
    let mut noise = Rng::new(seed ^ 0x5EEC);
    let voice_f0 = r.range(95.0, 210.0);
    let mut t = 0usize;
    let mut glottal = 0.0f32;
    while t < n {
        // A syllable, then maybe a pause.
        let len = (r.range(0.12, 0.32) * fs) as usize;
        let targets = [
            r.range(280.0, 850.0),
            r.range(850.0, 2300.0),
            r.range(2300.0, 3200.0),
        ];
        for (f, &target) in formants.iter_mut().zip(&targets) {
            f.retune(Biquad::bandpass(target, 7.0, fs));
        }
        let fricative = r.uniform() < 0.3;
        let f0 = voice_f0 * r.range(0.85, 1.2);
        let end = (t + len).min(n);
        for (i, o) in out[t..end].iter_mut().enumerate() {
            let pos = i as f32 / len as f32;
            let env = libm::sinf(PI * pos);
            let f = f0 * (1.0 + 0.1 * (pos - 0.5));
            glottal += f / fs;
            let pulse = if glottal >= 1.0 {
                glottal -= 1.0;
                1.0
            } else {
                0.0
            };
            let mut src = tilt[0].process(pulse * 8.0);
            if fricative {
                src = 0.3 * src + fric.process(noise.gaussian()) * 0.8;
            }
            let v: f32 = formants.iter_mut().map(|f| f.process(src)).sum();
            *o = env * v;
        }
        t = end;
        if r.uniform() < 0.35 {
            t += (r.range(0.05, 0.5) * fs) as usize;
        }
    }
    normalize_peak(&mut out, 0.7);
    out
}

/// Steady and gliding tones across the audible band.
pub fn tones(fs: f32, n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let mut oscs: Vec<Osc> = (0..5)
        .map(|_| {
            Osc::new(
                libm::expf(r.range(libm::logf(60.0), libm::logf(15_000.0))),
                fs,
                r.next_u64() as u32,
            )
        })
        .collect();
    (0..n)
        .map(|_| 0.15 * oscs.iter_mut().map(|o| o.next()).sum::<f32>())
        .collect()
}

/// Logarithmic sweeps 20 Hz → 0.48·fs, 8 s each, at −6 dBFS.
pub fn sweep(fs: f32, n: usize) -> Vec<f32> {
    let period = (8.0 * fs) as usize;
    let (f0, f1) = (20.0f32, 0.48 * fs);
    let k = libm::logf(f1 / f0);
    let mut glide = Glide::default();
    (0..n)
        .map(|i| {
            let t = (i % period) as f32 / period as f32;
            0.5 * glide.next(f0 * libm::expf(k * t), fs)
        })
        .collect()
}

/// Short linear chirps in random bands, many of them above 15 kHz.
pub fn chirps(fs: f32, n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let mut out = vec![0.0f32; n];
    let mut t = 0;
    while t < n {
        let len = (r.range(0.02, 0.4) * fs) as usize;
        let lo = r.range(200.0, 0.45 * fs - 1000.0);
        let hi = r.range(lo, 0.46 * fs);
        let (a, b) = if r.uniform() < 0.5 {
            (lo, hi)
        } else {
            (hi, lo)
        };
        let amp = r.range(0.05, 0.5);
        let mut glide = Glide::default();
        for i in 0..len.min(n - t) {
            let x = i as f32 / len as f32;
            let env = libm::sinf(PI * x);
            out[t + i] += amp * env * glide.next(a + (b - a) * x, fs);
        }
        t += len + (r.range(0.0, 0.5) * fs) as usize;
    }
    out
}

/// Tones between 18 kHz and just below Nyquist: steady, pulsed, amplitude-modulated.
pub fn ultrasonic_tones(fs: f32, n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let top = (0.49 * fs).min(23_500.0);
    let mut voices: Vec<(Osc, Osc, f32, f32)> = (0..4)
        .map(|_| {
            (
                Osc::new(r.range(18_000.0, top), fs, r.next_u64() as u32),
                Osc::new(r.range(0.2, 40.0), fs, 0),
                r.range(0.01, 0.2),
                r.uniform(),
            )
        })
        .collect();
    (0..n)
        .map(|_| {
            voices
                .iter_mut()
                .map(|(c, m, a, mode)| {
                    let mv = m.next();
                    let env = if *mode < 0.33 {
                        1.0
                    } else if *mode < 0.66 {
                        if mv > 0.0 {
                            1.0
                        } else {
                            0.0
                        }
                    } else {
                        0.5 + 0.5 * mv
                    };
                    *a * env * c.next()
                })
                .sum()
        })
        .collect()
}

/// Other data-over-sound signals: 2/4-FSK beacons and MSK bursts with random
/// data, some exactly at hushmark's carriers (18.7, 20.5, 21 kHz) and symbol
/// rates, with smooth on/off ramps.
pub fn data_over_sound(fs: f32, n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let mut out = vec![0.0f32; n];
    let mut t = (r.range(0.0, 0.3) * fs) as usize;
    let top = (0.47 * fs).min(22_000.0);
    while t < n {
        let msk = r.uniform() < 0.5;
        let (centre, rate) = if msk {
            let c =
                [18_700.0, 20_500.0, 21_000.0, r.range(18_000.0, top - 600.0)][r.below(4) as usize];
            (
                c.min(top - 600.0),
                [300.0, 600.0, 800.0, 1200.0][r.below(4) as usize],
            )
        } else {
            (
                r.range(18_000.0, top - 1000.0),
                [50.0, 100.0, 250.0, 500.0][r.below(4) as usize],
            )
        };
        let levels = if msk { 2 } else { 2 + 2 * r.below(2) as usize };
        let spacing = if msk {
            rate / 2.0
        } else {
            r.range(100.0, 400.0)
        };
        let len = (r.range(0.2, 2.0) * fs) as usize;
        let amp = r.range(0.005, 0.1);
        let sps = fs / rate;
        let ramp = (0.01 * fs) as usize;
        let mut glide = Glide::default();
        let mut sym = 0usize;
        let mut level = 0usize;
        for i in 0..len.min(n - t) {
            let s = (i as f32 / sps) as usize;
            if s != sym || i == 0 {
                sym = s;
                level = r.below(levels as u64) as usize;
            }
            let f = centre + spacing * (level as f32 - (levels as f32 - 1.0) / 2.0);
            let e = (i.min(len - i) as f32 / ramp as f32).min(1.0);
            let env = 0.5 - 0.5 * libm::cosf(PI * e);
            out[t + i] += amp * env * glide.next(f, fs);
        }
        t += len + (r.range(0.05, 1.5) * fs) as usize;
    }
    out
}

/// Music plus cymbal-like noise with strong energy from 16 kHz to Nyquist.
pub fn hf_rich(fs: f32, n: usize, seed: u64) -> Vec<f32> {
    let mut x = music(fs, n, seed);
    let mut hp = [
        Biquad::highpass(16_000.0, 0.54, fs),
        Biquad::highpass(16_000.0, 1.31, fs),
    ];
    let mut noise = Rng::new(seed ^ 0xC1A5);
    let mut env = 0.0f32;
    let mut r = Rng::new(seed ^ 0x77);
    for v in x.iter_mut() {
        if r.uniform() < 4.0 / fs {
            env = 1.0;
        }
        env *= 0.99995;
        let mut s = noise.gaussian();
        for f in hp.iter_mut() {
            s = f.process(s);
        }
        *v += (0.02 + 0.15 * env) * s;
    }
    normalize_peak(&mut x, 0.89);
    x
}

/// Music with a 40 Hz tone, soft-limited so peaks sit at 0.995 of full scale.
pub fn near_full_scale(fs: f32, n: usize, seed: u64) -> Vec<f32> {
    let mut x = music(fs, n, seed);
    let mut bass = Osc::new(40.0, fs, 0);
    for v in x.iter_mut() {
        let s = 0.9 * *v + 0.7 * bass.next();
        *v = libm::tanhf(1.6 * s);
    }
    normalize_peak(&mut x, 0.995);
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_finite_and_in_range_and_repeatable() {
        for kind in Kind::ALL {
            let a = generate(kind, 48_000, 48_000, 3);
            let b = generate(kind, 48_000, 48_000, 3);
            assert_eq!(a, b, "{kind:?} not repeatable");
            assert!(
                a.iter().all(|v| v.is_finite() && v.abs() <= 1.0),
                "{kind:?} out of range"
            );
            if kind != Kind::Silence {
                assert!(a.iter().any(|&v| v != 0.0), "{kind:?} silent");
            }
        }
    }

    #[test]
    fn near_full_scale_is_near_full_scale() {
        let x = near_full_scale(48_000.0, 96_000, 1);
        let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak > 0.99 && peak <= 0.995 + 1e-6, "{peak}");
    }
}
