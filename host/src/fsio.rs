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

/// A temporary file next to `dest`, named after it and ending in the same
/// extension (some writers pick the format from the extension).
pub fn temp_beside(dest: &Path) -> Result<NamedTempFile> {
    let dir = parent_dir(dest);
    let stem = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let suffix = dest
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{stem}.partial-"))
        .suffix(&suffix)
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))
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
        .with_context(|| format!("cannot flush {} to disk", tmp.path().display()))?;
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
