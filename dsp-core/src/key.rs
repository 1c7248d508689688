//! Keyed derivations. Everything secret comes from one 128-bit key through
//! SipHash-2-4 (the `siphasher` crate), used as a PRF with a domain byte first:
//!
//! | domain | input                  | output use                                   |
//! |--------|------------------------|----------------------------------------------|
//! | 0x01   | —                      | 64 preamble symbols (bit i of the u64)       |
//! | 0x02   | variant ‖ block index  | pilot and tail symbols, 64 per block         |
//! | 0x03   | variant ‖ block index  | scrambling of data symbol j, 64 per block    |
//! | 0x04   | block-A plaintext      | 32-bit MAC (low half, little-endian)         |
//! | 0x05   | MAC ‖ block index      | SIV keystream over the block-A plaintext     |
//! | 0x06   | MAC                    | 16-bit keystream over the burst counter      |
//! | 0x07   | MAC ‖ counter (LE)     | 16-bit check on block B (robust layer)       |
//! | 0x08   | MAC ‖ counter (LE)     | 8-bit pad over the programme fingerprint     |
//! | 0x09   | MAC ‖ counter ‖ bind   | 8-bit check on block B (ultrasonic layer)    |
//!
//! The variant is the burst counter mod 4. Pilots and scrambling change with
//! it, so a burst's echo in a room (or any other interference that repeats
//! with the signal) differs from burst to burst and soft combining averages
//! it out; the detector tells the variants apart by their pilots.
//!
//! Without the key nobody can find the preamble, strip the scrambling, read the
//! ID or produce a MAC that verifies. Energy in the band is of course visible
//! to anyone; the content and its origin are not.

use core::hash::Hasher;

use siphasher::sip::SipHasher24;

use crate::config::Key;
use crate::layout::{MAX_DATA_SYMBOLS, MAX_PILOT_GROUPS, PILOTS_PER_GROUP, TAIL_SYMBOLS};

pub(crate) const DOMAIN_PREAMBLE: u8 = 0x01;
pub(crate) const DOMAIN_KNOWN: u8 = 0x02;
pub(crate) const DOMAIN_SCRAMBLE: u8 = 0x03;
pub(crate) const DOMAIN_MAC: u8 = 0x04;
pub(crate) const DOMAIN_SIV: u8 = 0x05;
pub(crate) const DOMAIN_COUNTER_STREAM: u8 = 0x06;
pub(crate) const DOMAIN_COUNTER_CHECK: u8 = 0x07;
pub(crate) const DOMAIN_BIND_PAD: u8 = 0x08;
pub(crate) const DOMAIN_BOUND_CHECK: u8 = 0x09;

/// Pilot/scrambling variants; burst `k` uses variant `k mod VARIANTS`.
pub(crate) const VARIANTS: usize = 4;
const KNOWN_WORDS: usize = (MAX_PILOT_GROUPS * PILOTS_PER_GROUP + TAIL_SYMBOLS).div_ceil(64);
const SCRAMBLE_WORDS: usize = MAX_DATA_SYMBOLS.div_ceil(64);

/// The key and the per-key sequences cached from it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeySchedule {
    key: [u8; Key::LEN],
    preamble: u64,
    known: [[u64; KNOWN_WORDS]; VARIANTS],
    scramble: [[u64; SCRAMBLE_WORDS]; VARIANTS],
}

impl KeySchedule {
    /// Placeholder for an engine not yet configured.
    pub const fn zeroed() -> KeySchedule {
        KeySchedule {
            key: [0; Key::LEN],
            preamble: 0,
            known: [[0; KNOWN_WORDS]; VARIANTS],
            scramble: [[0; SCRAMBLE_WORDS]; VARIANTS],
        }
    }

    pub fn new(key: &Key) -> KeySchedule {
        let mut ks = KeySchedule {
            key: *key.as_bytes(),
            preamble: 0,
            known: [[0; KNOWN_WORDS]; VARIANTS],
            scramble: [[0; SCRAMBLE_WORDS]; VARIANTS],
        };
        ks.preamble = ks.prf(DOMAIN_PREAMBLE, &[]);
        for v in 0..VARIANTS {
            for (i, w) in ks.known[v].iter_mut().enumerate() {
                *w = prf(&ks.key, DOMAIN_KNOWN, &[&[v as u8, i as u8]]);
            }
            for (i, w) in ks.scramble[v].iter_mut().enumerate() {
                *w = prf(&ks.key, DOMAIN_SCRAMBLE, &[&[v as u8, i as u8]]);
            }
        }
        ks
    }

    /// SipHash-2-4 over `domain ‖ parts...`.
    pub fn prf(&self, domain: u8, parts: &[&[u8]]) -> u64 {
        prf(&self.key, domain, parts)
    }

    /// Preamble symbol `i` as a bit (0 → +1, 1 → −1).
    #[inline]
    pub fn preamble_bit(&self, i: usize) -> u8 {
        ((self.preamble >> (i % 64)) & 1) as u8
    }

    /// Known (pilot/tail) bit `i` of `variant`.
    #[inline]
    pub fn known_bit(&self, variant: usize, i: usize) -> u8 {
        ((self.known[variant % VARIANTS][i / 64] >> (i % 64)) & 1) as u8
    }

    /// Scrambling bit of data symbol `j` in `variant`.
    #[inline]
    pub fn scramble_bit(&self, variant: usize, j: usize) -> u8 {
        ((self.scramble[variant % VARIANTS][j / 64] >> (j % 64)) & 1) as u8
    }
}

impl core::fmt::Debug for KeySchedule {
    /// Never prints key material.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeySchedule(<secret>)")
    }
}

fn prf(key: &[u8; Key::LEN], domain: u8, parts: &[&[u8]]) -> u64 {
    let mut h = SipHasher24::new_with_key(key);
    h.write(&[domain]);
    for p in parts {
        h.write(p);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_depend_on_the_key() {
        let a = KeySchedule::new(&Key::from_bytes([1; 16]));
        let b = KeySchedule::new(&Key::from_bytes([2; 16]));
        assert_ne!(a.preamble, b.preamble);
        assert_ne!(a.scramble, b.scramble);
        assert_ne!(a.known, b.known);
        // Variants differ from each other.
        assert_ne!(a.scramble[0], a.scramble[1]);
        assert_ne!(a.known[2], a.known[3]);
        // Domains are separated: same key, different domain, different output.
        assert_ne!(a.prf(DOMAIN_MAC, &[b"x"]), a.prf(DOMAIN_SIV, &[b"x"]));
    }

    #[test]
    fn siphash_matches_reference_vector() {
        // SipHash-2-4 reference: key 00..0f, message 00..0e → a129ca6149be45e5.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
        let mut h = SipHasher24::new_with_key(&key);
        h.write(&msg);
        assert_eq!(h.finish(), 0xa129_ca61_49be_45e5);
    }
}
