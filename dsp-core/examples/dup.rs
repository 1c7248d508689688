use dsp_core::*;
fn main() {
    let key = Key::from_bytes([0x4B; 16]);
    let id = Id::new(&[0]).unwrap();
    let mut cfg = EmbedConfig::new(id, key);
    cfg.channels = 1;
    cfg.schedule = Schedule::Interval {
        every_ms: 1500,
        offset_ms: 0,
    };
    let n = 48_000 * 8;
    let mut x = testkit::synth::generate(testkit::synth::Kind::PinkNoise, 48_000, n, 1);
    testkit::channel::gain_db(&mut x, -20.0);
    Embedder::new(&cfg).unwrap().process(0, &mut x).unwrap();
    let mut dc = DetectConfig::new(key);
    dc.channels = 1;
    let mut d = Detector::new(&dc).unwrap();
    for (i, b) in x.chunks(4096).enumerate() {
        d.process((i * 4096) as u64, b, |e| println!("{e}"))
            .unwrap();
    }
    d.finish(|e| println!("fin {e}"));
}
