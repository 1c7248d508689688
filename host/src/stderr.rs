//! Standard error: the one way hushmark writes to it, and hushing the C
//! audio libraries' chatter.
//!
//! alsa-lib, and the JACK plugin it loads, print a line for every plugin
//! they try while devices are probed ("Cannot get card index", "jack server
//! is not running"). ALSA's own hook cannot silence that:
//! `snd_lib_error_set_handler` takes a variadic C callback, which stable
//! Rust cannot define, and the JACK plugin prints through libjack straight
//! to stderr, past any ALSA hook. So while a thread probes ([`hush`]), fd 2
//! points at /dev/null.
//!
//! Device threads probe in parallel (monitor opens several, PulseAudio
//! devices are looked up every 2 s), so one process-wide guard counts the
//! threads probing: the first redirects fd 2, the last restores it, and no
//! thread ever saves another's /dev/null as "the real stderr". hushmark's
//! own messages (notes, warnings, errors, logs) go through [`write()`], which
//! uses the real stderr while fd 2 is hushed, so another thread's probing
//! never swallows them.

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, MutexGuard};

/// Threads probing now, and the real stderr while any is.
struct Hush {
    depth: usize,
    saved: Option<File>,
}

static HUSH: Mutex<Hush> = Mutex::new(Hush {
    depth: 0,
    saved: None,
});

fn lock() -> MutexGuard<'static, Hush> {
    // The state is two plain fields: still right after a panic elsewhere.
    HUSH.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `f` (device probing) with the libraries' stderr chatter hidden,
/// unless `-v` asked to see it.
pub fn hush<T>(f: impl FnOnce() -> T) -> T {
    if tracing::enabled!(tracing::Level::INFO) {
        return f();
    }
    let _hushed = Hushed::enter();
    f()
}

/// One thread's share of the hush; the last one out restores fd 2, even
/// if `f` panicked.
struct Hushed;

impl Hushed {
    fn enter() -> Hushed {
        let mut h = lock();
        if h.depth == 0 {
            h.saved = redirect();
        }
        h.depth += 1;
        Hushed
    }
}

impl Drop for Hushed {
    fn drop(&mut self) {
        let mut h = lock();
        h.depth -= 1;
        if h.depth == 0 {
            if let Some(saved) = h.saved.take() {
                restore(saved);
            }
        }
    }
}

/// Point fd 2 at /dev/null; returns the real stderr, or `None` (nothing
/// changed) if that cannot be done.
#[cfg(unix)]
fn redirect() -> Option<File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let null = File::options().write(true).open("/dev/null").ok()?;
    // SAFETY: dup returns a new descriptor, which the File then owns, or -1.
    let saved = unsafe { libc::dup(2) };
    if saved < 0 {
        return None;
    }
    let saved = unsafe { File::from_raw_fd(saved) };
    // SAFETY: dup2 atomically makes fd 2 a copy of an open descriptor.
    if unsafe { libc::dup2(null.as_raw_fd(), 2) } < 0 {
        return None;
    }
    Some(saved)
}

#[cfg(unix)]
fn restore(saved: File) {
    use std::os::fd::AsRawFd;
    // SAFETY: as in `redirect`; `saved` is closed when dropped here.
    unsafe { libc::dup2(saved.as_raw_fd(), 2) };
}

#[cfg(not(unix))]
fn redirect() -> Option<File> {
    None
}

#[cfg(not(unix))]
fn restore(_: File) {}

/// Write to the real stderr, hushed or not. Errors are ignored, as
/// `eprint!` would panic on them and there is nowhere left to report them.
pub fn write(bytes: &[u8]) {
    let h = lock();
    let _ = match &h.saved {
        Some(real) => (&*real).write_all(bytes),
        None => std::io::stderr().lock().write_all(bytes),
    };
}

/// [`write()`] as a `std::io::Write`, for the log subscriber.
pub struct Writer;

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        write(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;
    use std::sync::Barrier;

    /// Which file fd 2 is now (device and inode).
    fn fd2() -> (u64, u64) {
        // SAFETY: fstat fills the struct for an open descriptor.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::fstat(2, &mut st) }, 0);
        (st.st_dev as u64, st.st_ino as u64)
    }

    #[test]
    fn overlapping_hushes_leave_stderr_as_it_was() {
        let before = fd2();
        let null = std::fs::metadata("/dev/null").unwrap();
        let null = (null.dev(), null.ino());
        let threads = 4;
        let together = Barrier::new(threads);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..20 {
                        // All threads inside at once, leaving in any order.
                        hush(|| {
                            together.wait();
                            assert_eq!(fd2(), null);
                        });
                    }
                });
            }
        });
        assert_eq!(fd2(), before);
    }
}
