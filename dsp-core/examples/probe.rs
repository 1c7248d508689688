//! Development probe: detection rate under one impairment. Not a test.
use dsp_core::*;
use testkit::channel::{self, Noise};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |i: usize, d: f64| args.get(i).map(|s| s.parse().unwrap()).unwrap_or(d);
    let snr_db = get(1, 10.0) as f32;
    let rate = get(2, 48000.0) as u32;
    let ppm = get(3, 0.0);
    let bursts = get(4, 20.0) as usize;
    let combining = get(5, 1.0) != 0.0;
    let key = Key::from_bytes([3; 16]);
    let id = Id::new(&[0x11; 20]).unwrap();
    let mut cfg = EmbedConfig::new(id, key);
    cfg.sample_rate = rate;
    cfg.channels = 1;
    let mut emb = Embedder::new(&cfg).unwrap();
    let n = rate as usize * (2 * bursts + 1);
    let mut x = vec![0.0f32; n];
    emb.process(0, &mut x).unwrap();
    if ppm != 0.0 {
        x = channel::clock_drift(&x, ppm);
    }
    let band = emb.phy().band;
    let p = channel::mark_power(cfg.level_dbfs) / 10f64.powf(snr_db as f64 / 10.0);
    channel::add_band_noise(
        &mut x,
        rate,
        band.low_hz as f32,
        band.high_hz as f32,
        p,
        Noise::White,
        77,
    );
    let mut dcfg = DetectConfig::new(key);
    dcfg.sample_rate = rate;
    dcfg.channels = 1;
    dcfg.soft_combining = combining;
    let mut det = Detector::new(&dcfg).unwrap();
    let mut found = vec![];
    let mut wrong = 0;
    let mut cb = |d: &Detection| {
        if d.id != id {
            wrong += 1;
        }
        found.push((d.start_sample, d.snr_db, d.bursts_combined, d.clock_ppm));
    };
    for (i, chunk) in x.chunks(4096).enumerate() {
        det.process((i * 4096) as u64, chunk, &mut cb).unwrap();
    }
    det.finish(&mut cb);
    let period = 2.0 * rate as f64 / (1.0 + ppm * 1e-6);
    let mut worst_ms = 0.0f64;
    for f in &found {
        let k = (f.0 as f64 / period).round();
        worst_ms = worst_ms.max((f.0 as f64 - k * period).abs() * 1000.0 / rate as f64);
    }
    let singles = found.iter().filter(|f| f.2 == 1).count();
    let snr_mean = found.iter().map(|f| f.1).sum::<f32>() / found.len().max(1) as f32;
    println!("snr {snr_db} rate {rate} ppm {ppm}: found {}/{} (single {singles}), wrong {wrong}, worst timing {worst_ms:.2} ms, est snr {snr_mean:.1}, stats {:?}", found.len(), bursts, det.stats());
}
