//! What the user sees besides results: notes and warnings on stderr, the log
//! level, Ctrl-C, and whether we talk to a terminal.
//!
//! Results go to stdout; everything else goes to stderr, so `--json` output
//! can be piped. Notes say what the program decided for the user (for example
//! that it resampled); `--quiet` silences them. Logs go through `tracing` and
//! are off below warnings unless `-v` is given.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::stderr;

static QUIET: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);
static INTERRUPTS: AtomicU32 = AtomicU32::new(0);
static HANDLER: Once = Once::new();
/// Threads now blocked in a read that cannot check [`stopping`] (opening a
/// FIFO with no writer, reading a pipe); a stop request then exits at once.
static BLOCKED: AtomicU32 = AtomicU32::new(0);

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Something the program decided or did that the user should know.
pub fn note(msg: impl AsRef<str>) {
    if !quiet() {
        say("", msg.as_ref());
    }
}

/// Something probably wrong that did not stop the work.
pub fn warn(msg: impl AsRef<str>) {
    if !quiet() {
        say("warning: ", msg.as_ref());
    }
}

/// Something that failed; shown even with `--quiet`.
pub fn error(msg: impl AsRef<str>) {
    say("error: ", msg.as_ref());
}

fn say(kind: &str, msg: &str) {
    stderr::write(format!("hushmark: {kind}{msg}\n").as_bytes());
}

/// True when stderr is a terminal a person watches (progress bars, status lines).
pub fn interactive() -> bool {
    !quiet() && std::io::stderr().is_terminal()
}

/// Route `tracing` to stderr: warnings by default, more with each `-v`.
pub fn init_logging(verbose: u8, quiet: bool) {
    use tracing::Level;
    let level = match (quiet, verbose) {
        (true, _) => Level::ERROR,
        (false, 0) => Level::WARN,
        (false, 1) => Level::INFO,
        (false, 2) => Level::DEBUG,
        _ => Level::TRACE,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(|| stderr::Writer)
        .with_max_level(level)
        .with_target(verbose >= 2)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Install the Ctrl-C handler once: the first Ctrl-C asks every loop to stop
/// cleanly (see [`stopping`]); a second one exits at once with status 130.
pub fn catch_interrupt() {
    HANDLER.call_once(|| {
        let result = ctrlc::set_handler(|| {
            if INTERRUPTS.fetch_add(1, Ordering::SeqCst) >= 1 {
                stderr::write(b"\nhushmark: interrupted again, exiting now\n");
                std::process::exit(130);
            }
            STOP.store(true, Ordering::SeqCst);
            if BLOCKED.load(Ordering::SeqCst) > 0 {
                // Nothing is written while input is being opened or read.
                stderr::write(b"hushmark: interrupted while waiting for input\n");
                std::process::exit(130);
            }
        });
        if let Err(e) = result {
            tracing::warn!("cannot catch Ctrl-C: {e}");
        }
    });
}

/// Run `f`, a blocking open or read of input, so that Ctrl-C or SIGTERM
/// ends the program even while it waits (the call cannot poll [`stopping`]).
/// Only for input: nothing may be half-written when it runs. Only on the
/// main thread: elsewhere (monitor's sources) other threads still have
/// airings to close, so `f` just runs.
pub fn interruptible<T>(f: impl FnOnce() -> T) -> T {
    if std::thread::current().name() != Some("main") {
        return f();
    }
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            BLOCKED.fetch_sub(1, Ordering::SeqCst);
        }
    }
    BLOCKED.fetch_add(1, Ordering::SeqCst);
    let _leave = Leave;
    if stopping() {
        stderr::write(b"hushmark: interrupted while waiting for input\n");
        std::process::exit(130);
    }
    f()
}

/// True once the user asked to stop (Ctrl-C or SIGTERM).
pub fn stopping() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// A stop condition: Ctrl-C, or `duration` seconds after now.
pub fn stop_after(duration: Option<f64>) -> Result<impl Fn() -> bool> {
    let end = match duration {
        Some(d) if !d.is_finite() || d <= 0.0 => {
            bail!("--duration must be a positive number of seconds")
        }
        Some(d) => Some(Instant::now() + Duration::from_secs_f64(d.min(1e9))),
        None => None,
    };
    Ok(move || stopping() || end.is_some_and(|e| Instant::now() >= e))
}

thread_local! {
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run third-party code that may panic on malformed input (a decoder) and
/// turn a panic into `None`, quietly: the panic hook stays silent while
/// guarded code runs.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    let was = GUARDED.with(|g| g.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    r.ok()
}

/// True while [`guarded`] code runs on this thread.
pub fn in_guarded() -> bool {
    GUARDED.with(|g| g.get())
}

/// Seconds as `1.234 s`, or minutes and hours for long spans.
pub fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.2} s")
    } else {
        let s = seconds.round() as u64;
        if s < 3600 {
            format!("{}:{:02} min", s / 60, s % 60)
        } else {
            format!("{}:{:02}:{:02} h", s / 3600, (s / 60) % 60, s % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0.5), "0.50 s");
        assert_eq!(duration(61.0), "1:01 min");
        assert_eq!(duration(3723.0), "1:02:03 h");
    }
}
