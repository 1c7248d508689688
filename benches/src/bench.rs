//! Criterion's results, turned into times real time per core.
//!
//! Criterion leaves `<group>/<bench>/new/{benchmark,estimates}.json` under its
//! output directory; each iteration of ours processes one second of audio, and
//! the throughput is in frames, so frames per second over the sample rate is
//! the real-time factor.

use std::path::Path;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct BenchResult {
    /// e.g. `embed/block`.
    pub group: String,
    /// e.g. `1024`.
    pub param: String,
    /// Time per iteration (one second of audio), ns: Criterion's slope estimate.
    pub ns_per_iter: f64,
    /// Frames per iteration (the sample rate).
    pub frames: u64,
}

impl BenchResult {
    /// How many real-time streams one core could run.
    pub fn times_real_time(&self) -> f64 {
        1e9 / self.ns_per_iter
    }

    pub fn ns_per_frame(&self) -> f64 {
        self.ns_per_iter / self.frames as f64
    }
}

/// Every result under `dir` (e.g. `target/criterion`), sorted.
pub fn read(dir: &Path) -> Vec<BenchResult> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort_by(|a, b| (&a.group, sort_key(&a.param)).cmp(&(&b.group, sort_key(&b.param))));
    out
}

fn sort_key(param: &str) -> (u64, String) {
    (param.parse().unwrap_or(u64::MAX), param.to_string())
}

fn walk(dir: &Path, out: &mut Vec<BenchResult>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") {
                if let Some(r) = parse(&p) {
                    out.push(r);
                }
            } else if p
                .file_name()
                .is_none_or(|n| n != "base" && n != "change" && n != "report")
            {
                walk(&p, out);
            }
        }
    }
}

fn parse(new: &Path) -> Option<BenchResult> {
    let bench: Value =
        serde_json::from_str(&std::fs::read_to_string(new.join("benchmark.json")).ok()?).ok()?;
    let est: Value =
        serde_json::from_str(&std::fs::read_to_string(new.join("estimates.json")).ok()?).ok()?;
    let group = bench["group_id"].as_str()?.to_string();
    let param = bench["value_str"]
        .as_str()
        .or_else(|| bench["function_id"].as_str())
        .unwrap_or("")
        .to_string();
    let frames = bench["throughput"]["Elements"].as_u64()?;
    Some(BenchResult {
        group,
        param,
        // Criterion's headline estimate: the slope of its linear sampling
        // where it has one (what `cargo bench` prints), else the mean.
        ns_per_iter: est["slope"]["point_estimate"]
            .as_f64()
            .or_else(|| est["mean"]["point_estimate"].as_f64())?,
        frames,
    })
}
