//! `hushmark demo`: the main job end to end on bundled audio.
//!
//! Marks an 8 s music clip (shipped inside the binary, from
//! `test-vectors/unmarked-48000-music.wav`) with a contract address under the
//! public test key, detects it, checks the unmarked original stays clean,
//! shows the as-aired record a monitor would log, and draws the spectrogram.
//! It runs the same code as the subcommands, so a working demo means working
//! subcommands.

use std::fs;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use dsp_core::{Key, Schedule};

use crate::airing::{AiringTracker, WallClock};
use crate::cli::{DemoArgs, DEFAULT_PROFILE};
use crate::detect::scan_file;
use crate::embed::{embed_file, MarkPlan};
use crate::report::{print_line, table_header, table_row};
use crate::{fsio, inspect, key, ui, Outcome};

/// The public test key of the test vectors. Never for real content.
pub const DEMO_KEY: Key = Key::PUBLIC_TEST;
/// A 20-byte contract address.
pub const DEMO_ID: &str = "d8da6bf26964af9d7eed9e03e53415d37aa96045";

static CLIP: &[u8] = include_bytes!("../../test-vectors/unmarked-48000-music.wav");

fn write_replacing(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let mut tmp = if private {
        fsio::temp_beside(path)?
    } else {
        fsio::public_temp_beside(path)?
    };
    tmp.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    fsio::persist(tmp, path, true)
}

pub fn run(args: &DemoArgs) -> Result<Outcome> {
    let dir = &args.out;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key_path = dir.join("demo.key");
    let clean = dir.join("unmarked.wav");
    let marked = dir.join("marked.wav");
    let log = dir.join("as-aired.jsonl");
    let png = dir.join("marked.png");

    print_line("hushmark demo: mark bundled audio, detect it, log it, draw it (public test key)")?;
    print_line("")?;

    write_replacing(&key_path, key::format_key(&DEMO_KEY).as_bytes(), true)?;
    let key = key::load(&key_path)?;
    print_line(&format!(
        "1. key      {} (the public test key 000102...0f: never use it for real content)",
        key_path.display()
    ))?;

    write_replacing(&clean, CLIP, false)?;
    let plan = MarkPlan {
        id: crate::id::parse_id(DEMO_ID)?,
        key,
        profiles: dsp_core::Profiles::only(DEFAULT_PROFILE),
        level_dbfs: dsp_core::DEFAULT_LEVEL_DBFS,
        robust_mmr_db: dsp_core::robust::DEFAULT_MMR_DB,
        schedule: Schedule::default(),
    };
    let was_quiet = ui::quiet();
    ui::set_quiet(true);
    let embedded = embed_file(&clean, &marked, &plan, None, true);
    ui::set_quiet(was_quiet);
    let bursts = embedded?.bursts;
    let (changed, total, outside) = compare(&clean, &marked, &bursts)?;
    if outside != 0 {
        bail!("{outside} samples outside bursts changed: the engine is broken");
    }
    print_line(&format!(
        "2. embed    {} -> {}",
        clean.display(),
        marked.display()
    ))?;
    print_line(&format!(
        "            ID {} ({}), {} whole burst(s)",
        plan.id,
        plan.describe(),
        bursts.len()
    ))?;
    print_line(&format!(
        "            {changed} of {total} samples changed, all inside bursts; every other sample is bit-identical"
    ))?;

    print_line("3. detect   (what `hushmark detect` prints)")?;
    print_line(&format!("  {}", table_header("FILE")))?;
    let name = marked.display().to_string();
    let scan = scan_file(
        &marked,
        key,
        &[DEFAULT_PROFILE],
        |_, f| {
            print_line(&format!("  {}", table_row(f, &name)))?;
            Ok(())
        },
        |_, _| {},
    )?;
    if scan.found.is_empty() || scan.found.iter().any(|f| f.detection.id != plan.id) {
        bail!("the demo's mark was not found: the engine is broken");
    }
    let unmarked_scan = scan_file(&clean, key, &[DEFAULT_PROFILE], |_, _| Ok(()), |_, _| {})?;
    print_line(&format!(
        "            {}: {} (as it should be)",
        clean.display(),
        if unmarked_scan.found.is_empty() {
            "no mark"
        } else {
            "MARK FOUND"
        }
    ))?;

    let mut tracker = AiringTracker::new(format!("file:{}", marked.display()), 10.0, 0.0);
    let clock = WallClock {
        stream_s: 0.0,
        wall: SystemTime::now(),
    };
    let mut records = Vec::new();
    for f in &scan.found {
        records.extend(tracker.burst(f.detection.id, f.profile, f.start_s, clock.at(f.start_s)));
    }
    records.extend(tracker.close());
    let lines: Vec<String> = records.iter().map(|r| r.to_json_line()).collect();
    write_replacing(&log, (lines.join("\n") + "\n").as_bytes(), false)?;
    print_line(&format!(
        "4. monitor  {} (what `hushmark monitor` logs: one line per airing)",
        log.display()
    ))?;
    for l in &lines {
        print_line(&format!("  {l}"))?;
    }

    // The spectrogram alone: the bursts were decoded above.
    let (spec, _, info) = inspect::analyse(&marked, None, &[DEFAULT_PROFILE])?;
    let bands = vec![(
        DEFAULT_PROFILE,
        dsp_core::Phy::new(DEFAULT_PROFILE, info.rate)?.band,
    )];
    let picture = inspect::Picture {
        title: format!("{} — 15–24 kHz, decoded with the key", marked.display()),
        spec: &spec,
        bands,
        found: &scan.found,
        energy: &[],
        keyed: true,
    };
    let tmp = fsio::public_temp_beside(&png)?;
    inspect::draw(&picture, tmp.path())?;
    fsio::persist(tmp, &png, true)?;
    print_line(&format!(
        "5. inspect  {} (spectrogram 15-24 kHz, bursts boxed and labelled)",
        png.display()
    ))?;
    print_line("")?;
    print_line(&format!(
        "files in {}: demo.key unmarked.wav marked.wav as-aired.jsonl marked.png",
        dir.display()
    ))?;
    print_line(
        "next: hushmark keygen my.key && hushmark embed IN.wav OUT.wav --id 0x... --key my.key",
    )?;
    Ok(Outcome::Success)
}

/// Samples changed, samples in all, and samples changed outside `bursts`
/// (frame spans, as the embedder reported them).
fn compare(a: &Path, b: &Path, bursts: &[Range<u64>]) -> Result<(u64, u64, u64)> {
    let read = |p: &Path| -> Result<(Vec<i16>, u16)> {
        let mut r =
            hound::WavReader::open(p).with_context(|| format!("cannot read {}", p.display()))?;
        let ch = r.spec().channels;
        let s = r
            .samples::<i16>()
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("cannot read {}", p.display()))?;
        Ok((s, ch))
    };
    let (x, ch) = read(a)?;
    let (y, _) = read(b)?;
    if x.len() != y.len() {
        bail!(
            "the marked copy has {} samples, the original {}",
            y.len(),
            x.len()
        );
    }
    let (mut changed, mut outside) = (0, 0);
    for (i, (p, q)) in x.iter().zip(&y).enumerate() {
        if p != q {
            changed += 1;
            let frame = (i / ch as usize) as u64;
            if !bursts.iter().any(|b| b.contains(&frame)) {
                outside += 1;
            }
        }
    }
    Ok((changed, x.len() as u64, outside))
}
