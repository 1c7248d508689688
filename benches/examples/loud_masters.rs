//! Loud and clipped recorded masters, marked as a 16-bit WAV is: the three
//! loud clips of the programme table peak-normalised to 0 dBFS (what
//! `sox gain -n 0` does), and driven 6 dB further into clipping, each
//! marked in its 16-bit samples. Per master, a markdown row: samples at full
//! scale; the ultrasonic embedder's worst 50 ms residual below 16 kHz;
//! ultrasonic bursts and robust periods found (both layers embedded) as
//! marked, after AAC 128k and after MP3 128k, and wrong IDs; the robust
//! mark against the mask; and, with `HUSHMARK_VISQOL` naming a Python that
//! has visqol-python (`cargo xtask programme` makes one in
//! `target/visqol-venv`), ViSQOL v3 audio mode, original against
//! robust-marked.
//!
//! `HUSHMARK_VISQOL=target/visqol-venv/bin/python cargo run --release -p hushmark-benches --example loud_masters`

use std::path::Path;
use std::process::Command;

use dsp_core::{Profile, Profiles, Sample};
use evidence::programme::{load, CLIPS};
use evidence::real::{MaskRatio, VISQOL_PY};
use evidence::suite::TOLERANCE_S;
use evidence::RATE;
use testkit::harness::{
    contract_id, detect, detect_config_for, embed_config, embed_samples, in_band, marks, nth_start,
    reports, whole_starts,
};
use testkit::treat::Treatment;
use testkit::{channel, par, score};

const LOUD: [&str; 3] = ["frozen-bubble", "hw-rock", "techbattle"];
const CHAINS: [Treatment; 3] = [Treatment::None, Treatment::Aac(128), Treatment::Mp3(128)];
/// Peak before the 16-bit cut: 0 dBFS, and +6 dB (clipped).
const DRIVES: [(&str, f32); 2] = [("0 dBFS", 1.0), ("+6 dB, clipped", 2.0)];

fn to_f32(x: &[i16]) -> Vec<f32> {
    x.iter().map(|&v| v.to_unit()).collect()
}

fn marked_16(profiles: impl Into<Profiles>, x: &[i16]) -> Vec<i16> {
    let cfg = embed_config(profiles, RATE, 1, contract_id());
    let mut y = x.to_vec();
    embed_samples(&cfg, &mut y, 1024);
    y
}

fn main() -> Result<(), String> {
    let specs: Vec<_> = CLIPS
        .iter()
        .filter(|s| LOUD.contains(&s.name))
        .cloned()
        .collect();
    let clips = load(Path::new("target/programme"), &specs)?;
    let visqol = std::env::var("HUSHMARK_VISQOL").ok();
    let scratch = Path::new("target/loud-masters");
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let both: Profiles = "ultrasonic+robust".parse().map_err(|e| format!("{e}"))?;
    let jobs: Vec<(usize, usize)> = (0..clips.len())
        .flat_map(|c| (0..DRIVES.len()).map(move |d| (c, d)))
        .collect();
    let rows = par::map(&jobs, |_, &(c, d)| -> Result<String, String> {
        let (clip, (tag, drive)) = (&clips[c], DRIVES[d]);
        let peak = clip.samples.iter().fold(0f32, |m, v| m.max(v.abs()));
        let g = drive / peak;
        let x16: Vec<i16> = clip
            .samples
            .iter()
            .map(|&v| i16::from_unit(v * g))
            .collect();
        let full = x16.iter().filter(|&&v| v == 32767 || v == -32768).count();
        let x = to_f32(&x16);

        let yu = to_f32(&marked_16(Profile::Ultrasonic, &x16));
        let audible = channel::low_passed(&channel::residual(&yu, &x), RATE, 16_000.0);
        let worst = channel::window_levels_db(&audible, RATE, 0.05)
            .into_iter()
            .fold(f32::NEG_INFINITY, f32::max);

        let yb = to_f32(&marked_16(both, &x16));
        let (cfg_u, cfg_r) = (
            embed_config(Profile::Ultrasonic, RATE, 1, contract_id()),
            embed_config(Profile::Robust, RATE, 1, contract_id()),
        );
        let len = x.len() as u64;
        let sent_u = marks(&cfg_u, &whole_starts(&cfg_u, len));
        let sent_r = marks(&cfg_r, &whole_starts(&cfg_r, len));
        let dc = detect_config_for(&embed_config(both, RATE, 1, contract_id()));
        let band = in_band(Profile::Ultrasonic, RATE);
        let mut cells = Vec::new();
        let mut wrong = 0;
        for (k, t) in CHAINS.iter().enumerate() {
            let (z, map) = t.apply(&yb, RATE, &band, 7000 + k as u64)?;
            let found = reports(&detect(&dc, &z));
            let (fu, fr): (Vec<_>, Vec<_>) =
                found.iter().partition(|r| r.profile == Profile::Ultrasonic);
            let tol = TOLERANCE_S * RATE as f64;
            let (su, sr) = (
                score::score(&fu, &sent_u, &map, tol),
                score::score(&fr, &sent_r, &map, tol),
            );
            cells.push(format!(
                "{}/{} · {}/{}",
                su.found, su.expected, sr.found, sr.expected
            ));
            wrong += su.wrong_id + sr.wrong_id;
        }

        let yr = to_f32(&marked_16(Profile::Robust, &x16));
        let m = MaskRatio::measure(&x, &yr, nth_start(&cfg_r, 0));
        let mos = match &visqol {
            None => "—".to_string(),
            Some(py) => {
                let name = clip.spec.name;
                let a = scratch.join(format!("{name}-{d}-orig.wav"));
                let b = scratch.join(format!("{name}-{d}-robust.wav"));
                for (p, v) in [(&a, &x), (&b, &yr)] {
                    testkit::wav::write_24(p, v, RATE, 1)
                        .map_err(|e| format!("{}: {e}", p.display()))?;
                }
                let out = Command::new(py)
                    .args(["-c", VISQOL_PY])
                    .arg(&a)
                    .arg(&b)
                    .output()
                    .map_err(|e| format!("cannot run {py}: {e}"))?;
                let s = String::from_utf8_lossy(&out.stdout);
                let mos: f32 = s
                    .trim()
                    .parse()
                    .map_err(|_| format!("visqol gave no score for {name}: {s}"))?;
                format!("{mos:.3}")
            }
        };
        Ok(format!(
            "| {} | {tag} | {:.2} % | {worst:.1} dBFS | {} | {wrong} | {:.1} / {:.1} dB, {:.2} % | {mos} |",
            clip.spec.name,
            100.0 * full as f64 / x16.len() as f64,
            cells.join(" | "),
            m.quantile(0.5),
            m.quantile(0.99),
            100.0 * m.over_mask(),
        ))
    });
    println!("| master | peak | at full scale | ultrasonic residual < 16 kHz, worst 50 ms | found as marked (ultrasonic · robust) | after AAC 128k | after MP3 128k | wrong IDs | robust mark/mask median / 99th, above | ViSQOL |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!("{}", row?);
    }
    Ok(())
}
