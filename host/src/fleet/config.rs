//! The agent's configuration: `monitor --config site.toml`, merged with the
//! command line into one [`Plan`].
//!
//! ```toml
//! agent = "site-a"                 # default: the host name
//! key = "/etc/hushmark/station.key"
//! log = "/var/log/hushmark/site-a.jsonl"
//! publish = "nats://broker.example:4222"   # or tls://...
//! credentials = "/etc/hushmark/site-a.creds"
//! ca = "/etc/hushmark/broker-ca.pem"
//! spool = "/var/lib/hushmark/site-a"
//! missing_after = 60               # seconds of programme without the mark
//!
//! [[stream]]
//! name = "news"
//! url = "udp://@239.1.1.1:5000"
//! expect = true                    # any ID; or expect = "d8da6bf2..."
//!
//! [[stream]]
//! name = "studio"
//! device = "hw:1"
//! ```
//!
//! Paths are relative to the file's directory. The command line adds
//! streams and expectations and overrides single values. A mistake is one
//! error naming the file and line (from the `toml` crate's spans).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use dsp_core::Id;
use serde::Deserialize;
use toml::Spanned;

use super::bus::BusConfig;
use super::watch::{Expect, WatchConfig};
use crate::cli::{MonitorArgs, ProfileSet};
use crate::stream::{self, UrlOptions};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    agent: Option<Spanned<String>>,
    key: Option<PathBuf>,
    log: Option<PathBuf>,
    publish: Option<Spanned<String>>,
    credentials: Option<PathBuf>,
    ca: Option<PathBuf>,
    spool: Option<PathBuf>,
    profile: Option<Spanned<String>>,
    missing_after: Option<Spanned<f64>>,
    silence_db: Option<Spanned<f64>>,
    silence_after: Option<Spanned<f64>>,
    stall: Option<Spanned<f64>>,
    heartbeat: Option<Spanned<f64>>,
    gap: Option<Spanned<f64>>,
    ffmpeg: Option<String>,
    #[serde(default, rename = "stream")]
    streams: Vec<Spanned<StreamConfig>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamConfig {
    name: Option<Spanned<String>>,
    url: Option<String>,
    device: Option<String>,
    file: Option<PathBuf>,
    expect: Option<Spanned<ExpectValue>>,
    /// ffmpeg options before `-i`, e.g. ["-rtsp_transport", "tcp"].
    #[serde(default)]
    ffmpeg_options: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ExpectValue {
    Any(bool),
    Id(String),
}

/// A source to monitor.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    File(PathBuf),
    Device(String),
    Url { url: String, options: Vec<String> },
}

/// Everything `monitor` runs, from the command line and the config file.
#[derive(Debug)]
pub struct Plan {
    pub key: PathBuf,
    pub agent: String,
    pub profiles: Vec<dsp_core::Profile>,
    /// Named sources, in order.
    pub sources: Vec<(String, Source)>,
    /// Streams watched for silence (every `--url` and config stream, and
    /// every expected one), with what each should carry.
    pub watched: BTreeMap<String, Option<Expect>>,
    pub watch: WatchConfig,
    pub url: UrlOptions,
    pub log: Option<PathBuf>,
    pub gap: f64,
    pub bus: Option<BusConfig>,
}

impl Plan {
    pub fn watch_for(&self, stream: &str) -> Option<super::watch::Watch> {
        self.watched
            .get(stream)
            .map(|e| super::watch::Watch::new(stream.to_string(), *e, self.watch))
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn load(path: &Path) -> Result<(FileConfig, String)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read the config {}: {e}", path.display()))?;
    match toml::from_str::<FileConfig>(&text) {
        Ok(c) => Ok((c, text)),
        Err(e) => {
            let at = e
                .span()
                .map(|s| format!(":{}", line_of(&text, s.start)))
                .unwrap_or_default();
            bail!(
                "{}{at}: {}",
                path.display(),
                e.message().trim().replace('\n', "; ")
            )
        }
    }
}

/// `STREAM` or `STREAM=ID`.
fn parse_expect(text: &str) -> Result<(String, Expect)> {
    match text.rsplit_once('=') {
        Some((name, id)) if !name.is_empty() => {
            let id =
                Id::from_hex(id).map_err(|e| anyhow!("--expect-mark {text:?}: bad ID: {e}"))?;
            Ok((name.to_string(), Expect::Id(id)))
        }
        _ if !text.is_empty() => Ok((text.to_string(), Expect::AnyMark)),
        _ => bail!("--expect-mark needs a stream name"),
    }
}

fn positive(what: &str, v: f64, min: f64) -> Result<f64> {
    if !v.is_finite() || v < min {
        bail!("{what} must be at least {min}");
    }
    Ok(v)
}

/// Merge the command line and `--config` into a plan.
pub fn plan(args: &MonitorArgs) -> Result<Plan> {
    let (file, text, base) = match &args.config {
        Some(p) => {
            let (c, text) = load(p)?;
            let base = p.parent().unwrap_or(Path::new(".")).to_path_buf();
            (Some(c), text, base)
        }
        None => (None, String::new(), PathBuf::from(".")),
    };
    let cfg_name = args
        .config
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    // "site.toml:7: ..." for a value at `span`.
    let at = |span: std::ops::Range<usize>, msg: String| {
        anyhow!("{cfg_name}:{}: {msg}", line_of(&text, span.start))
    };
    let rel = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let f = file.as_ref();

    let key = match (&args.key, f.and_then(|f| f.key.as_ref())) {
        (Some(k), _) => k.clone(),
        (None, Some(k)) => rel(k),
        (None, None) => bail!("no key: give --key KEYFILE or `key = \"...\"` in the config"),
    };
    let agent = match (&args.agent, f.and_then(|f| f.agent.as_ref())) {
        (Some(a), _) => super::agent_name(Some(a))?,
        (None, Some(a)) => {
            super::agent_name(Some(a.get_ref())).map_err(|e| at(a.span(), format!("{e:#}")))?
        }
        (None, None) => super::agent_name(None)?,
    };
    // The file's profile set, else the command line's.
    let profiles = match f.and_then(|f| f.profile.as_ref()) {
        Some(p) => crate::cli::SearchArg {
            profiles: p
                .get_ref()
                .parse::<ProfileSet>()
                .map_err(|e| at(p.span(), format!("profile: {e}")))?,
            expect: None,
            speed_search: false,
            check_binding: false,
            no_check_binding: false,
        }
        .profiles(),
        None => args.search.profiles(),
    };
    let value = |cli: Option<f64>,
                 file: Option<&Spanned<f64>>,
                 name: &str,
                 default: f64,
                 min: f64|
     -> Result<f64> {
        match (cli, file) {
            (Some(v), _) => positive(&format!("--{}", name.replace('_', "-")), v, min),
            (None, Some(v)) => {
                positive(name, *v.get_ref(), min).map_err(|e| at(v.span(), format!("{e:#}")))
            }
            (None, None) => Ok(default),
        }
    };
    let missing_after = value(
        args.missing_after,
        f.and_then(|f| f.missing_after.as_ref()),
        "missing_after",
        60.0,
        5.0,
    )?;
    let silence_after = value(
        args.silence_after,
        f.and_then(|f| f.silence_after.as_ref()),
        "silence_after",
        10.0,
        1.0,
    )?;
    let stall = value(
        args.stall,
        f.and_then(|f| f.stall.as_ref()),
        "stall",
        10.0,
        1.0,
    )?;
    let heartbeat = value(
        args.heartbeat,
        f.and_then(|f| f.heartbeat.as_ref()),
        "heartbeat",
        10.0,
        1.0,
    )?;
    let gap = value(args.gap, f.and_then(|f| f.gap.as_ref()), "gap", 10.0, 1.0)?;
    let silence_db = match (args.silence_db, f.and_then(|f| f.silence_db.as_ref())) {
        (Some(v), _) => v,
        (None, Some(v)) => *v.get_ref(),
        (None, None) => -50.0,
    };
    if !(-120.0..=0.0).contains(&silence_db) {
        bail!("the silence level must be between -120 and 0 dBFS");
    }

    let mut sources: Vec<(String, Source)> = Vec::new();
    let mut watched: BTreeMap<String, Option<Expect>> = BTreeMap::new();
    let unique = |sources: &Vec<(String, Source)>, base: String| {
        let mut name = base.clone();
        let mut k = 2;
        while sources.iter().any(|(n, _)| *n == name) {
            name = format!("{base}#{k}");
            k += 1;
        }
        name
    };
    if let Some(f) = f {
        for s in &f.streams {
            let span = s.span();
            let s = s.get_ref();
            let source = match (&s.url, &s.device, &s.file) {
                (Some(u), None, None) => Source::Url {
                    url: u.clone(),
                    options: s.ffmpeg_options.clone(),
                },
                (None, Some(d), None) => Source::Device(d.clone()),
                (None, None, Some(p)) => Source::File(rel(p)),
                _ => {
                    return Err(at(
                        span,
                        "a [[stream]] needs exactly one of url, device or file".into(),
                    ))
                }
            };
            let name = match &s.name {
                Some(n) if n.get_ref().is_empty() => {
                    return Err(at(n.span(), "a stream's name cannot be empty".into()))
                }
                Some(n) => n.get_ref().clone(),
                None => match &source {
                    Source::Url { url, .. } => stream::public_name(url),
                    Source::Device(d) => format!("device:{d}"),
                    Source::File(p) => format!("file:{}", p.display()),
                },
            };
            if sources.iter().any(|(n, _)| *n == name) {
                return Err(at(span, format!("two streams are named {name:?}")));
            }
            let expect = match s.expect.as_ref() {
                None => None,
                Some(e) => match e.get_ref() {
                    ExpectValue::Any(false) => None,
                    ExpectValue::Any(true) => Some(Expect::AnyMark),
                    ExpectValue::Id(hex) => {
                        Some(Expect::Id(Id::from_hex(hex).map_err(|err| {
                            at(e.span(), format!("expect: bad ID {hex:?}: {err}"))
                        })?))
                    }
                },
            };
            watched.insert(name.clone(), expect);
            sources.push((name, source));
        }
    }
    for p in &args.files {
        let name = unique(&sources, format!("file:{}", p.display()));
        sources.push((name, Source::File(p.clone())));
    }
    for d in &args.devices {
        let name = unique(&sources, format!("device:{d}"));
        sources.push((name, Source::Device(d.clone())));
    }
    for u in &args.urls {
        let (name, url) = stream::parse_named(u)?;
        if sources.iter().any(|(n, _)| *n == name) {
            bail!("--url {u:?}: a stream is already named {name:?} (write NAME=URL)");
        }
        watched.insert(name.clone(), None);
        sources.push((
            name,
            Source::Url {
                url,
                options: Vec::new(),
            },
        ));
    }
    for e in &args.expect {
        let (name, expect) = parse_expect(e)?;
        let known = sources.iter().any(|(n, _)| *n == name) || (args.stdin && name == "stdin");
        if !known {
            let names: Vec<&str> = sources.iter().map(|(n, _)| n.as_str()).collect();
            bail!(
                "--expect-mark {e:?}: no stream is named {name:?} (streams: {})",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            );
        }
        watched.insert(name, Some(expect));
    }

    let publish = match (&args.publish, f.and_then(|f| f.publish.as_ref())) {
        (Some(p), _) => Some(check_url(p).map_err(|e| anyhow!("--publish: {e}"))?),
        (None, Some(p)) => {
            Some(check_url(p.get_ref()).map_err(|e| at(p.span(), format!("publish: {e}")))?)
        }
        (None, None) => None,
    };
    let pick = |cli: &Option<PathBuf>, file: Option<&PathBuf>| {
        cli.clone().or_else(|| file.map(|p| rel(p)))
    };
    let spool = pick(&args.spool, f.and_then(|f| f.spool.as_ref()));
    let bus = match publish {
        Some(url) => Some(BusConfig {
            url,
            credentials: pick(&args.nats_creds, f.and_then(|f| f.credentials.as_ref())),
            ca: pick(&args.nats_ca, f.and_then(|f| f.ca.as_ref())),
            spool: match spool {
                Some(s) => s,
                None => default_spool(&agent)?,
            },
            agent: agent.clone(),
            heartbeat_s: heartbeat,
            duplicate_window: Duration::from_secs(24 * 3600),
        }),
        None => {
            if spool.is_some() {
                bail!("--spool holds what could not be published: it needs --publish");
            }
            None
        }
    };
    Ok(Plan {
        key,
        agent,
        profiles,
        sources,
        watched,
        watch: WatchConfig {
            missing_after_s: missing_after,
            silence_db,
            silence_after_s: silence_after,
        },
        url: UrlOptions {
            ffmpeg: args
                .ffmpeg
                .clone()
                .or_else(|| f.and_then(|f| f.ffmpeg.clone()))
                .unwrap_or_else(|| "ffmpeg".into()),
            stall_s: stall,
            format: args.pcm,
            input_options: Vec::new(),
        },
        log: pick(&args.log, f.and_then(|f| f.log.as_ref())),
        gap,
        bus,
    })
}

fn check_url(url: &str) -> Result<String> {
    let rest = ["nats://", "tls://"]
        .iter()
        .find_map(|s| url.strip_prefix(s))
        .ok_or_else(|| anyhow!("{url:?} is not nats://HOST:PORT or tls://HOST:PORT"))?;
    if rest.is_empty() || rest.contains('/') {
        bail!("{url:?} is not nats://HOST:PORT or tls://HOST:PORT");
    }
    Ok(url.to_string())
}

/// systemd's `StateDirectory`, else `~/.local/state/hushmark/<agent>`.
fn default_spool(agent: &str) -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("STATE_DIRECTORY") {
        let first = std::env::split_paths(&d).next().unwrap_or_default();
        return Ok(first.join("spool"));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .ok_or_else(|| anyhow!("no place for the spool: give --spool DIR"))?;
    Ok(state.join("hushmark").join(agent).join("spool"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }

    #[test]
    fn expectations_parse() {
        assert_eq!(
            parse_expect("news").unwrap(),
            ("news".into(), Expect::AnyMark)
        );
        let (n, e) = parse_expect("news=2a").unwrap();
        assert_eq!(
            (n.as_str(), e),
            ("news", Expect::Id(Id::from_hex("2a").unwrap()))
        );
        assert!(parse_expect("news=zz").is_err());
        assert!(check_url("nats://127.0.0.1:4222").is_ok());
        assert!(check_url("http://x").is_err());
    }
}
