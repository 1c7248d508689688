//! Development probe: one robustness cell, with its detections.
use dsp_core::{Phy, Profile, Schedule};
use evidence::suite::{detect, detect_config, embed, embed_config, Material};
use evidence::treat::Treatment;
fn main() {
    let mut cfg = embed_config(Profile::Ultrasonic, evidence::contract_id());
    cfg.schedule = Schedule::Interval {
        every_ms: 2000,
        offset_ms: 300,
    };
    let n = 48000 * 11;
    for m in [Material::NearSilence, Material::Music] {
        let mut x = m.generate(n, 1023);
        let starts = embed(&cfg, &mut x);
        let band = Phy::new(Profile::Ultrasonic, 48000).unwrap().band;
        let (y, _) = Treatment::Reverb(0.8).apply(&x, band, 1023).unwrap();
        let found = detect(&detect_config(Profile::Ultrasonic, true), &y);
        println!("{m:?} starts {starts:?}");
        for f in &found {
            println!("  {f}");
        }
    }
}
