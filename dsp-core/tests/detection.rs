//! The detector: finds every burst under the impairments a broadcast chain
//! applies, with the right ID and start time, and nothing else.

use dsp_core::ultrasonic::{Detector, Embedder};
use dsp_core::{
    ChannelMask, DetectConfig, Detection, Event, Id, Key, Phy, ProcessError, Profile, Profiles,
    Schedule,
};
use proptest::prelude::*;
use testkit::channel::{self, Noise};
use testkit::harness::*;
use testkit::score::{Score, TimeMap};
use testkit::synth::{self, Kind};
use testkit::treat::Treatment;

const BURSTS: usize = 10;

/// Mark `kind` at `rate`, apply `treat` (which may change the rate and
/// returns what it did to time), detect at the resulting rate.
fn run(
    profile: Profile,
    rate: u32,
    kind: Kind,
    seed: u64,
    treat: impl FnOnce(&mut Vec<f32>, &mut u32) -> TimeMap,
) -> (Score, Vec<Detection>) {
    let cfg = embed_config(profile, rate, 1, contract_id());
    let len = rate as usize * (2 * BURSTS + 1);
    let mut x = synth::generate(kind, rate, len, seed);
    let starts = embed(&cfg, &mut x);
    assert_eq!(whole_bursts(&cfg, len as u64), starts.len());
    let mut out_rate = rate;
    let map = treat(&mut x, &mut out_rate);
    let found = detect(&detect_config(profile, out_rate, 1), &x);
    (score_bursts(&found, &cfg, &starts, out_rate, &map), found)
}

fn assert_robust(what: &str, s: Score, min_found: usize) {
    assert_eq!(s.wrong_id, 0, "{what}: wrong IDs {s:?}");
    assert_eq!(s.bad_time, 0, "{what}: start more than 1 ms off {s:?}");
    assert!(
        s.found >= min_found,
        "{what}: found {} of {} {s:?}",
        s.found,
        s.expected
    );
}

/// Noise at `snr_db` in the `ultrasonic` band.
fn add_noise(x: &mut [f32], rate: u32, snr_db: f64, noise: Noise, seed: u64) {
    let band = in_band(Profile::Ultrasonic, rate);
    channel::add_noise_at_snr(x, rate, &band, snr_db, noise, seed);
}

#[test]
fn round_trip_for_every_profile_and_rate() {
    for profile in Profile::ALL {
        for rate in [44_100, 48_000, 88_200, 96_000] {
            if Phy::new(profile, rate).is_err() {
                continue;
            }
            let (s, found) = run(profile, rate, Kind::Music, 1, |_, _| TimeMap::SAME);
            assert_robust(&format!("{profile} at {rate}"), s, s.expected);
            assert!(found
                .iter()
                .all(|d| d.counter.is_some() && d.bursts_combined == 1));
            let counters: Vec<u16> = found.iter().filter_map(|d| d.counter).collect();
            assert_eq!(counters, (0..counters.len() as u16).collect::<Vec<_>>());
        }
    }
}

#[test]
fn integer_samples_and_several_channels() {
    let rate = 48_000;
    let mono = synth::generate(Kind::Speech, rate, rate as usize * 9, 5);
    // Stereo, mark on the left only; i16 and 24-bit-in-i32 programme.
    let mut cfg = embed_config(Profile::Ultrasonic, rate, 2, contract_id());
    cfg.marked_channels = ChannelMask::only(0);
    let mut x16: Vec<i16> = mono
        .iter()
        .flat_map(|v| [(v * 30_000.0) as i16, (-v * 20_000.0) as i16])
        .collect();
    let mut x24: Vec<i32> = mono
        .iter()
        .flat_map(|v| [(v * 8e6) as i32, (v * 4e6) as i32])
        .collect();
    embed_samples(&cfg, &mut x16, 1024);
    embed_samples(&cfg, &mut x24, 1024);
    let starts = schedule_starts(&cfg, mono.len() as u64);
    let whole = whole_bursts(&cfg, mono.len() as u64);
    for searched in [ChannelMask::ALL, ChannelMask::only(0)] {
        let mut dc = detect_config(Profile::Ultrasonic, rate, 2);
        dc.searched_channels = searched;
        let mut found16 = Vec::new();
        let mut found24 = Vec::new();
        let mut d16 = Detector::new(&dc).unwrap();
        let mut d24 = Detector::new(&dc).unwrap();
        for (i, (a, b)) in x16.chunks(2 * 999).zip(x24.chunks(2 * 999)).enumerate() {
            d16.process(i as u64 * 999, a, |e| found16.extend(e.detection()))
                .unwrap();
            d24.process(i as u64 * 999, b, |e| found24.extend(e.detection()))
                .unwrap();
        }
        d16.finish(|e| found16.extend(e.detection()));
        d24.finish(|e| found24.extend(e.detection()));
        let s16 = score_bursts(&found16, &cfg, &starts, rate, &TimeMap::SAME);
        let s24 = score_bursts(&found24, &cfg, &starts, rate, &TimeMap::SAME);
        assert_robust("i16 stereo", s16, whole);
        assert_robust("i24 stereo", s24, whole);
    }
}

#[test]
fn any_id_length_and_offset() {
    for (len, offset_ms) in [(1usize, 0u32), (8, 37), (9, 1234), (13, 999), (20, 1)] {
        let id = Id::new(
            &(0..len as u8)
                .map(|b| b.wrapping_mul(91))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let mut cfg = embed_config(Profile::Ultrasonic, 48_000, 1, id);
        cfg.schedule = Schedule::Interval {
            every_ms: 1500,
            offset_ms,
        };
        let n = 48_000 * 8;
        let mut x = synth::generate(Kind::PinkNoise, 48_000, n, len as u64);
        channel::gain_db(&mut x, -20.0);
        embed(&cfg, &mut x);
        let starts = schedule_starts(&cfg, n as u64);
        let s = detect_and_score(&cfg, &x, &starts);
        assert_robust(
            &format!("{len}-byte ID, offset {offset_ms} ms"),
            s,
            whole_bursts(&cfg, n as u64),
        );
    }
}

#[test]
fn wrong_key_finds_nothing() {
    let cfg = embed_config(Profile::Ultrasonic, 48_000, 1, contract_id());
    let mut x = synth::generate(Kind::Music, 48_000, 48_000 * 12, 3);
    embed(&cfg, &mut x);
    let mut dc = detect_config_for(&cfg);
    dc.key = OTHER_KEY;
    let found = detect(&dc, &x);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn survives_gain_from_minus_40_to_plus_20_db() {
    for rate in [48_000, 44_100] {
        for gain in [-40.0f32, -20.0, 0.0, 10.0, 20.0] {
            let (s, _) = run(Profile::Ultrasonic, rate, Kind::Speech, 2, |x, _| {
                // Leave room so +20 dB does not clip the programme.
                channel::gain_db(x, -26.0 + gain);
                TimeMap::SAME
            });
            assert_robust(&format!("gain {gain} dB at {rate}"), s, s.expected);
        }
    }
}

#[test]
fn survives_sample_clock_mismatch_of_1000_ppm() {
    for rate in [48_000, 44_100] {
        for ppm in [-1000.0, -300.0, 300.0, 1000.0] {
            let (s, found) = run(Profile::Ultrasonic, rate, Kind::Music, 3, |x, _| {
                *x = channel::clock_drift(x, ppm);
                TimeMap::Scale(1.0 / (1.0 + ppm * 1e-6))
            });
            assert_robust(&format!("{ppm} ppm at {rate}"), s, s.expected);
            for d in &found {
                assert!(
                    (d.clock_ppm as f64 - ppm).abs() < 50.0,
                    "{ppm} ppm estimated as {}",
                    d.clock_ppm
                );
            }
        }
    }
}

#[test]
fn survives_white_and_pink_noise_at_minus_3_db_in_band() {
    for rate in [48_000, 44_100] {
        for noise in [Noise::White, Noise::Pink] {
            let (s, found) = run(Profile::Ultrasonic, rate, Kind::Music, 4, |x, r| {
                add_noise(x, *r, -3.0, noise, 11);
                TimeMap::SAME
            });
            // Single bursts at −3 dB: nearly all; the rest are caught by combining.
            assert_robust(&format!("{noise:?} −3 dB at {rate}"), s, s.expected - 1);
            let mean_snr = found.iter().map(|d| d.snr_db).sum::<f32>() / found.len() as f32;
            assert!(
                (mean_snr + 3.0).abs() < 2.0,
                "SNR estimate {mean_snr} for −3 dB"
            );
        }
    }
}

#[test]
fn survives_programme_near_full_scale() {
    for rate in [48_000, 44_100] {
        let (s, _) = run(Profile::Ultrasonic, rate, Kind::NearFullScale, 5, |_, _| {
            TimeMap::SAME
        });
        assert_robust(&format!("near full scale at {rate}"), s, s.expected);
    }
}

#[test]
fn survives_16_bit_requantisation_even_at_minus_40_db() {
    for rate in [48_000, 44_100] {
        for gain in [0.0f32, -40.0] {
            let (s, _) = run(Profile::Ultrasonic, rate, Kind::Music, 6, |x, _| {
                channel::gain_db(x, gain);
                *x = channel::requantize_16(x, 9)
                    .iter()
                    .map(|&v| v as f32 / 32768.0)
                    .collect();
                TimeMap::SAME
            });
            assert_robust(&format!("16-bit at {gain} dB, {rate}"), s, s.expected);
        }
    }
}

#[test]
fn survives_resampling_to_the_other_family_and_back() {
    for (rate, via) in [(48_000u32, 44_100u32), (44_100, 48_000)] {
        let (s, _) = run(Profile::Ultrasonic, rate, Kind::Music, 7, |x, _| {
            let there = channel::resample(x, rate as f64, via as f64, None);
            *x = channel::resample(&there, via as f64, rate as f64, None);
            TimeMap::SAME
        });
        assert_robust(&format!("{rate}→{via}→{rate}"), s, s.expected);
        // And detected at the other rate directly.
        let (s, _) = run(Profile::Ultrasonic, rate, Kind::Music, 7, |x, r| {
            *x = channel::resample(x, rate as f64, via as f64, None);
            *r = via;
            TimeMap::Scale(via as f64 / rate as f64)
        });
        assert_robust(&format!("{rate}→{via}, detected at {via}"), s, s.expected);
    }
}

#[test]
fn two_marks_with_different_keys_overlap_without_confusion() {
    for rate in [48_000, 44_100] {
        let other_id = Id::new(&[0xEE; 8]).unwrap();
        let a = embed_config(Profile::Ultrasonic, rate, 1, contract_id());
        let mut b = embed_config(Profile::Ultrasonic, rate, 1, other_id);
        b.key = OTHER_KEY;
        b.schedule = Schedule::Interval {
            every_ms: 1700,
            offset_ms: 400,
        };
        let len = rate as usize * 21;
        let mut x = synth::generate(Kind::Music, rate, len, 8);
        let starts_a = embed(&a, &mut x);
        let starts_b = embed(&b, &mut x);
        let sa = detect_and_score(&a, &x, &starts_a);
        let sb = detect_and_score(&b, &x, &starts_b);
        // Where bursts overlap, each is same-band interference at 0 dB for the
        // other (about −4 dB in the matched filter's bandwidth): some are lost,
        // none is confused.
        assert_robust(&format!("key A at {rate}"), sa, sa.expected / 2);
        assert_robust(&format!("key B at {rate}"), sb, sb.expected / 2);
    }
}

#[test]
fn bursts_cut_at_either_end_are_missed_or_right_never_wrong() {
    let rate = 48_000;
    let cfg = embed_config(Profile::Ultrasonic, rate, 1, contract_id());
    let mut x = synth::generate(Kind::Music, rate, rate as usize * 7, 9);
    let starts = embed(&cfg, &mut x);
    for cut_start in (0..30_000).step_by(2_500) {
        for cut_end in [0usize, 10_000, 30_000, 45_000, 47_000] {
            let piece = &x[cut_start..x.len() - cut_end];
            let shifted: Vec<u64> = starts
                .iter()
                .filter_map(|&s| s.checked_sub(cut_start as u64))
                .collect();
            let s = detect_and_score(&cfg, piece, &shifted);
            assert_eq!(
                s.wrong_id + s.bad_time,
                0,
                "cut {cut_start}..{cut_end}: {s:?}"
            );
        }
    }
}

#[test]
fn single_bursts_need_about_minus_4_db_and_combining_reaches_6_db_lower() {
    let rate = 48_000;
    let bursts = 30;
    let cfg = embed_config(Profile::Ultrasonic, rate, 1, contract_id());
    let len = rate as usize * (2 * bursts + 1);
    let mut clean = vec![0.0f32; len];
    let starts = embed(&cfg, &mut clean);
    assert_eq!(starts.len(), bursts + 1);
    let at = |snr: f64, combining: bool| {
        let mut x = clean.clone();
        add_noise(&mut x, rate, snr, Noise::White, 21);
        let mut dc = detect_config(Profile::Ultrasonic, rate, 1);
        dc.soft_combining = combining;
        score_bursts(&detect(&dc, &x), &cfg, &starts, rate, &TimeMap::SAME)
    };
    let single = at(-4.0, false);
    assert!(
        single.single * 10 >= starts.len() * 8,
        "−4 dB single bursts: {single:?}"
    );
    let alone = at(-10.0, false);
    assert_eq!(
        alone.found, 0,
        "single bursts should not decode at −10 dB: {alone:?}"
    );
    let combined = at(-10.0, true);
    assert_eq!(combined.wrong_id + combined.bad_time, 0, "{combined:?}");
    // Where no single burst decodes, combining recovers the ID: reported,
    // and standing for at least two bursts' worth of evidence.
    assert!(
        combined.found >= 1 && combined.covered >= 2,
        "combining found too little at −10 dB: {combined:?}"
    );
}

#[test]
fn start_times_are_within_a_millisecond_at_any_offset() {
    let rate = 44_100;
    for offset in [0usize, 1, 7, 333, 12_345, 40_001] {
        let cfg = embed_config(Profile::Ultrasonic, rate, 1, contract_id());
        let mut x = vec![0.0f32; offset + rate as usize * 5];
        let mut tail = x.split_off(offset);
        let starts: Vec<u64> = embed(&cfg, &mut tail)
            .iter()
            .map(|s| s + offset as u64)
            .collect();
        x.extend(tail);
        add_noise(&mut x, rate, 6.0, Noise::Pink, offset as u64);
        let s = detect_and_score(&cfg, &x, &starts);
        assert_robust(&format!("offset {offset}"), s, starts.len());
    }
}

#[test]
fn memory_is_fixed_and_within_budget() {
    let embedder = std::mem::size_of::<Embedder>();
    let detector = std::mem::size_of::<Detector>();
    println!("size_of Embedder = {embedder} B, Detector = {detector} B");
    // Most of it is the limiter's 2 ms delay line (up to 96 kHz, 8 channels).
    assert!(embedder <= 10 * 1024, "embedder {embedder} B");
    assert!(detector <= 48 * 1024, "detector {detector} B");
}

#[test]
fn bad_blocks_are_errors_not_panics() {
    let mut d = Detector::new(&detect_config(Profile::Ultrasonic, 48_000, 2)).unwrap();
    assert_eq!(
        d.process(0, &[0.0f32; 5], |_| {}),
        Err(ProcessError::PartialFrame {
            len: 5,
            channels: 2
        })
    );
    // A detector built in place must be configured before it runs.
    let mut fresh = Detector::unconfigured();
    assert_eq!(
        fresh.process(0, &[0.0f32; 2], |_| {}),
        Err(ProcessError::Unconfigured)
    );
    fresh
        .configure(&detect_config(Profile::Ultrasonic, 48_000, 2))
        .unwrap();
    assert_eq!(fresh.process(0, &[0.0f32; 2], |_| {}), Ok(()));
    let mut bad = DetectConfig::new(Key::PUBLIC_TEST);
    bad.sync_threshold = f32::INFINITY;
    assert!(Detector::new(&bad).is_err());
    bad.sync_threshold = 1.0;
    assert!(Detector::new(&bad).is_err());
}

fn hostile_block(kind: u8, n: usize, seed: u64) -> Vec<f32> {
    let mut r = testkit::Rng::new(seed);
    (0..n)
        .map(|i| match kind % 8 {
            0 => f32::NAN,
            1 => {
                if i % 2 == 0 {
                    f32::INFINITY
                } else {
                    f32::NEG_INFINITY
                }
            }
            2 => 1e-41 * (i as f32 % 3.0 - 1.0),
            3 => 0.0,
            4 => {
                if (i / 50) % 2 == 0 {
                    1.0
                } else {
                    -1.0
                }
            }
            5 => f32::from_bits(r.next_u64() as u32),
            6 => 3e38 * if i % 3 == 0 { -1.0 } else { 1.0 },
            _ => r.gaussian(),
        })
        .collect()
}

/// A second 20-byte contract address, for two differently marked copies.
fn other_contract_id() -> Id {
    Id::from_hex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").unwrap()
}

/// Two copies of one programme, marked with different IDs and taken in turn
/// in random pieces of 1 to 10 s (an edit, or a schedule switching boxes):
/// each layer reports each ID only where its copy plays, finds the marks
/// that lie whole inside their copy's pieces, and never a third ID.
#[test]
fn splices_of_two_marked_copies_report_each_id_where_it_plays() {
    use testkit::splice::{alternate, judge};
    let rate = 48_000;
    let n = rate as usize * 60;
    let ids = [contract_id(), other_contract_id()];
    let mut x = synth::generate(Kind::Music, rate, n, 21);
    channel::gain_db(&mut x, -12.0);
    for profile in [Profile::Ultrasonic, Profile::Robust] {
        let configs: Vec<_> = ids
            .iter()
            .map(|&id| embed_config(profile, rate, 1, id))
            .collect();
        let copies: Vec<Vec<f32>> = configs.iter().map(|c| marked(c, &x)).collect();
        let sent: Vec<_> = configs
            .iter()
            .map(|c| marks(c, &schedule_starts(c, n as u64)))
            .collect();
        for seed in 1..=2 {
            let mut rng = testkit::Rng::new(seed);
            let (y, segments) = alternate(
                &[&copies[0], &copies[1]],
                rate as u64,
                10 * rate as u64,
                &mut rng,
            );
            let found = reports(&detect(&detect_config(profile, rate, 1), &y));
            let refs: Vec<_> = configs.iter().collect();
            let s = judge(&found, profile, &refs, &sent, &segments, rate as u64 / 1000);
            let what = format!("{profile} seed {seed}: {s:?}");
            assert_eq!(s.third_id, 0, "{what}");
            assert_eq!(s.misplaced, 0, "{what}");
            assert!(s.expected >= 8 && s.found * 10 >= s.expected * 9, "{what}");
        }
    }
}

/// Two and three differently marked copies of one programme, averaged or
/// spliced in 0.25 s pieces: no ID may be read from them (their pilots
/// agree, their data does not), none is invented, and the audio is
/// reported as marked but colliding over the bursts' span.
#[test]
fn averaged_or_spliced_copies_are_reported_as_colliding_and_never_as_a_third_id() {
    let rate = 48_000;
    let n = rate as usize * 16;
    let ids = [
        contract_id(),
        other_contract_id(),
        Id::from_hex("0102030405").unwrap(),
    ];
    for (seed, kind) in [(7, Kind::Music), (8, Kind::PinkNoise), (9, Kind::Speech)] {
        let mut x = synth::generate(kind, rate, n, seed);
        channel::gain_db(&mut x, -12.0);
        let copies: Vec<Vec<f32>> = ids
            .iter()
            .map(|&id| marked(&embed_config(Profile::Ultrasonic, rate, 1, id), &x))
            .collect();
        let average = |k: usize| -> Vec<f32> {
            (0..n)
                .map(|i| copies[..k].iter().map(|c| c[i]).sum::<f32>() / k as f32)
                .collect()
        };
        let piece = rate as usize / 4;
        let spliced: Vec<f32> = (0..n).map(|i| copies[(i / piece) % 2][i]).collect();
        let cfg = embed_config(Profile::Ultrasonic, rate, 1, ids[0]);
        let starts = schedule_starts(&cfg, n as u64);
        for (what, y) in [
            ("two averaged", average(2)),
            ("three averaged", average(3)),
            ("spliced", spliced),
        ] {
            let events = detect_events(&detect_config(Profile::Ultrasonic, rate, 1), &y, 4096);
            let read: Vec<Id> = events
                .iter()
                .filter_map(|e| e.detection())
                .map(|d| d.id)
                .collect();
            assert!(
                read.iter().all(|id| ids.contains(id)),
                "{kind:?} {what}: {read:?}"
            );
            let runs: Vec<_> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Collision(c) => Some(*c),
                    _ => None,
                })
                .collect();
            let last = runs
                .last()
                .unwrap_or_else(|| panic!("{kind:?} {what}: no collision reported"));
            // One run over (nearly) every burst, starting at a burst.
            assert!(
                last.marks as usize + 2 >= starts.len(),
                "{kind:?} {what}: {last}"
            );
            assert!(
                starts
                    .iter()
                    .any(|&s| s.abs_diff(last.start_sample) < rate as u64 / 100),
                "{kind:?} {what}: {last} vs {starts:?}"
            );
            eprintln!("{kind:?} {what}: {} read, {last}", read.len());
        }
    }
}

/// A single copy, however damaged, is never called colliding: the gate on
/// the pilots is far above what noise, rooms and cuts leave of a burst.
#[test]
fn a_single_damaged_copy_is_never_reported_as_colliding() {
    let rate = 48_000;
    let n = rate as usize * 30;
    let cfg = embed_config(Profile::Ultrasonic, rate, 1, contract_id());
    let band = in_band(Profile::Ultrasonic, rate);
    for (seed, kind) in [(11, Kind::Music), (12, Kind::Speech)] {
        let mut x = synth::generate(kind, rate, n, seed);
        embed(&cfg, &mut x);
        for t in [
            Treatment::Cuts,
            Treatment::Reverb(0.8),
            Treatment::Speaker,
            Treatment::WhiteNoise(-3.0),
            Treatment::WhiteNoise(-9.0),
            Treatment::PinkNoise(-6.0),
            Treatment::Drift(1000.0),
        ] {
            let (y, _) = t.apply(&x, rate, &band, seed).unwrap();
            let events = detect_events(&detect_config(Profile::Ultrasonic, rate, 1), &y, 4096);
            let colliding: Vec<_> = events
                .iter()
                .filter(|e| matches!(e, Event::Collision(_)))
                .collect();
            assert!(colliding.is_empty(), "{kind:?} {}: {colliding:?}", t.name());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Any sequence of hostile blocks at any times: no panic, no report, and
    /// the detector still finds a clean burst afterwards (no NaN stuck inside).
    #[test]
    fn hostile_input_never_panics_or_poisons_the_state(
        blocks in prop::collection::vec((0u8..8, 1usize..9000, any::<bool>()), 1..12),
        seed in any::<u64>(),
    ) {
        let rate = 48_000;
        let mut d = Detector::new(&detect_config(Profile::Ultrasonic, rate, 1)).unwrap();
        let mut e = Embedder::new(&embed_config(Profile::Ultrasonic, rate, 1, contract_id())).unwrap();
        let mut now = 0u64;
        let mut reports = Vec::new();
        for (i, &(kind, n, jump)) in blocks.iter().enumerate() {
            let mut x = hostile_block(kind, n, seed ^ i as u64);
            e.process(now, &mut x).unwrap();
            d.process(now, &x, |det| reports.push(*det)).unwrap();
            now += n as u64 + if jump { 12_345 } else { 0 };
        }
        // Anything reported must be the ID that was really embedded.
        prop_assert!(reports
            .iter()
            .all(|r| matches!(r, Event::Detection(d) if d.id == contract_id())));
        // Then a clean marked signal, on a fresh time line, is still found.
        let mut clean = vec![0.0f32; rate as usize * 3];
        let cfg = embed_config(Profile::Ultrasonic, rate, 1, contract_id());
        embed(&cfg, &mut clean);
        let mut found = 0;
        d.process(now + 1_000_000, &clean, |_| found += 1).unwrap();
        d.finish(|_| found += 1);
        prop_assert!(found >= 1);
    }

    #[test]
    fn embedder_survives_hostile_input_and_time_jumps(
        blocks in prop::collection::vec((0u8..8, 0usize..70_000, 0u64..200_000), 1..10),
        seed in any::<u64>(),
    ) {
        let mut e = Embedder::new(&embed_config(Profile::NearUltrasonic, 44_100, 1, contract_id())).unwrap();
        // The output is the input delayed by the limiter's look-ahead, plus
        // the mark, whatever the time stamps say.
        let latency = e.latency() as usize;
        let mut line = vec![0.0f32; latency];
        for (i, &(kind, n, now)) in blocks.iter().enumerate() {
            let mut x = hostile_block(kind, n, seed ^ i as u64);
            line.extend_from_slice(&x);
            let before: Vec<f32> = line.drain(..n).collect();
            e.process(now, &mut x).unwrap();
            for (a, b) in x.iter().zip(&before) {
                // Whatever the input, the mark never adds more than its level
                // and never turns a finite sample into a non-finite one.
                if b.is_finite() {
                    prop_assert!(a.is_finite());
                    prop_assert!((a - b).abs() <= 0.032 || b.abs() > 1.0);
                }
            }
        }
    }

    #[test]
    fn detection_does_not_depend_on_block_size(
        block in prop::sample::select(vec![1usize, 7, 160, 1024, 4096, 65_536]),
        rate in prop::sample::select(vec![44_100u32, 48_000, 96_000]),
        key in any::<[u8; 16]>(),
        id in prop::collection::vec(any::<u8>(), 1..=20),
        offset_ms in 0u32..1500,
    ) {
        let key = dsp_core::Key::from_bytes(key);
        let id = Id::new(&id).unwrap();
        let mut cfg = embed_config(Profile::Ultrasonic, rate, 1, id);
        cfg.key = key;
        cfg.schedule = Schedule::Interval { every_ms: 2000, offset_ms };
        let mut x = synth::generate(Kind::PinkNoise, rate, rate as usize * 5, 1);
        channel::gain_db(&mut x, -30.0);
        embed(&cfg, &mut x);
        let dc = detect_config_for(&cfg);
        let reference = detect_blocks(&dc, &x, 4096);
        let other = detect_blocks(&dc, &x, block);
        prop_assert_eq!(&reference, &other);
        let starts = schedule_starts(&cfg, x.len() as u64);
        let s = score_bursts(&other, &cfg, &starts, rate, &TimeMap::SAME);
        prop_assert!(s.found >= whole_bursts(&cfg, x.len() as u64));
        prop_assert_eq!(s.wrong_id + s.bad_time, 0);
    }
}

/// With the binding checked, the ultrasonic band of a marked programme,
/// lifted and mixed onto another programme, is reported there as
/// transplanted (its bursts' programme fingerprints are the first
/// programme's), never as a detection; the marked programme itself reports
/// every burst, none transplanted. Unchecked (the default), both read as
/// detections.
#[test]
fn a_band_lifted_onto_another_programme_is_reported_as_transplanted() {
    let rate = 48_000;
    let n = rate as usize * 21;
    let cfg = embed_config(Profile::Ultrasonic, rate, 1, contract_id());
    let mut dc = detect_config_for(&cfg);
    dc.check_binding = true;
    let count = |x: &[f32]| {
        let events = detect_events(&dc, x, 4096);
        let found = events.iter().filter(|e| e.detection().is_some()).count();
        let lifted = events
            .iter()
            .filter(|e| matches!(e, Event::Transplant(t) if t.detection.id == contract_id()))
            .count();
        (found, lifted)
    };
    for (from, onto) in [(Kind::Music, Kind::Speech), (Kind::Speech, Kind::Music)] {
        let programme = synth::generate(from, rate, n, 21);
        let other = synth::generate(onto, rate, n, 22);
        let mut marked = programme.clone();
        let starts = embed(&cfg, &mut marked);
        let whole = whole_bursts(&cfg, n as u64);
        assert_eq!(count(&marked), (whole, 0), "{from:?}, genuine");
        // The mark alone is what a high-pass above 19.5 kHz lifts.
        let framed: Vec<f32> = marked
            .iter()
            .zip(&programme)
            .zip(&other)
            .map(|((m, p), o)| o + (m - p))
            .collect();
        let unchecked = detect_events(&detect_config_for(&cfg), &framed, 4096);
        assert!(!unchecked.iter().any(|e| matches!(e, Event::Transplant(_))));
        let (found, lifted) = count(&framed);
        assert!(
            lifted * 3 >= starts.len() && found + lifted <= starts.len(),
            "{from:?} onto {onto:?}: {lifted} of {} bursts reported transplanted, {found} as detections",
            starts.len()
        );
    }
}

#[test]
fn with_both_layers_the_robust_mark_vouches_for_a_burst_a_voice_over_covers() {
    let rate = 48_000;
    let n = rate as usize * 21;
    let both = Profiles::only(Profile::Ultrasonic).with(Profile::Robust);
    let cfg = embed_config(both, rate, 1, contract_id());
    let checked = |profiles: Profiles| {
        let mut dc = detect_config_for(&cfg);
        dc.profiles = profiles;
        dc.check_binding = true;
        dc
    };
    // (ultrasonic detections, transplants)
    let count = |dc: &DetectConfig, x: &[f32]| {
        let events = detect_events(dc, x, 4096);
        let bursts = events
            .iter()
            .filter(|e| matches!(e, Event::Detection(d) if d.profile == Profile::Ultrasonic))
            .count();
        let lifted = events
            .iter()
            .filter(|e| matches!(e, Event::Transplant(_)))
            .count();
        (bursts, lifted)
    };
    let programme = synth::generate(Kind::Music, rate, n, 23);
    let voice = synth::generate(Kind::Speech, rate, n, 24);
    let mut marked = programme.clone();
    embed(&cfg, &mut marked);
    let whole = whole_bursts(&cfg, n as u64);
    // The suite's voice-over: the programme 10 dB under a presenter.
    let over: Vec<f32> = marked
        .iter()
        .zip(&voice)
        .map(|(m, v)| 0.316 * m + 0.9 * v)
        .collect();
    let (_, alone) = count(&checked(Profiles::only(Profile::Ultrasonic)), &over);
    assert!(
        alone >= 1,
        "the ultrasonic layer alone reads the voice as transplanted"
    );
    assert_eq!(count(&checked(both), &over), (whole, 0), "vouched for");
    // The band above 19.5 kHz (what a high-pass lifts), mixed onto
    // unmarked programme, finds no robust mark there.
    let low = channel::low_passed(&marked, rate, 19_500.0);
    let framed: Vec<f32> = marked
        .iter()
        .zip(&low)
        .zip(&voice)
        .map(|((m, l), o)| o + (m - l))
        .collect();
    let (_, ultrasonic_only) = count(&checked(Profiles::only(Profile::Ultrasonic)), &framed);
    let (found, lifted) = count(&checked(both), &framed);
    assert!(ultrasonic_only * 3 >= whole, "{ultrasonic_only} of {whole}");
    assert_eq!(lifted, ultrasonic_only, "{found} detections");
}
