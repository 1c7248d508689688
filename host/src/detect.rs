//! `hushmark detect FILE...`: find marks in files.
//!
//! Each file is decoded as a stream and scanned (see [`crate::scan`]) for
//! every layer asked; rows are printed as marks are found, each naming its
//! profile, and with `--presence` the robust layer's per-second verdicts
//! too. A file that cannot be read is reported and skipped, and the exit
//! status is then 2 whatever else was found, as grep does. Damaged files
//! are scanned as far as they go, with a warning.

use std::path::Path;

use anyhow::{bail, Result};
use dsp_core::{Layer, Profile};

use crate::audio::decode::{AudioFile, SourceInfo};
use crate::cli::DetectArgs;
use crate::report::{self, Place, Printer};
use crate::scan::{Colliding, Found, Report, Scanner, Search, Transplanted, Verdict};
use crate::{key, ui, Outcome};

/// What scanning one file gave.
#[derive(Debug)]
pub struct FileScan {
    pub info: SourceInfo,
    pub found: Vec<Found>,
    /// The robust layer's verdicts on known IDs, second by second.
    pub verdicts: Vec<Verdict>,
    /// Runs of marks there but unreadable (copies colliding), latest report
    /// of each run.
    pub collisions: Vec<Colliding>,
    /// Bursts lifted from another programme (never airings).
    pub transplants: Vec<Transplanted>,
    pub frames: u64,
    pub profiles: Vec<Profile>,
    /// Why the file looks damaged (truncated, unreadable packets), if it does.
    pub damage: Option<String>,
}

/// Decode and scan a whole file, calling `on_report` as reports come, and
/// `on_block` with every decoded block and the scanner that has just read
/// it (for `inspect`).
pub fn scan_file(
    path: &Path,
    search: &Search,
    mut on_report: impl FnMut(&SourceInfo, &Report) -> Result<()>,
    mut on_block: impl FnMut(&SourceInfo, &[f32], &Scanner),
) -> Result<FileScan> {
    let mut file = AudioFile::open(path)?;
    let info = file.info().clone();
    let (mut scanner, notes) = Scanner::new(search, info.rate, info.channels)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for n in notes {
        ui::note(format!("{}: {n}", path.display()));
    }
    if info.frames == Some(0) {
        bail!("{} holds no audio (0 samples)", path.display());
    }
    let progress = crate::progress::bar(info.frames, &format!("scanning {}", path.display()));
    let mut reports = Vec::new();
    let (mut all, mut verdicts) = (Vec::new(), Vec::new());
    let mut collisions: Vec<Colliding> = Vec::new();
    let mut transplants: Vec<Transplanted> = Vec::new();
    let mut deliver = |reports: &mut Vec<Report>| -> Result<()> {
        for r in reports.drain(..) {
            on_report(&info, &r)?;
            match r {
                Report::Found(f) => all.push(f),
                Report::Verdict(v) => verdicts.push(v),
                Report::Colliding(c) => match collisions.last_mut() {
                    Some(run) if run.start_frame == c.start_frame => *run = c,
                    _ => collisions.push(c),
                },
                Report::Transplanted(t) => transplants.push(t),
            }
        }
        Ok(())
    };
    while let Some(block) = file.next_block()? {
        if ui::stopping() {
            bail!("interrupted");
        }
        scanner.push(block, &mut reports)?;
        on_block(&info, block, &scanner);
        deliver(&mut reports)?;
        progress.set_position(file.decoded_frames());
    }
    scanner.finish(&mut reports)?;
    deliver(&mut reports)?;
    progress.finish_and_clear();
    let frames = file.decoded_frames();
    if frames == 0 {
        bail!("{} holds no audio (0 samples)", path.display());
    }
    let damage = file.damage();
    let shortest = scanner
        .profiles()
        .iter()
        .filter_map(|&p| dsp_core::Phy::new(p, 48_000).ok())
        .map(|phy| phy.burst_ms(dsp_core::FrameClass::Short))
        .min()
        // The robust layer alone: its shortest period.
        .unwrap_or_else(|| {
            let period = dsp_core::robust::period_samples(dsp_core::FrameClass::Short);
            (period * 1000 / dsp_core::robust::STREAM_RATE as u64) as u32
        });
    if info.seconds(frames) * 1000.0 < shortest as f64 {
        ui::note(format!(
            "{}: only {} of audio ({frames} sample(s)); the shortest burst takes {shortest} ms, \
             so it cannot hold a mark",
            path.display(),
            ui::duration(info.seconds(frames)),
        ));
    }
    Ok(FileScan {
        profiles: scanner.profiles(),
        info,
        found: all,
        verdicts,
        collisions,
        transplants,
        frames,
        damage,
    })
}

pub fn run(args: &DetectArgs) -> Result<Outcome> {
    let key = key::load(&args.key.key)?;
    let search = Search::from_args(&args.search, key)?;
    let mut any_found = false;
    let mut failed = false;
    let mut printer = Printer::new(args.json, "FILE");
    for path in &args.files {
        let name = path.display().to_string();
        let place = Place {
            file: Some(name.clone()),
            ..Place::default()
        };
        let result = scan_file(
            path,
            &search,
            |info, r| {
                if let Some(line) = printer.line(r, info.rate, &place, &name, args.presence) {
                    report::print_line(&line)?;
                }
                Ok(())
            },
            |_, _, _| {},
        );
        match result {
            Ok(scan) => {
                any_found |= !scan.found.is_empty()
                    || !scan.collisions.is_empty()
                    || !scan.transplants.is_empty()
                    || scan.verdicts.iter().any(|v| v.presence.present);
                ui::note(summary(&scan));
                if let Some(d) = &scan.damage {
                    // Reported like a read error (exit 2), after what was found.
                    failed = true;
                    ui::error(format!("{d}; scanned only what was readable"));
                }
            }
            Err(e) => {
                failed = true;
                ui::error(format!("{e:#}"));
                if ui::stopping() {
                    break;
                }
            }
        }
    }
    Ok(if failed {
        Outcome::Failed
    } else if any_found {
        Outcome::Success
    } else {
        Outcome::NothingFound
    })
}

/// One line per file for stderr: what was found, in what, by which layer.
pub fn summary(scan: &FileScan) -> String {
    let secs = ui::duration(scan.info.seconds(scan.frames));
    let what = scan.info.describe();
    let path = scan.info.path.display();
    let present = scan.verdicts.iter().filter(|v| v.presence.present).count();
    let colliding = colliding_summary(&scan.collisions);
    let transplanted = transplant_summary(&scan.transplants);
    if scan.found.is_empty() && present == 0 {
        let lines: Vec<String> = colliding.into_iter().chain(transplanted).collect();
        if !lines.is_empty() {
            return format!("{path}: {} ({secs}, {what})", lines.join("; "));
        }
        let profiles: Vec<&str> = scan.profiles.iter().map(|p| p.name()).collect();
        return format!(
            "{path}: no mark found ({secs}, {what}, profile {})",
            profiles.join("+")
        );
    }
    let mut ids: Vec<String> = scan
        .found
        .iter()
        .map(|f| f.detection.id.to_string())
        .chain(
            scan.verdicts
                .iter()
                .filter(|v| v.presence.present)
                .map(|v| v.presence.id.to_string()),
        )
        .collect();
    ids.sort();
    ids.dedup();
    let count = |layer| {
        scan.found
            .iter()
            .filter(|f| f.detection.profile.layer() == layer)
            .count()
    };
    let mut parts = Vec::new();
    if scan.profiles.iter().any(|p| p.layer() == Layer::Ultrasonic) {
        parts.push(format!("{} burst(s)", count(Layer::Ultrasonic)));
    }
    if scan.profiles.contains(&Profile::Robust) {
        parts.push(format!("{} robust period(s)", count(Layer::Robust)));
        if !scan.verdicts.is_empty() {
            // Windows, not verdicts: each known ID gets one per window.
            let windows = |only_present: bool| {
                let mut w: Vec<u64> = scan
                    .verdicts
                    .iter()
                    .filter(|v| v.presence.present || !only_present)
                    .map(|v| v.start_frame)
                    .collect();
                w.sort_unstable();
                w.dedup();
                w.len()
            };
            parts.push(format!(
                "present in {} of {} robust second(s)",
                windows(true),
                windows(false)
            ));
        }
    }
    if let Some(c) = colliding {
        parts.push(c);
    }
    if let Some(t) = transplanted {
        parts.push(t);
    }
    format!(
        "{path}: {} of ID {} ({secs}, {what})",
        parts.join(", "),
        ids.join(", ")
    )
}

/// "N transplanted burst(s) …" for bursts lifted from another programme.
fn transplant_summary(found: &[Transplanted]) -> Option<String> {
    let first = found.first()?;
    let mut ids: Vec<String> = found
        .iter()
        .map(|t| t.found.detection.id.to_string())
        .collect();
    ids.sort();
    ids.dedup();
    Some(format!(
        "{} TRANSPLANTED burst(s) of ID {} from {:.1} s (a mark lifted from another programme: \
         its programme fingerprint disagrees; not an airing)",
        found.len(),
        ids.join(", "),
        first.found.start_s
    ))
}

/// "marked but colliding: …" for runs of unreadable marks, if any.
fn colliding_summary(runs: &[Colliding]) -> Option<String> {
    if runs.is_empty() {
        return None;
    }
    let marks: u64 = runs.iter().map(|c| c.collision.marks as u64).sum();
    let spans: Vec<String> = runs
        .iter()
        .map(|c| format!("{:.1}–{:.1} s", c.start_s, c.end_s))
        .collect();
    Some(format!(
        "marked but colliding: {marks} unreadable mark(s) at {} (differently marked copies mixed; no ID can be read)",
        spans.join(", ")
    ))
}
