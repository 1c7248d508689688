//! Embed and detect throughput (Criterion).
//!
//! One iteration processes one second of audio, cut into blocks of the size
//! under test, with time running on across iterations, so the embedder goes
//! through bursts and pauses as it would on a box (default schedule: a 993 ms
//! burst every 2 s) and the detector sees real bursts. Throughput is counted
//! in frames (one sample per channel), so "elements per second" divided by the
//! sample rate is the times-real-time figure per core; `cargo xtask report`
//! turns the numbers into that table.
//!
//! Each group varies one thing from a base case: the ultrasonic layer, 48 kHz,
//! stereo (embed) or mono (detect), `i16`, blocks of 1024 frames. The
//! `*/profile` groups run the robust layer and both layers at once on the
//! same base case (the robust detector searching and locked on marked
//! music, as it is on a stream).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dsp_core::{Detector, EmbedConfig, Embedder, Profile, Profiles, Sample, Schedule};
use testkit::harness::{contract_id, detect_config, embed_config};
use testkit::synth::{self, Kind};

/// One benchmark: where Criterion files it and the stream it runs on.
#[derive(Debug, Clone)]
struct Case {
    group: String,
    label: String,
    rate: u32,
    channels: u16,
    block: usize,
    profiles: Profiles,
}

impl Case {
    fn base(group: &str, label: &str, channels: u16) -> Case {
        Case {
            group: group.into(),
            label: label.into(),
            rate: 48_000,
            channels,
            block: 1024,
            profiles: Profile::Ultrasonic.into(),
        }
    }
}

/// The base case of `path` (`embed` or `detect`) with one thing varied at a
/// time: block size, rate, channels. Sample types are varied by the caller.
fn variations(path: &str, channels: u16) -> Vec<Case> {
    let base = |what: &str, value: &dyn std::fmt::Display| {
        Case::base(&format!("{path}/{what}"), &value.to_string(), channels)
    };
    let blocks = [32, 256, 1024, 4096].map(|block| Case {
        block,
        ..base("block", &block)
    });
    let rates = [44_100, 48_000, 96_000].map(|rate| Case {
        rate,
        ..base("rate", &rate)
    });
    let layouts = [1, 2, 8].map(|channels| Case {
        channels,
        ..base("channels", &channels)
    });
    let both = Profiles::only(Profile::Ultrasonic).with(Profile::Robust);
    let profiles = [
        (Profiles::from(Profile::Ultrasonic), "ultrasonic"),
        (Profile::Robust.into(), "robust"),
        (both, "ultrasonic+robust"),
    ]
    .map(|(profiles, name)| Case {
        profiles,
        ..base("profile", &name)
    });
    blocks
        .into_iter()
        .chain(rates)
        .chain(layouts)
        .chain(profiles)
        .collect()
}

fn config(case: &Case, back_to_back: bool) -> EmbedConfig {
    let mut c = embed_config(case.profiles, case.rate, case.channels, contract_id());
    if back_to_back {
        c.schedule = Schedule::BackToBack { offset_ms: 0 };
    }
    c
}

/// `seconds` of music on every channel.
fn music(case: &Case, seconds: usize, seed: u64) -> Vec<f32> {
    let mono = synth::generate(Kind::Music, case.rate, case.rate as usize * seconds, seed);
    synth::on_channels(&mono, case.channels)
}

fn bench_embed<S: Sample>(c: &mut Criterion, case: &Case, back_to_back: bool) {
    let input: Vec<S> = music(case, 1, 7).iter().map(|&v| S::from_unit(v)).collect();
    let mut output = input.clone();
    let mut e = Embedder::new(&config(case, back_to_back)).unwrap();
    let mut now = 0u64;
    let ch = case.channels as usize;
    let mut g = c.benchmark_group(&case.group);
    g.throughput(Throughput::Elements(case.rate as u64));
    g.bench_function(BenchmarkId::from_parameter(&case.label), |b| {
        b.iter(|| {
            for (i, o) in input
                .chunks(case.block * ch)
                .zip(output.chunks_mut(case.block * ch))
            {
                e.process_into(now, i, o).unwrap();
                now += (i.len() / ch) as u64;
            }
            black_box(&output);
        })
    });
    g.finish();
}

fn embed(c: &mut Criterion) {
    for case in variations("embed", 2) {
        bench_embed::<i16>(c, &case, false);
    }
    bench_embed::<f32>(c, &Case::base("embed/type", "f32", 2), false);
    bench_embed::<i16>(c, &Case::base("embed/type", "i16", 2), false);
    bench_embed::<i32>(c, &Case::base("embed/type", "i24", 2), false);
    bench_embed::<i16>(c, &Case::base("embed/duty", "back-to-back", 2), true);
}

fn bench_detect<S: Sample>(c: &mut Criterion, case: &Case) {
    // Four seconds of marked music, looped: two bursts per loop (the robust
    // detector loses its lock at each loop and acquires again).
    let mut x = music(case, 4, 3);
    Embedder::new(&config(case, false))
        .unwrap()
        .process(0, &mut x)
        .unwrap();
    let input: Vec<S> = x.iter().map(|&v| S::from_unit(v)).collect();
    let dc = detect_config(case.profiles, case.rate, case.channels);
    let mut d = Detector::new(&dc).unwrap();
    let ch = case.channels as usize;
    let second = case.rate as usize * ch;
    let mut now = 0u64;
    let mut found = 0u64;
    let mut g = c.benchmark_group(&case.group);
    g.throughput(Throughput::Elements(case.rate as u64));
    g.bench_function(BenchmarkId::from_parameter(&case.label), |b| {
        b.iter(|| {
            let start = (now as usize * ch) % input.len();
            for blk in input[start..start + second].chunks(case.block * ch) {
                d.process(now, blk, |_| found += 1).unwrap();
                now += (blk.len() / ch) as u64;
            }
        })
    });
    g.finish();
    black_box(found);
}

fn detect(c: &mut Criterion) {
    for case in variations("detect", 1) {
        bench_detect::<i16>(c, &case);
    }
    bench_detect::<f32>(c, &Case::base("detect/type", "f32", 1));
    bench_detect::<i16>(c, &Case::base("detect/type", "i16", 1));
    bench_detect::<i32>(c, &Case::base("detect/type", "i24", 1));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(3));
    targets = embed, detect
}
criterion_main!(benches);
