//! Quiet probing: the chatter C audio libraries print on stderr.

/// Run `f` with the process's stderr pointed at /dev/null (unless `-v`):
/// alsa-lib and the JACK plugin print probing chatter ("Cannot get card
/// index", "jack server is not running") for every plugin they try.
pub fn hush_stderr<T>(f: impl FnOnce() -> T) -> T {
    if tracing::enabled!(tracing::Level::INFO) {
        return f();
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
            return f();
        };
        // SAFETY: plain descriptor juggling on fd 2; the saved copy is
        // restored and closed before returning.
        let saved = unsafe { libc::dup(2) };
        if saved < 0 {
            return f();
        }
        unsafe { libc::dup2(null.as_raw_fd(), 2) };
        let r = f();
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
        r
    }
    #[cfg(not(unix))]
    f()
}
