//! `hushmark devices`: every input and output with its rates and channels.

use anyhow::Result;
use cpal::{Device, HostId, SupportedStreamConfigRange};
use dsp_core::config::SAMPLE_RATES;

use super::format::{default_config, supported_configs};
use super::host::{host_ids, open_id};
use super::lookup::{default_device, device_names, devices, Direction};
use crate::cli::DevicesArgs;
use crate::report::print_line;
use crate::stderr;
use crate::Outcome;

pub fn run(args: &DevicesArgs) -> Result<Outcome> {
    let default_host = cpal::default_host().id();
    let verbose = tracing::enabled!(tracing::Level::INFO);
    for id in host_ids(args.host) {
        let mark = if id == default_host { " (default)" } else { "" };
        print_line(&format!("{}{mark}", id.name()))?;
        // Probing ALSA plugins is chatty on stderr; collect, then print.
        let lines = stderr::hush(|| list_host(id, verbose));
        for l in lines {
            print_line(&l)?;
        }
    }
    Ok(Outcome::Success)
}

fn list_host(id: HostId, verbose: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let host = match open_id(id) {
        Ok(h) => h,
        Err(e) => {
            lines.push(format!("  not available: {e:#}"));
            return lines;
        }
    };
    for dir in [Direction::Input, Direction::Output] {
        lines.push(format!("  {}s:", dir.word()));
        let list = match devices(&host, dir) {
            Ok(l) => l,
            Err(e) => {
                lines.push(format!("    {e:#}"));
                continue;
            }
        };
        let default = default_device(&host, dir).map(|d| device_names(&d).0);
        let mut hidden = 0;
        let mut shown = 0;
        for d in &list {
            match describe(d, dir, default.as_deref()) {
                Some(text) => {
                    lines.push(text);
                    shown += 1;
                }
                None if verbose => {
                    lines.push(format!("    {} (no usable format)", device_names(d).0));
                    shown += 1;
                }
                None => hidden += 1,
            }
        }
        if shown == 0 && hidden == 0 {
            lines.push("    (none)".into());
        }
        if hidden > 0 {
            lines.push(format!(
                "    ({hidden} more without a usable format; -v lists them)"
            ));
        }
    }
    lines
}

/// Two lines for a usable device; `None` when it reports no format.
fn describe(d: &Device, dir: Direction, default: Option<&str>) -> Option<String> {
    let (id, description) = device_names(d);
    let star = if Some(id.as_str()) == default {
        "*"
    } else {
        " "
    };
    let ranges = supported_configs(d, dir).ok().filter(|r| !r.is_empty())?;
    let def = default_config(d, dir)
        .map(|c| {
            format!(
                "{} Hz {} ch {}",
                c.sample_rate(),
                c.channels(),
                c.sample_format()
            )
        })
        .unwrap_or_else(|| "none".into());
    let desc = if description != id {
        format!("  \"{description}\"")
    } else {
        String::new()
    };
    Some(format!(
        "  {star} {id}{desc}\n      default {def}; supports {}",
        summarize(&ranges)
    ))
}

/// `44100-96000 Hz, 1-2 ch, i16 f32; engine rates 44100 48000`.
fn summarize(ranges: &[SupportedStreamConfigRange]) -> String {
    let min_rate = ranges
        .iter()
        .map(|r| r.min_sample_rate())
        .min()
        .unwrap_or(0);
    let max_rate = ranges
        .iter()
        .map(|r| r.max_sample_rate())
        .max()
        .unwrap_or(0);
    let min_ch = ranges.iter().map(|r| r.channels()).min().unwrap_or(0);
    let max_ch = ranges.iter().map(|r| r.channels()).max().unwrap_or(0);
    let mut formats: Vec<String> = Vec::new();
    for r in ranges {
        let f = r.sample_format().to_string();
        if !formats.contains(&f) {
            formats.push(f);
        }
    }
    let engine: Vec<String> = SAMPLE_RATES
        .iter()
        .filter(|&&rate| {
            ranges
                .iter()
                .any(|r| r.min_sample_rate() <= rate && rate <= r.max_sample_rate())
        })
        .map(|r| r.to_string())
        .collect();
    let rates = if min_rate == max_rate {
        format!("{min_rate} Hz")
    } else {
        format!("{min_rate}-{max_rate} Hz")
    };
    let ch = if min_ch == max_ch {
        format!("{min_ch} ch")
    } else {
        format!("{min_ch}-{max_ch} ch")
    };
    format!(
        "{rates}, {ch}, {}; hushmark rates: {}",
        formats.join(" "),
        if engine.is_empty() {
            "none (would resample)".to_string()
        } else {
            engine.join(" ")
        }
    )
}
