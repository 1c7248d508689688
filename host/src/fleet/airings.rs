//! `hushmark airings`: the fleet's as-aired log read back.
//!
//! From NATS (`--from nats://…`): an ordered consumer reads the airing
//! subjects of the log stream (only one stream's subject with `--stream`),
//! every agent's, to the end; copies with a message ID already seen are
//! dropped and counted (there should be none: the broker's duplicate window
//! keeps them out). From a file (`--from aired.jsonl`): the agent's own
//! JSON-lines log. Either way the airings are filtered (`--since`,
//! `--until`: airings that overlap the span; `--stream`, `--id`), merged in
//! time order and printed as a table, JSON lines or CSV.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{token, LOG_STREAM};
use crate::cli::AiringsArgs;
use crate::{ui, Outcome};

/// One airing as logged (with its agent, when read from the bus).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Aired {
    #[serde(default)]
    pub agent: String,
    pub stream: String,
    pub id: String,
    pub first_utc: String,
    pub last_utc: String,
    pub first_s: u64,
    pub last_s: u64,
    pub bursts: u32,
    pub profile: String,
    /// `agent_lost`: open when its agent died, ended at its last mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
}

/// RFC 3339, or a span back from now (`2h`, `30min`).
fn parse_time(what: &str, text: &str) -> Result<SystemTime> {
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        return Ok(t);
    }
    if let Ok(d) = humantime::parse_duration(text) {
        return Ok(SystemTime::now()
            .checked_sub(d)
            .unwrap_or(SystemTime::UNIX_EPOCH));
    }
    bail!("{what} {text:?} is neither an RFC 3339 time (2024-05-01T06:00:00Z) nor a span back from now (2h)")
}

pub fn run(args: &AiringsArgs) -> Result<Outcome> {
    let since = args
        .since
        .as_deref()
        .map(|t| parse_time("--since", t))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|t| parse_time("--until", t))
        .transpose()?;
    let id = args
        .id
        .as_deref()
        .map(|h| {
            dsp_core::Id::from_hex(h)
                .map(|i| i.to_string())
                .map_err(|e| anyhow!("--id {h:?}: {e}"))
        })
        .transpose()?;
    let mut all = if args.from.starts_with("nats://") || args.from.starts_with("tls://") {
        from_nats(args)?
    } else {
        from_file(&PathBuf::from(&args.from))?
    };
    let when = |t: &str| humantime::parse_rfc3339_weak(t).ok();
    all.retain(|a| {
        since.is_none_or(|s| when(&a.last_utc).is_none_or(|l| l >= s))
            && until.is_none_or(|u| when(&a.first_utc).is_none_or(|f| f <= u))
            && args.stream.as_ref().is_none_or(|s| &a.stream == s)
            && id.as_ref().is_none_or(|i| &a.id == i)
    });
    all.sort_by(|a, b| {
        (&a.first_utc, &a.agent, &a.stream, a.first_s).cmp(&(
            &b.first_utc,
            &b.agent,
            &b.stream,
            b.first_s,
        ))
    });
    let mut out = std::io::stdout().lock();
    print(&mut out, &all, args).context("cannot write to standard output")?;
    Ok(if all.is_empty() {
        Outcome::NothingFound
    } else {
        Outcome::Success
    })
}

fn print(out: &mut impl std::io::Write, all: &[Aired], args: &AiringsArgs) -> std::io::Result<()> {
    if args.json {
        for a in all {
            writeln!(out, "{}", serde_json::to_string(a).unwrap_or_default())?;
        }
    } else if args.csv {
        writeln!(
            out,
            "agent,stream,id,first_utc,last_utc,first_s,last_s,bursts,profile,ended"
        )?;
        for a in all {
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{}",
                csv(&a.agent),
                csv(&a.stream),
                a.id,
                a.first_utc,
                a.last_utc,
                a.first_s,
                a.last_s,
                a.bursts,
                a.profile,
                a.ended.as_deref().unwrap_or_default()
            )?;
        }
    } else {
        writeln!(
            out,
            "{:<20}  {:<20}  {:<12}  {:<16}  {:<42}  {:>6}",
            "FIRST_UTC", "LAST_UTC", "AGENT", "STREAM", "ID", "BURSTS"
        )?;
        for a in all {
            writeln!(
                out,
                "{:<20}  {:<20}  {:<12}  {:<16}  {:<42}  {:>6}",
                a.first_utc, a.last_utc, a.agent, a.stream, a.id, a.bursts
            )?;
        }
    }
    out.flush()
}

/// A CSV field, quoted when it must be.
fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn from_file(path: &PathBuf) -> Result<Vec<Aired>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {} (give a log file or nats://HOST:PORT)",
            path.display()
        )
    })?;
    let mut all = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.contains("\"event\":") {
            continue;
        }
        let a: Aired = serde_json::from_str(line)
            .map_err(|e| anyhow!("{}:{}: not an airing record ({e})", path.display(), n + 1))?;
        all.push(a);
    }
    Ok(all)
}

fn from_nats(args: &AiringsArgs) -> Result<Vec<Aired>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime")?;
    runtime.block_on(read_nats(args))
}

async fn read_nats(args: &AiringsArgs) -> Result<Vec<Aired>> {
    use async_nats::jetstream::{self, consumer::pull};
    let url = &args.from;
    let (creds, ca) = (args.nats_creds.as_deref(), args.nats_ca.as_deref());
    let client = super::bus::options(url, creds, ca)
        .await?
        .connect(url.as_str())
        .await
        .map_err(|e| anyhow!("{}", super::bus::refused(url, &e, creds, ca)))?;
    let js = jetstream::new(client);
    let stream = js.get_stream(LOG_STREAM).await.map_err(|e| {
        anyhow!("{url}: no JetStream stream {LOG_STREAM} ({e}); has an agent published yet?")
    })?;
    let filter = match &args.stream {
        Some(s) => format!("hushmark.*.airing.{}", token(s)),
        None => "hushmark.*.airing.>".into(),
    };
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: filter,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow!("{url}: cannot read {LOG_STREAM}: {e}"))?;
    let mut pending = consumer.cached_info().num_pending;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| anyhow!("{url}: cannot read {LOG_STREAM}: {e}"))?;
    let (mut seen, mut read, mut duplicates) = (HashSet::new(), 0u64, 0u64);
    let mut all = Vec::new();
    let mut agents = HashSet::new();
    while pending > 0 {
        let m = match tokio::time::timeout(Duration::from_secs(10), messages.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => bail!("{url}: reading {LOG_STREAM}: {e}"),
            Ok(None) => break,
            Err(_) => bail!("{url}: no message for 10 s with {pending} still pending"),
        };
        pending = m.info().map(|i| i.pending).unwrap_or(0);
        read += 1;
        let msg_id = m
            .headers
            .as_ref()
            .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|v| v.as_str().to_string());
        if let Some(id) = msg_id {
            if !seen.insert(id) {
                duplicates += 1;
                continue;
            }
        }
        match serde_json::from_slice::<Aired>(&m.payload) {
            Ok(a) => {
                agents.insert(a.agent.clone());
                all.push(a);
            }
            Err(e) => ui::warn(format!(
                "{}: not an airing record ({e}); skipped",
                m.subject
            )),
        }
    }
    ui::note(format!(
        "airings: {} message(s) read from {url} ({} agent(s)), {duplicates} duplicate(s) dropped",
        read,
        agents.len()
    ));
    Ok(all)
}
