//! Capturing across device loss: reopen until the device is back.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;

use super::capture::{Capture, Read};
use super::lookup::{Direction, Presence};
use crate::cli::HostChoice;
use crate::ui;

/// No audio for this long means the device is gone.
pub const STALL: Duration = Duration::from_secs(10);

/// What a live input tells its user.
pub enum InputEvent<'a> {
    /// Capturing (again, after a loss, when `reopened`).
    Started {
        capture: &'a Capture,
        reopened: bool,
    },
    /// Samples, with the wall-clock time the last of them arrived.
    Block(&'a [f32], SystemTime),
    /// Frames lost (ring overflow, or the time the device was away).
    Gap(u64),
    /// The device went away; it will be reopened.
    Lost(String),
    /// The device reported xruns (running total).
    Xruns(u64),
}

/// Capture from a device until `stop()` says so, reopening it whenever it
/// is lost. Only the first open may fail (a bad name, no device).
pub fn run_input(
    choice: HostChoice,
    name: Option<&str>,
    stop: impl Fn() -> bool,
    mut handle: impl FnMut(InputEvent<'_>) -> Result<()>,
) -> Result<()> {
    let mut reopened = false;
    let mut lost_at: Option<(Instant, u32)> = None;
    let mut buf = Vec::new();
    let mut last_retry_note = Instant::now() - Duration::from_secs(3600);
    while !stop() {
        let capture = match Capture::open(choice, name) {
            Ok(c) => c,
            Err(e) if !reopened => return Err(e),
            Err(e) => {
                if last_retry_note.elapsed() > Duration::from_secs(30) {
                    ui::warn(format!("still cannot reopen the device ({e:#}); retrying"));
                    last_retry_note = Instant::now();
                }
                sleep_unless(&stop, Duration::from_secs(1));
                continue;
            }
        };
        let mut capture = capture;
        if let Some((at, rate)) = lost_at.take() {
            handle(InputEvent::Gap(
                (at.elapsed().as_secs_f64() * rate as f64) as u64,
            ))?;
        }
        handle(InputEvent::Started {
            capture: &capture,
            reopened,
        })?;
        reopened = true;
        let mut last_data = Instant::now();
        let mut dropped_seen = 0;
        let mut xruns_seen = 0;
        let mut presence = Presence::new(choice, capture.host, Direction::Input, name);
        let reason = loop {
            if stop() {
                return Ok(());
            }
            if presence.gone() {
                break "the device disappeared".to_string();
            }
            buf.clear();
            match capture.read(&mut buf, Duration::from_millis(100)) {
                Read::Data => {
                    last_data = Instant::now();
                    let dropped = capture.dropped.load(Ordering::Relaxed);
                    if dropped > dropped_seen {
                        handle(InputEvent::Gap(dropped - dropped_seen))?;
                        dropped_seen = dropped;
                    }
                    handle(InputEvent::Block(&buf, SystemTime::now()))?;
                }
                Read::Idle => {
                    if last_data.elapsed() > STALL {
                        break format!("no audio for {} s", STALL.as_secs());
                    }
                }
                Read::Lost(reason) => break reason,
            }
            let xruns = capture.health.xruns.load(Ordering::Relaxed);
            if xruns > xruns_seen {
                xruns_seen = xruns;
                handle(InputEvent::Xruns(xruns))?;
            }
        };
        lost_at = Some((Instant::now(), capture.chosen.rate()));
        drop(capture);
        handle(InputEvent::Lost(reason))?;
        sleep_unless(&stop, Duration::from_secs(1));
    }
    Ok(())
}

/// Sleep for `d`, waking early if `stop()` turns true.
pub fn sleep_unless(stop: &impl Fn() -> bool, d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end && !stop() {
        std::thread::sleep(Duration::from_millis(20));
    }
}
