//! Development probe: rough throughput of embed and detect. Benches live in benches/.
use dsp_core::*;
use std::time::Instant;
fn main() {
    let key = Key::from_bytes([3; 16]);
    let id = Id::new(&[0x11; 20]).unwrap();
    let mut cfg = EmbedConfig::new(id, key);
    cfg.channels = 2;
    let mut emb = Embedder::new(&cfg).unwrap();
    let secs = 60;
    let mut x = testkit::synth::generate(testkit::synth::Kind::Music, 48000, 48000 * secs, 1);
    let mut st: Vec<f32> = x.iter().flat_map(|v| [*v, *v]).collect();
    let t = Instant::now();
    for (i, c) in st.chunks_mut(2048).enumerate() {
        emb.process((i * 1024) as u64, c).unwrap();
    }
    let e = t.elapsed().as_secs_f64();
    println!("embed stereo: {:.1}x real time", secs as f64 / e);
    let mut dcfg = DetectConfig::new(key);
    dcfg.channels = 1;
    let mut det = Detector::new(&dcfg).unwrap();
    for (i, v) in x.iter_mut().enumerate() {
        *v = st[2 * i];
    }
    let t = Instant::now();
    let mut n = 0;
    for (i, c) in x.chunks(1024).enumerate() {
        det.process((i * 1024) as u64, c, |_| n += 1).unwrap();
    }
    let e = t.elapsed().as_secs_f64();
    println!(
        "detect mono: {:.1}x real time, {} found, {:?}",
        secs as f64 / e,
        n,
        det.stats()
    );
}
