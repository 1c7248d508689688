//! Marks into airings: the as-aired log's unit.
//!
//! One airing is a run of marks of the same ID on the same stream,
//! whichever layers saw them: ultrasonic bursts, robust periods decoded and
//! the robust layer's per-second confirmations of a known ID all extend
//! it, and its record lists the profiles and layers that saw it. A stream
//! airs one ID at a time: a different ID closes the airing. It also ends
//! when nothing of it has started for `gap` seconds (checked against stream
//! time, allowing for the detector's reporting delay; a robust denial of
//! the ID needs no such allowance, since it says the mark was absent up to
//! its end), or when the stream ends. The gap never drops below 3.5 times
//! the interval actually seen between this airing's marks, so long
//! intervals do not split an airing.
//!
//! Times are kept to the nearest second: stream time in seconds since the
//! source started, wall time in UTC as RFC 3339. With the robust layer the
//! first and last seconds are its confirmations', so airings start and end
//! to the second.

use std::time::{Duration, SystemTime};

use dsp_core::{Id, Layer, Profile, Profiles};
use serde::Serialize;

/// One line of the as-aired log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AiringRecord {
    pub stream: String,
    pub id: String,
    /// Wall clock of the first mark's start.
    pub first_utc: String,
    /// Wall clock of the last mark's start.
    pub last_utc: String,
    /// Stream time of the first mark's start, to the nearest second.
    pub first_s: u64,
    /// Stream time of the last mark's start, to the nearest second.
    pub last_s: u64,
    /// Ultrasonic bursts.
    pub bursts: u32,
    /// The profiles that saw it, joined with `+`.
    pub profile: String,
    /// The layers that saw it (`ultrasonic`, `robust`).
    pub layers: Vec<&'static str>,
    /// Robust periods decoded.
    pub periods: u32,
    /// Seconds the robust layer confirmed it present.
    pub confirmed_s: u32,
    /// How it ended, when not by the programme: `agent_lost`, an airing
    /// still open when its agent died, recovered from the agent's
    /// checkpoint and ended at its last mark.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<&'static str>,
    /// The first burst exactly (not logged; the fleet's message ID): stream
    /// time in microseconds, finer than a sample, and the wall instant.
    #[serde(skip)]
    pub first_sample: u64,
    #[serde(skip)]
    pub first_wall: SystemTime,
}

impl AiringRecord {
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a record always serialises")
    }
}

#[derive(Debug, Clone)]
struct Open {
    id: Id,
    profiles: Profiles,
    first_s: f64,
    last_s: f64,
    first_wall: SystemTime,
    last_wall: SystemTime,
    bursts: u32,
    periods: u32,
    confirmed: u32,
}

impl Open {
    /// Marks of any kind so far, for the interval between them.
    fn marks(&self) -> u32 {
        self.bursts + self.periods + self.confirmed
    }

    fn count(&mut self, profile: Profile, confirmation: bool) {
        self.profiles = self.profiles.with(profile);
        match (profile.layer(), confirmation) {
            (_, true) => self.confirmed += 1,
            (Layer::Ultrasonic, false) => self.bursts += 1,
            (Layer::Robust, false) => self.periods += 1,
        }
    }
}

/// Tracks the airing in progress on one stream.
#[derive(Debug)]
pub struct AiringTracker {
    stream: String,
    gap_s: f64,
    latency_s: f64,
    open: Option<Open>,
    /// Bumped whenever the open airing changes, so a caller can tell
    /// cheaply when to checkpoint it.
    changes: u64,
}

/// UTC, RFC 3339, to the nearest second.
pub fn utc(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t + Duration::from_millis(500)).to_string()
}

impl AiringTracker {
    /// `gap_s`: silence that ends an airing; `latency_s`: how long after a
    /// burst starts its report can arrive.
    pub fn new(stream: impl Into<String>, gap_s: f64, latency_s: f64) -> AiringTracker {
        AiringTracker {
            stream: stream.into(),
            gap_s,
            latency_s,
            open: None,
            changes: 0,
        }
    }

    /// The detector's reporting delay changed (the source came back in
    /// another format).
    pub fn set_latency_s(&mut self, latency_s: f64) {
        self.latency_s = latency_s;
    }

    /// The ID currently airing, if any.
    pub fn current(&self) -> Option<Id> {
        self.open.as_ref().map(|o| o.id)
    }

    /// A mark of `id` (an ultrasonic burst, or a robust period) starting
    /// at stream time `start_s` (wall clock `wall`). Returns the airing it
    /// closed, if it closed one.
    pub fn burst(
        &mut self,
        id: Id,
        profile: Profile,
        start_s: f64,
        wall: SystemTime,
    ) -> Option<AiringRecord> {
        self.mark(id, profile, false, start_s, wall)
    }

    /// The robust layer's verdict on `id` for the window from `start_s` to
    /// `end_s`: present extends (or opens) its airing like a mark; absent
    /// closes it once the gap has passed since its last mark. Returns the
    /// airing it closed, if it closed one.
    pub fn presence(
        &mut self,
        id: Id,
        present: bool,
        start_s: f64,
        end_s: f64,
        wall: SystemTime,
    ) -> Option<AiringRecord> {
        if present {
            return self.mark(id, Profile::Robust, true, start_s, wall);
        }
        let open = self.open.as_ref()?;
        if open.id == id && end_s - open.last_s > effective_gap(self.gap_s, open) {
            return self.close();
        }
        None
    }

    fn mark(
        &mut self,
        id: Id,
        profile: Profile,
        confirmation: bool,
        start_s: f64,
        wall: SystemTime,
    ) -> Option<AiringRecord> {
        self.changes += 1;
        if let Some(open) = self.open.as_mut() {
            let same = open.id == id && start_s - open.last_s <= effective_gap(self.gap_s, open);
            if same {
                // Reports can arrive slightly out of order across profiles.
                if start_s >= open.last_s {
                    open.last_s = start_s;
                    open.last_wall = wall;
                }
                if start_s < open.first_s {
                    open.first_s = start_s;
                    open.first_wall = wall;
                }
                open.count(profile, confirmation);
                return None;
            }
        }
        let closed = self.close();
        let mut open = Open {
            id,
            profiles: Profiles::NONE,
            first_s: start_s,
            last_s: start_s,
            first_wall: wall,
            last_wall: wall,
            bursts: 0,
            periods: 0,
            confirmed: 0,
        };
        open.count(profile, confirmation);
        self.open = Some(open);
        closed
    }

    /// The stream has reached `now_s`: close the airing if its gap has passed.
    pub fn tick(&mut self, now_s: f64) -> Option<AiringRecord> {
        let open = self.open.as_ref()?;
        if now_s - self.latency_s - open.last_s > effective_gap(self.gap_s, open) {
            self.close()
        } else {
            None
        }
    }

    /// End of stream (or of the program): close whatever is open.
    pub fn close(&mut self) -> Option<AiringRecord> {
        let o = self.open.take()?;
        self.changes += 1;
        Some(self.record(&o))
    }

    /// The airing open now, as it would be closed now (for a checkpoint).
    pub fn snapshot(&self) -> Option<AiringRecord> {
        self.open.as_ref().map(|o| self.record(o))
    }

    /// A counter that moves whenever the open airing changes.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    fn record(&self, o: &Open) -> AiringRecord {
        AiringRecord {
            stream: self.stream.clone(),
            id: o.id.to_string(),
            first_utc: utc(o.first_wall),
            last_utc: utc(o.last_wall),
            first_s: o.first_s.max(0.0).round() as u64,
            last_s: o.last_s.max(0.0).round() as u64,
            bursts: o.bursts,
            profile: o.profiles.to_string(),
            layers: layers(o.profiles),
            periods: o.periods,
            confirmed_s: o.confirmed,
            ended: None,
            first_sample: (o.first_s.max(0.0) * 1e6).round() as u64,
            first_wall: o.first_wall,
        }
    }
}

/// The layers of a set of profiles, by name.
fn layers(profiles: Profiles) -> Vec<&'static str> {
    let mut v = Vec::new();
    if profiles.ultrasonic().is_some() {
        v.push("ultrasonic");
    }
    if profiles.robust() {
        v.push("robust");
    }
    v
}

/// The gap that ends `open`: at least 3.5 of the intervals seen so far.
fn effective_gap(gap_s: f64, open: &Open) -> f64 {
    let marks = open.marks();
    if marks >= 2 {
        let interval = (open.last_s - open.first_s) / (marks - 1) as f64;
        gap_s.max(3.5 * interval)
    } else {
        gap_s
    }
}

/// Wall clock of a stream instant, from one known (stream time, wall) pair.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    pub stream_s: f64,
    pub wall: SystemTime,
}

impl WallClock {
    pub fn at(&self, stream_s: f64) -> SystemTime {
        let d = stream_s - self.stream_s;
        if d >= 0.0 {
            self.wall + Duration::from_secs_f64(d)
        } else {
            self.wall
                .checked_sub(Duration::from_secs_f64(-d))
                .unwrap_or(SystemTime::UNIX_EPOCH)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(b: u8) -> Id {
        Id::new(&[b; 4]).unwrap()
    }

    fn t(s: f64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_secs_f64(s)
    }

    #[test]
    fn consecutive_bursts_make_one_airing() {
        let mut a = AiringTracker::new("s", 10.0, 1.0);
        for k in 0..5 {
            let s = 0.2 + 2.0 * k as f64;
            assert!(a.burst(id(1), Profile::Ultrasonic, s, t(s)).is_none());
            assert!(a.tick(s + 2.0).is_none());
        }
        let r = a.close().unwrap();
        assert_eq!((r.first_s, r.last_s, r.bursts), (0, 8, 5));
        assert_eq!(r.first_utc, "2023-11-14T22:13:20Z");
        assert_eq!(r.last_utc, "2023-11-14T22:13:28Z");
        assert!(a.close().is_none());
        assert!(a.snapshot().is_none());
    }

    #[test]
    fn a_snapshot_is_the_airing_as_it_would_close_now() {
        let mut a = AiringTracker::new("s", 10.0, 1.0);
        let c0 = a.changes();
        a.burst(id(1), Profile::Ultrasonic, 0.0, t(0.0));
        a.burst(id(1), Profile::Ultrasonic, 2.0, t(2.0));
        let snap = a.snapshot().unwrap();
        assert_ne!(a.changes(), c0);
        let c1 = a.changes();
        // A tick that closes nothing changes nothing.
        assert!(a.tick(3.0).is_none());
        assert_eq!(a.changes(), c1);
        assert_eq!(a.close().unwrap(), snap);
        assert_ne!(a.changes(), c1);
    }

    #[test]
    fn a_new_id_closes_the_airing() {
        let mut a = AiringTracker::new("s", 10.0, 1.0);
        a.burst(id(1), Profile::Ultrasonic, 0.0, t(0.0));
        a.burst(id(1), Profile::Ultrasonic, 2.0, t(2.0));
        let r = a.burst(id(2), Profile::Ultrasonic, 4.0, t(4.0)).unwrap();
        assert_eq!((r.id.as_str(), r.bursts, r.last_s), ("01010101", 2, 2));
        assert_eq!(a.current(), Some(id(2)));
    }

    #[test]
    fn silence_longer_than_the_gap_closes_it() {
        let mut a = AiringTracker::new("s", 10.0, 1.0);
        a.burst(id(1), Profile::Ultrasonic, 0.0, t(0.0));
        assert!(a.tick(10.5).is_none());
        let r = a.tick(11.5).unwrap();
        assert_eq!(r.bursts, 1);
        // The same ID later is a new airing.
        assert!(a.burst(id(1), Profile::Ultrasonic, 30.0, t(30.0)).is_none());
        assert_eq!(a.close().unwrap().first_s, 30);
    }

    #[test]
    fn both_layers_make_one_airing_to_the_second() {
        let mut a = AiringTracker::new("s", 10.0, 5.0);
        // Robust confirmations every second from 0 to 7 s, bursts at 0, 2, 4, 6
        // and a period decoded at 2.048 s.
        for k in 0..8 {
            let s = k as f64;
            assert!(a.presence(id(1), true, s, s + 0.99, t(s)).is_none());
            if k % 2 == 0 {
                assert!(a.burst(id(1), Profile::Ultrasonic, s, t(s)).is_none());
            }
        }
        assert!(a.burst(id(1), Profile::Robust, 2.048, t(2.048)).is_none());
        // Denials: the airing closes once the gap has passed since 7 s.
        for k in 8..17 {
            let s = k as f64;
            assert!(a.presence(id(1), false, s, s + 0.99, t(s)).is_none());
        }
        let r = a.presence(id(1), false, 17.0, 17.99, t(17.0)).unwrap();
        assert_eq!((r.first_s, r.last_s), (0, 7));
        assert_eq!((r.bursts, r.periods, r.confirmed_s), (4, 1, 8));
        assert_eq!(r.profile, "ultrasonic+robust");
        assert_eq!(r.layers, ["ultrasonic", "robust"]);
        assert!(a.current().is_none());
    }

    #[test]
    fn long_intervals_stretch_the_gap() {
        let mut a = AiringTracker::new("s", 10.0, 1.0);
        a.burst(id(1), Profile::Ultrasonic, 0.0, t(0.0));
        a.burst(id(1), Profile::Ultrasonic, 8.0, t(8.0));
        // 3.5 x 8 s = 28 s of grace.
        assert!(a.tick(30.0).is_none());
        assert!(a.burst(id(1), Profile::Ultrasonic, 24.0, t(24.0)).is_none());
        assert_eq!(a.close().unwrap().bursts, 3);
    }
}
