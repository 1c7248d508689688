//! The publisher: the spool's messages to NATS JetStream, in order.
//!
//! One thread runs a single-threaded tokio runtime with the `async-nats`
//! client, which reconnects by itself. The thread sends what the spool
//! owes, up to [`WINDOW`] messages in flight, each with its `Nats-Msg-Id`;
//! an acknowledgment moves the spool's mark on. When a publish or an
//! acknowledgment fails (broker down, link cut), everything still owed is
//! sent again from the oldest after a backoff; what the broker had already
//! stored is dropped by its duplicate window and counted as a duplicate.
//! Heartbeats are plain NATS publishes (a lost one is replaced by the next)
//! into a stream that keeps the last one per agent.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use async_nats::jetstream::{self, message::PublishMessage as Publish, stream};

use super::spool::Spool;
use super::{HEARTBEAT_STREAM, LOG_STREAM};

/// Messages in flight before waiting for their acknowledgments.
const WINDOW: usize = 64;
const RETRY_MIN: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(10);
/// How long a stopping agent waits for the broker before leaving the rest
/// in the spool.
const DRAIN: Duration = Duration::from_secs(10);
/// A message acknowledged later than this after it was written waited out
/// an outage in the spool.
const SPOOLED_AFTER: Duration = Duration::from_secs(2);

/// Where and how to publish.
#[derive(Debug, Clone)]
pub struct BusConfig {
    pub url: String,
    pub credentials: Option<PathBuf>,
    pub ca: Option<PathBuf>,
    pub agent: String,
    pub spool: PathBuf,
    pub heartbeat_s: f64,
    /// The stream's duplicate window: a message re-sent within it is
    /// stored once.
    pub duplicate_window: Duration,
}

/// Counts for the operator (and the outage test).
#[derive(Debug, Default)]
pub struct Counts {
    /// Appended to the spool this run.
    pub published: AtomicU64,
    /// Held in the spool because the broker could not take them at once:
    /// acknowledged more than [`SPOOLED_AFTER`] after they were written
    /// (an outage), or owed from an earlier run.
    pub spooled: AtomicU64,
    /// Acknowledged by the broker as stored.
    pub delivered: AtomicU64,
    /// Of those, acknowledged as already stored: a re-send after a lost
    /// acknowledgment, dropped by the broker's duplicate window.
    pub duplicates: AtomicU64,
}

struct Shared {
    spool: Mutex<Spool>,
    wake: tokio::sync::Notify,
    closing: AtomicBool,
    counts: Counts,
    /// (streams up, streams) for heartbeats.
    streams: Mutex<(usize, usize)>,
}

pub struct Bus {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    spool_dir: PathBuf,
}

impl Bus {
    /// Open the spool and start publishing (in the background: a broker
    /// that is down now is retried until it is up).
    pub fn start(config: BusConfig) -> Result<Bus> {
        let spool = Spool::open(&config.spool)?;
        let owed = spool.owed().len() as u64;
        if owed > 0 {
            crate::ui::note(format!(
                "{owed} message(s) from an earlier run are owed to the broker; sending them first"
            ));
        }
        let shared = Arc::new(Shared {
            spool: Mutex::new(spool),
            wake: tokio::sync::Notify::new(),
            closing: AtomicBool::new(false),
            counts: Counts::default(),
            streams: Mutex::new((0, 0)),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the publisher's runtime")?;
        // A missing or malformed credentials or CA file is a mistake to
        // say now, not a broker outage to spool through.
        runtime.block_on(options(
            &config.url,
            config.credentials.as_deref(),
            config.ca.as_deref(),
        ))?;
        let s = shared.clone();
        let spool_dir = config.spool.clone();
        let thread = std::thread::Builder::new()
            .name("publisher".into())
            .spawn(move || runtime.block_on(publish(config, s)))
            .context("cannot start the publisher thread")?;
        Ok(Bus {
            shared,
            thread: Some(thread),
            spool_dir,
        })
    }

    /// Write `data` ahead to the spool (synced), then hand it to the publisher.
    pub fn send(&self, subject: String, msg_id: String, data: String) -> Result<()> {
        self.shared
            .spool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(msg_id, subject, data)?;
        self.shared.counts.published.fetch_add(1, Ordering::Relaxed);
        self.shared.wake.notify_one();
        Ok(())
    }

    pub fn spool_dir(&self) -> &std::path::Path {
        &self.spool_dir
    }

    /// Whether a message with this ID is in the spool, not yet acknowledged.
    pub fn owes(&self, msg_id: &str) -> bool {
        self.shared
            .spool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .owed()
            .iter()
            .any(|e| e.msg_id == msg_id)
    }

    pub fn set_streams(&self, up: usize, total: usize) {
        *self
            .shared
            .streams
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = (up, total);
    }

    /// Deliver what is owed (waiting up to [`DRAIN`]), stop, and say what
    /// happened.
    pub fn close(mut self) -> String {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let c = &self.shared.counts;
        let owed = self
            .shared
            .spool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .owed()
            .len();
        let mut s = format!(
            "publish: {} published, {} spooled, {} delivered ({} re-send(s) the broker already had)",
            c.published.load(Ordering::Relaxed),
            c.spooled.load(Ordering::Relaxed),
            c.delivered.load(Ordering::Relaxed),
            c.duplicates.load(Ordering::Relaxed),
        );
        if owed > 0 {
            s += &format!(
                "; {owed} still owed, kept in {} for the next run",
                self.spool_dir.display()
            );
        }
        s
    }
}

/// The client's options for `url`, shared by the agent and the reader: the
/// credentials file read and parsed now and the CA file checked, so that
/// either one's mistake is an error naming it.
pub async fn options(
    url: &str,
    credentials: Option<&Path>,
    ca: Option<&Path>,
) -> Result<async_nats::ConnectOptions> {
    let mut opts = async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(5));
    if let Some(c) = credentials {
        opts = opts
            .credentials_file(c)
            .await
            .with_context(|| format!("cannot read the NATS credentials {}", c.display()))?;
    }
    if let Some(ca) = ca {
        let pem = std::fs::read(ca)
            .with_context(|| format!("cannot read the CA certificate {}", ca.display()))?;
        let begin = b"-----BEGIN CERTIFICATE-----";
        if !pem.windows(begin.len()).any(|w| w == begin) {
            bail!(
                "{}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)",
                ca.display()
            );
        }
        opts = opts
            .add_root_certificates(ca.to_path_buf())
            .require_tls(true);
    }
    if url.starts_with("tls://") {
        opts = opts.require_tls(true);
    }
    Ok(opts)
}

/// A connection failure, said with what to check: the CA file for TLS, the
/// credentials file for a refusal.
pub fn refused(
    url: &str,
    e: &async_nats::ConnectError,
    credentials: Option<&Path>,
    ca: Option<&Path>,
) -> String {
    use async_nats::ConnectErrorKind as K;
    // A certificate the client cannot verify comes as an IO error from rustls.
    let text = e.to_string();
    let tls = e.kind() == K::Tls || text.contains("certificate");
    let refused = matches!(e.kind(), K::AuthorizationViolation | K::Authentication);
    let hint = match (ca, credentials) {
        (Some(ca), _) if tls => {
            format!(" (is the broker's certificate signed by {}?)", ca.display())
        }
        (None, _) if tls => " (give the broker's CA certificate: --nats-ca FILE)".into(),
        (_, Some(c)) if refused => format!(" (the broker refused the credentials {})", c.display()),
        (_, None) if refused => " (the broker wants credentials: --nats-creds FILE)".into(),
        _ => String::new(),
    };
    format!("cannot connect to {url}: {text}{hint}")
}

/// Connect once, to say at once why not (a wrong CA, refused credentials,
/// no broker); then, if that failed, go on trying in the background (the
/// broker may come up, an account may be added). The failure, if any, is
/// returned beside the client.
async fn connect(config: &BusConfig) -> Result<(async_nats::Client, Option<String>)> {
    let creds = config.credentials.as_deref();
    let ca = config.ca.as_deref();
    let base = || async {
        Ok::<_, anyhow::Error>(
            options(&config.url, creds, ca)
                .await?
                .name(format!("hushmark {}", config.agent))
                .max_reconnects(None)
                .event_callback(|event| async move {
                    match event {
                        async_nats::Event::Disconnected => tracing::warn!("broker: disconnected"),
                        async_nats::Event::Connected => tracing::info!("broker: connected"),
                        other => tracing::debug!("broker: {other}"),
                    }
                }),
        )
    };
    let first = match base().await?.connect(config.url.as_str()).await {
        Ok(client) => return Ok((client, None)),
        Err(e) => refused(&config.url, &e, creds, ca),
    };
    let client = base()
        .await?
        .retry_on_initial_connect()
        .connect(config.url.as_str())
        .await
        .map_err(|e| anyhow!("{}", refused(&config.url, &e, creds, ca)))?;
    Ok((client, Some(first)))
}

/// The log stream (airings and events, deduplicated) and the heartbeat
/// stream (last message per agent).
pub async fn ensure_streams(js: &jetstream::Context, duplicate_window: Duration) -> Result<()> {
    js.get_or_create_stream(stream::Config {
        name: LOG_STREAM.into(),
        subjects: vec!["hushmark.*.airing.>".into(), "hushmark.*.event.>".into()],
        storage: stream::StorageType::File,
        duplicate_window,
        ..Default::default()
    })
    .await
    .map_err(|e| anyhow!("cannot create the JetStream stream {LOG_STREAM}: {e}"))?;
    js.get_or_create_stream(stream::Config {
        name: HEARTBEAT_STREAM.into(),
        subjects: vec!["hushmark.*.heartbeat".into()],
        storage: stream::StorageType::File,
        max_messages_per_subject: 1,
        ..Default::default()
    })
    .await
    .map_err(|e| anyhow!("cannot create the JetStream stream {HEARTBEAT_STREAM}: {e}"))?;
    Ok(())
}

async fn publish(config: BusConfig, shared: Arc<Shared>) {
    let (client, refused) = match connect(&config).await {
        Ok(c) => c,
        Err(e) => {
            crate::ui::error(format!("{e:#}; airings stay in the spool"));
            return;
        }
    };
    let mut js = jetstream::new(client.clone());
    js.set_timeout(Duration::from_secs(5));
    let mut ready = false;
    let mut retry = RETRY_MIN;
    let mut closing_since: Option<Instant> = None;
    let mut next_heartbeat = Instant::now();
    let mut warned = false;
    if let Some(why) = refused {
        crate::ui::warn(format!(
            "{why}; spooling to {} and retrying",
            config.spool.display()
        ));
        warned = true;
    }
    loop {
        if shared.closing.load(Ordering::SeqCst) {
            let since = *closing_since.get_or_insert_with(Instant::now);
            let owed = shared.spool.lock().map(|s| s.owed().len()).unwrap_or(0);
            if owed == 0 || since.elapsed() > DRAIN {
                break;
            }
        }
        if Instant::now() >= next_heartbeat {
            heartbeat(&client, &config, &shared).await;
            next_heartbeat = Instant::now() + Duration::from_secs_f64(config.heartbeat_s);
        }
        let attempt = async {
            if !ready {
                ensure_streams(&js, config.duplicate_window).await?;
                ready = true;
            }
            send_owed(&js, &shared).await
        };
        match attempt.await {
            Ok(true) => {
                retry = RETRY_MIN;
                if warned {
                    crate::ui::note(format!("{}: delivering again", config.url));
                    warned = false;
                }
            }
            Ok(false) => {
                // Nothing owed: sleep until a message, a heartbeat or a stop.
                let wait = next_heartbeat.saturating_duration_since(Instant::now());
                if !shared.closing.load(Ordering::SeqCst) {
                    let _ = tokio::time::timeout(wait, shared.wake.notified()).await;
                }
            }
            Err(e) => {
                if !warned {
                    crate::ui::warn(format!(
                        "{}: {e:#}; spooling to {} and retrying",
                        config.url,
                        config.spool.display()
                    ));
                    warned = true;
                }
                if e.to_string().contains("no responders") {
                    ready = false;
                }
                if !shared.closing.load(Ordering::SeqCst) {
                    let _ = tokio::time::timeout(retry, async {
                        // Woken early only by a stop.
                        while !shared.closing.load(Ordering::SeqCst) {
                            shared.wake.notified().await;
                        }
                    })
                    .await;
                } else {
                    tokio::time::sleep(RETRY_MIN).await;
                }
                retry = (retry * 2).min(RETRY_MAX);
            }
        }
    }
    // A flush waits for a connection: never past the drain when there is none.
    if client.connection_state() == async_nats::connection::State::Connected {
        let _ = tokio::time::timeout(RETRY_MAX, client.flush()).await;
    }
}

/// Send one window of what is owed and wait for its acknowledgments.
/// Ok(false): nothing was owed.
async fn send_owed(js: &jetstream::Context, shared: &Shared) -> Result<bool> {
    let batch: Vec<_> = {
        let spool = shared.spool.lock().unwrap_or_else(|e| e.into_inner());
        spool.owed().iter().take(WINDOW).cloned().collect()
    };
    if batch.is_empty() {
        return Ok(false);
    }
    let mut pending = Vec::with_capacity(batch.len());
    for e in batch {
        let written = e.written;
        let ack = js
            .send_publish(
                e.subject,
                Publish::build()
                    .payload(e.data.into_bytes().into())
                    .message_id(&e.msg_id),
            )
            .await
            .map_err(|err| anyhow!("publish: {err}"))?;
        pending.push((e.seq, written, ack));
    }
    for (seq, written, ack) in pending {
        let ack = ack
            .await
            .map_err(|err| anyhow!("no acknowledgment: {err}"))?;
        let c = &shared.counts;
        c.delivered.fetch_add(1, Ordering::Relaxed);
        if written.is_none_or(|w| w.elapsed() > SPOOLED_AFTER) {
            c.spooled.fetch_add(1, Ordering::Relaxed);
        }
        if ack.duplicate {
            c.duplicates.fetch_add(1, Ordering::Relaxed);
        }
        shared
            .spool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ack(seq)?;
    }
    Ok(true)
}

async fn heartbeat(client: &async_nats::Client, config: &BusConfig, shared: &Shared) {
    if client.connection_state() != async_nats::connection::State::Connected {
        return;
    }
    let (up, total) = *shared.streams.lock().unwrap_or_else(|e| e.into_inner());
    let owed = shared.spool.lock().map(|s| s.owed().len()).unwrap_or(0);
    let beat = super::Heartbeat {
        agent: &config.agent,
        utc: crate::airing::utc(SystemTime::now()),
        streams: total,
        streams_up: up,
        owed,
        version: env!("CARGO_PKG_VERSION"),
    };
    let data = serde_json::to_vec(&beat).unwrap_or_default();
    let subject = format!("hushmark.{}.heartbeat", config.agent);
    if let Err(e) = client.publish(subject, data.into()).await {
        tracing::debug!("heartbeat: {e}");
    }
}
