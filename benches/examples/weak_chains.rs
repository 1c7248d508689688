//! Where the robust layer loses periods on the chains it survives least
//! (pink noise 10 dB under the programme, a voice-over, a room), on the 10
//! recorded clips: the share of the stream the detector is locked, the
//! periods it decodes (the REPORT's table counts these), and the 1 s
//! windows it confirms when the ID is expected (`--expect`). A lock without
//! decodes means the pilots are heard but block A's 412 coded bits are
//! not: the loss is in the data's signal-to-noise ratio, not in the sync.
//!
//! `cargo run --release -p hushmark-benches --example weak_chains`

use std::path::Path;

use dsp_core::{robust, Event, Profile};
use evidence::programme::{load, CLIPS};
use evidence::real::table_seed;
use evidence::suite::TOLERANCE_S;
use evidence::RATE;
use testkit::harness::{
    contract_id, detect_config_for, embed_config, in_band, marked, marks, reports, whole_starts,
};
use testkit::treat::Treatment;
use testkit::{par, score};

const CHAINS: [Treatment; 4] = [
    Treatment::None,
    Treatment::ProgrammeNoise(10.0),
    Treatment::VoiceOver,
    Treatment::Room,
];
/// Frames per `process` call.
const BLOCK: usize = 1024;

#[derive(Default, Clone, Copy)]
struct Tally {
    blocks: usize,
    locked: usize,
    found: usize,
    expected: usize,
    wrong: usize,
    confirmed: usize,
    /// Whole seconds of stream.
    seconds: usize,
}

fn main() -> Result<(), String> {
    let clips = load(Path::new("target/programme"), &CLIPS)?;
    let cfg = embed_config(Profile::Robust, RATE, 1, contract_id());
    let jobs: Vec<(usize, usize)> = (0..clips.len())
        .flat_map(|c| (0..CHAINS.len()).map(move |t| (c, t)))
        .collect();
    let rows = par::map(&jobs, |_, &(c, t)| -> Result<Tally, String> {
        let y = marked(&cfg, &clips[c].samples);
        let chain = CHAINS[t];
        let (z, map) = chain.apply(
            &y,
            RATE,
            &in_band(Profile::Ultrasonic, RATE),
            table_seed(c, chain),
        )?;
        let mut d = robust::Detector::new(&detect_config_for(&cfg)).map_err(|e| e.to_string())?;
        d.expect(&contract_id());
        let (mut tally, mut found) = (Tally::default(), Vec::new());
        tally.seconds = z.len() / RATE as usize;
        for (i, b) in z.chunks(BLOCK).enumerate() {
            d.process((i * BLOCK) as u64, b, |e| match e {
                Event::Detection(x) => found.push(*x),
                Event::Presence(p) => tally.confirmed += p.present as usize,
                _ => {}
            })
            .map_err(|e| e.to_string())?;
            tally.blocks += 1;
            tally.locked += d.locked() as usize;
        }
        d.finish(|e| {
            if let Event::Detection(x) = e {
                found.push(*x)
            }
        });
        let sent = marks(&cfg, &whole_starts(&cfg, y.len() as u64));
        let s = score::score(&reports(&found), &sent, &map, TOLERANCE_S * RATE as f64);
        (tally.found, tally.expected, tally.wrong) = (s.found, s.expected, s.wrong_id);
        Ok(tally)
    });
    println!("| chain | locked | periods decoded | wrong IDs | seconds confirmed (ID expected) |");
    println!("|---|---:|---:|---:|---:|");
    for (t, chain) in CHAINS.iter().enumerate() {
        let mut sum = Tally::default();
        for (row, &(_, tj)) in rows.iter().zip(&jobs) {
            if tj != t {
                continue;
            }
            let r = row.as_ref().map_err(|e| e.clone())?;
            sum.blocks += r.blocks;
            sum.locked += r.locked;
            sum.found += r.found;
            sum.expected += r.expected;
            sum.wrong += r.wrong;
            sum.confirmed += r.confirmed;
            sum.seconds += r.seconds;
        }
        println!(
            "| {} | {:.0} % | {}/{} | {} | {}/{} |",
            chain.name(),
            100.0 * sum.locked as f64 / sum.blocks as f64,
            sum.found,
            sum.expected,
            sum.wrong,
            sum.confirmed,
            sum.seconds
        );
    }
    Ok(())
}
