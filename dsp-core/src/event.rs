//! The detectors' event model, shared by both layers: a [`Detection`] is a
//! mark read and authenticated (an ultrasonic burst, or a robust-layer
//! period); a [`Presence`] is the robust layer's per-window verdict on an ID
//! it already knows; a [`Collision`] is marked audio whose marks cannot be
//! read because differently marked copies were mixed; a [`Transplant`] is a
//! burst read whose programme fingerprint belongs to another programme. An
//! airing is built from detections and presences, whichever layer saw them.

use core::fmt;

use crate::binding::BindCheck;
use crate::config::{Id, Profile};

/// One mark found and authenticated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Which mark: the ultrasonic band, or the robust layer.
    pub profile: Profile,
    /// The ID the mark carries.
    pub id: Id,
    /// Burst (ultrasonic) or period (robust) counter, if its own counter
    /// block verified.
    pub counter: Option<u16>,
    /// Stream sample of the burst's first sample (ultrasonic: start of the
    /// ramp) or of the period's start (robust: the centre of its frame 0).
    pub start_sample: u64,
    /// Ultrasonic: SNR in the band (mark / noise power), dB. Robust: the
    /// pilots' SNR per cell, dB.
    pub snr_db: f32,
    /// Channel bits the code corrected.
    pub corrected_bits: u16,
    /// Ultrasonic: bursts combined (1 for a single burst). Robust: periods
    /// of audio the decode used, rounded up.
    pub bursts_combined: u8,
    /// Estimated sample-clock offset of the stream against the embedder's.
    pub clock_ppm: f32,
}

impl fmt::Display for Detection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "id {} at sample {}", self.id, self.start_sample)?;
        match self.counter {
            Some(c) => write!(f, ", counter {c}")?,
            None => write!(f, ", counter ?")?,
        }
        write!(
            f,
            ", SNR {:.1} dB, {} bits corrected, {} burst(s), {:+.0} ppm",
            self.snr_db, self.corrected_bits, self.bursts_combined, self.clock_ppm
        )?;
        if self.profile == Profile::Robust {
            f.write_str(", robust")?;
        }
        Ok(())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Detection {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(
            f,
            "id {} at {} counter {} snr {} dB corrected {} combined {}",
            self.id,
            self.start_sample,
            self.counter,
            self.snr_db,
            self.corrected_bits,
            self.bursts_combined
        )
    }
}

/// Whether a known ID was present in one window (robust layer).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Presence {
    /// The ID.
    pub id: Id,
    /// First stream sample of the window.
    pub start_sample: u64,
    /// One past the last.
    pub end_sample: u64,
    /// Correlation with the ID's pattern over the window, as a z-score.
    pub z: f32,
    /// Whether z reached [`PRESENCE_Z`](crate::robust::PRESENCE_Z).
    pub present: bool,
}

/// Marks that are there but cannot be read: the key's pilots arrive strong
/// (far above what noise or a damaged single copy leaves), yet the data does
/// not authenticate, burst after burst. Two or more differently marked
/// copies averaged or spliced together give exactly this: their pilots
/// agree, their IDs do not. It names no ID; it says the audio is marked
/// and colliding, with the times.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Collision {
    /// The layer whose marks collide.
    pub profile: Profile,
    /// Stream sample where the run's first unreadable mark starts.
    pub start_sample: u64,
    /// One past the end of its latest.
    pub end_sample: u64,
    /// Unreadable marks in the run so far.
    pub marks: u16,
    /// Pilot SNR of the latest, dB (per symbol).
    pub pilot_snr_db: f32,
}

impl fmt::Display for Collision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "marked but colliding ({}) from sample {} to {}: {} unreadable mark(s), pilots at {:.1} dB",
            self.profile, self.start_sample, self.end_sample, self.marks, self.pilot_snr_db
        )
    }
}

/// An ultrasonic burst read and authenticated, whose programme fingerprint
/// (`binding.rs`) is not the programme it was heard in: its band was lifted
/// from another recording and mixed onto this one. It names the ID and the
/// times, but it is never an airing of the ID. Only reported when
/// [`DetectConfig::check_binding`](crate::DetectConfig) is on.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Transplant {
    /// The burst as read.
    pub detection: Detection,
    /// Fingerprint bits compared, and how many disagreed.
    pub check: BindCheck,
}

impl fmt::Display for Transplant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "transplanted mark: {} (programme fingerprint: {} of {} bits disagree)",
            self.detection, self.check.mismatched, self.check.checked
        )
    }
}

/// What a detector reports.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event {
    /// A mark read and authenticated.
    Detection(Detection),
    /// A known ID confirmed or denied for one window.
    Presence(Presence),
    /// Marked audio that cannot be read: copies colliding.
    Collision(Collision),
    /// A burst lifted from another programme (never an airing).
    Transplant(Transplant),
}

impl Event {
    /// The detection, if this is one.
    pub fn detection(&self) -> Option<Detection> {
        match self {
            Event::Detection(d) => Some(*d),
            _ => None,
        }
    }
}
