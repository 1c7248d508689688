//! `hushmark bench`: what this machine can do, like `openssl speed`.
//!
//! * **Per profile** (default): embedding and detection in times real time
//!   per core, on synthetic programme (48 kHz stereo) with the mark of the
//!   profile set under test; detection runs monitor's own [`Scanner`]
//!   (stereo mixed to mono, one detector per profile). CPU time is the
//!   thread's own (`CLOCK_THREAD_CPUTIME_ID`), so other load barely skews
//!   it. From the default profile's detection speed: how many live 48 kHz
//!   streams fit in 80 % of the cores.
//! * **Live** (`--streams N`): N sources of marked 48 kHz stereo, each a
//!   thread that sleeps until its next 100 ms block is due and feeds it to
//!   a scanner, the same shape as monitor's `--url` readers without the
//!   pipe. Measured: the process's CPU share of the machine (`getrusage`),
//!   peak RSS (`VmHWM`), and each burst's lag, from its last sample's due
//!   time to its detection.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use dsp_core::{EmbedConfig, Embedder, Id, Key, Profile, Profiles, Schedule};
use serde::Serialize;

use crate::cli::BenchArgs;
use crate::scan::{Report, Scanner, Search};
use crate::{ui, Outcome};

const RATE: u32 = 48_000;
const BLOCK: usize = 4_800;
/// Detection speed is quoted for this share of the cores, leaving room.
const HEADROOM: f64 = 0.8;

/// The profile sets measured, in the order printed.
const SETS: [&str; 5] = [
    "ultrasonic",
    "ultrasonic-wide",
    "near-ultrasonic",
    "robust",
    "ultrasonic+robust",
];

#[derive(Debug, Serialize)]
struct Row {
    profiles: String,
    embed_x_realtime: f64,
    detect_x_realtime: f64,
    bursts_found: usize,
}

#[derive(Debug, Serialize)]
struct Machine {
    cpu: String,
    cores: usize,
    arch: &'static str,
    version: &'static str,
}

#[derive(Debug, Serialize)]
struct Speed {
    machine: Machine,
    rows: Vec<Row>,
    /// Live 48 kHz streams at 80 % of every core, default profile.
    streams: u64,
}

#[derive(Debug, Serialize)]
struct Live {
    machine: Machine,
    streams: usize,
    seconds: f64,
    cpu_percent_of_machine: f64,
    peak_rss_mib: f64,
    bursts_expected: u64,
    bursts_found: usize,
    lag_p50_s: f64,
    lag_p95_s: f64,
    lag_max_s: f64,
    /// Worst lateness of a block against its due time.
    late_max_s: f64,
}

pub fn run(args: &BenchArgs) -> Result<Outcome> {
    let seconds = args
        .seconds
        .unwrap_or(if args.streams.is_some() { 30.0 } else { 1.0 });
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 {
        bail!("--seconds must be a positive number of seconds");
    }
    match args.streams {
        Some(0) => bail!("--streams must be at least 1"),
        Some(n) if n > 4096 => bail!("--streams: at most 4096"),
        Some(n) => live(n, seconds, args.json),
        None => speed(seconds, args.json),
    }
}

fn machine() -> Machine {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let cpu = field("model name")
        .or_else(|| field("Model"))
        .or_else(|| field("Hardware"))
        .or_else(|| field("CPU part").map(|p| format!("ARM CPU part {p}")))
        .unwrap_or_else(|| "unknown CPU".into());
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        arch: std::env::consts::ARCH,
        version: env!("CARGO_PKG_VERSION"),
    }
}

fn thread_cpu_s() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

fn process_cpu_s() -> f64 {
    // SAFETY: getrusage writes one rusage we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Programme-like stereo: a few partials and soft noise, about -20 dBFS.
fn programme(seconds: f64) -> Vec<f32> {
    let n = (seconds * RATE as f64) as usize;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut x = Vec::with_capacity(2 * n);
    for i in 0..n {
        let t = i as f64 / RATE as f64;
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = ((seed >> 40) as f64 / (1u64 << 24) as f64 - 0.5) * 0.05;
        let tone = [220.0, 330.0, 880.0, 2_500.0]
            .iter()
            .enumerate()
            .map(|(k, f)| (0.03 / (k + 1) as f64) * (2.0 * std::f64::consts::PI * f * t).sin())
            .sum::<f64>();
        let v = (tone + noise) as f32;
        x.extend([v, v * 0.9]);
    }
    x
}

fn embed_config(profiles: Profiles) -> EmbedConfig {
    let mut c = EmbedConfig::new(Id::from_hex("2a").expect("a valid ID"), Key::PUBLIC_TEST);
    c.sample_rate = RATE;
    c.channels = 2;
    c.profiles = profiles;
    c.schedule = Schedule::Interval {
        every_ms: 2_000,
        offset_ms: 0,
    };
    c
}

/// Mark `x` in place; returns the times real time.
fn embed(profiles: Profiles, x: &mut [f32], budget_s: f64) -> Result<f64> {
    let mut e = Embedder::new(&embed_config(profiles))?;
    let (cpu0, mut frames, mut now) = (thread_cpu_s(), 0u64, 0u64);
    let mut first = true;
    let mut copy = Vec::with_capacity(BLOCK * 2);
    loop {
        for block in x.chunks_mut(BLOCK * 2) {
            if first {
                e.process(now, block)?;
            } else {
                // Later passes mark a copy, so `x` keeps one clean mark.
                copy.clear();
                copy.extend_from_slice(block);
                e.process(now, &mut copy)?;
            }
            now += (block.len() / 2) as u64;
            frames += (block.len() / 2) as u64;
            if !first && thread_cpu_s() - cpu0 >= budget_s {
                break;
            }
        }
        first = false;
        if thread_cpu_s() - cpu0 >= budget_s {
            break;
        }
    }
    Ok(frames as f64 / RATE as f64 / (thread_cpu_s() - cpu0).max(1e-9))
}

/// Scan `x` as monitor does; returns (times real time, bursts found in the first pass).
fn detect(profiles: &[Profile], x: &[f32], budget_s: f64) -> Result<(f64, usize)> {
    let (mut s, _) = Scanner::new(&Search::new(Key::PUBLIC_TEST, profiles), RATE, 2)?;
    let mut found = Vec::new();
    let (cpu0, mut frames) = (thread_cpu_s(), 0u64);
    let mut first_pass = None;
    'outer: loop {
        for block in x.chunks(BLOCK * 2) {
            s.push(block, &mut found)?;
            frames += (block.len() / 2) as u64;
            if first_pass.is_some() && thread_cpu_s() - cpu0 >= budget_s {
                break 'outer;
            }
        }
        if first_pass.is_none() {
            s.finish(&mut found)?;
            first_pass = Some(found.len());
        }
        if thread_cpu_s() - cpu0 >= budget_s {
            break;
        }
    }
    let xrt = frames as f64 / RATE as f64 / (thread_cpu_s() - cpu0).max(1e-9);
    Ok((xrt, first_pass.unwrap_or(0)))
}

fn speed(seconds: f64, json: bool) -> Result<Outcome> {
    let m = machine();
    if !json {
        ui::note(format!(
            "bench: {} ({} core(s), {}); {seconds} s of CPU per measurement",
            m.cpu, m.cores, m.arch
        ));
    }
    let clean = programme(8.0);
    let mut rows = Vec::new();
    for set in SETS {
        let profiles: Profiles = set.parse().map_err(|e| anyhow::anyhow!("{set}: {e}"))?;
        let mut x = clean.clone();
        let embed_xrt = embed(profiles, &mut x, seconds)?;
        let list: Vec<Profile> = profiles.iter().collect();
        let (detect_xrt, found) = detect(&list, &x, seconds)?;
        rows.push(Row {
            profiles: set.into(),
            embed_x_realtime: round1(embed_xrt),
            detect_x_realtime: round1(detect_xrt),
            bursts_found: found,
        });
    }
    let streams = (rows[0].detect_x_realtime * m.cores as f64 * HEADROOM).floor() as u64;
    let result = Speed {
        machine: m,
        rows,
        streams,
    };
    if json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        println!(
            "CPU: {} ({} cores, {})",
            result.machine.cpu, result.machine.cores, result.machine.arch
        );
        println!(
            "{:<20} {:>14} {:>15} {:>7}",
            "PROFILE", "EMBED_XRT/CORE", "DETECT_XRT/CORE", "FOUND"
        );
        for r in &result.rows {
            println!(
                "{:<20} {:>14.1} {:>15.1} {:>7}",
                r.profiles, r.embed_x_realtime, r.detect_x_realtime, r.bursts_found
            );
        }
        println!(
            "live 48 kHz streams this machine can monitor (profile ultrasonic, {:.0} % of {} core(s)): {}",
            HEADROOM * 100.0,
            result.machine.cores,
            result.streams
        );
    }
    Ok(Outcome::Success)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

fn live(n: usize, seconds: f64, json: bool) -> Result<Outcome> {
    let m = machine();
    // 20 s of marked programme, a burst every 2 s; each source starts at
    // its own offset so bursts do not all end at once.
    let mut x = programme(20.0);
    embed(Profiles::only(Profile::Ultrasonic), &mut x, 0.0)?;
    let x = Arc::new(x);
    let lags = Arc::new(Mutex::new(Vec::<f64>::new()));
    let late = Arc::new(Mutex::new(0f64));
    let cpu0 = process_cpu_s();
    let t0 = Instant::now() + Duration::from_millis(200);
    let mut threads = Vec::new();
    for k in 0..n {
        let (x, lags, late) = (x.clone(), lags.clone(), late.clone());
        let offset = (k * 7_919 * BLOCK / 10) % (x.len() / 2);
        threads.push(
            std::thread::Builder::new()
                .name(format!("bench-{k}"))
                .spawn(move || -> Result<()> {
                    let search = Search::new(Key::PUBLIC_TEST, &[Profile::Ultrasonic]);
                    let (mut s, _) = Scanner::new(&search, RATE, 2)?;
                    let mut found: Vec<Report> = Vec::new();
                    let frames = x.len() / 2;
                    let blocks = (seconds * 10.0).ceil() as u64;
                    let mut worst = 0f64;
                    let mut my_lags = Vec::new();
                    for b in 0..blocks {
                        // Block b is due when its last sample would have arrived.
                        let due = t0 + Duration::from_millis(100 * (b + 1));
                        let now = Instant::now();
                        if now < due {
                            std::thread::sleep(due - now);
                        } else {
                            worst = worst.max((now - due).as_secs_f64());
                        }
                        let start = (offset + b as usize * BLOCK) % frames;
                        let block = &x[2 * start..2 * (start + BLOCK).min(frames)];
                        s.push(block, &mut found)?;
                        if start + BLOCK > frames {
                            let rest = start + BLOCK - frames;
                            s.push(&x[..2 * rest], &mut found)?;
                        }
                        let seen = Instant::now();
                        for f in found.drain(..).filter_map(|r| match r {
                            Report::Found(f) => Some(f),
                            Report::Verdict(_) | Report::Colliding(_) | Report::Transplanted(_) => {
                                None
                            }
                        }) {
                            let end = t0 + Duration::from_secs_f64(f.end_s);
                            my_lags.push(seen.saturating_duration_since(end).as_secs_f64());
                        }
                    }
                    lags.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(my_lags);
                    let mut l = late.lock().unwrap_or_else(|e| e.into_inner());
                    *l = l.max(worst);
                    Ok(())
                })?,
        );
    }
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a bench source failed"))??;
    }
    let wall = t0.elapsed().as_secs_f64().max(1e-9);
    let cpu = process_cpu_s() - cpu0;
    let mut lags = std::mem::take(&mut *lags.lock().unwrap_or_else(|e| e.into_inner()));
    lags.sort_by(f64::total_cmp);
    let r = Live {
        streams: n,
        seconds,
        cpu_percent_of_machine: round1(100.0 * cpu / (wall * m.cores as f64)),
        peak_rss_mib: round1(peak_rss_mib()),
        // Bursts every 2 s, one second long; the last may not have ended.
        bursts_expected: n as u64 * (seconds / 2.0).floor() as u64,
        bursts_found: lags.len(),
        lag_p50_s: round2(percentile(&lags, 0.5)),
        lag_p95_s: round2(percentile(&lags, 0.95)),
        lag_max_s: round2(lags.last().copied().unwrap_or(0.0)),
        late_max_s: round2(*late.lock().unwrap_or_else(|e| e.into_inner())),
        machine: m,
    };
    if json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{} live 48 kHz stereo streams for {} s on {} ({} cores): CPU {:.1} % of the machine, peak RSS {:.1} MiB, \
             {} of ~{} bursts found, lag p50 {:.2} s, p95 {:.2} s, max {:.2} s; blocks at most {:.2} s late",
            r.streams, r.seconds, r.machine.cpu, r.machine.cores, r.cpu_percent_of_machine, r.peak_rss_mib,
            r.bursts_found, r.bursts_expected, r.lag_p50_s, r.lag_p95_s, r.lag_max_s, r.late_max_s
        );
    }
    Ok(Outcome::Success)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
