//! FNV-1a (64-bit) over what the emulated DAC played: a fingerprint the host
//! can compute too, so the embedder's integer output is compared bit for bit
//! without shipping megabytes over semihosting.

/// Streaming FNV-1a, 64-bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64::new()
    }
}

impl Fnv1a64 {
    pub const fn new() -> Fnv1a64 {
        Fnv1a64(0xcbf2_9ce4_8422_2325)
    }

    /// Not a valid start state: for `const` initialisers that must be all
    /// zeros; `start` replaces it.
    pub(crate) const fn zeroed() -> Fnv1a64 {
        Fnv1a64(0)
    }

    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Samples as little-endian bytes, the WAV byte order.
    pub fn write_i16(&mut self, samples: &[i16]) {
        for s in samples {
            self.write(&s.to_le_bytes());
        }
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}
