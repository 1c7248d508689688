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
//! Each group varies one thing from a base case: 48 kHz, stereo (embed) or
//! mono (detect), `i16`, blocks of 1024 frames.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dsp_core::{DetectConfig, Detector, EmbedConfig, Embedder, Id, Key, Profile, Sample, Schedule};
use testkit::synth::{self, Kind};

const KEY: Key = Key::from_bytes([0x42; 16]);

fn id() -> Id {
    Id::new(&[0xA5; 20]).unwrap()
}

fn embed_config(rate: u32, channels: u16, back_to_back: bool) -> EmbedConfig {
    let mut c = EmbedConfig::new(id(), KEY);
    c.sample_rate = rate;
    c.channels = channels;
    if back_to_back {
        c.schedule = Schedule::BackToBack { offset_ms: 0 };
    }
    c
}

/// One second of music, interleaved over `channels`.
fn programme<S: Sample>(rate: u32, channels: u16) -> Vec<S> {
    synth::generate(Kind::Music, rate, rate as usize, 7)
        .iter()
        .flat_map(|&v| std::iter::repeat_n(S::from_unit(v), channels as usize))
        .collect()
}

fn bench_embed<S: Sample>(
    c: &mut Criterion,
    group: &str,
    label: String,
    rate: u32,
    channels: u16,
    block: usize,
    back_to_back: bool,
) {
    let input: Vec<S> = programme(rate, channels);
    let mut output = input.clone();
    let mut e = Embedder::new(&embed_config(rate, channels, back_to_back)).unwrap();
    let mut now = 0u64;
    let ch = channels as usize;
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(rate as u64));
    g.bench_function(BenchmarkId::from_parameter(label), |b| {
        b.iter(|| {
            for (i, o) in input.chunks(block * ch).zip(output.chunks_mut(block * ch)) {
                e.process_into(now, i, o).unwrap();
                now += (i.len() / ch) as u64;
            }
            black_box(&output);
        })
    });
    g.finish();
}

fn embed(c: &mut Criterion) {
    for block in [32, 256, 1024, 4096] {
        bench_embed::<i16>(
            c,
            "embed/block",
            format!("{block}"),
            48_000,
            2,
            block,
            false,
        );
    }
    for rate in [44_100, 48_000, 96_000] {
        bench_embed::<i16>(c, "embed/rate", format!("{rate}"), rate, 2, 1024, false);
    }
    for channels in [1, 2, 8] {
        bench_embed::<i16>(
            c,
            "embed/channels",
            format!("{channels}"),
            48_000,
            channels,
            1024,
            false,
        );
    }
    bench_embed::<f32>(c, "embed/type", "f32".into(), 48_000, 2, 1024, false);
    bench_embed::<i16>(c, "embed/type", "i16".into(), 48_000, 2, 1024, false);
    bench_embed::<i32>(c, "embed/type", "i24".into(), 48_000, 2, 1024, false);
    bench_embed::<i16>(
        c,
        "embed/duty",
        "back-to-back".into(),
        48_000,
        2,
        1024,
        true,
    );
}

fn bench_detect<S: Sample>(
    c: &mut Criterion,
    group: &str,
    label: String,
    rate: u32,
    channels: u16,
    block: usize,
) {
    // Four seconds of marked music, looped: two bursts per loop.
    let cfg = embed_config(rate, channels, false);
    let mut x: Vec<f32> = synth::generate(Kind::Music, rate, rate as usize * 4, 3)
        .iter()
        .flat_map(|&v| std::iter::repeat_n(v, channels as usize))
        .collect();
    Embedder::new(&cfg).unwrap().process(0, &mut x).unwrap();
    let input: Vec<S> = x.iter().map(|&v| S::from_unit(v)).collect();
    let mut dc = DetectConfig::new(KEY);
    dc.sample_rate = rate;
    dc.channels = channels;
    dc.profile = Profile::Ultrasonic;
    let mut d = Detector::new(&dc).unwrap();
    let ch = channels as usize;
    let second = rate as usize * ch;
    let mut now = 0u64;
    let mut found = 0u64;
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(rate as u64));
    g.bench_function(BenchmarkId::from_parameter(label), |b| {
        b.iter(|| {
            let start = (now as usize * ch) % input.len();
            for blk in input[start..start + second].chunks(block * ch) {
                d.process(now, blk, |_| found += 1).unwrap();
                now += (blk.len() / ch) as u64;
            }
        })
    });
    g.finish();
    black_box(found);
}

fn detect(c: &mut Criterion) {
    for block in [32, 256, 1024, 4096] {
        bench_detect::<i16>(c, "detect/block", format!("{block}"), 48_000, 1, block);
    }
    for rate in [44_100, 48_000, 96_000] {
        bench_detect::<i16>(c, "detect/rate", format!("{rate}"), rate, 1, 1024);
    }
    for channels in [1, 2, 8] {
        bench_detect::<i16>(
            c,
            "detect/channels",
            format!("{channels}"),
            48_000,
            channels,
            1024,
        );
    }
    bench_detect::<f32>(c, "detect/type", "f32".into(), 48_000, 1, 1024);
    bench_detect::<i16>(c, "detect/type", "i16".into(), 48_000, 1, 1024);
    bench_detect::<i32>(c, "detect/type", "i24".into(), 48_000, 1, 1024);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(3));
    targets = embed, detect
}
criterion_main!(benches);
