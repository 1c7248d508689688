//! `hushmark detect FILE...`: find marks in files.
//!
//! Each file is decoded as a stream and scanned (see [`crate::scan`]); rows
//! are printed as bursts are found. A file that cannot be read is reported
//! and skipped, and the exit status is then 2 whatever else was found, as
//! grep does. Damaged files are scanned as far as they go, with a warning.

use std::path::Path;

use anyhow::{bail, Result};
use dsp_core::{Key, Profile};

use crate::audio::decode::{AudioFile, SourceInfo};
use crate::cli::DetectArgs;
use crate::report::{self, Printer};
use crate::scan::{Found, Scanner};
use crate::{key, ui, Outcome};

/// What scanning one file gave.
#[derive(Debug)]
pub struct FileScan {
    pub info: SourceInfo,
    pub found: Vec<Found>,
    pub frames: u64,
    pub profiles: Vec<Profile>,
    /// Why the file looks damaged (truncated, unreadable packets), if it does.
    pub damage: Option<String>,
}

/// Decode and scan a whole file, calling `on_found` as bursts come, and
/// `on_block` with every decoded block (for `inspect`).
pub fn scan_file(
    path: &Path,
    key: Key,
    profiles: &[Profile],
    mut on_found: impl FnMut(&SourceInfo, &Found) -> Result<()>,
    mut on_block: impl FnMut(&SourceInfo, &[f32]),
) -> Result<FileScan> {
    let mut file = AudioFile::open(path)?;
    let info = file.info().clone();
    let (mut scanner, notes) = Scanner::new(key, profiles, info.rate, info.channels)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for n in notes {
        ui::note(format!("{}: {n}", path.display()));
    }
    if info.frames == Some(0) {
        bail!("{} holds no audio (0 samples)", path.display());
    }
    let progress = crate::progress::bar(info.frames, &format!("scanning {}", path.display()));
    let mut found = Vec::new();
    let mut all = Vec::new();
    while let Some(block) = file.next_block()? {
        if ui::stopping() {
            bail!("interrupted");
        }
        on_block(&info, block);
        scanner.push(block, &mut found)?;
        for f in found.drain(..) {
            on_found(&info, &f)?;
            all.push(f);
        }
        progress.set_position(file.decoded_frames());
    }
    scanner.finish(&mut found)?;
    for f in found.drain(..) {
        on_found(&info, &f)?;
        all.push(f);
    }
    progress.finish_and_clear();
    let frames = file.decoded_frames();
    if frames == 0 {
        bail!("{} holds no audio (0 samples)", path.display());
    }
    let damage = file.truncation().or_else(|| {
        (file.bad_packets() > 0).then(|| {
            format!(
                "{}: {} damaged packet(s) could not be decoded",
                path.display(),
                file.bad_packets()
            )
        })
    });
    let shortest = scanner
        .profiles()
        .iter()
        .filter_map(|&p| dsp_core::Phy::new(p, 48_000).ok())
        .map(|phy| phy.burst_ms(dsp_core::FrameClass::Short))
        .min()
        .unwrap_or(0);
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
        frames,
        damage,
    })
}

pub fn run(args: &DetectArgs) -> Result<Outcome> {
    let key = key::load(&args.key.key)?;
    let profiles = args.search.profiles();
    let mut any_found = false;
    let mut failed = false;
    let mut printer = Printer::new(args.json, "FILE");
    for path in &args.files {
        let name = path.display().to_string();
        let result = scan_file(
            path,
            key,
            &profiles,
            |info, f| {
                let line = printer.line(f, info.rate, |r| r.file = Some(name.clone()), &name);
                report::print_line(&line)?;
                Ok(())
            },
            |_, _| {},
        );
        match result {
            Ok(scan) => {
                any_found |= !scan.found.is_empty();
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

/// One line per file for stderr: what was found, in what.
pub fn summary(scan: &FileScan) -> String {
    let secs = ui::duration(scan.info.seconds(scan.frames));
    let what = scan.info.describe();
    let path = scan.info.path.display();
    if scan.found.is_empty() {
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
        .collect();
    ids.sort();
    ids.dedup();
    format!(
        "{path}: {} burst(s) of ID {} ({secs}, {what})",
        scan.found.len(),
        ids.join(", ")
    )
}
