//! The payload frame: two blocks, each coded on its own.
//!
//! **Block A** carries the ID and is the same in every burst of one ID and key,
//! so a detector can add up repeated bursts (soft combining):
//!
//! ```text
//! plaintext  = header (1 byte: version 3 bits = 0 | ID length 5 bits)
//!              ‖ ID, zero-padded to 8 (short class) or 20 (long class) bytes
//! MAC        = SipHash(key, 0x04 ‖ plaintext), low 32 bits, little-endian
//! keystream  = SipHash(key, 0x05 ‖ MAC ‖ i) for i = 0, 1, 2 (8 bytes each, LE)
//! on air     = (plaintext XOR keystream) ‖ MAC        13 or 25 bytes
//! ```
//!
//! This is SIV-style deterministic authenticated encryption: the MAC is also
//! the IV, so different IDs never share a keystream and only key holders can
//! read an ID or make one that verifies.
//!
//! **Block B** carries the burst counter and changes every burst. The
//! robust layer's:
//!
//! ```text
//! on air = (counter XOR low16(SipHash(key, 0x06 ‖ MAC))) as u16 LE
//!          ‖ low16(SipHash(key, 0x07 ‖ MAC ‖ counter LE)) as u16 LE       4 bytes
//! ```
//!
//! The ultrasonic layer's also binds the burst to its programme
//! ([`binding`](crate::binding): 8 fingerprint bits of the programme before
//! the burst):
//!
//! ```text
//! bind   = fingerprint XOR low8(SipHash(key, 0x08 ‖ MAC ‖ counter LE))
//! on air = (counter XOR low16(SipHash(key, 0x06 ‖ MAC))) as u16 LE
//!          ‖ bind ‖ low8(SipHash(key, 0x09 ‖ MAC ‖ counter LE ‖ bind))     4 bytes
//! ```
//!
//! Its check is 8 bits; the detector also requires the counter to match the
//! burst's pilot variant (counter mod 4), so a damaged block B passes with
//! probability 2^-10.
//!
//! Bytes go on the air most significant bit first. The views below follow
//! smoltcp's wire types: `new_unchecked` wraps any buffer, `new_checked`
//! verifies the length, accessors read fields.

use core::fmt;

use crate::config::Id;
use crate::key::{
    KeySchedule, DOMAIN_BIND_PAD, DOMAIN_BOUND_CHECK, DOMAIN_COUNTER_CHECK, DOMAIN_COUNTER_STREAM,
    DOMAIN_MAC, DOMAIN_SIV,
};
use crate::layout::{FrameClass, B_INFO_BITS};

/// Longest block A in bytes.
pub const MAX_A_BYTES: usize = FrameClass::Long.a_bytes();
/// Block B in bytes.
pub const B_BYTES: usize = B_INFO_BITS / 8;
/// Current frame format version (the 3 high bits of the header).
pub const VERSION: u8 = 0;

/// Why a block did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FrameError {
    /// The buffer has the wrong length for any frame class.
    Length {
        /// Bytes given.
        actual: usize,
    },
    /// The MAC does not verify: wrong key, or not a mark.
    Mac,
    /// Verified, but the header or padding is not one this version writes.
    Format,
    /// Block B's check does not verify: the counter is unknown.
    Check,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FrameError::Length { actual } => write!(
                f,
                "block of {actual} bytes: expected {} or {}",
                FrameClass::Short.a_bytes(),
                FrameClass::Long.a_bytes()
            ),
            FrameError::Mac => f.write_str("MAC does not verify"),
            FrameError::Format => f.write_str("unknown header or padding"),
            FrameError::Check => f.write_str("counter check does not verify"),
        }
    }
}

impl core::error::Error for FrameError {}

/// A read view over block A as it goes on the air.
#[derive(Debug, Clone, Copy)]
pub struct BlockA<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> BlockA<T> {
    /// Wrap any buffer; accessors may panic if it is too short.
    pub const fn new_unchecked(buffer: T) -> Self {
        BlockA { buffer }
    }

    /// Wrap a buffer of a valid block-A length.
    pub fn new_checked(buffer: T) -> Result<Self, FrameError> {
        let len = buffer.as_ref().len();
        if FrameClass::ALL.iter().any(|c| c.a_bytes() == len) {
            Ok(BlockA { buffer })
        } else {
            Err(FrameError::Length { actual: len })
        }
    }

    /// The frame class the buffer's length implies.
    pub fn class(&self) -> FrameClass {
        if self.buffer.as_ref().len() == FrameClass::Short.a_bytes() {
            FrameClass::Short
        } else {
            FrameClass::Long
        }
    }

    /// Encrypted header and ID.
    pub fn ciphertext(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..b.len() - 4]
    }

    /// The 32-bit MAC (also the SIV IV).
    pub fn mac(&self) -> [u8; 4] {
        let b = self.buffer.as_ref();
        let n = b.len();
        [b[n - 4], b[n - 3], b[n - 2], b[n - 1]]
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// A read view over block B.
#[derive(Debug, Clone, Copy)]
pub struct BlockB<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> BlockB<T> {
    /// Wrap any buffer; accessors may panic if it is too short.
    pub const fn new_unchecked(buffer: T) -> Self {
        BlockB { buffer }
    }

    /// Wrap a buffer of exactly [`B_BYTES`].
    pub fn new_checked(buffer: T) -> Result<Self, FrameError> {
        let len = buffer.as_ref().len();
        if len == B_BYTES {
            Ok(BlockB { buffer })
        } else {
            Err(FrameError::Length { actual: len })
        }
    }

    /// The counter, encrypted.
    pub fn encrypted_counter(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_le_bytes([b[0], b[1]])
    }

    /// The keyed check over the counter (robust layer).
    pub fn check(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_le_bytes([b[2], b[3]])
    }

    /// The padded programme fingerprint (ultrasonic layer).
    pub fn bind(&self) -> u8 {
        self.buffer.as_ref()[2]
    }

    /// The keyed check over counter and fingerprint (ultrasonic layer).
    pub fn bound_check(&self) -> u8 {
        self.buffer.as_ref()[3]
    }
}

/// Block A bytes with their MAC, ready to code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SealedA {
    pub bytes: [u8; MAX_A_BYTES],
    pub class: FrameClass,
    pub mac: [u8; 4],
}

impl SealedA {
    pub const ZERO: SealedA = SealedA {
        bytes: [0; MAX_A_BYTES],
        class: FrameClass::Short,
        mac: [0; 4],
    };

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.class.a_bytes()]
    }
}

fn plaintext(id: &Id) -> ([u8; MAX_A_BYTES - 4], usize) {
    let class = id.class();
    let mut p = [0u8; MAX_A_BYTES - 4];
    p[0] = (VERSION << 5) | id.len() as u8;
    p[1..1 + id.len()].copy_from_slice(id.as_bytes());
    (p, 1 + class.id_capacity())
}

fn mac_of(ks: &KeySchedule, plaintext: &[u8]) -> [u8; 4] {
    let m = ks.prf(DOMAIN_MAC, &[plaintext]) as u32;
    m.to_le_bytes()
}

fn apply_keystream(ks: &KeySchedule, mac: &[u8; 4], data: &mut [u8]) {
    for (i, chunk) in data.chunks_mut(8).enumerate() {
        let stream = ks.prf(DOMAIN_SIV, &[mac, &[i as u8]]).to_le_bytes();
        for (d, s) in chunk.iter_mut().zip(stream) {
            *d ^= s;
        }
    }
}

/// Encrypt and authenticate an ID into block A.
pub(crate) fn seal_a(ks: &KeySchedule, id: &Id) -> SealedA {
    let (mut p, n) = plaintext(id);
    let mac = mac_of(ks, &p[..n]);
    apply_keystream(ks, &mac, &mut p[..n]);
    let mut bytes = [0u8; MAX_A_BYTES];
    bytes[..n].copy_from_slice(&p[..n]);
    bytes[n..n + 4].copy_from_slice(&mac);
    SealedA {
        bytes,
        class: id.class(),
        mac,
    }
}

/// Verify and decrypt block A; returns the ID and the MAC (which block B needs).
pub(crate) fn open_a<T: AsRef<[u8]>>(
    ks: &KeySchedule,
    block: &BlockA<T>,
) -> Result<(Id, [u8; 4]), FrameError> {
    let class = block.class();
    let mac = block.mac();
    let mut p = [0u8; MAX_A_BYTES - 4];
    let n = block.ciphertext().len();
    p[..n].copy_from_slice(block.ciphertext());
    apply_keystream(ks, &mac, &mut p[..n]);
    if mac_of(ks, &p[..n]) != mac {
        return Err(FrameError::Mac);
    }
    let version = p[0] >> 5;
    let len = (p[0] & 0x1F) as usize;
    let fits = len >= class.min_id_len() && len <= class.id_capacity();
    let padded = p[1 + len.min(class.id_capacity())..n]
        .iter()
        .all(|&b| b == 0);
    if version != VERSION || !fits || !padded {
        return Err(FrameError::Format);
    }
    Id::new(&p[1..1 + len])
        .map(|id| (id, mac))
        .map_err(|_| FrameError::Format)
}

pub(crate) fn seal_b(ks: &KeySchedule, mac: &[u8; 4], counter: u16) -> [u8; B_BYTES] {
    let stream = ks.prf(DOMAIN_COUNTER_STREAM, &[mac]) as u16;
    let check = ks.prf(DOMAIN_COUNTER_CHECK, &[mac, &counter.to_le_bytes()]) as u16;
    let mut b = [0u8; B_BYTES];
    b[..2].copy_from_slice(&(counter ^ stream).to_le_bytes());
    b[2..].copy_from_slice(&check.to_le_bytes());
    b
}

pub(crate) fn open_b<T: AsRef<[u8]>>(
    ks: &KeySchedule,
    mac: &[u8; 4],
    block: &BlockB<T>,
) -> Result<u16, FrameError> {
    let stream = ks.prf(DOMAIN_COUNTER_STREAM, &[mac]) as u16;
    let counter = block.encrypted_counter() ^ stream;
    let check = ks.prf(DOMAIN_COUNTER_CHECK, &[mac, &counter.to_le_bytes()]) as u16;
    if check == block.check() {
        Ok(counter)
    } else {
        Err(FrameError::Check)
    }
}

/// The ultrasonic layer's block B: counter and programme fingerprint.
pub(crate) fn seal_b_bound(
    ks: &KeySchedule,
    mac: &[u8; 4],
    counter: u16,
    fingerprint: u8,
) -> [u8; B_BYTES] {
    let c = counter.to_le_bytes();
    let stream = ks.prf(DOMAIN_COUNTER_STREAM, &[mac]) as u16;
    let bind = fingerprint ^ ks.prf(DOMAIN_BIND_PAD, &[mac, &c]) as u8;
    let check = ks.prf(DOMAIN_BOUND_CHECK, &[mac, &c, &[bind]]) as u8;
    let mut b = [0u8; B_BYTES];
    b[..2].copy_from_slice(&(counter ^ stream).to_le_bytes());
    b[2] = bind;
    b[3] = check;
    b
}

/// Counter and fingerprint of an ultrasonic block B.
pub(crate) fn open_b_bound<T: AsRef<[u8]>>(
    ks: &KeySchedule,
    mac: &[u8; 4],
    block: &BlockB<T>,
) -> Result<(u16, u8), FrameError> {
    let stream = ks.prf(DOMAIN_COUNTER_STREAM, &[mac]) as u16;
    let counter = block.encrypted_counter() ^ stream;
    let c = counter.to_le_bytes();
    let bind = block.bind();
    if ks.prf(DOMAIN_BOUND_CHECK, &[mac, &c, &[bind]]) as u8 != block.bound_check() {
        return Err(FrameError::Check);
    }
    Ok((counter, bind ^ ks.prf(DOMAIN_BIND_PAD, &[mac, &c]) as u8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Key;

    #[test]
    fn bound_blocks_give_back_counter_and_fingerprint() {
        let (id, k) = (Id::new(&[9; 20]).unwrap(), ks());
        let mac = seal_a(&k, &id).mac;
        let b = seal_b_bound(&k, &mac, 517, 0xa5);
        let view = BlockB::new_checked(&b[..]).unwrap();
        assert_eq!(open_b_bound(&k, &mac, &view), Ok((517, 0xa5)));
        let mut bad = b;
        bad[2] ^= 1;
        let view = BlockB::new_checked(&bad[..]).unwrap();
        assert_eq!(open_b_bound(&k, &mac, &view), Err(FrameError::Check));
    }

    fn ks() -> KeySchedule {
        KeySchedule::new(&Key::from_bytes([7; 16]))
    }

    #[test]
    fn sealed_ids_open_again() {
        for len in 1..=20 {
            let bytes: [u8; 20] = core::array::from_fn(|i| (i * 37 + len) as u8);
            let id = Id::new(&bytes[..len]).unwrap();
            let a = seal_a(&ks(), &id);
            let view = BlockA::new_checked(a.as_bytes()).unwrap();
            let (back, mac) = open_a(&ks(), &view).unwrap();
            assert_eq!(back, id);
            assert_eq!(mac, a.mac);
            let b = seal_b(&ks(), &mac, 4242);
            assert_eq!(
                open_b(&ks(), &mac, &BlockB::new_checked(&b[..]).unwrap()),
                Ok(4242)
            );
        }
    }

    #[test]
    fn wrong_key_or_flipped_bit_fails() {
        let id = Id::new(&[0xAB; 20]).unwrap();
        let a = seal_a(&ks(), &id);
        let other = KeySchedule::new(&Key::from_bytes([8; 16]));
        assert_eq!(
            open_a(&other, &BlockA::new_checked(a.as_bytes()).unwrap()),
            Err(FrameError::Mac)
        );
        for bit in 0..a.as_bytes().len() * 8 {
            let mut bytes = a.bytes;
            bytes[bit / 8] ^= 0x80 >> (bit % 8);
            let view = BlockA::new_checked(&bytes[..a.class.a_bytes()]).unwrap();
            assert!(open_a(&ks(), &view).is_err(), "bit {bit} flip accepted");
        }
        let b = seal_b(&ks(), &a.mac, 1);
        let mut bad = b;
        bad[3] ^= 1;
        assert_eq!(
            open_b(&ks(), &a.mac, &BlockB::new_checked(&bad[..]).unwrap()),
            Err(FrameError::Check)
        );
    }

    #[test]
    fn same_id_gives_same_block_a_and_different_ids_differ() {
        let id1 = Id::new(&[1, 2, 3]).unwrap();
        let id2 = Id::new(&[1, 2, 4]).unwrap();
        assert_eq!(seal_a(&ks(), &id1), seal_a(&ks(), &id1));
        assert_ne!(seal_a(&ks(), &id1).bytes, seal_a(&ks(), &id2).bytes);
    }

    #[test]
    fn checked_views_reject_wrong_lengths() {
        assert_eq!(
            BlockA::new_checked(&[0u8; 14][..]).err(),
            Some(FrameError::Length { actual: 14 })
        );
        assert!(BlockB::new_checked(&[0u8; 3][..]).is_err());
    }
}
