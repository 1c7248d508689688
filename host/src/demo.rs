//! `hushmark demo`: the main job end to end on bundled audio.
//!
//! Marks an 8 s music clip (shipped inside the binary, from
//! `test-vectors/unmarked-48000-music.wav`) with a contract address under the
//! public test key in both layers (`ultrasonic+robust`, the set-top box's
//! recommended setting), detects both and shows which layer found what,
//! checks the unmarked original stays clean, shows the as-aired record a
//! monitor would log, and draws the spectrogram with the robust panel. It
//! runs the same code as the subcommands, so a working demo means working
//! subcommands.

use std::fs;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use dsp_core::{Key, Layer, Profile, Profiles, Schedule};

use crate::airing::{AiringTracker, WallClock};
use crate::cli::DemoArgs;
use crate::detect::scan_file;
use crate::embed::{embed_file, MarkPlan};
use crate::report::{print_line, table_header, table_row};
use crate::scan::{Report, Search};
use crate::{fsio, inspect, key, ui, Outcome};

/// The public test key of the test vectors. Never for real content.
pub const DEMO_KEY: Key = Key::PUBLIC_TEST;
/// A 20-byte contract address.
pub const DEMO_ID: &str = "d8da6bf26964af9d7eed9e03e53415d37aa96045";
/// Both layers, as a set-top box marks.
const DEMO_PROFILES: [Profile; 2] = [Profile::Ultrasonic, Profile::Robust];

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

/// Embed quietly (the demo prints its own lines).
fn embed_quietly(input: &Path, output: &Path, plan: &MarkPlan) -> Result<crate::embed::Marked> {
    let was_quiet = ui::quiet();
    ui::set_quiet(true);
    let embedded = embed_file(input, output, plan, None, true);
    ui::set_quiet(was_quiet);
    embedded
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
    let profiles = DEMO_PROFILES.iter().fold(Profiles::NONE, |s, &p| s.with(p));
    let plan = MarkPlan {
        id: crate::id::parse_id(DEMO_ID)?,
        key,
        profiles,
        level_dbfs: dsp_core::DEFAULT_LEVEL_DBFS,
        robust_mmr_db: dsp_core::robust::DEFAULT_MMR_DB,
        schedule: Schedule::default(),
    };
    let done = embed_quietly(&clean, &marked, &plan)?;
    // The robust layer alone, to show the ultrasonic layer touches nothing
    // outside its bursts: the two copies differ only there.
    let scratch = tempfile::tempdir().context("cannot make a temporary directory")?;
    let robust_only = scratch.path().join("robust-only.wav");
    let robust_plan = MarkPlan {
        profiles: Profiles::only(Profile::Robust),
        ..plan
    };
    embed_quietly(&clean, &robust_only, &robust_plan)?;
    let (ultrasonic_changed, total, outside) = compare(&robust_only, &marked, &done.bursts)?;
    if outside != 0 {
        bail!("{outside} samples outside bursts changed: the engine is broken");
    }
    let (robust_changed, _, _) = compare(&clean, &robust_only, &[])?;
    let robust = done.robust.unwrap_or_default();
    print_line(&format!(
        "2. embed    {} -> {}",
        clean.display(),
        marked.display()
    ))?;
    print_line(&format!("            ID {} ({})", plan.id, plan.describe()))?;
    print_line(&format!(
        "            ultrasonic: {} whole burst(s) at 20-21.6 kHz; {ultrasonic_changed} of {total} samples changed, all inside bursts",
        done.bursts.len()
    ))?;
    print_line(&format!(
        "            robust:     {} frame(s) marked under the masking threshold at 0.3-7 kHz ({} left silent, {} ms lowered by the clip guard); {robust_changed} samples changed",
        robust.marked_frames, robust.silent_frames, robust.lowered_blocks
    ))?;

    print_line("3. detect   (what `hushmark detect --profile ultrasonic+robust` prints)")?;
    print_line(&format!("  {}", table_header("FILE")))?;
    let name = marked.display().to_string();
    let search = Search::new(key, &DEMO_PROFILES);
    let scan = scan_file(
        &marked,
        &search,
        |_, r| {
            if let Report::Found(f) = r {
                print_line(&format!("  {}", table_row(f, &name)))?;
            }
            Ok(())
        },
        |_, _, _| {},
    )?;
    let by_layer = |layer| {
        scan.found
            .iter()
            .filter(|f| f.detection.profile.layer() == layer)
            .count()
    };
    let (bursts, periods) = (by_layer(Layer::Ultrasonic), by_layer(Layer::Robust));
    if bursts == 0 || periods == 0 || scan.found.iter().any(|f| f.detection.id != plan.id) {
        bail!("the demo's mark was not found in both layers: the engine is broken");
    }
    let present = scan.verdicts.iter().filter(|v| v.presence.present).count();
    print_line(&format!(
        "            ultrasonic layer: {bursts} burst(s); robust layer: {periods} period(s) decoded, present in {present} of {} second(s) checked",
        scan.verdicts.len()
    ))?;
    let unmarked_scan = scan_file(&clean, &search, |_, _| Ok(()), |_, _, _| {})?;
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
        let d = f.detection;
        records.extend(tracker.burst(d.id, d.profile, f.start_s, clock.at(f.start_s)));
    }
    for v in &scan.verdicts {
        let p = v.presence;
        let wall = clock.at(v.start_s);
        records.extend(tracker.presence(p.id, p.present, v.start_s, v.end_s, wall));
    }
    records.extend(tracker.close());
    let lines: Vec<String> = records.iter().map(|r| r.to_json_line()).collect();
    write_replacing(&log, (lines.join("\n") + "\n").as_bytes(), false)?;
    print_line(&format!(
        "4. monitor  {} (what `hushmark monitor` logs: one line per airing, whichever layers saw it)",
        log.display()
    ))?;
    for l in &lines {
        print_line(&format!("  {l}"))?;
    }

    let analysis = inspect::analyse(&marked, Some(&search), &DEMO_PROFILES)?;
    let bands = vec![(
        Profile::Ultrasonic,
        dsp_core::Phy::new(Profile::Ultrasonic, analysis.info.rate)?.band,
    )];
    let picture = inspect::Picture {
        title: format!("{} — 15–24 kHz, decoded with the key", marked.display()),
        spec: analysis.spec.as_ref(),
        bands,
        found: &analysis.found,
        energy: &[],
        keyed: true,
        robust: analysis
            .robust_spec
            .as_ref()
            .map(|spec| inspect::RobustPanel {
                spec,
                strengths: &analysis.strengths,
            }),
    };
    let tmp = fsio::public_temp_beside(&png)?;
    inspect::draw(&picture, tmp.path())
        .with_context(|| format!("cannot write {}", png.display()))?;
    fsio::persist(tmp, &png, true)?;
    print_line(&format!(
        "5. inspect  {} (spectrogram 15-24 kHz with the bursts boxed; the robust band and its mark's strength below)",
        png.display()
    ))?;
    print_line("")?;
    print_line(&format!(
        "files in {}: demo.key unmarked.wav marked.wav as-aired.jsonl marked.png",
        dir.display()
    ))?;
    print_line(
        "next: hushmark keygen my.key && hushmark embed IN.wav OUT.wav --id 0x... --key my.key --profile ultrasonic+robust",
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
