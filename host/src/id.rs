//! Transaction IDs on the command line: hex, with or without `0x`
//! (parsed by [`Id::from_hex`]; this adds the text to the message).

use anyhow::{anyhow, Result};
use dsp_core::Id;

/// Parse `--id`: 1 to 20 bytes of hex (2 to 40 digits), optional `0x`.
pub fn parse_id(text: &str) -> Result<Id> {
    Id::from_hex(text).map_err(|e| anyhow!("bad ID {text:?}: {e}"))
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
}
