//! Writing files so that nothing is ever half-written or lost.
//!
//! Every output is written to a temporary file in the destination's own
//! directory (so the final rename stays on one file system and is atomic),
//! flushed to disk, then renamed over the destination. If anything fails or
//! the user presses Ctrl-C first, the temporary file is deleted and the
//! destination is exactly as it was.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use tempfile::NamedTempFile;

/// The directory a path's file lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Longest file name Linux file systems take (NAME_MAX, bytes).
const NAME_MAX: usize = 255;
/// Digits of the largest PID Linux hands out (pid_max is at most 2^22).
const PID_DIGITS: usize = 7;
/// Random characters that make each temporary name unique.
const RANDOM_LEN: usize = 6;
/// Longest extension kept on a temporary name.
const MAX_SUFFIX: usize = 16;

/// `.NAME.partial-`: how every temporary name for `dest` starts. NAME is
/// cut short and given a hash of the whole when the temporary name would
/// not fit NAME_MAX (OUT itself may use all 255 bytes).
fn temp_prefix(dest: &Path, suffix: &str) -> String {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tail = ".partial-".len() + PID_DIGITS + 1 + RANDOM_LEN + suffix.len();
    if 1 + name.len() + tail <= NAME_MAX {
        return format!(".{name}.partial-");
    }
    use std::hash::Hasher;
    let mut h = siphasher::sip::SipHasher13::new();
    h.write(name.as_bytes());
    let hash = format!("~{:016x}", h.finish());
    let mut keep = NAME_MAX - 1 - tail - hash.len();
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!(".{}{hash}.partial-", &name[..keep])
}

/// A temporary file next to `dest`, named after it, with this process's ID
/// (so a later run can tell it was abandoned) and ending in the same
/// extension (some writers pick the format from the extension). Temporary
/// files for `dest` left by runs that were killed are removed first.
pub fn temp_beside(dest: &Path) -> Result<NamedTempFile> {
    let dir = parent_dir(dest);
    let suffix = dest
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .filter(|s| s.len() <= MAX_SUFFIX)
        .unwrap_or_default();
    let prefix = temp_prefix(dest, &suffix);
    clean_stale(&dir, &prefix);
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .rand_bytes(RANDOM_LEN)
        .suffix(&suffix)
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))
}

/// The PID in a temporary name after `prefix` (`PID-random.ext`); `None`
/// for names of other forms.
fn owner_pid(name: &str, prefix: &str) -> Option<u32> {
    let (pid, _) = name.strip_prefix(prefix)?.split_once('-')?;
    pid.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| pid.parse().ok())
        .flatten()
}

/// Remove temporary files named with `prefix` in `dir` whose process is
/// gone; never one whose process still runs (it may be writing it).
fn clean_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(prefix) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        match owner_pid(&name, prefix) {
            Some(pid) if !process_alive(pid) => match fs::remove_file(&path) {
                Ok(()) => crate::ui::note(format!(
                    "removed {}, left by an interrupted run (process {pid} is gone)",
                    path.display()
                )),
                Err(e) => crate::ui::warn(format!(
                    "{} was left by an interrupted run and cannot be removed: {e}",
                    path.display()
                )),
            },
            Some(_) => {}
            None => crate::ui::warn(format!(
                "{} looks left by an interrupted run of an older hushmark; remove it if \
                 nothing is writing {}",
                path.display(),
                name.trim_start_matches('.')
                    .split(".partial-")
                    .next()
                    .unwrap_or_default()
            )),
        }
    }
}

/// Whether process `pid` exists; where that cannot be known, assume it does.
pub(crate) fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Like [`temp_beside`] for files other users may read (audio, pictures):
/// mode 0644 instead of the temporary file's private 0600.
pub fn public_temp_beside(dest: &Path) -> Result<NamedTempFile> {
    let tmp = temp_beside(dest)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot set the mode of {}", tmp.path().display()))?;
    }
    Ok(tmp)
}

/// Flush `tmp` to disk and move it to `dest`. With `replace` false an
/// existing `dest` is an error (checked atomically by the rename itself).
pub fn persist(tmp: NamedTempFile, dest: &Path, replace: bool) -> Result<()> {
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("cannot write {}", dest.display()))?;
    if replace {
        tmp.persist(dest)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot write {}", dest.display()))?;
    } else {
        match tmp.persist_noclobber(dest) {
            Ok(_) => {}
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                bail!(
                    "{} already exists (use --force to replace it)",
                    dest.display()
                )
            }
            Err(e) => {
                return Err(e.error).with_context(|| format!("cannot write {}", dest.display()))
            }
        }
    }
    // The rename is durable only once the directory entry is on disk.
    if let Ok(dir) = fs::File::open(parent_dir(dest)) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Refuse to write `dest` if it is `src` under another name: the same path,
/// a symlink to it, or a hard link (same device and inode).
pub fn ensure_distinct(src: &Path, dest: &Path) -> Result<()> {
    if src.as_os_str() == "-" {
        // stdin is never a file OUT could name.
        return Ok(());
    }
    let src_real =
        fs::canonicalize(src).with_context(|| format!("cannot open {}", src.display()))?;
    let dest_real = match fs::canonicalize(dest) {
        Ok(p) => p,
        // Not there yet: resolve its directory instead.
        Err(_) => match (fs::canonicalize(parent_dir(dest)), dest.file_name()) {
            (Ok(dir), Some(name)) => dir.join(name),
            _ => dest.to_path_buf(),
        },
    };
    if src_real == dest_real {
        bail!(
            "OUT ({}) is IN ({}); write the marked copy to a new file",
            dest.display(),
            src.display()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (fs::metadata(src), fs::metadata(dest)) {
            if a.dev() == b.dev() && a.ino() == b.ino() {
                bail!(
                    "OUT ({}) is a hard link to IN ({}); write the marked copy to a new file",
                    dest.display(),
                    src.display()
                );
            }
        }
    }
    Ok(())
}

/// Refuse early (before any work) if `dest` exists and may not be replaced.
pub fn check_writable_destination(dest: &Path, replace: bool) -> Result<()> {
    match fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => bail!("{} is a directory", dest.display()),
        Ok(_) if !replace => bail!(
            "{} already exists (use --force to replace it)",
            dest.display()
        ),
        _ => {}
    }
    let dir = parent_dir(dest);
    if !dir.is_dir() {
        bail!("directory {} does not exist", dir.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn persist_never_clobbers_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.txt");
        fs::write(&dest, "old").unwrap();
        let mut t = temp_beside(&dest).unwrap();
        t.write_all(b"new").unwrap();
        let e = persist(t, &dest, false).unwrap_err();
        assert!(format!("{e}").contains("already exists"));
        assert_eq!(fs::read_to_string(&dest).unwrap(), "old");
        let mut t = temp_beside(&dest).unwrap();
        t.write_all(b"new").unwrap();
        persist(t, &dest, true).unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "new");
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporary_names_fit_name_max_and_carry_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        for len in [5, 200, 246, 251, 255] {
            let name = format!("{}.wav", "a".repeat(len - 4));
            let t = temp_beside(&dir.path().join(&name)).unwrap();
            let t_name = t.path().file_name().unwrap().to_str().unwrap().to_owned();
            assert!(t_name.len() <= NAME_MAX, "{len}: {t_name}");
            assert!(t_name.ends_with(".wav"), "{t_name}");
            let prefix = temp_prefix(&dir.path().join(&name), ".wav");
            assert_eq!(owner_pid(&t_name, &prefix), Some(std::process::id()));
        }
    }

    #[test]
    fn same_file_is_caught_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.wav");
        fs::write(&a, "x").unwrap();
        assert!(ensure_distinct(&a, &dir.path().join("b.wav")).is_ok());
        assert!(ensure_distinct(&a, &dir.path().join(".").join("a.wav")).is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&a, dir.path().join("s.wav")).unwrap();
            assert!(ensure_distinct(&a, &dir.path().join("s.wav")).is_err());
            fs::hard_link(&a, dir.path().join("h.wav")).unwrap();
            assert!(ensure_distinct(&a, &dir.path().join("h.wav")).is_err());
        }
    }
}
