//! Development probe: what reverb does to detection.
use dsp_core::Profile;
use evidence::suite::{detect, detect_config, embed, embed_config};
use evidence::treat::{convolve, room_impulse};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt: f32 = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(0.3);
    let drr_db: f32 = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(0.0);
    let cfg = embed_config(Profile::Ultrasonic, evidence::contract_id());
    let mut x = vec![0.0f32; 48000 * 21];
    let starts = embed(&cfg, &mut x);
    let seed: u64 = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(3);
    let mut h = room_impulse(rt, seed);
    let early: f32 = h[1..48 * 20].iter().map(|v| v * v).sum();
    println!(
        "early (<20 ms) reflection energy {early:.3}, h0 {:.3}",
        h[0]
    );
    // room_impulse gives DRR 0 dB; scale the tail for other DRRs.
    let g = 10f32.powf(-drr_db / 20.0);
    for v in h.iter_mut().skip(1) {
        *v *= g;
    }
    let y = convolve(&x, &h);
    let found = detect(&detect_config(Profile::Ultrasonic, true), &y);
    println!(
        "RT60 {rt} DRR {drr_db} dB: {} of {} found",
        found.len(),
        starts.len()
    );
    for f in found.iter().take(3) {
        println!("  {f}");
    }
}
