//! Detection on a stream at any rate: the part `detect`, `monitor`, `listen`
//! and `inspect` share.
//!
//! Input is interleaved `f32` at the source's rate. Channels are averaged to
//! mono here, exactly as the engine would sum its searched channels
//! (non-finite samples count as silence), so one path serves every channel
//! count and resampling costs one channel. Each profile searched is a
//! *lane*: its own detector, behind its own resampler when the source rate is
//! not one the profile runs at (the robust layer runs at 48 kHz only). What
//! the lanes report comes back as [`Report`]s with times in seconds of the
//! source (resampler delay already removed): marks found, and the robust
//! layer's per-second verdicts on the IDs it knows (decoded, or issued and
//! given with `--expect`).
//!
//! Live sources are reopened when their device returns, perhaps at another
//! rate or channel count: [`start_live`] makes the scanner at the first
//! start and afterwards restarts it only if the format changed
//! ([`Scanner::restart_if_changed`]), so frames are always split by the
//! count they have and stream time runs on.

use std::collections::VecDeque;

use anyhow::{bail, Result};
use dsp_core::config::MAX_CHANNELS;
use dsp_core::vouch::Vouching;
use dsp_core::{
    robust, Collision, ConfigError, DetectConfig, Detection, Detector, Event, Id, Key, Layer, Phy,
    Presence, Profile, Profiles,
};

use crate::audio::resample::StreamResampler;
use crate::cli::SearchArg;
use crate::rates::{self, RatePlan};

/// What to search for: the key, the profiles and the issued IDs to confirm.
#[derive(Debug, Clone)]
pub struct Search {
    pub key: Key,
    pub profiles: Vec<Profile>,
    pub expected: Vec<Id>,
    /// Playback speeds searched besides 1 (`--speed-search`).
    pub speeds: Vec<f64>,
    /// Report ultrasonic bursts lifted from another programme as
    /// transplanted (`--check-binding`).
    pub check_binding: bool,
}

/// `--speed-search`: speeds from −2 % to +2 % in steps of 0.4 %. Each
/// detector holds a mark over ±0.2 % of speed, so the steps leave no gap.
pub const SPEED_STEP: f64 = 0.004;
pub const SPEED_STEPS: i32 = 5;

/// The speeds `--speed-search` adds (1 itself is always searched).
pub fn searched_speeds() -> Vec<f64> {
    (-SPEED_STEPS..=SPEED_STEPS)
        .filter(|&k| k != 0)
        .map(|k| 1.0 + k as f64 * SPEED_STEP)
        .collect()
}

impl Search {
    /// From `--profile` and `--expect`.
    pub fn from_args(args: &SearchArg, key: Key) -> Result<Search> {
        let profiles = args.profiles();
        let expected = match &args.expect {
            Some(path) => {
                if !profiles.contains(&Profile::Robust) {
                    bail!(
                        "--expect confirms IDs in the robust layer: search it too \
                         (--profile robust, ultrasonic+robust or all)"
                    );
                }
                crate::id::load_expected(path)?
            }
            None => Vec::new(),
        };
        Ok(Search {
            key,
            check_binding: args.check_binding_for(&profiles),
            profiles,
            expected,
            speeds: if args.speed_search {
                searched_speeds()
            } else {
                Vec::new()
            },
        })
    }

    /// Just `profiles`, nothing expected.
    pub fn new(key: Key, profiles: &[Profile]) -> Search {
        Search {
            key,
            profiles: profiles.to_vec(),
            expected: Vec::new(),
            speeds: Vec::new(),
            check_binding: false,
        }
    }
}

/// What a scanner reports.
#[derive(Debug, Clone, Copy)]
pub enum Report {
    /// A mark read and authenticated.
    Found(Found),
    /// The robust layer's verdict on a known ID for about one second.
    Verdict(Verdict),
    /// Marks there but unreadable: differently marked copies mixed.
    Colliding(Colliding),
    /// An ultrasonic burst read, lifted from another programme: never an
    /// airing of its ID.
    Transplanted(Transplanted),
}

impl Report {
    /// Stream time it refers to (its start), for ordering.
    pub fn start_s(&self) -> f64 {
        match self {
            Report::Found(f) => f.start_s,
            Report::Verdict(v) => v.start_s,
            Report::Colliding(c) => c.start_s,
            Report::Transplanted(t) => t.found.start_s,
        }
    }
}

/// A run of unreadable marks (see [`Collision`]) on the source's clock.
#[derive(Debug, Clone, Copy)]
pub struct Colliding {
    pub collision: Collision,
    /// Start of the run's first unreadable mark and end of its latest.
    pub start_s: f64,
    pub end_s: f64,
    /// Start as a frame index at the source's rate.
    pub start_frame: u64,
}

/// A burst whose programme fingerprint is another programme's (see
/// [`Transplant`](dsp_core::Transplant)), with its times as found.
#[derive(Debug, Clone, Copy)]
pub struct Transplanted {
    pub found: Found,
    pub check: dsp_core::binding::BindCheck,
}

/// One window's presence (or absence) of a known ID, on the source's clock.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    pub presence: Presence,
    pub start_s: f64,
    pub end_s: f64,
    /// Start as a frame index at the source's rate.
    pub start_frame: u64,
}

/// A mark found (an ultrasonic burst or a robust period), with its times on
/// the source's clock.
#[derive(Debug, Clone, Copy)]
pub struct Found {
    pub detection: Detection,
    /// Start of the burst (robust: of the period) in seconds since the
    /// stream's first sample.
    pub start_s: f64,
    /// End of the burst or period.
    pub end_s: f64,
    /// Start as a frame index at the source's rate.
    pub start_frame: u64,
    /// The playback speed of the copy against the marked original (1 unless
    /// `--speed-search` found it played faster or slower).
    pub speed: f64,
}

impl Found {
    /// Link margin in 0..=1: in-band SNR from -10 dB (0) to +10 dB (1).
    pub fn confidence(&self) -> f64 {
        ((self.detection.snr_db as f64 + 10.0) / 20.0).clamp(0.0, 1.0)
    }
}

struct Lane {
    /// The rate the resampler takes the source as: the source's own, or for a
    /// speed lane the rate that plays it back at the original speed.
    from: u32,
    resampler: Option<StreamResampler>,
    scratch: Vec<f32>,
    engine: Engine,
}

/// A detector and its clock.
struct Engine {
    profile: Profile,
    detector: Box<Detector>,
    rate: u32,
    /// Frames given to the detector (at the engine rate).
    fed: u64,
    /// Speed searched (1: the copy as it is). Speed lanes report marks
    /// read only, and only those no other lane reported.
    speed: f64,
}

pub struct Scanner {
    /// What it was made for, to remake it in another format.
    search: Search,
    lanes: Vec<Lane>,
    channels: usize,
    rate: u32,
    mono: Vec<f32>,
    /// Frames consumed (source rate), gaps included.
    position: u64,
    /// The latest marks read (ID, profile, start), with speed lanes only.
    read: VecDeque<(Id, Profile, f64)>,
    /// Both layers searched, bindings checked: disagreeing bursts wait for
    /// the robust layer's word ([`dsp_core::vouch`]), on a clock of
    /// [`robust::STREAM_RATE`] samples.
    vouching: Option<Vouching<Transplanted>>,
}

/// Marks remembered to drop second readings from other speed lanes.
const READ_MEMORY: usize = 64;

/// Check a channel count against what the engine supports.
pub fn check_channels(channels: usize) -> Result<()> {
    if channels == 0 || channels > MAX_CHANNELS as usize {
        let channels = channels.min(u16::MAX as usize) as u16;
        bail!("{}", ConfigError::ChannelCount { channels });
    }
    Ok(())
}

impl Scanner {
    /// A scanner for `search` on a stream of `rate` Hz and `channels`.
    /// Returns the notes worth telling the user (resampling, skipped profiles).
    pub fn new(search: &Search, rate: u32, channels: usize) -> Result<(Scanner, Vec<String>)> {
        check_channels(channels)?;
        let profiles = &search.profiles;
        let mut notes = Vec::new();
        let mut lanes = Vec::new();
        let mut first_error = None;
        for &profile in profiles {
            let plan = match rates::plan(profile, rate) {
                Ok(p) => p,
                Err(e) => {
                    if profiles.len() > 1 {
                        notes.push(format!("not searching profile {profile}: {e}"));
                    }
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let engine_rate = plan.engine_rate();
            let resampler = match plan {
                RatePlan::Direct(_) => None,
                RatePlan::Resample { from, to } => {
                    notes.push(match profile.layer() {
                        Layer::Robust => format!(
                            "the robust layer runs at {to} Hz; resampling {from} Hz to {to} Hz (rubato) for it"
                        ),
                        Layer::Ultrasonic => format!(
                            "{from} Hz is not a rate the detector runs at; resampling to {to} Hz (rubato) for profile {profile}"
                        ),
                    });
                    Some(StreamResampler::new(from, to, 1)?)
                }
            };
            tracing::debug!("searching profile {profile} at {engine_rate} Hz ({rate} Hz in)");
            lanes.push(Lane {
                from: rate,
                resampler,
                scratch: Vec::new(),
                engine: Engine::new(search, profile, engine_rate, 1.0)?,
            });
            for &speed in &search.speeds {
                // Taken as this rate, a copy played `speed` times fast plays
                // at the original speed again.
                let from = (rate as f64 / speed).round() as u32;
                lanes.push(Lane {
                    from,
                    resampler: Some(StreamResampler::new(from, engine_rate, 1)?),
                    scratch: Vec::new(),
                    engine: Engine::new(search, profile, engine_rate, speed)?,
                });
            }
        }
        if !search.speeds.is_empty() {
            notes.push(format!(
                "searching speeds {:+.1} % to {:+.1} % too ({} more detector(s))",
                -(SPEED_STEPS as f64) * SPEED_STEP * 100.0,
                SPEED_STEPS as f64 * SPEED_STEP * 100.0,
                lanes.len() - lanes.iter().filter(|l| l.engine.speed == 1.0).count()
            ));
        }
        if lanes.is_empty() {
            return Err(first_error.unwrap_or_else(|| anyhow::anyhow!("no profile to search")));
        }
        let main = |layer: Layer| {
            lanes
                .iter()
                .any(|l| l.engine.speed == 1.0 && l.engine.profile.layer() == layer)
        };
        let vouching = (search.check_binding && main(Layer::Ultrasonic) && main(Layer::Robust))
            .then(|| {
                let mut v = Vouching::new();
                let latency = lanes
                    .iter()
                    .find_map(|l| l.engine.detector.robust())
                    .map_or(0, |r| r.latency_samples());
                v.configure(robust::STREAM_RATE, latency);
                v
            });
        Ok((
            Scanner {
                search: search.clone(),
                lanes,
                channels,
                rate,
                mono: Vec::new(),
                position: 0,
                read: VecDeque::new(),
                vouching,
            },
            notes,
        ))
    }

    /// A live source came back at `rate` Hz with `channels` (a device
    /// reopened): if either changed, decode what is pending in the old format
    /// (bursts go to `found`) and carry on in the new one, stream time
    /// running on. Returns the new format's notes if it restarted.
    pub fn restart_if_changed(
        &mut self,
        rate: u32,
        channels: usize,
        found: &mut Vec<Report>,
    ) -> Result<Option<Vec<String>>> {
        if (rate, channels) == (self.rate, self.channels) {
            return Ok(None);
        }
        let (mut next, notes) = Scanner::new(&self.search, rate, channels)?;
        self.finish(found)?;
        next.position = (self.position_s() * rate as f64).round() as u64;
        next.sync_lanes();
        *self = next;
        Ok(Some(notes))
    }

    /// Seconds of stream consumed.
    pub fn position_s(&self) -> f64 {
        self.position as f64 / self.rate as f64
    }

    /// Worst-case delay between a burst's end and its report, in seconds.
    pub fn latency_s(&self) -> f64 {
        let hold = self.vouching.as_ref().map_or(0.0, |v| {
            v.hold_samples() as f64 / robust::STREAM_RATE as f64 + 0.05
        });
        self.lanes
            .iter()
            .map(|l| l.engine.detector.latency_samples() as f64 / l.engine.rate as f64 + 0.05)
            .fold(hold, f64::max)
    }

    /// The profiles actually searched.
    pub fn profiles(&self) -> Vec<Profile> {
        self.lanes
            .iter()
            .filter(|l| l.engine.speed == 1.0)
            .map(|l| l.engine.profile)
            .collect()
    }

    /// Feed interleaved samples; bursts found are appended to `found`.
    pub fn push(&mut self, interleaved: &[f32], found: &mut Vec<Report>) -> Result<()> {
        let ch = self.channels;
        let gain = 1.0 / ch as f32;
        self.mono.clear();
        self.mono.extend(interleaved.chunks_exact(ch).map(|frame| {
            let sum: f32 = frame
                .iter()
                .map(|&v| {
                    if v.is_finite() {
                        v.clamp(-64.0, 64.0)
                    } else {
                        0.0
                    }
                })
                .sum();
            sum * gain
        }));
        self.position += self.mono.len() as u64;
        let rate = self.rate;
        let first = found.len();
        for lane in &mut self.lanes {
            let input: &[f32] = match lane.resampler.as_mut() {
                Some(r) => {
                    lane.scratch.clear();
                    r.push(&self.mono, &mut lane.scratch)?;
                    &lane.scratch
                }
                None => &self.mono,
            };
            lane.engine.feed(input, rate, found)?;
        }
        self.keep_first_reading(found, first);
        self.vouch(found, first, false);
        Ok(())
    }

    /// Both layers, bindings checked: hold the main ultrasonic lane's
    /// disagreeing bursts among `found[first..]`, let the robust lane's
    /// reports of an ID's presence vouch for them, and report those whose
    /// wait is over (at the stream's `end`, all).
    fn vouch(&mut self, found: &mut Vec<Report>, first: usize, end: bool) {
        let Some(v) = self.vouching.as_mut() else {
            return;
        };
        let at = |s: f64| (s.max(0.0) * robust::STREAM_RATE as f64).round() as u64;
        let mut i = first;
        while i < found.len() {
            match found[i] {
                Report::Transplanted(t) if t.found.speed == 1.0 => {
                    found.remove(i);
                    let id = t.found.detection.id;
                    if let Some(old) = v.hold(t, id, at(t.found.start_s), at(t.found.end_s)) {
                        found.push(Report::Transplanted(old));
                    }
                    continue;
                }
                // The robust lane's samples are this clock's.
                Report::Found(f) if f.speed == 1.0 => v.vouch_for(&Event::Detection(f.detection)),
                Report::Verdict(r) => v.vouch_for(&Event::Presence(r.presence)),
                _ => {}
            }
            i += 1;
        }
        for lane in self.lanes.iter_mut().filter(|l| l.engine.speed == 1.0) {
            if let Some(r) = lane.engine.detector.robust_mut() {
                v.expect_held(r);
            }
        }
        let now = (!end).then(|| at(self.position as f64 / self.rate as f64));
        v.release(now, |t, vouched| {
            found.push(if vouched {
                Report::Found(t.found)
            } else {
                Report::Transplanted(t)
            })
        });
    }

    /// With speed lanes, one mark can be read by two of them: keep the
    /// first reading (same ID and profile within half a second), drop the
    /// rest.
    fn keep_first_reading(&mut self, found: &mut Vec<Report>, first: usize) {
        if self.search.speeds.is_empty() {
            return;
        }
        let mut i = first;
        while i < found.len() {
            if let Report::Found(f) = found[i] {
                let d = f.detection;
                let again = |&(id, p, t): &(Id, Profile, f64)| {
                    id == d.id && p == d.profile && (t - f.start_s).abs() < 0.5
                };
                if self.read.iter().any(again) {
                    found.remove(i);
                    continue;
                }
                if self.read.len() == READ_MEMORY {
                    self.read.pop_front();
                }
                self.read.push_back((d.id, d.profile, f.start_s));
            }
            i += 1;
        }
    }

    /// Samples were lost (a dropped buffer, a device that went away): the
    /// stream continues `frames` later. Pending bursts are decoded with what
    /// arrived and the detectors start afresh.
    pub fn skip(&mut self, frames: u64, found: &mut Vec<Report>) -> Result<()> {
        self.position += frames;
        let first = found.len();
        self.drain(found, true)?;
        self.vouch(found, first, false);
        self.sync_lanes();
        Ok(())
    }

    /// Set every detector's clock to the stream position.
    fn sync_lanes(&mut self) {
        for lane in &mut self.lanes {
            lane.engine.fed =
                (self.position as f64 * lane.engine.rate as f64 / lane.from as f64).round() as u64;
        }
    }

    /// Decode what is pending in every lane: the resamplers' tails first.
    /// With `restart`, each resampler starts afresh for audio that follows.
    fn drain(&mut self, found: &mut Vec<Report>, restart: bool) -> Result<()> {
        let rate = self.rate;
        let first = found.len();
        for lane in &mut self.lanes {
            if let Some(r) = lane.resampler.as_mut() {
                lane.scratch.clear();
                r.finish(&mut lane.scratch)?;
                lane.engine.feed(&lane.scratch, rate, found)?;
                if restart {
                    *r = StreamResampler::new(lane.from, lane.engine.rate, 1)?;
                }
            }
            lane.engine.finish(rate, found);
        }
        self.keep_first_reading(found, first);
        Ok(())
    }

    /// End of stream: decode whatever is pending.
    pub fn finish(&mut self, found: &mut Vec<Report>) -> Result<()> {
        let first = found.len();
        self.drain(found, false)?;
        self.vouch(found, first, true);
        found.sort_by(|a, b| a.start_s().total_cmp(&b.start_s()));
        Ok(())
    }

    /// The robust lane's mark strength per frame under its lock (see
    /// [`robust::Detector::strengths`]): (stream sample at
    /// [`robust::STREAM_RATE`], strength). Returns how many of `out` it wrote.
    pub fn robust_strengths(&self, out: &mut [(u64, f32)]) -> usize {
        self.lanes
            .iter()
            .find_map(|l| l.engine.detector.robust())
            .map_or(0, |r| r.strengths(out))
    }
}

impl Engine {
    /// A detector of `profile` at `rate` for `search`, on a copy played at
    /// `speed`.
    fn new(search: &Search, profile: Profile, rate: u32, speed: f64) -> Result<Engine> {
        let mut config = DetectConfig::new(search.key);
        config.sample_rate = rate;
        config.channels = 1;
        config.profiles = Profiles::only(profile);
        config.check_binding = search.check_binding;
        // Built and configured on the heap: both layers take ~130 KiB, more
        // than a few moves through a small (test or worker) thread stack allow.
        let mut detector = Box::new(Detector::unconfigured());
        detector.configure(&config)?;
        if let Some(r) = detector.robust_mut() {
            // Speed lanes only read marks; presence is the main lane's.
            if speed == 1.0 {
                for id in &search.expected {
                    if !r.expect(id) {
                        bail!(
                            "the robust layer confirms at most {} IDs at once",
                            robust::MAX_KNOWN
                        );
                    }
                }
            }
        }
        Ok(Engine {
            profile,
            detector,
            rate,
            fed: 0,
            speed,
        })
    }

    fn feed(&mut self, input: &[f32], source_rate: u32, found: &mut Vec<Report>) -> Result<()> {
        if input.is_empty() {
            return Ok(());
        }
        let (rate, speed) = (self.rate, self.speed);
        self.detector.process(self.fed, input, |e| {
            found.extend(report(e, rate, source_rate, speed))
        })?;
        self.fed += input.len() as u64;
        Ok(())
    }

    fn finish(&mut self, source_rate: u32, found: &mut Vec<Report>) {
        let (rate, speed) = (self.rate, self.speed);
        self.detector
            .finish(|e| found.extend(report(e, rate, source_rate, speed)));
    }
}

/// The scanner of a live source: made at its first start; after a reopen
/// it carries on, restarted only if the format changed
/// ([`Scanner::restart_if_changed`]). Returns the notes worth telling.
pub fn start_live(
    scanner: &mut Option<Scanner>,
    search: &Search,
    rate: u32,
    channels: usize,
    found: &mut Vec<Report>,
) -> Result<Vec<String>> {
    match scanner {
        Some(s) => Ok(s
            .restart_if_changed(rate, channels, found)?
            .unwrap_or_default()),
        None => {
            let (s, notes) = Scanner::new(search, rate, channels)?;
            *scanner = Some(s);
            Ok(notes)
        }
    }
}

/// An engine event with its times on the source's clock (`engine_rate` is
/// the lane's: resampled lanes are time-aligned, so only the unit changes).
/// A lane at `speed` ≠ 1 reports marks read only, at the copy's times.
fn report(e: &Event, engine_rate: u32, source_rate: u32, speed: f64) -> Option<Report> {
    if speed != 1.0 && !matches!(e, Event::Detection(_) | Event::Transplant(_)) {
        return None;
    }
    let seconds = |sample: u64| sample as f64 / engine_rate as f64 / speed;
    let frame = |s: f64| (s * source_rate as f64).round() as u64;
    let found = |d: Detection| {
        let start_s = seconds(d.start_sample);
        Found {
            detection: d,
            start_s,
            end_s: start_s + mark_seconds(&d, engine_rate) / speed,
            start_frame: frame(start_s),
            speed,
        }
    };
    Some(match *e {
        Event::Detection(d) => Report::Found(found(d)),
        Event::Transplant(t) => Report::Transplanted(Transplanted {
            found: found(t.detection),
            check: t.check,
        }),
        Event::Presence(p) => {
            let start_s = seconds(p.start_sample);
            Report::Verdict(Verdict {
                presence: p,
                start_s,
                end_s: seconds(p.end_sample),
                start_frame: frame(start_s),
            })
        }
        Event::Collision(c) => {
            let start_s = seconds(c.start_sample);
            Report::Colliding(Colliding {
                collision: c,
                start_s,
                end_s: seconds(c.end_sample),
                start_frame: frame(start_s),
            })
        }
    })
}

/// How long a detection's mark lasts: its burst, or its robust period.
fn mark_seconds(d: &Detection, engine_rate: u32) -> f64 {
    match d.profile.layer() {
        Layer::Robust => robust::period_samples(d.id.class()) as f64 / robust::STREAM_RATE as f64,
        Layer::Ultrasonic => Phy::new(d.profile, engine_rate)
            .map(|phy| phy.burst_ms(d.id.class()) as f64 / 1000.0)
            .unwrap_or(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsp_core::{EmbedConfig, Embedder, Id, Schedule};

    #[test]
    fn a_source_back_with_other_channels_is_split_by_its_new_count() {
        let (key, rate) = (Key::PUBLIC_TEST, 48_000u32);
        let id = Id::from_hex("2a").unwrap();
        let (mut s, _) = Scanner::new(&Search::new(key, &[Profile::Ultrasonic]), rate, 2).unwrap();
        let mut found = Vec::new();
        // 1 s of stereo silence; then the device comes back mono.
        s.push(&vec![0.0; 2 * rate as usize], &mut found).unwrap();
        assert!(s.restart_if_changed(rate, 2, &mut found).unwrap().is_none());
        assert!(s.restart_if_changed(rate, 1, &mut found).unwrap().is_some());
        assert!((s.position_s() - 1.0).abs() < 1e-9);
        // Mono, with a burst 0.5 s in: found at 1.5 s of the stream only if
        // frames are now split one sample each.
        let mut config = EmbedConfig::new(id, key);
        config.channels = 1;
        config.schedule = Schedule::Interval {
            every_ms: 10_000,
            offset_ms: 500,
        };
        let mut mono = vec![0.0f32; 3 * rate as usize];
        Embedder::new(&config)
            .unwrap()
            .process(0, &mut mono)
            .unwrap();
        s.push(&mono, &mut found).unwrap();
        s.finish(&mut found).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let Report::Found(f) = found[0] else {
            panic!("{found:?}")
        };
        assert_eq!(f.detection.id, id);
        assert!((f.start_s - 1.5).abs() < 0.01, "{}", f.start_s);
    }
}
