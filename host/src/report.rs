//! How detections are printed: a fixed-width table for people, one JSON
//! object per line for programs. Both name the same fields, the profile
//! (so the layer) of each mark included. The robust layer's per-second
//! verdicts on known IDs print in the same table (COUNTER says present or
//! absent, SNR_DB holds the z-score) and as JSON objects of
//! `"kind":"presence"`. A burst lifted from another programme prints as a
//! `TRANSPLANTED` row and a `"kind":"transplant"` object, never as a
//! detection.

use std::io::Write;

use serde::Serialize;

use crate::scan::{Colliding, Found, Report, Transplanted, Verdict};

fn round(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (x * p).round() / p
}

/// One detection as a JSON line. Fields keep this order.
#[derive(Debug, Serialize)]
pub struct DetectionRecord {
    /// `detection` (a verdict is `presence`).
    pub kind: &'static str,
    /// Where it was found (`file`, `device`, `utc`, each if known).
    #[serde(flatten)]
    pub place: Place,
    /// Lowercase hex, no `0x`.
    pub id: String,
    /// Burst counter; `null` when this burst's own counter did not verify.
    pub counter: Option<u16>,
    pub start_s: f64,
    pub end_s: f64,
    /// Start as a sample index at the source's rate.
    pub start_sample: u64,
    pub confidence: f64,
    pub snr_db: f64,
    pub corrected_bits: u16,
    pub bursts_combined: u8,
    pub clock_ppm: f64,
    pub profile: &'static str,
    /// `ultrasonic` or `robust`.
    pub layer: &'static str,
    pub sample_rate: u32,
    /// Playback speed of the copy against the original, when
    /// `--speed-search` found it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// `transplant` records: the burst's programme fingerprint bits
    /// compared with the programme heard, and how many disagreed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint_checked: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint_mismatched: Option<u8>,
}

/// The layer's name, as JSON and tables print it.
fn layer_name(profile: dsp_core::Profile) -> &'static str {
    match profile.layer() {
        dsp_core::Layer::Ultrasonic => "ultrasonic",
        dsp_core::Layer::Robust => "robust",
    }
}

impl DetectionRecord {
    pub fn new(found: &Found, source_rate: u32, place: Place) -> DetectionRecord {
        let d = &found.detection;
        DetectionRecord {
            kind: "detection",
            place,
            id: d.id.to_string(),
            counter: d.counter,
            start_s: round(found.start_s, 4),
            end_s: round(found.end_s, 4),
            start_sample: found.start_frame,
            confidence: round(found.confidence(), 2),
            snr_db: round(d.snr_db as f64, 1),
            corrected_bits: d.corrected_bits,
            bursts_combined: d.bursts_combined,
            clock_ppm: round(d.clock_ppm as f64, 1),
            profile: d.profile.name(),
            layer: layer_name(d.profile),
            sample_rate: source_rate,
            speed: (found.speed != 1.0).then(|| round(found.speed, 3)),
            fingerprint_checked: None,
            fingerprint_mismatched: None,
        }
    }

    /// A transplanted burst: `"kind":"transplant"`, never an airing.
    pub fn transplant(t: &Transplanted, source_rate: u32, place: Place) -> DetectionRecord {
        DetectionRecord {
            kind: "transplant",
            fingerprint_checked: Some(t.check.checked),
            fingerprint_mismatched: Some(t.check.mismatched),
            ..DetectionRecord::new(&t.found, source_rate, place)
        }
    }
}

/// One robust-layer verdict as a JSON line.
#[derive(Debug, Serialize)]
pub struct PresenceRecord {
    /// Always `presence`.
    pub kind: &'static str,
    /// Where it was found (`file`, `device`, `utc`, each if known).
    #[serde(flatten)]
    pub place: Place,
    pub id: String,
    pub present: bool,
    pub start_s: f64,
    pub end_s: f64,
    pub start_sample: u64,
    /// Correlation with the ID's pattern, as a z-score (present from 6.5).
    pub z: f64,
    pub profile: &'static str,
    pub layer: &'static str,
    pub sample_rate: u32,
}

impl PresenceRecord {
    pub fn new(v: &Verdict, source_rate: u32, place: Place) -> PresenceRecord {
        let p = &v.presence;
        PresenceRecord {
            kind: "presence",
            place,
            id: p.id.to_string(),
            present: p.present,
            start_s: round(v.start_s, 4),
            end_s: round(v.end_s, 4),
            start_sample: v.start_frame,
            z: round(p.z as f64, 1),
            profile: dsp_core::Profile::Robust.name(),
            layer: layer_name(dsp_core::Profile::Robust),
            sample_rate: source_rate,
        }
    }
}

/// A run of unreadable marks (copies colliding) as a JSON line: reported
/// again, with its end moved on, for each further unreadable mark.
#[derive(Debug, Serialize)]
pub struct CollisionRecord {
    /// Always `collision`.
    pub kind: &'static str,
    /// Where it was found (`file`, `device`, `utc`, each if known).
    #[serde(flatten)]
    pub place: Place,
    pub start_s: f64,
    pub end_s: f64,
    pub start_sample: u64,
    /// Unreadable marks in the run so far.
    pub marks: u16,
    pub pilot_snr_db: f64,
    pub profile: &'static str,
    pub layer: &'static str,
    pub sample_rate: u32,
}

impl CollisionRecord {
    pub fn new(c: &Colliding, source_rate: u32, place: Place) -> CollisionRecord {
        CollisionRecord {
            kind: "collision",
            place,
            start_s: round(c.start_s, 4),
            end_s: round(c.end_s, 4),
            start_sample: c.start_frame,
            marks: c.collision.marks,
            pilot_snr_db: round(c.collision.pilot_snr_db as f64, 1),
            profile: c.collision.profile.name(),
            layer: layer_name(c.collision.profile),
            sample_rate: source_rate,
        }
    }
}

/// Where a report was found, for the JSON fields that say so.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Place {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utc: Option<String>,
}

/// Prints detections as they come: one JSON object a line, or a table
/// whose header comes before its first row.
pub struct Printer {
    json: bool,
    /// Title of the table's last column (what `last` holds in [`Printer::line`]).
    last_title: &'static str,
    header_done: bool,
}

impl Printer {
    pub fn new(json: bool, last_title: &'static str) -> Printer {
        Printer {
            json,
            last_title,
            header_done: false,
        }
    }

    /// The text for one report, or `None` for a verdict when verdicts are
    /// not shown: `place` fills the JSON fields that say where it was
    /// found; `last` is the table's last column.
    pub fn line(
        &mut self,
        report: &Report,
        source_rate: u32,
        place: &Place,
        last: &str,
        presence: bool,
    ) -> Option<String> {
        if let Report::Verdict(_) = report {
            if !presence {
                return None;
            }
        }
        if self.json {
            let place = place.clone();
            let line = match report {
                Report::Found(f) => {
                    serde_json::to_string(&DetectionRecord::new(f, source_rate, place))
                }
                Report::Verdict(v) => {
                    serde_json::to_string(&PresenceRecord::new(v, source_rate, place))
                }
                Report::Colliding(c) => {
                    serde_json::to_string(&CollisionRecord::new(c, source_rate, place))
                }
                Report::Transplanted(t) => {
                    serde_json::to_string(&DetectionRecord::transplant(t, source_rate, place))
                }
            };
            return Some(line.expect("a record always serialises"));
        }
        let mut s = String::new();
        if !self.header_done {
            s.push_str(&table_header(self.last_title));
            s.push('\n');
            self.header_done = true;
        }
        s.push_str(&match report {
            Report::Found(f) => table_row(f, last),
            Report::Verdict(v) => verdict_row(v, last),
            Report::Colliding(c) => colliding_row(c, last),
            Report::Transplanted(t) => transplanted_row(t, last),
        });
        Some(s)
    }
}

/// The table's header line; the last column is free width.
pub fn table_header(last: &str) -> String {
    format!(
        "{:>9}  {:>9}  {:<40}  {:>7}  {:>6}  {:>4}  {:<15}  {last}",
        "START_S", "END_S", "ID", "COUNTER", "SNR_DB", "CONF", "PROFILE"
    )
}

pub fn table_row(found: &Found, last: &str) -> String {
    let d = &found.detection;
    let counter = d
        .counter
        .map(|c| c.to_string())
        .unwrap_or_else(|| "-".into());
    format!(
        "{:>9.3}  {:>9.3}  {:<40}  {:>7}  {:>6.1}  {:>4.2}  {:<15}  {last}",
        found.start_s,
        found.end_s,
        d.id.to_string(),
        counter,
        d.snr_db,
        found.confidence(),
        if found.speed == 1.0 {
            d.profile.name().to_string()
        } else {
            format!("{} x{:.3}", d.profile.name(), found.speed)
        }
    )
}

/// A collision in the table: no ID, SNR_DB holds the pilots' SNR.
pub fn colliding_row(c: &Colliding, last: &str) -> String {
    format!(
        "{:>9.3}  {:>9.3}  {:<40}  {:>7}  {:>6.1}  {:>4}  {:<15}  {last}",
        c.start_s,
        c.end_s,
        format!("(marked, colliding: {} unreadable)", c.collision.marks),
        "-",
        c.collision.pilot_snr_db,
        "-",
        c.collision.profile.name()
    )
}

/// A transplanted burst in the table: its row, the ID marked as lifted.
pub fn transplanted_row(t: &Transplanted, last: &str) -> String {
    let note = format!(
        "TRANSPLANTED: {} of {} fingerprint bits disagree{}{last}",
        t.check.mismatched,
        t.check.checked,
        if last.is_empty() { "" } else { "  " }
    );
    table_row(&t.found, &note)
}

/// A verdict in the table: COUNTER says present or absent, SNR_DB holds z.
pub fn verdict_row(v: &Verdict, last: &str) -> String {
    let p = &v.presence;
    format!(
        "{:>9.3}  {:>9.3}  {:<40}  {:>7}  {:>6}  {:>4}  {:<15}  {last}",
        v.start_s,
        v.end_s,
        p.id.to_string(),
        if p.present { "present" } else { "absent" },
        format!("z{:.1}", p.z),
        "-",
        dsp_core::Profile::Robust.name()
    )
}

/// Write one line to stdout now (detections should appear as they happen,
/// even through a pipe).
pub fn print_line(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

/// Whole ultrasonic bursts, in words, with how many the limiter lowered for
/// loud programme and how many had no room for a readable mark.
pub fn bursts_made(s: &dsp_core::ultrasonic::EmbedStats) -> String {
    let full = s.completed - s.lowered - s.no_room;
    let mut text = format!("{} whole burst(s)", s.completed);
    if s.lowered + s.no_room > 0 {
        let mut parts = vec![format!("{full} at full level")];
        if s.lowered > 0 {
            parts.push(format!("{} lowered for loud programme", s.lowered));
        }
        if s.no_room > 0 {
            parts.push(format!(
                "{} with no room for a readable mark (programme at full scale)",
                s.no_room
            ));
        }
        text += &format!(
            " ({}; lowered by up to {:.1} dB)",
            parts.join(", "),
            s.max_lowering_db
        );
    }
    text
}
