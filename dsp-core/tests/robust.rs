//! The robust layer: budgets, an exact delay line, partition independence,
//! band limits, no clipping, and detection through the impairments this
//! crate can model (resampling, clock drift, gain, noise, silence).
//! Real codecs and real programme are exercised in the host's tests and the
//! robustness suite.

use dsp_core::robust::{self, LATENCY};
use dsp_core::{
    DetectConfig, Detection as Decoded, EmbedConfig, Event, Id, Key, Presence, Profile,
};
use testkit::channel::{band_power, clock_drift, gain_db, resample};
use testkit::synth::{self, Kind};

const RATE: u32 = 48_000;
const PERIOD: u64 = 128 * 768;

fn contract() -> Id {
    Id::from_hex("d8da6bf26964af9d7eed9e03e53415d37aa96045").unwrap()
}

fn embed_config(channels: u16) -> EmbedConfig {
    let mut c = EmbedConfig::new(contract(), Key::PUBLIC_TEST);
    c.channels = channels;
    c.profiles = Profile::Robust.into();
    c
}

fn detect_config(channels: u16, key: Key) -> DetectConfig {
    let mut c = DetectConfig::new(key);
    c.channels = channels;
    c.profiles = Profile::Robust.into();
    c
}

/// Mark `x` (mono) in blocks of `block` frames and return the output with
/// the latency removed (same length and alignment as `x`).
fn mark(x: &[f32], block: usize) -> Vec<f32> {
    mark_with(x, block, contract())
}

/// [`mark`] with `id` instead of the contract ID.
fn mark_with(x: &[f32], block: usize, id: Id) -> Vec<f32> {
    let mut c = embed_config(1);
    c.id = id;
    mark_as(x, block, &c)
}

/// [`mark`] with the embed config `c`.
fn mark_as(x: &[f32], block: usize, c: &EmbedConfig) -> Vec<f32> {
    let mut e = robust::Embedder::new(c).unwrap();
    let mut y = x.to_vec();
    y.extend(std::iter::repeat_n(0.0, LATENCY));
    let mut now = 0u64;
    for b in y.chunks_mut(block) {
        e.process(now, b).unwrap();
        now += b.len() as u64;
    }
    y.drain(..LATENCY);
    y
}

fn detect(x: &[f32], key: Key, expect: &[Id]) -> (Vec<Decoded>, Vec<Presence>) {
    let mut d = robust::Detector::new(&detect_config(1, key)).unwrap();
    for id in expect {
        assert!(d.expect(id));
    }
    let (mut dec, mut pres) = (Vec::new(), Vec::new());
    let mut on = |e: &Event| match e {
        Event::Detection(x) => dec.push(*x),
        Event::Presence(p) => pres.push(*p),
        Event::Collision(c) => panic!("one layer's marks, yet colliding: {c}"),
        Event::Transplant(t) => panic!("a robust detector reported an ultrasonic transplant: {t}"),
    };
    for (i, b) in x.chunks(4000).enumerate() {
        d.process(i as u64 * 4000, b, &mut on).unwrap();
    }
    d.finish(&mut on);
    (dec, pres)
}

fn music(seconds: f32, seed: u64) -> Vec<f32> {
    let mut x = synth::generate(Kind::Music, RATE, (seconds * RATE as f32) as usize, seed);
    gain_db(&mut x, -6.0);
    x
}

#[test]
fn state_fits_the_budgets_and_the_look_ahead_is_under_43_ms() {
    let e = std::mem::size_of::<robust::Embedder>();
    let d = std::mem::size_of::<robust::Detector>();
    println!("size_of robust::Embedder = {e} B, robust::Detector = {d} B");
    assert!(e <= 24 * 1024, "embedder {e} B");
    assert!(d <= 128 * 1024, "detector {d} B");
    let ms = LATENCY as f64 * 1000.0 / RATE as f64;
    assert!(ms <= 43.0, "latency {ms} ms");
    let embedder = robust::Embedder::new(&embed_config(2)).unwrap();
    assert_eq!(embedder.latency(), LATENCY as u64);
}

#[test]
fn silence_passes_delayed_bit_for_bit_and_carries_no_mark() {
    // −85 dBFS noise: below the silence floor.
    let x = synth::white_noise(RATE as usize * 3, 10f32.powf(-85.0 / 20.0), 3);
    let y = mark(&x, 1000);
    assert_eq!(y, x);
    let mut e = robust::Embedder::new(&embed_config(2)).unwrap();
    let input: Vec<i16> = (0..RATE as usize * 2 * 2)
        .map(|i| ((i * 7) % 5) as i16 - 2)
        .collect();
    let mut out = input.clone();
    out.extend(std::iter::repeat_n(0, 2 * LATENCY));
    e.process(0, &mut out).unwrap();
    assert!(out[..2 * LATENCY].iter().all(|&v| v == 0));
    assert_eq!(&out[2 * LATENCY..], &input[..]);
    assert!(e.stats().marked_frames == 0 && e.stats().silent_frames > 100);
}

#[test]
fn output_does_not_depend_on_how_the_stream_is_cut() {
    let x = music(4.0, 11);
    let whole = mark(&x, x.len() + LATENCY);
    for block in [1usize, 7, 480, 1023, 4096] {
        assert_eq!(mark(&x, block), whole, "block {block}");
    }
}

#[test]
fn both_layers_together_do_not_depend_on_how_the_stream_is_cut() {
    // Blocks shorter than the look-ahead: the ultrasonic layer's first
    // blocks fall wholly before the delayed stream begins.
    let mut c = embed_config(2);
    c.profiles = c.profiles.with(Profile::Ultrasonic);
    let x: Vec<f32> = music(3.0, 12).iter().flat_map(|&v| [v, 0.5 * v]).collect();
    let run = |block: usize| {
        let mut e = dsp_core::Embedder::new(&c).unwrap();
        let mut y = x.clone();
        let mut now = 0u64;
        for b in y.chunks_mut(2 * block) {
            e.process(now, b).unwrap();
            now += b.len() as u64 / 2;
        }
        y
    };
    let whole = run(x.len());
    assert_ne!(whole, x, "nothing marked");
    for block in [1usize, 256, 1000, 1701, 2048] {
        assert_eq!(run(block), whole, "block {block}");
    }
}

#[test]
fn the_mark_stays_in_its_band_and_under_the_programme() {
    let x = music(6.0, 5);
    let y = mark(&x, 4096);
    let m: Vec<f32> = y.iter().zip(&x).map(|(a, b)| a - b).collect();
    let inside = band_power(&m, RATE, 400.0, 6800.0);
    let below = band_power(&m, RATE, 0.0, 200.0);
    let above = band_power(&m, RATE, 9500.0, 24_000.0);
    assert!(inside > 0.0);
    assert!(10.0 * (inside / below).log10() > 40.0, "below 200 Hz");
    assert!(10.0 * (inside / above).log10() > 45.0, "above 9.5 kHz");
    let ratio = 10.0
        * (m.iter().map(|v| (*v as f64).powi(2)).sum::<f64>()
            / x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>())
        .log10();
    assert!(
        (-32.0..-12.0).contains(&ratio),
        "mark/programme {ratio:.1} dB"
    );
}

/// Median per-band mark-to-mask ratio (dB) over the frame-bands that have
/// a mask, and the share of them above it.
fn measured_mask_ratio(x: &[f32], y: &[f32]) -> (f32, f32) {
    let mut db = Vec::new();
    robust::measure_mask_ratio(x, y, 0, |f| {
        for &(mark, mask) in f.bands.iter().filter(|_| !f.silent) {
            db.push(10.0 * (mark.max(1e-30) / mask).log10());
        }
    });
    db.sort_by(f32::total_cmp);
    let over = db.iter().filter(|&&d| d > 0.0).count() as f32 / db.len() as f32;
    (db[db.len() / 2], over)
}

#[test]
fn the_mark_sits_under_the_masking_threshold_by_the_configured_ratio() {
    let x = music(6.0, 8);
    let (default, over) = measured_mask_ratio(&x, &mark(&x, 4096));
    // The design ratio is the cell amplitude's; the model's own analysis
    // sees about 3.7 dB less of it (sqrt-Hann twice, neighbours overlap).
    let design = robust::DEFAULT_MMR_DB;
    assert!(
        (design - 5.0..design - 2.0).contains(&default),
        "median {default:.1} dB against {design} dB configured"
    );
    assert!(
        over < 0.005,
        "{:.2} % of frame-bands above the mask",
        100.0 * over
    );
    let mut c = embed_config(1);
    c.robust_mmr_db = -10.0;
    let (lower, _) = measured_mask_ratio(&x, &mark_as(&x, 4096, &c));
    assert!(
        (default - lower - (design + 10.0)).abs() < 1.0,
        "{default:.1} vs {lower:.1} dB"
    );
}

#[test]
fn never_clips_and_over_range_or_broken_samples_pass_unchanged() {
    let mut x = synth::generate(Kind::NearFullScale, RATE, RATE as usize * 3, 2);
    for v in x.iter_mut().skip(1000).step_by(997) {
        *v = 1.0;
    }
    x[5000] = 1.5;
    x[6000] = f32::NAN;
    x[7000] = f32::INFINITY;
    let y = mark(&x, 4096);
    for (i, (a, b)) in y.iter().zip(&x).enumerate() {
        if b.is_finite() && b.abs() <= 1.0 {
            assert!(a.abs() <= 1.0, "sample {i}: {a}");
        }
    }
    assert_eq!(y[5000], 1.5, "over-range programme is never changed");
    // Non-finite input is delayed as silence (the mark still adds to it):
    // what comes out there is no larger than the mark is anywhere.
    let mark_peak = y
        .iter()
        .zip(&x)
        .filter(|(_, b)| b.is_finite())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(mark_peak < 0.5, "mark peak {mark_peak}");
    for i in [6000, 7000] {
        assert!(y[i].abs() <= mark_peak, "sample {i}: {}", y[i]);
    }
    assert!(y.iter().all(|v| v.is_finite()));
}

#[test]
fn decodes_the_id_with_counters_and_exact_period_starts() {
    let x = music(12.0, 7);
    let y = mark(&x, 1024);
    let (dec, pres) = detect(&y, Key::PUBLIC_TEST, &[]);
    assert!(dec.len() >= 3, "{dec:?}");
    for d in &dec {
        assert_eq!(d.id, contract());
        let k = (d.start_sample + PERIOD / 2) / PERIOD;
        assert!(
            d.start_sample.abs_diff(k * PERIOD) <= 2,
            "start {}",
            d.start_sample
        );
        // A counter, when the period was whole in the history, is its index.
        assert!(d.counter.is_none_or(|c| c == k as u16), "{d:?}");
        assert!(d.clock_ppm.abs() < 30.0);
    }
    assert!(
        dec.iter().filter(|d| d.counter.is_some()).count() >= 3,
        "{dec:?}"
    );
    assert!(!pres.is_empty() && pres.iter().all(|p| p.present && p.id == contract()));
}

#[test]
fn survives_resampling_drift_gain_and_noise() {
    let x = music(16.0, 9);
    let y = mark(&x, 1024);
    let mut chains: Vec<(&str, Vec<f32>)> = Vec::new();
    let down = resample(&y, 48_000.0, 44_100.0, None);
    chains.push(("48k→44.1k→48k", resample(&down, 44_100.0, 48_000.0, None)));
    chains.push(("+1000 ppm", clock_drift(&y, 1000.0)));
    chains.push(("−1000 ppm", clock_drift(&y, -1000.0)));
    let mut quiet = y.clone();
    gain_db(&mut quiet, -30.0);
    chains.push(("−30 dB", quiet));
    let mut loud = y.clone();
    gain_db(&mut loud, 4.0);
    chains.push(("+4 dB", loud));
    for (name, z) in chains {
        let (dec, _) = detect(&z, Key::PUBLIC_TEST, &[]);
        assert!(!dec.is_empty(), "{name}: nothing decoded");
        assert!(dec.iter().all(|d| d.id == contract()), "{name}: wrong ID");
    }
}

#[test]
fn a_1000_ppm_clock_is_found_as_soon_as_an_exact_one() {
    // The acquisition goes on to ±1980 ppm within the same attempt when the
    // quick 0 and ±180 ppm find nothing, so a fast or slow clock costs at most one
    // attempt (0.25 s), not the 4 s of a rarer wide search.
    let y = mark(&music(12.0, 9), 1024);
    for ppm in [0.0, 1000.0, -1000.0] {
        let z = clock_drift(&y, ppm);
        let (dec, _) = detect(&z, Key::PUBLIC_TEST, &[]);
        assert!(dec.iter().all(|d| d.id == contract()), "{ppm} ppm: {dec:?}");
        let first = dec.iter().map(|d| d.start_sample).min();
        // Mark time of the first decode: the first or second period.
        let first_mark = first.map(|s| s as f64 * (1.0 + ppm * 1e-6));
        assert!(
            first_mark.is_some_and(|s| s < 1.5 * PERIOD as f64),
            "{ppm} ppm: first decode at {first_mark:?} ({dec:?})"
        );
        assert!(dec.len() >= 4, "{ppm} ppm: {} periods of 5", dec.len());
    }
}

/// 30 s of marked synthetic music with pink noise `snr_db` below it.
fn marked_music_under_pink_noise(snr_db: f32) -> Vec<f32> {
    let y = mark(&music(30.0, 9), 1024);
    let rms = (y.iter().map(|v| v * v).sum::<f32>() / y.len() as f32).sqrt();
    let noise = synth::pink_noise(y.len(), rms * 10f32.powf(-snr_db / 20.0), 4);
    y.iter().zip(&noise).map(|(a, b)| a + b).collect()
}

#[test]
fn survives_pink_noise_15_db_below_the_programme() {
    // Synthetic music is sparse, so noise fills the gaps between its
    // partials and hides the cells there: a harder case than real programme,
    // which the robustness suite runs at 10 dB.
    let z = marked_music_under_pink_noise(15.0);
    let (dec, _) = detect(&z, Key::PUBLIC_TEST, &[]);
    assert!(
        !dec.is_empty() && dec.iter().all(|d| d.id == contract()),
        "{dec:?}"
    );
}

#[test]
fn any_four_second_window_gives_the_id() {
    let x = music(20.0, 13);
    let y = mark(&x, 1024);
    let mut rng = testkit::rng::Rng::new(5);
    let (mut ok, n) = (0, 10);
    for _ in 0..n {
        let start = rng.below((y.len() - 4 * RATE as usize) as u64) as usize;
        let (dec, _) = detect(&y[start..start + 4 * RATE as usize], Key::PUBLIC_TEST, &[]);
        assert!(dec.iter().all(|d| d.id == contract()));
        ok += !dec.is_empty() as usize;
    }
    assert!(ok >= 9, "{ok}/{n} windows");
}

#[test]
fn unmarked_and_other_key_audio_claims_nothing_and_silence_denies_presence() {
    for (i, kind) in [Kind::Music, Kind::Speech, Kind::PinkNoise]
        .into_iter()
        .enumerate()
    {
        let x = synth::generate(kind, RATE, RATE as usize * 20, 30 + i as u64);
        let (dec, pres) = detect(&x, Key::PUBLIC_TEST, &[contract()]);
        assert!(dec.is_empty(), "{kind:?}: {dec:?}");
        assert!(pres.iter().all(|p| !p.present), "{kind:?}: {pres:?}");
    }
    let y = mark(&music(10.0, 17), 1024);
    let (dec, _) = detect(&y, Key::from_bytes([0x17; 16]), &[]);
    assert!(dec.is_empty(), "other key: {dec:?}");
    // A marked programme with 4 s of silence: no second of the gap claims the ID.
    let mut x = music(16.0, 19);
    x[6 * RATE as usize..10 * RATE as usize]
        .iter_mut()
        .for_each(|v| *v = 0.0);
    let y = mark(&x, 1024);
    let (_, pres) = detect(&y, Key::PUBLIC_TEST, &[]);
    let in_gap =
        |p: &&Presence| p.start_sample >= 6 * RATE as u64 && p.end_sample <= 10 * RATE as u64;
    assert!(pres.iter().filter(in_gap).all(|p| !p.present), "{pres:?}");
    assert!(pres.iter().any(|p| p.present));
}

#[test]
fn unconfigured_engines_refuse_work() {
    let mut e = dsp_core::Embedder::unconfigured();
    let mut d = dsp_core::Detector::unconfigured();
    assert_eq!(
        e.process(0, &mut [0i16; 4]),
        Err(dsp_core::ProcessError::Unconfigured)
    );
    assert_eq!(
        d.process(0, &[0i16; 4], |_| {}),
        Err(dsp_core::ProcessError::Unconfigured)
    );
    let mut r = robust::Embedder::unconfigured();
    assert_eq!(
        r.process(0, &mut [0i16; 4]),
        Err(dsp_core::ProcessError::Unconfigured)
    );
}

#[test]
fn an_expected_id_is_denied_while_another_airs() {
    let y = mark(&music(12.0, 23), 1024);
    for other in ["0102030405", "d8da6bf26964af9d7eed9e03e53415d37aa96046"] {
        let other = Id::from_hex(other).unwrap();
        let (dec, pres) = detect(&y, Key::PUBLIC_TEST, &[other]);
        assert!(dec.iter().all(|d| d.id == contract()), "{dec:?}");
        let theirs: Vec<_> = pres.iter().filter(|p| p.id == other).collect();
        assert!(
            !theirs.is_empty() && theirs.iter().all(|p| !p.present),
            "{theirs:?}"
        );
        // The ID that airs is confirmed, once decoded.
        assert!(pres
            .iter()
            .filter(|p| p.id == contract())
            .any(|p| p.present));
    }
}

/// Two boxes' copies of one programme averaged (the robust marks add and,
/// sharing the key's cell phases, cancel wherever the coded bits differ):
/// no ID can be read blind, none is invented, and the issued-ID check
/// confirms both colluders in every window while denying a third ID.
#[test]
fn a_two_copy_average_confirms_both_colluders_and_no_third() {
    let other = Id::from_hex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").unwrap();
    let third = Id::from_hex("ab5801a7d398351b8be11c439e05c5b3259aec9b").unwrap();
    for seed in [31, 32] {
        let x = music(20.0, seed);
        let (a, b) = (mark(&x, 4096), mark_with(&x, 4096, other));
        let avg: Vec<f32> = a.iter().zip(&b).map(|(p, q)| 0.5 * (p + q)).collect();
        let (dec, pres) = detect(&avg, Key::PUBLIC_TEST, &[contract(), other, third]);
        assert!(
            dec.iter().all(|d| d.id == contract() || d.id == other),
            "{dec:?}"
        );
        let verdicts = |id: Id| -> Vec<bool> {
            pres.iter()
                .filter(|p| p.id == id)
                .map(|p| p.present)
                .collect()
        };
        for id in [contract(), other] {
            let v = verdicts(id);
            assert!(v.len() >= 15 && v.iter().all(|&p| p), "{id}: {v:?}");
        }
        let v = verdicts(third);
        assert!(v.len() >= 15 && v.iter().all(|&p| !p), "third: {v:?}");
    }
}

#[test]
fn the_deep_sweep_locks_on_pilots_too_weak_for_half_a_second() {
    // 8 dB of pink noise under sparse synthetic music: the 0.5 s sweeps
    // find the pilots only after 15 s (and no second confirms); the 2 s
    // sweep locks within 10 s, and the known ID is confirmed.
    let z = marked_music_under_pink_noise(8.0);
    let mut d = robust::Detector::new(&detect_config(1, Key::PUBLIC_TEST)).unwrap();
    assert!(d.expect(&contract()));
    let (mut first_lock, mut present) = (None, 0);
    for (i, b) in z.chunks(4000).enumerate() {
        d.process(i as u64 * 4000, b, |e| match e {
            Event::Presence(p) => {
                assert_eq!(p.id, contract());
                present += p.present as usize;
            }
            Event::Detection(x) => assert_eq!(x.id, contract()),
            _ => panic!("{e:?}"),
        })
        .unwrap();
        if d.locked() && first_lock.is_none() {
            first_lock = Some((i + 1) as f32 * 4000.0 / RATE as f32);
        }
    }
    assert!(
        first_lock.is_some_and(|s| s < 12.0),
        "first lock at {first_lock:?} s"
    );
    assert!(present >= 2, "{present} seconds confirmed");
}
