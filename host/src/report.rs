//! How detections are printed: a fixed-width table for people, one JSON
//! object per line for programs. Both name the same fields.

use std::io::Write;

use serde::Serialize;

use crate::scan::Found;

fn round(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (x * p).round() / p
}

/// One detection as a JSON line. Fields keep this order.
#[derive(Debug, Serialize)]
pub struct DetectionRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utc: Option<String>,
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
    pub sample_rate: u32,
}

impl DetectionRecord {
    pub fn new(found: &Found, source_rate: u32) -> DetectionRecord {
        let d = &found.detection;
        DetectionRecord {
            file: None,
            device: None,
            utc: None,
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
            profile: found.profile.name(),
            sample_rate: source_rate,
        }
    }

    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a record always serialises")
    }
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

    /// The text for one detection: `place` fills the JSON record's fields
    /// that say where it was found; `last` is the table's last column.
    pub fn line(
        &mut self,
        found: &Found,
        source_rate: u32,
        place: impl FnOnce(&mut DetectionRecord),
        last: &str,
    ) -> String {
        if self.json {
            let mut r = DetectionRecord::new(found, source_rate);
            place(&mut r);
            return r.to_json_line();
        }
        let mut s = String::new();
        if !self.header_done {
            s.push_str(&table_header(self.last_title));
            s.push('\n');
            self.header_done = true;
        }
        s.push_str(&table_row(found, last));
        s
    }
}

/// The table's header line; the last column is free width.
pub fn table_header(last: &str) -> String {
    format!(
        "{:>9}  {:>9}  {:<40}  {:>7}  {:>6}  {:>4}  {last}",
        "START_S", "END_S", "ID", "COUNTER", "SNR_DB", "CONF"
    )
}

pub fn table_row(found: &Found, last: &str) -> String {
    let d = &found.detection;
    let counter = d
        .counter
        .map(|c| c.to_string())
        .unwrap_or_else(|| "-".into());
    format!(
        "{:>9.3}  {:>9.3}  {:<40}  {:>7}  {:>6.1}  {:>4.2}  {last}",
        found.start_s,
        found.end_s,
        d.id.to_string(),
        counter,
        d.snr_db,
        found.confidence()
    )
}

/// Write one line to stdout now (detections should appear as they happen,
/// even through a pipe).
pub fn print_line(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}
