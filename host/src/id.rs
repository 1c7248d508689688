//! Transaction IDs on the command line: hex, with or without `0x`.

use anyhow::{bail, Result};
use dsp_core::Id;

/// Parse `--id`: 1 to 20 bytes of hex (2 to 40 digits), optional `0x`.
pub fn parse_id(text: &str) -> Result<Id> {
    let t = text.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if digits.is_empty() {
        bail!("bad ID {text:?}: no hex digits (an ID is 1 to 20 bytes of hex, e.g. 0x2a or a 40-digit contract address)");
    }
    if let Some((i, c)) = digits.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        bail!(
            "bad ID {text:?}: {c:?} at position {} is not a hex digit",
            i + 1
        );
    }
    if digits.len() % 2 != 0 {
        bail!(
            "bad ID {text:?}: {} hex digits is not a whole number of bytes (write 0x0a, not 0xa)",
            digits.len()
        );
    }
    if digits.len() > 2 * Id::MAX_LEN {
        bail!(
            "bad ID {text:?}: {} bytes; an ID is 1 to 20 bytes (40 hex digits)",
            digits.len() / 2
        );
    }
    let bytes: Vec<u8> = (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("checked hex digits"))
        .collect();
    Ok(Id::new(&bytes)?)
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
    }
}
