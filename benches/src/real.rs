//! Issue 9's evidence: both layers on real recorded programme
//! ([`programme`](crate::programme)'s clips). Chains × profiles, the robust
//! layer's window curve and confirmation window, and what ViSQOL makes of
//! the robust mark.

use std::path::Path;
use std::process::Command;

use dsp_core::{Event, Profile};
use testkit::channel;
use testkit::harness::{
    contract_id, detect, detect_config_for, embed, embed_config, marks, nth_start, reports,
    whole_starts,
};
use testkit::par;
use testkit::rng::Rng;
use testkit::score::{self, Score};
use testkit::treat::Treatment;

use crate::programme::Clip;
use crate::suite::TOLERANCE_S;
use crate::RATE;

/// The chains of the table, in report order.
pub const CHAINS: [Treatment; 24] = [
    Treatment::None,
    Treatment::Flac,
    Treatment::Aac(256),
    Treatment::Resample(44_100),
    Treatment::Mp2(256),
    Treatment::Ac3(448),
    Treatment::Eac3(256),
    Treatment::Aac(192),
    Treatment::Aac(128),
    Treatment::Mp3(320),
    Treatment::Mp3(128),
    Treatment::Opus(128),
    Treatment::Opus(64),
    Treatment::Vorbis(128),
    Treatment::Drift(1000.0),
    Treatment::Drift(-1000.0),
    Treatment::Speed(2.0),
    Treatment::Speed(-2.0),
    Treatment::GainDb(-30.0),
    Treatment::GainDb(10.0),
    Treatment::Loudnorm,
    Treatment::ProgrammeNoise(10.0),
    Treatment::VoiceOver,
    Treatment::Room,
];

/// The profiles of the table.
pub const PROFILES: [Profile; 2] = [Profile::Robust, Profile::Ultrasonic];

/// Chains of the window curve and the confirmation window.
pub const WINDOW_CHAINS: [Treatment; 4] = [
    Treatment::None,
    Treatment::Aac(128),
    Treatment::Mp3(128),
    Treatment::Opus(64),
];

/// Window lengths of the curve, seconds.
pub const WINDOW_SECONDS: [f32; 7] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0];

/// One clip × profile × chain.
#[derive(Debug, Clone)]
pub struct ChainCell {
    pub clip: usize,
    pub profile: Profile,
    pub treatment: Treatment,
    pub score: Score,
    pub error: Option<String>,
}

/// One chain × window length, summed over the clips.
#[derive(Debug, Clone, Default)]
pub struct WindowPoint {
    pub windows: usize,
    /// Windows that gave the full ID.
    pub full: usize,
    /// Windows that reported another ID.
    pub wrong: usize,
    /// Fewest full-ID windows of one clip, and that clip.
    pub worst: (usize, usize),
}

/// Confirmation verdicts (each over ~1 s) of a detector that expects the
/// contract ID, run over a whole clip, summed over the clips.
#[derive(Debug, Clone, Default)]
pub struct Confirmation {
    pub marked_verdicts: usize,
    pub marked_present: usize,
    pub unmarked_verdicts: usize,
    pub unmarked_present: usize,
    /// Decodes of any ID from the unmarked clips (must be 0).
    pub unmarked_decodes: usize,
    /// The clip marked with another ID (same key) instead: verdicts, and
    /// how many confirmed the contract ID (must be 0).
    pub other_verdicts: usize,
    pub other_present: usize,
    pub seconds: f64,
    /// Whole 1 s windows of programme.
    pub windows: usize,
}

/// What the robust mark does to one clip.
#[derive(Debug, Clone)]
pub struct Quality {
    pub peak_dbfs: f32,
    pub rms_dbfs: f32,
    /// Mark (marked − original) power against the programme's, 344 Hz–7 kHz.
    pub mark_to_programme_db: f32,
    pub mask_ratio: MaskRatio,
    pub visqol: Option<f32>,
}

/// The robust mark against the masking threshold, per band of every
/// non-silent frame ([`dsp_core::robust::measure_mask_ratio`]), dB.
#[derive(Debug, Clone, Default)]
pub struct MaskRatio {
    /// Per-band ratios, sorted.
    pub db: Vec<f32>,
}

impl MaskRatio {
    pub fn measure(original: &[f32], marked: &[f32], start: u64) -> MaskRatio {
        let mut db = Vec::new();
        dsp_core::robust::measure_mask_ratio(original, marked, start, |f| {
            if !f.silent {
                db.extend(
                    f.bands
                        .iter()
                        .map(|&(mark, mask)| db_of(mark as f64 / mask as f64)),
                );
            }
        });
        db.sort_by(f32::total_cmp);
        MaskRatio { db }
    }

    /// All clips' bands together.
    pub fn pooled<'a>(each: impl IntoIterator<Item = &'a MaskRatio>) -> MaskRatio {
        let mut db: Vec<f32> = each
            .into_iter()
            .flat_map(|m| m.db.iter().copied())
            .collect();
        db.sort_by(f32::total_cmp);
        MaskRatio { db }
    }

    /// The `p` quantile (0..=1), or NaN with no bands.
    pub fn quantile(&self, p: f64) -> f32 {
        match self.db.len() {
            0 => f32::NAN,
            n => self.db[((n - 1) as f64 * p).round() as usize],
        }
    }

    /// Share of bands above the mask.
    pub fn over_mask(&self) -> f64 {
        self.db.iter().filter(|&&d| d > 0.0).count() as f64 / self.db.len().max(1) as f64
    }
}

#[derive(Debug, Clone)]
pub struct RealEvidence {
    pub clips: Vec<crate::programme::Spec>,
    pub quality: Vec<Quality>,
    pub visqol_error: Option<String>,
    pub cells: Vec<ChainCell>,
    pub chains: Vec<Treatment>,
    /// Per window chain, per length.
    pub windows: Vec<Curve>,
    pub windows_per_clip: usize,
    pub confirmation: Vec<(Treatment, Confirmation)>,
    pub splices: Vec<SpliceRow>,
    /// [`speed_search`]'s cells, or why it did not run.
    pub speed_search: Result<Vec<SpeedCell>, String>,
    /// Ultrasonic bursts bound to their programme, and lifted ones: the
    /// ultrasonic layer alone, and with the robust layer vouching.
    pub binding: BindingEvidence,
    pub binding_both: BindingEvidence,
}

/// The clip marked with `profile`'s default settings and the contract ID,
/// and the marks sent whole.
fn marked(profile: Profile, x: &[f32]) -> (Vec<f32>, Vec<score::Mark>, dsp_core::EmbedConfig) {
    let cfg = embed_config(profile, RATE, 1, contract_id());
    let mut y = x.to_vec();
    embed(&cfg, &mut y);
    let sent = marks(&cfg, &whole_starts(&cfg, y.len() as u64));
    (y, sent, cfg)
}

/// The noise seed of chain `k` (of the list run) on `clip`.
fn chain_seed(clip: usize, k: usize) -> u64 {
    9000 + 100 * clip as u64 + k as u64
}

/// The seed chain `t` gets in the full table ([`CHAINS`]), so other
/// measurements treat the table's own audio.
pub fn table_seed(clip: usize, t: Treatment) -> u64 {
    let k = CHAINS
        .iter()
        .position(|&c| c == t)
        .expect("a chain of the table");
    chain_seed(clip, k)
}

/// Every clip × profile through every chain, two jobs at a time.
pub fn chains(
    clips: &[Clip],
    chains: &[Treatment],
    progress: impl Fn(&ChainCell) + Sync,
) -> Vec<ChainCell> {
    let jobs: Vec<(usize, Profile)> = PROFILES
        .iter()
        .flat_map(|&p| (0..clips.len()).map(move |c| (c, p)))
        .collect();
    par::map(&jobs, |_, &(clip, profile)| {
        let (y, sent, cfg) = marked(profile, &clips[clip].samples);
        let dc = detect_config_for(&cfg);
        let band = testkit::harness::in_band(Profile::Ultrasonic, RATE);
        chains
            .iter()
            .enumerate()
            .map(|(k, &treatment)| {
                let seed = chain_seed(clip, k);
                let (score, error) = match treatment.apply(&y, RATE, &band, seed) {
                    Ok((z, map)) => {
                        let found = reports(&detect(&dc, &z));
                        let s = score::score(&found, &sent, &map, TOLERANCE_S * RATE as f64);
                        (s, None)
                    }
                    Err(e) => (
                        Score {
                            expected: sent.len(),
                            ..Score::default()
                        },
                        Some(e),
                    ),
                };
                let cell = ChainCell {
                    clip,
                    profile,
                    treatment,
                    score,
                    error,
                };
                progress(&cell);
                cell
            })
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// Per chain: the window curve's points, one per length.
pub type Curve = (Treatment, Vec<WindowPoint>);

/// The window curve and the confirmation window for `chains`, robust
/// profile: `per_clip` random windows per clip and length.
pub fn windows(
    clips: &[Clip],
    chains: &[Treatment],
    per_clip: usize,
) -> (Vec<Curve>, Vec<(Treatment, Confirmation)>) {
    let jobs: Vec<(usize, usize)> = (0..chains.len())
        .flat_map(|t| (0..clips.len()).map(move |c| (t, c)))
        .collect();
    let id = contract_id();
    let results = par::map(&jobs, |_, &(t, clip)| {
        let x = &clips[clip].samples;
        let (y, _, cfg) = marked(Profile::Robust, x);
        let dc = detect_config_for(&cfg);
        let band = testkit::harness::in_band(Profile::Ultrasonic, RATE);
        let seed = 7000 + 100 * clip as u64 + t as u64;
        let coded = |v: &[f32]| -> Vec<f32> {
            chains[t]
                .apply(v, RATE, &band, seed)
                .unwrap_or_else(|e| panic!("{}: {e}", chains[t].name()))
                .0
        };
        let (z, plain) = (coded(&y), coded(x));
        let mut other = x.to_vec();
        embed(
            &embed_config(Profile::Robust, RATE, 1, other_id()),
            &mut other,
        );
        let other = coded(&other);
        let mut rng = Rng::new(seed);
        let curve: Vec<(usize, usize)> = WINDOW_SECONDS
            .iter()
            .map(|&len| {
                let n = (len * RATE as f32) as usize;
                let (mut full, mut wrong) = (0, 0);
                for _ in 0..per_clip {
                    let s = rng.below((z.len() - n) as u64) as usize;
                    let found = detect(&dc, &z[s..s + n]);
                    full += found.iter().any(|d| d.id == id) as usize;
                    wrong += found.iter().any(|d| d.id != id) as usize;
                }
                (full, wrong)
            })
            .collect();
        // Confirmation: one detector over the whole clip, the ID expected.
        let verdicts = |v: &[f32]| -> (usize, usize, usize) {
            let mut d = dsp_core::Detector::new(&dc).expect("valid detect config");
            d.robust_mut().expect("robust profile").expect(&id);
            let mut events = Vec::new();
            for (i, b) in v.chunks(4096).enumerate() {
                d.process(i as u64 * 4096, b, |e| events.push(*e))
                    .expect("whole frames");
            }
            d.finish(|e| events.push(*e));
            let pres: Vec<_> = events
                .iter()
                .filter_map(|e| match e {
                    // Verdicts on the expected ID only (a decoded ID is confirmed too).
                    Event::Presence(p) if p.id == id => Some(p),
                    _ => None,
                })
                .collect();
            let decodes = events
                .iter()
                .filter(|e| matches!(e, Event::Detection(_)))
                .count();
            (
                pres.len(),
                pres.iter().filter(|p| p.present).count(),
                decodes,
            )
        };
        let (mv, mp, _) = verdicts(&z);
        let (uv, up, ud) = verdicts(&plain);
        let (ov, op, _) = verdicts(&other);
        let conf = Confirmation {
            marked_verdicts: mv,
            marked_present: mp,
            unmarked_verdicts: uv,
            unmarked_present: up,
            unmarked_decodes: ud,
            other_verdicts: ov,
            other_present: op,
            seconds: x.len() as f64 / RATE as f64,
            windows: x.len() / RATE as usize,
        };
        (curve, conf)
    });
    let mut curves = Vec::new();
    let mut confs = Vec::new();
    for (t, &chain) in chains.iter().enumerate() {
        let mine: Vec<_> = results
            .iter()
            .zip(&jobs)
            .filter(|(_, j)| j.0 == t)
            .map(|(r, j)| (j.1, r))
            .collect();
        let points = (0..WINDOW_SECONDS.len())
            .map(|l| {
                let mut p = WindowPoint {
                    worst: (usize::MAX, 0),
                    ..WindowPoint::default()
                };
                for (clip, (curve, _)) in &mine {
                    let (full, wrong) = curve[l];
                    p.windows += per_clip;
                    p.full += full;
                    p.wrong += wrong;
                    if full < p.worst.0 {
                        p.worst = (full, *clip);
                    }
                }
                p
            })
            .collect();
        curves.push((chain, points));
        let mut c = Confirmation::default();
        for (_, (_, r)) in &mine {
            c.marked_verdicts += r.marked_verdicts;
            c.marked_present += r.marked_present;
            c.unmarked_verdicts += r.unmarked_verdicts;
            c.unmarked_present += r.unmarked_present;
            c.unmarked_decodes += r.unmarked_decodes;
            c.other_verdicts += r.other_verdicts;
            c.other_present += r.other_present;
            c.seconds += r.seconds;
            c.windows += r.windows;
        }
        confs.push((chain, c));
    }
    (curves, confs)
}

/// Chains after a splice in the splice table.
pub const SPLICE_CHAINS: [Treatment; 2] = [Treatment::None, Treatment::Aac(128)];

/// Shortest and longest piece of a splice, seconds.
pub const SPLICE_PIECES_S: (f32, f32) = (1.0, 10.0);

/// One profile × chain of the splice table, summed over clips and seeds.
#[derive(Debug, Clone)]
pub struct SpliceRow {
    pub profile: Profile,
    pub treatment: Treatment,
    pub splices: usize,
    pub score: testkit::splice::SpliceScore,
}

/// Chains through which genuine ultrasonic bursts must stay bound to their
/// programme (every chain the layer survives; the voice-over is the known
/// limit: louder than the programme, it changes the fingerprint as a
/// transplant does).
pub const BIND_CHAINS: [Treatment; 11] = [
    Treatment::None,
    Treatment::Flac,
    Treatment::Aac(256),
    Treatment::Resample(44_100),
    Treatment::Drift(1000.0),
    Treatment::Drift(-1000.0),
    Treatment::GainDb(-30.0),
    Treatment::GainDb(10.0),
    Treatment::Loudnorm,
    Treatment::ProgrammeNoise(10.0),
    Treatment::VoiceOver,
];

/// Chains a lifted band goes through after it is mixed onto another clip.
pub const LIFT_CHAINS: [Treatment; 2] = [Treatment::None, Treatment::Aac(256)];

/// Ultrasonic bursts reported as detections and as transplants.
#[derive(Debug, Clone, Copy, Default)]
pub struct BindCount {
    pub detections: usize,
    pub transplants: usize,
}

impl std::ops::AddAssign for BindCount {
    fn add_assign(&mut self, o: BindCount) {
        self.detections += o.detections;
        self.transplants += o.transplants;
    }
}

/// Genuine bursts per [`BIND_CHAINS`] entry, and lifted ones per
/// [`LIFT_CHAINS`] entry.
#[derive(Debug, Clone, Default)]
pub struct BindingEvidence {
    pub genuine: Vec<(Treatment, BindCount)>,
    pub lifted: Vec<(Treatment, BindCount)>,
    /// Lifted pairs (source clip onto another) per lift chain.
    pub pairs: usize,
}

/// Ultrasonic bursts only: with both layers the robust layer's periods are
/// not bursts.
fn bind_count(dc: &dsp_core::DetectConfig, z: &[f32]) -> BindCount {
    let mut c = BindCount::default();
    for e in testkit::harness::detect_events(dc, z, 4096) {
        match e {
            Event::Detection(d) if d.profile != Profile::Robust => c.detections += 1,
            Event::Transplant(_) => c.transplants += 1,
            _ => {}
        }
    }
    c
}

/// Each clip marked with `profiles` (the ultrasonic layer, alone or with
/// the robust one, whose presence then vouches for a burst's programme),
/// through each of [`BIND_CHAINS`] (the chain table's seeds); and the band
/// above 19.5 kHz of each marked clip (what a high-pass lifts) mixed onto
/// two other unmarked clips, through each of [`LIFT_CHAINS`].
pub fn binding(clips: &[Clip], profiles: dsp_core::Profiles) -> BindingEvidence {
    let cfg = embed_config(profiles, RATE, 1, contract_id());
    let mut dc = detect_config_for(&cfg);
    dc.check_binding = true;
    let band = testkit::harness::in_band(Profile::Ultrasonic, RATE);
    let jobs: Vec<usize> = (0..clips.len()).collect();
    let rows = par::map(&jobs, |_, &clip| {
        let mut y = clips[clip].samples.clone();
        embed(&cfg, &mut y);
        let genuine: Vec<BindCount> = BIND_CHAINS
            .iter()
            .map(|&t| {
                let (z, _) = t
                    .apply(&y, RATE, &band, table_seed(clip, t))
                    .unwrap_or_else(|e| panic!("{}: {e}", t.name()));
                bind_count(&dc, &z)
            })
            .collect();
        let low = channel::low_passed(&y, RATE, 19_500.0);
        let lifted_band: Vec<f32> = y.iter().zip(&low).map(|(a, b)| a - b).collect();
        let mut lifted = vec![BindCount::default(); LIFT_CHAINS.len()];
        for onto in [(clip + 1) % clips.len(), (clip + 4) % clips.len()] {
            let mixed: Vec<f32> = clips[onto]
                .samples
                .iter()
                .zip(&lifted_band)
                .map(|(a, b)| a + b)
                .collect();
            for (l, &t) in lifted.iter_mut().zip(&LIFT_CHAINS) {
                let (z, _) = t
                    .apply(&mixed, RATE, &band, 7000 + 100 * clip as u64 + onto as u64)
                    .unwrap_or_else(|e| panic!("{}: {e}", t.name()));
                *l += bind_count(&dc, &z);
            }
        }
        (genuine, lifted)
    });
    let mut ev = BindingEvidence {
        genuine: BIND_CHAINS
            .iter()
            .map(|&t| (t, BindCount::default()))
            .collect(),
        lifted: LIFT_CHAINS
            .iter()
            .map(|&t| (t, BindCount::default()))
            .collect(),
        pairs: 2 * clips.len(),
    };
    for (g, l) in rows {
        for (acc, c) in ev.genuine.iter_mut().zip(g) {
            acc.1 += c;
        }
        for (acc, c) in ev.lifted.iter_mut().zip(l) {
            acc.1 += c;
        }
    }
    ev
}

/// Speed changes the engine alone does not follow (it holds ±0.2 %),
/// measured as users run them: `hushmark detect --speed-search`.
pub const SPEED_CHAINS: [Treatment; 2] = [Treatment::Speed(2.0), Treatment::Speed(-2.0)];

/// One clip through one speed change, searched by the CLI.
#[derive(Debug, Clone)]
pub struct SpeedCell {
    pub clip: usize,
    pub treatment: Treatment,
    pub score: Score,
}

/// Each clip, robust-marked, through each of [`SPEED_CHAINS`] (the same
/// audio as the chain table's rows: same seeds), written as a 24-bit WAV
/// under `scratch` and searched by `hushmark` (robust, `--speed-search`,
/// JSON). Its detections are scored like the engine's, on the changed
/// copy's clock.
pub fn speed_search(
    clips: &[Clip],
    hushmark: &Path,
    scratch: &Path,
) -> Result<Vec<SpeedCell>, String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let key = scratch.join("test.key");
    testkit::harness::write_key_file(&key, &dsp_core::Key::PUBLIC_TEST)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    let jobs: Vec<(usize, Treatment)> = (0..clips.len())
        .flat_map(|c| SPEED_CHAINS.iter().map(move |&t| (c, t)))
        .collect();
    let cells = par::map(
        &jobs,
        |_, &(clip, treatment)| -> Result<SpeedCell, String> {
            let (y, sent, _) = marked(Profile::Robust, &clips[clip].samples);
            let seed = table_seed(clip, treatment);
            let band = testkit::harness::in_band(Profile::Ultrasonic, RATE);
            let (z, map) = treatment.apply(&y, RATE, &band, seed)?;
            let wav = scratch.join(format!("{}-{seed}.wav", clips[clip].spec.name));
            testkit::wav::write_24(&wav, &z, RATE, 1)
                .map_err(|e| format!("{}: {e}", wav.display()))?;
            let out = Command::new(hushmark)
                .arg("detect")
                .arg(&wav)
                .arg("--key")
                .arg(&key)
                .args(["--json", "--profile", "robust", "--speed-search"])
                .output()
                .map_err(|e| format!("{}: {e}", hushmark.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "hushmark detect {}: {}",
                    wav.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            let found = cli_reports(&String::from_utf8_lossy(&out.stdout))?;
            let _ = std::fs::remove_file(&wav);
            Ok(SpeedCell {
                clip,
                treatment,
                score: score::score(&found, &sent, &map, TOLERANCE_S * RATE as f64),
            })
        },
    );
    cells.into_iter().collect()
}

/// The detections of `hushmark detect --json` output as reports.
fn cli_reports(json_lines: &str) -> Result<Vec<score::Report>, String> {
    let mut out = Vec::new();
    for line in json_lines.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
        if v["kind"] != "detection" {
            continue;
        }
        let field = |name: &str| {
            v[name]
                .as_u64()
                .ok_or_else(|| format!("no {name} in {line}"))
        };
        let id = v["id"].as_str().ok_or_else(|| format!("no id in {line}"))?;
        out.push(score::Report {
            profile: if v["layer"] == "robust" {
                Profile::Robust
            } else {
                Profile::Ultrasonic
            },
            id: dsp_core::Id::from_hex(id).map_err(|e| format!("{e}: {line}"))?,
            start: field("start_sample")?,
            combined: field("bursts_combined")?.min(u8::MAX as u64) as u8,
            corrected_bits: field("corrected_bits")?.min(u16::MAX as u64) as u16,
        });
    }
    Ok(out)
}

/// Each clip marked twice (the contract ID and another), spliced `seeds`
/// times in random pieces of 1–10 s, each splice through each chain and
/// searched by a fresh detector of the profile; judged by where each copy
/// plays ([`testkit::splice::judge`]).
pub fn splices(clips: &[Clip], chains: &[Treatment], seeds: u64) -> Vec<SpliceRow> {
    use testkit::splice::{alternate, judge, SpliceScore};
    let jobs: Vec<(Profile, usize)> = PROFILES
        .iter()
        .flat_map(|&p| (0..clips.len()).map(move |c| (p, c)))
        .collect();
    let results = par::map(&jobs, |_, &(profile, clip)| {
        let x = &clips[clip].samples;
        let configs = [contract_id(), other_id()].map(|id| embed_config(profile, RATE, 1, id));
        let copies = configs.map(|c| testkit::harness::marked(&c, x));
        let sent: Vec<_> = configs
            .iter()
            .map(|c| marks(c, &testkit::harness::schedule_starts(c, x.len() as u64)))
            .collect();
        let dc = detect_config_for(&configs[0]);
        let band = testkit::harness::in_band(Profile::Ultrasonic, RATE);
        let (lo, hi) = SPLICE_PIECES_S;
        let mut out = vec![SpliceScore::default(); chains.len()];
        for seed in 0..seeds {
            let mut rng = Rng::new(5000 + 100 * clip as u64 + seed);
            let (y, segments) = alternate(
                &[&copies[0], &copies[1]],
                (lo * RATE as f32) as u64,
                (hi * RATE as f32) as u64,
                &mut rng,
            );
            for (k, t) in chains.iter().enumerate() {
                let z = t
                    .apply(&y, RATE, &band, seed)
                    .unwrap_or_else(|e| panic!("{}: {e}", t.name()))
                    .0;
                let found = reports(&detect(&dc, &z));
                let refs = [&configs[0], &configs[1]];
                let tol = (TOLERANCE_S * RATE as f64) as u64;
                out[k] += judge(&found, profile, &refs, &sent, &segments, tol);
            }
        }
        out
    });
    let mut rows = Vec::new();
    for &profile in &PROFILES {
        for (k, &treatment) in chains.iter().enumerate() {
            let mut score = SpliceScore::default();
            for (r, _) in results.iter().zip(&jobs).filter(|(_, j)| j.0 == profile) {
                score += r[k];
            }
            rows.push(SpliceRow {
                profile,
                treatment,
                splices: clips.len() * seeds as usize,
                score,
            });
        }
    }
    rows
}

/// Another 20-byte ID, for the confirmation's other-ID material.
fn other_id() -> dsp_core::Id {
    dsp_core::Id::from_hex("00112233445566778899aabbccddeeff00112233").expect("40 hex digits")
}

fn db_of(p: f64) -> f32 {
    (10.0 * p.max(1e-30).log10()) as f32
}

/// Levels, the measured mark-to-programme ratio and (if `python` runs
/// visqol-python) ViSQOL v3 audio mode, original against robust-marked.
pub fn quality(
    clips: &[Clip],
    scratch: &Path,
    python: Option<&Path>,
) -> (Vec<Quality>, Option<String>) {
    let (lo, hi) = (344.0, 7000.0);
    let mut q: Vec<Quality> = par::map(clips, |_, c| {
        let x = &c.samples;
        let (y, _, cfg) = marked(Profile::Robust, x);
        let mark = channel::residual(&y, x);
        let power = x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / x.len() as f64;
        let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        Quality {
            peak_dbfs: 20.0 * peak.max(1e-9).log10(),
            rms_dbfs: db_of(power),
            mark_to_programme_db: db_of(
                channel::band_power(&mark, RATE, lo, hi) / channel::band_power(x, RATE, lo, hi),
            ),
            mask_ratio: MaskRatio::measure(x, &y, nth_start(&cfg, 0)),
            visqol: None,
        }
    });
    let Some(python) = python else {
        return (q, Some("no ViSQOL interpreter given".into()));
    };
    match visqol(clips, scratch, python) {
        Ok(scores) => {
            for (q, s) in q.iter_mut().zip(scores) {
                q.visqol = Some(s);
            }
            (q, None)
        }
        Err(e) => (q, Some(e)),
    }
}

/// The ViSQOL script: pairs of paths in, one MOS-LQO per line out.
pub const VISQOL_PY: &str = "\
import sys
from visqol import VisqolApi
api = VisqolApi()
api.create(mode='audio')
for ref, deg in zip(sys.argv[1::2], sys.argv[2::2]):
    print(api.measure(ref, deg).moslqo, flush=True)
";

fn visqol(clips: &[Clip], scratch: &Path, python: &Path) -> Result<Vec<f32>, String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    // One interpreter per clip, two at a time (about a minute each).
    par::map(clips, |_, clip| {
        let (y, _, _) = marked(Profile::Robust, &clip.samples);
        let mut c = Command::new(python);
        c.args(["-c", VISQOL_PY]);
        for (tag, v) in [("orig", &clip.samples), ("marked", &y)] {
            let p = scratch.join(format!("{}-{tag}.wav", clip.spec.name));
            testkit::wav::write_24(&p, v, RATE, 1).map_err(|e| format!("{}: {e}", p.display()))?;
            c.arg(&p);
        }
        let out = c
            .output()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        if !out.status.success() {
            return Err(format!(
                "visqol failed on {}: {}",
                clip.spec.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.trim().parse().ok())
            .ok_or_else(|| format!("visqol gave no score for {}", clip.spec.name))
    })
    .into_iter()
    .collect()
}
