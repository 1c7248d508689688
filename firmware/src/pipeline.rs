//! The block pipeline: every period, mark the playback block and search the
//! captured block, each under its own meter reading.
//!
//! * Both engines get the period's first frame index as `now`, so missed
//!   periods (overruns) become time jumps the engines already handle: the
//!   embedder skips a burst it cannot finish cleanly, the detector restarts.
//! * Events are collected during `Detector::process` and reported after it,
//!   so logging never counts as detection cost and never runs in the
//!   detector's callback.
//! * Nothing here panics or allocates; engine errors are counted and logged.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use dsp_core::{Detector, Embedder, Event, ProcessError};
use heapless::Vec;

use crate::audio::{AudioError, AudioInterface};
use crate::meter::Meter;
pub use crate::meter::PathLoad;

/// Events one block can produce before the overflow is counted. A block is
/// milliseconds long and a burst hundreds, a robust period two seconds and
/// its presence window one, so with both layers more than two is already rare.
const EVENTS_PER_BLOCK: usize = 8;

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    pub periods: u32,
    /// Times the interface reported missed periods, and how many in all.
    pub overruns: u32,
    pub missed_periods: u32,
    pub embed: PathLoad,
    pub detect: PathLoad,
    pub events: u32,
    /// Events lost because one block produced more than `EVENTS_PER_BLOCK`.
    pub dropped_events: u32,
    /// Blocks an engine rejected (never expected: blocks are whole frames).
    pub engine_errors: u32,
    /// What `Detector::finish` cost at the end of the stream. Kept apart
    /// from `detect`: a live stream never ends, so it is not a running cost.
    pub detect_finish: u64,
}

impl RunStats {
    /// Count and log a block an engine rejected.
    fn check(&mut self, engine: &str, r: Result<(), ProcessError>) {
        if let Err(e) = r {
            self.engine_errors += 1;
            defmt::error!("{=str}: {}", engine, e);
        }
    }
}

/// The two audio paths over one interface. Either engine may be absent (a
/// set-top box that only marks, a monitor that only listens).
#[derive(Debug)]
pub struct Pipeline<'a, M: Meter> {
    pub embedder: Option<&'a mut Embedder>,
    pub detector: Option<&'a mut Detector>,
    pub meter: &'a M,
}

impl<M: Meter> Pipeline<'_, M> {
    /// Run until the source ends, then let the detector decode what is
    /// pending; `on_event` gets every detection. `Err` only for a hardware
    /// failure.
    // Out of line: inlined into a caller, its frame merges with the
    // caller's and the stack peak grows by what the caller keeps there.
    #[inline(never)]
    pub fn run<A: AudioInterface>(
        &mut self,
        audio: &mut A,
        mut on_event: impl FnMut(&Event),
    ) -> Result<RunStats, AudioError> {
        let mut stats = RunStats::default();
        while self.step(audio, &mut stats, &mut on_event)? {}
        self.finish(&mut stats, &mut on_event);
        Ok(stats)
    }

    /// Process one period (or note an overrun). `Ok(false)` once the source
    /// has ended; a codec that never ends is driven by calling this forever.
    pub fn step<A: AudioInterface>(
        &mut self,
        audio: &mut A,
        stats: &mut RunStats,
        mut on_event: impl FnMut(&Event),
    ) -> Result<bool, AudioError> {
        let channels = usize::from(audio.format().channels).max(1);
        let period = match audio.next_period() {
            Ok(p) => p,
            Err(AudioError::Overrun { missed }) => {
                stats.overruns += 1;
                stats.missed_periods += missed;
                defmt::warn!("audio overrun: {} periods missed", missed);
                return Ok(true);
            }
            Err(AudioError::EndOfStream) => return Ok(false),
            Err(e) => return Err(e),
        };
        stats.periods += 1;
        if let Some(embedder) = self.embedder.as_deref_mut() {
            let frames = period.playback.len() / channels;
            let r = stats.embed.time(self.meter, frames, || {
                embedder.process(period.index, period.playback)
            });
            stats.check("embedder", r);
        }
        if let Some(detector) = self.detector.as_deref_mut() {
            let mut found = Found::default();
            let frames = period.captured.len() / channels;
            let r = stats.detect.time(self.meter, frames, || {
                detector.process(period.index, period.captured, |d| found.push(d))
            });
            stats.check("detector", r);
            found.report(stats, &mut on_event);
        }
        Ok(true)
    }

    /// End of stream: the detector decodes what is pending.
    pub fn finish(&mut self, stats: &mut RunStats, mut on_event: impl FnMut(&Event)) {
        if let Some(detector) = self.detector.as_deref_mut() {
            let mut found = Found::default();
            let t = self.meter.now();
            detector.finish(|d| found.push(d));
            stats.detect_finish = self.meter.now() - t;
            found.report(stats, &mut on_event);
        }
    }
}

/// Events of one detector call, held until its cost has been read.
#[derive(Default)]
struct Found {
    list: Vec<Event, EVENTS_PER_BLOCK>,
    overflow: u32,
}

impl Found {
    fn push(&mut self, d: &Event) {
        if self.list.push(*d).is_err() {
            self.overflow += 1;
        }
    }

    fn report(&self, stats: &mut RunStats, on_event: impl FnMut(&Event)) {
        stats.events += self.list.len() as u32;
        stats.dropped_events += self.overflow;
        self.list.iter().for_each(on_event);
    }
}
