//! The ultrasonic detector's cost in instructions, for a count that does not
//! depend on what else the machine is doing:
//!
//! ```text
//! cargo build --release -p hushmark-benches --example detect_cost
//! valgrind --tool=callgrind target/release/examples/detect_cost 4
//! valgrind --tool=callgrind target/release/examples/detect_cost 40
//! ```
//!
//! The difference of the two totals over 36 s is the detector's instructions
//! per second of audio (the set-up, marking 4 s of music, cancels). The case is
//! Criterion's `detect/profile/ultrasonic`: 48 kHz mono `i16` music with a
//! burst every 2 s, 1024-frame blocks.

use dsp_core::{Detector, Embedder, Profile, Sample};
use testkit::harness::{contract_id, detect_config, embed_config};
use testkit::synth::{self, Kind};

fn main() {
    let seconds: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 40,
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            eprintln!("detect_cost SECONDS (a multiple of 4): {e}");
            std::process::exit(2);
        }
    };
    let rate = 48_000;
    let mut x = synth::generate(Kind::Music, rate, rate as usize * 4, 3);
    let mut embedder = Embedder::new(&embed_config(Profile::Ultrasonic, rate, 1, contract_id()))
        .expect("the base case configures");
    embedder.process(0, &mut x).expect("whole frames");
    let input: Vec<i16> = x.iter().map(|&v| i16::from_unit(v)).collect();
    let mut d = Detector::new(&detect_config(Profile::Ultrasonic, rate, 1)).expect("base case");
    let (mut found, mut now) = (0, 0u64);
    for _ in 0..seconds / 4 {
        for block in input.chunks(1024) {
            d.process(now, block, |_| found += 1).expect("whole frames");
            now += block.len() as u64;
        }
    }
    println!("{seconds} s, {found} bursts found");
}
