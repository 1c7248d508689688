//! Per-stream alarms: silence, and a mark that should be there and is not.
//!
//! The programme's level is measured below 8 kHz (a 4th-order Butterworth
//! low-pass), so the ultrasonic mark itself, 30 dB under full scale, never
//! counts as sound. One-second windows below `silence_db` for
//! `silence_after` seconds are `silence`; the first window above is
//! `sound`.
//!
//! A stream that should carry a mark (any ID, or one given ID) and has
//! carried none for `missing_after` seconds *of programme* raises
//! `mark_missing`; the next matching burst raises `mark_back`. Only time
//! with sound counts: silence and a dead stream (no audio at all) are
//! reported as themselves and pause the clock, they never look like a
//! missing mark.

use std::time::SystemTime;

use dsp_core::Id;

use super::Note;

/// What a stream should carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    AnyMark,
    Id(Id),
}

impl Expect {
    pub fn describe(&self) -> String {
        match self {
            Expect::AnyMark => "any".into(),
            Expect::Id(id) => id.to_string(),
        }
    }
}

/// Thresholds shared by every stream.
#[derive(Debug, Clone, Copy)]
pub struct WatchConfig {
    pub missing_after_s: f64,
    pub silence_db: f64,
    pub silence_after_s: f64,
}

/// A 2nd-order section (direct form II transposed).
#[derive(Debug, Clone, Copy, Default)]
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    z: [f64; 2],
}

impl Biquad {
    /// Butterworth low-pass section with quality `q` (bilinear transform).
    fn lowpass(rate: f64, cutoff: f64, q: f64) -> Biquad {
        let w = 2.0 * std::f64::consts::PI * cutoff / rate;
        let (s, c) = w.sin_cos();
        let alpha = s / (2.0 * q);
        let a0 = 1.0 + alpha;
        let b1 = (1.0 - c) / a0;
        Biquad {
            b: [b1 / 2.0, b1, b1 / 2.0],
            a: [-2.0 * c / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    fn run(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }
}

/// One stream's alarms.
#[derive(Debug)]
pub struct Watch {
    stream: String,
    expect: Option<Expect>,
    config: WatchConfig,
    filters: [Biquad; 2],
    rate: u32,
    /// The current window: sum of squares and frames.
    energy: f64,
    frames: u64,
    /// Stream second at which the current quiet run began.
    quiet_since: Option<(f64, SystemTime)>,
    silent: bool,
    /// Seconds of programme since the last matching burst.
    unmarked_s: f64,
    last_mark: Option<SystemTime>,
    missing_since: Option<SystemTime>,
}

impl Watch {
    pub fn new(stream: String, expect: Option<Expect>, config: WatchConfig) -> Watch {
        Watch {
            stream,
            expect,
            config,
            filters: [Biquad::default(); 2],
            rate: 0,
            energy: 0.0,
            frames: 0,
            quiet_since: None,
            silent: false,
            unmarked_s: 0.0,
            last_mark: None,
            missing_since: None,
        }
    }

    fn set_rate(&mut self, rate: u32) {
        if rate != self.rate {
            let r = rate as f64;
            // Q of a 4th-order Butterworth's two sections.
            self.filters = [
                Biquad::lowpass(r, 8_000.0, 0.541_196_1),
                Biquad::lowpass(r, 8_000.0, 1.306_563),
            ];
            self.rate = rate;
            self.energy = 0.0;
            self.frames = 0;
        }
    }

    /// Interleaved audio at `rate` that ends at stream second `end_s`;
    /// `wall` maps stream time to the clock. Notes raised go to `out`.
    pub fn audio(
        &mut self,
        block: &[f32],
        channels: usize,
        rate: u32,
        end_s: f64,
        wall: impl Fn(f64) -> SystemTime,
        out: &mut Vec<Note>,
    ) {
        if channels == 0 || rate == 0 {
            return;
        }
        self.set_rate(rate);
        let gain = 1.0 / channels as f64;
        let n = block.len() / channels;
        for (i, frame) in block.chunks_exact(channels).enumerate() {
            let x: f64 = frame
                .iter()
                .map(|&v| if v.is_finite() { v as f64 } else { 0.0 })
                .sum::<f64>()
                * gain;
            let v = self.filters[0].run(x);
            let y = self.filters[1].run(v);
            self.energy += y * y;
            self.frames += 1;
            if self.frames >= rate as u64 {
                let at = end_s - (n - 1 - i) as f64 / rate as f64;
                self.window(at, &wall, out);
            }
        }
    }

    /// One second of audio ended at stream second `at`.
    fn window(&mut self, at: f64, wall: &impl Fn(f64) -> SystemTime, out: &mut Vec<Note>) {
        let rms = (self.energy / self.frames.max(1) as f64).sqrt();
        // Digital silence reads -120 dBFS, not minus infinity.
        let level_db = 20.0 * rms.max(1e-6).log10();
        let seconds = self.frames as f64 / self.rate as f64;
        self.energy = 0.0;
        self.frames = 0;
        let start = at - seconds;
        if level_db < self.config.silence_db {
            let (since_s, since_wall) = *self.quiet_since.get_or_insert((start, wall(start)));
            if !self.silent && at - since_s >= self.config.silence_after_s {
                self.silent = true;
                // The quiet windows before this one were counted as programme.
                self.unmarked_s = (self.unmarked_s - (start - since_s)).max(0.0);
                out.push(Note::new("silence", &self.stream, since_wall).level(level_db));
            }
        } else {
            self.quiet_since = None;
            if self.silent {
                self.silent = false;
                out.push(Note::new("sound", &self.stream, wall(start)).level(level_db));
            }
        }
        if self.silent || self.expect.is_none() {
            return;
        }
        self.unmarked_s += seconds;
        if self.missing_since.is_none() && self.unmarked_s >= self.config.missing_after_s {
            let now = wall(at);
            self.missing_since = Some(now);
            let mut n = Note::new("mark_missing", &self.stream, now);
            n.expect = self.expect.map(|e| e.describe());
            n.last_mark_utc = self.last_mark.map(crate::airing::utc);
            n.missing_s = Some(self.unmarked_s.round() as u64);
            out.push(n);
        }
    }

    /// A burst of `id` that started at stream second `start_s`, found when
    /// the stream had reached `now_s`.
    pub fn burst(
        &mut self,
        id: Id,
        start_s: f64,
        now_s: f64,
        wall: SystemTime,
        out: &mut Vec<Note>,
    ) {
        let Some(expect) = self.expect else { return };
        if matches!(expect, Expect::Id(want) if want != id) {
            return;
        }
        // Programme since this burst's start still counts towards the next alarm.
        self.unmarked_s = (now_s - start_s).max(0.0).min(self.unmarked_s);
        self.last_mark = Some(wall);
        if let Some(since) = self.missing_since.take() {
            let mut n = Note::new("mark_back", &self.stream, wall);
            n.id = Some(id.to_string());
            n.expect = Some(expect.describe());
            n.missing_s = Some(
                wall.duration_since(since).map(|d| d.as_secs()).unwrap_or(0)
                    + self.config.missing_after_s.round() as u64,
            );
            out.push(n);
        }
    }

    /// The stream died: a quiet run does not continue across the outage.
    pub fn down(&mut self) {
        self.quiet_since = None;
        self.energy = 0.0;
        self.frames = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(s: f64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_secs_f64(s)
    }

    fn config() -> WatchConfig {
        WatchConfig {
            missing_after_s: 10.0,
            silence_db: -50.0,
            silence_after_s: 3.0,
        }
    }

    /// Feed `seconds` of a tone at `freq` and `amp`, from stream second `from`.
    fn feed(w: &mut Watch, from: f64, seconds: f64, freq: f64, amp: f32) -> Vec<Note> {
        let mut out = Vec::new();
        let rate = 48_000u32;
        let block = 4_800;
        let total = (seconds * rate as f64) as usize;
        let mut k = 0;
        while k < total {
            let x: Vec<f32> = (k..k + block)
                .flat_map(|i| {
                    let t = (from * rate as f64 + i as f64) / rate as f64;
                    let v = amp * (2.0 * std::f64::consts::PI * freq * t).sin() as f32;
                    [v, v]
                })
                .collect();
            k += block;
            let end = from + k as f64 / rate as f64;
            w.audio(&x, 2, rate, end, t, &mut out);
        }
        out
    }

    fn events(notes: &[Note]) -> Vec<&str> {
        notes.iter().map(|n| n.event).collect()
    }

    #[test]
    fn silence_and_sound_are_reported_and_the_mark_band_is_not_sound() {
        let mut w = Watch::new("s".into(), None, config());
        assert!(feed(&mut w, 0.0, 5.0, 440.0, 0.3).is_empty());
        // A lone -30 dBFS tone at 20.5 kHz (a mark over silence) is silence.
        let quiet = feed(&mut w, 5.0, 5.0, 20_500.0, 0.0316);
        assert_eq!(events(&quiet), ["silence"]);
        assert_eq!(quiet[0].utc, crate::airing::utc(t(5.0)));
        let back = feed(&mut w, 10.0, 2.0, 440.0, 0.3);
        assert_eq!(events(&back), ["sound"]);
    }

    #[test]
    fn a_missing_mark_counts_programme_time_only() {
        let id = Id::from_hex("2a").unwrap();
        let mut w = Watch::new("s".into(), Some(Expect::Id(id)), config());
        assert!(feed(&mut w, 0.0, 6.0, 440.0, 0.3).is_empty());
        // 20 s of silence pause the clock: silence, not a missing mark.
        assert_eq!(events(&feed(&mut w, 6.0, 20.0, 440.0, 0.0)), ["silence"]);
        assert_eq!(events(&feed(&mut w, 26.0, 3.0, 440.0, 0.3)), ["sound"]);
        let n = feed(&mut w, 29.0, 3.0, 440.0, 0.3);
        assert_eq!(events(&n), ["mark_missing"]);
        assert_eq!(n[0].expect.as_deref(), Some("2a"));
        // Another ID does not satisfy it; the expected one does.
        let mut out = Vec::new();
        w.burst(Id::from_hex("2b").unwrap(), 31.0, 32.0, t(31.0), &mut out);
        assert!(out.is_empty());
        w.burst(id, 31.0, 32.0, t(31.0), &mut out);
        assert_eq!(events(&out), ["mark_back"]);
        assert_eq!(out[0].id.as_deref(), Some("2a"));
    }
}
