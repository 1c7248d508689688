use dsp_core::*;
fn main() {
    let key = Key::from_bytes([3; 16]);
    let id = Id::new(&[0x11; 20]).unwrap();
    let mut cfg = EmbedConfig::new(id, key);
    cfg.channels = 1;
    let mut emb = Embedder::new(&cfg).unwrap();
    let secs = 60;
    let mut x = testkit::synth::generate(testkit::synth::Kind::Music, 48000, 48000 * secs, 1);
    emb.process(0, &mut x).unwrap();
    let mut dcfg = DetectConfig::new(key);
    dcfg.channels = 1;
    let mut det = Detector::new(&dcfg).unwrap();
    let mut starts = vec![];
    for (i, c) in x.chunks(1024).enumerate() {
        det.process((i * 1024) as u64, c, |d| {
            starts.push(d.start_sample / 48000)
        })
        .unwrap();
    }
    det.finish(|d| starts.push(d.start_sample / 48000));
    println!("{:?} {:?}", starts, det.stats());
}
