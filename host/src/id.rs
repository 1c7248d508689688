//! Transaction IDs on the command line: hex, with or without `0x`
//! (parsed by [`Id::from_hex`]; this adds the text to the message), and
//! `--expect` files of issued IDs.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use dsp_core::robust::MAX_KNOWN;
use dsp_core::Id;

/// Largest `--expect` file read: a list of a few IDs, not a database.
const MAX_EXPECT_BYTES: u64 = 64 * 1024;

/// Parse `--id`: 1 to 20 bytes of hex (2 to 40 digits), optional `0x`.
pub fn parse_id(text: &str) -> Result<Id> {
    Id::from_hex(text).map_err(|e| anyhow!("bad ID {text:?}: {e}"))
}

/// The issued IDs of an `--expect` file: one hex ID a line; `#` starts a
/// comment; blank lines are skipped. The robust detector confirms at most
/// [`MAX_KNOWN`] IDs at once, so a longer list is refused.
pub fn load_expected(path: &Path) -> Result<Vec<Id>> {
    let what = || format!("--expect {}", path.display());
    let size = std::fs::metadata(path).with_context(what)?.len();
    if size > MAX_EXPECT_BYTES {
        bail!("{}: {size} bytes is not a list of IDs", what());
    }
    let bytes = std::fs::read(path).with_context(what)?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow!("{}: not text", what()))?;
    let ids = parse_expected(&text).with_context(what)?;
    if ids.is_empty() {
        bail!("{}: no ID in it (one hex ID a line)", what());
    }
    Ok(ids)
}

fn parse_expected(text: &str) -> Result<Vec<Id>> {
    let mut ids: Vec<Id> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let id = parse_id(line).map_err(|e| anyhow!("line {}: {e}", i + 1))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_KNOWN {
        bail!(
            "{} IDs; the robust layer confirms at most {MAX_KNOWN} at once",
            ids.len()
        );
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_addresses_with_or_without_prefix() {
        let a = "0xD8dA6BF26964aF9D7eEd9e03E53415D37aA96045";
        let id = parse_id(a).unwrap();
        assert_eq!(id.len(), 20);
        assert_eq!(id.to_string(), "d8da6bf26964af9d7eed9e03e53415d37aa96045");
        assert_eq!(parse_id(&a[2..]).unwrap(), id);
        assert_eq!(parse_id("2a").unwrap().as_bytes(), &[0x2a]);
    }

    #[test]
    fn rejects_with_a_reason() {
        let e = |t: &str| format!("{:#}", parse_id(t).unwrap_err());
        assert!(e("").contains("no hex digits"));
        assert!(e("0x").contains("no hex digits"));
        assert!(e("0xabc").contains("whole number of bytes"));
        assert!(e("0xzz").contains("not a hex digit"));
        assert!(e(&"ab".repeat(21)).contains("21 bytes"));
        assert!(e("0xzz").starts_with("bad ID \"0xzz\""));
    }

    #[test]
    fn expect_lists_skip_comments_and_name_bad_lines() {
        let ids = parse_expected(
            "# issued today\n\n0x2a  # box 7\n  d8da6bf26964af9d7eed9e03e53415d37aa96045\n2a\n",
        )
        .unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].as_bytes(), &[0x2a]);
        let e = format!("{:#}", parse_expected("2a\n\nzz\n").unwrap_err());
        assert!(e.starts_with("line 3: bad ID \"zz\""), "{e}");
        let e = format!("{:#}", parse_expected("01\n02\n03\n04\n05\n").unwrap_err());
        assert!(e.contains("at most 4"), "{e}");
    }
}
