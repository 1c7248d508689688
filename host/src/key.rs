//! Secret key files.
//!
//! Format (UTF-8 text):
//!
//! ```text
//! # hushmark secret key (128 bits). Anyone holding it can read and forge marks.
//! # Keep it private (mode 0600) and backed up: marks made with a lost key cannot be read.
//! 000102030405060708090a0b0c0d0e0f
//! ```
//!
//! Blank lines and lines starting with `#` are ignored; exactly one line of 32
//! hex digits (either case) must remain. `keygen` writes lowercase, creates the
//! file with mode 0600 and never replaces an existing file: a key that
//! silently changed would make every earlier mark unreadable.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use dsp_core::{Key, ParseKeyError};

use crate::fsio;
use crate::ui;

/// Longest file accepted as a key file; anything bigger is something else.
const MAX_KEY_FILE_BYTES: u64 = 4096;

const HEADER: &str =
    "# hushmark secret key (128 bits). Anyone holding it can read and forge marks.\n\
# Keep it private (mode 0600) and backed up: marks made with a lost key cannot be read.\n";

/// The text of a key file holding `key`.
pub fn format_key(key: &Key) -> String {
    let mut s = String::from(HEADER);
    for b in key.as_bytes() {
        s.push_str(&format!("{b:02x}"));
    }
    s.push('\n');
    s
}

/// Parse key file text. Errors say what is wrong in words a user can act on.
pub fn parse_key(text: &str) -> Result<Key> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some((line_no, line)) = lines.next() else {
        bail!("no key in it (expected a line of 32 hex digits; make one with `hushmark keygen`)");
    };
    if let Some((extra, _)) = lines.next() {
        bail!("more than one key line (lines {line_no} and {extra}); a key file holds exactly one key");
    }
    line.parse::<Key>().map_err(|e| match e {
        ParseKeyError::NotHex { .. } => anyhow!("line {line_no}, {e}"),
        _ => anyhow!("line {line_no} {e}"),
    })
}

/// Read and check a key file; warns if other users may read it.
pub fn load(path: &Path) -> Result<Key> {
    let what = || format!("key file {}", path.display());
    let meta = fs::metadata(path).with_context(what)?;
    if meta.is_dir() {
        bail!("key file {} is a directory", path.display());
    }
    if meta.len() > MAX_KEY_FILE_BYTES {
        bail!(
            "key file {} is {} bytes: not a hushmark key file (those are under 300 bytes)",
            path.display(),
            meta.len()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            ui::warn(format!(
                "key file {} can be read by other users (mode {mode:04o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
    let mut raw = Vec::new();
    // A FIFO blocks until written: let a stop request end the wait.
    ui::interruptible(|| {
        fs::File::open(path)?
            .take(MAX_KEY_FILE_BYTES)
            .read_to_end(&mut raw)
    })
    .with_context(what)?;
    let text = std::str::from_utf8(&raw).map_err(|_| {
        anyhow!(
            "key file {}: not text, so not a hushmark key file",
            path.display()
        )
    })?;
    parse_key(text).with_context(|| format!("bad key file {}", path.display()))
}

/// A new key from the operating system's random source.
pub fn random_key() -> Result<Key> {
    let mut bytes = [0u8; Key::LEN];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("no random numbers from the OS: {e}"))?;
    Ok(Key::from_bytes(bytes))
}

/// `hushmark keygen KEYFILE`.
pub fn keygen(path: &Path) -> Result<()> {
    let key = random_key()?;
    write_new(path, &key)?;
    ui::note(format!(
        "wrote a new secret key to {} (mode 0600). Keep it private and backed up.",
        path.display()
    ));
    Ok(())
}

/// Write a key file that must not exist yet: temporary file with mode 0600,
/// fsync, then a no-clobber rename.
pub fn write_new(path: &Path, key: &Key) -> Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        bail!(
            "{} already exists; refusing to overwrite a key (marks made with it could no longer be read)",
            path.display()
        );
    }
    let mut tmp = fsio::temp_beside(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot set the mode of {}", tmp.path().display()))?;
    }
    tmp.write_all(format_key(key).as_bytes())
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    fsio::persist(tmp, path, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let key = Key::from_bytes(*b"0123456789abcdef");
        assert_eq!(parse_key(&format_key(&key)).unwrap(), key);
    }

    #[test]
    fn accepts_uppercase_and_blank_lines() {
        let k = parse_key("\n# c\n  000102030405060708090A0B0C0D0E0F  \n\n").unwrap();
        assert_eq!(k.as_bytes()[10], 0x0a);
    }

    #[test]
    fn names_what_is_wrong() {
        let e = |t: &str| format!("{:#}", parse_key(t).unwrap_err());
        assert!(e("").contains("no key"));
        assert!(e("0011").contains("has 4 hex digits"));
        assert!(e("000102030405060708090a0b0c0d0e0g").contains("'g' is not a hex digit"));
        assert!(e("00010203040506070809 0a0b0c0d0e0f").contains("' ' is not a hex digit"));
        assert!(
            e("000102030405060708090a0b0c0d0e0f\n000102030405060708090a0b0c0d0e0f")
                .contains("more than one key line")
        );
    }
}
