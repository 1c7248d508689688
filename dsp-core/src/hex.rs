//! Hex text to bytes, without allocation: the one parser behind
//! [`Id`](crate::Id)'s and [`Key`](crate::Key)'s `from_hex`.

/// Why hex text did not parse, before the caller's length rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digits {
    /// No digits after an optional `0x`.
    Empty,
    /// `found` at 1-based `position` (counted after any `0x`) is not a hex digit.
    NotHex { position: usize, found: char },
    /// An odd number of digits.
    Odd { digits: usize },
    /// More bytes than `out` holds.
    TooLong { digits: usize },
}

/// Parse `text` (surrounding whitespace and one `0x`/`0X` prefix allowed)
/// into the front of `out`; returns the number of bytes written.
pub(crate) fn parse(text: &str, out: &mut [u8]) -> Result<usize, Digits> {
    let t = text.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if digits.is_empty() {
        return Err(Digits::Empty);
    }
    if let Some((i, c)) = digits.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(Digits::NotHex {
            position: digits[..i].chars().count() + 1,
            found: c,
        });
    }
    let n = digits.len();
    if n % 2 != 0 {
        return Err(Digits::Odd { digits: n });
    }
    if n / 2 > out.len() {
        return Err(Digits::TooLong { digits: n });
    }
    for (byte, pair) in out.iter_mut().zip(digits.as_bytes().chunks_exact(2)) {
        *byte = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Ok(n / 2)
}

/// Value of an ASCII hex digit (already checked).
fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_prefix() {
        let mut out = [0u8; 4];
        assert_eq!(parse(" 0xDeadBEEF\n", &mut out), Ok(4));
        assert_eq!(out, [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(parse("2a", &mut out), Ok(1));
        assert_eq!(out[0], 0x2a);
    }

    #[test]
    fn says_what_is_wrong() {
        let mut out = [0u8; 2];
        assert_eq!(parse("0x", &mut out), Err(Digits::Empty));
        assert_eq!(parse("  ", &mut out), Err(Digits::Empty));
        assert_eq!(
            parse("0xaéz", &mut out),
            Err(Digits::NotHex {
                position: 2,
                found: 'é'
            })
        );
        assert_eq!(parse("abc", &mut out), Err(Digits::Odd { digits: 3 }));
        assert_eq!(
            parse("aabbcc", &mut out),
            Err(Digits::TooLong { digits: 6 })
        );
    }
}
