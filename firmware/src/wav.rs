//! 16-bit PCM WAV clips in flash (`include_bytes!`), read in place.
//!
//! `include_bytes!` data is only byte-aligned, so samples are read with
//! `i16::from_le_bytes` rather than by casting the slice.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// A parsed WAV clip.
#[derive(Debug, Clone, Copy)]
pub struct Wav {
    pub sample_rate: u32,
    pub channels: u16,
    /// The `data` chunk: interleaved little-endian `i16`.
    pub data: &'static [u8],
}

/// What is wrong with a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum WavError {
    NotRiffWave,
    /// Only uncompressed 16-bit PCM is read.
    NotPcm16,
    NoDataChunk,
}

impl core::fmt::Display for WavError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            WavError::NotRiffWave => "not a RIFF/WAVE file",
            WavError::NotPcm16 => "not uncompressed 16-bit PCM",
            WavError::NoDataChunk => "no complete data chunk",
        })
    }
}

impl Wav {
    pub fn parse(bytes: &'static [u8]) -> Result<Wav, WavError> {
        if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
            return Err(WavError::NotRiffWave);
        }
        let mut rest = bytes.get(12..).unwrap_or(&[]);
        let mut format = None;
        while let (Some(id), Some(len)) = (rest.get(0..4), rest.get(4..8).and_then(le_u32)) {
            let len = len as usize;
            let body = rest.get(8..8 + len).ok_or(WavError::NoDataChunk)?;
            match id {
                b"fmt " => {
                    let tag = body.get(0..2).and_then(le_u16);
                    let channels = body.get(2..4).and_then(le_u16);
                    let rate = body.get(4..8).and_then(le_u32);
                    let bits = body.get(14..16).and_then(le_u16);
                    match (tag, channels, rate, bits) {
                        (Some(1), Some(ch), Some(r), Some(16)) if ch > 0 => format = Some((r, ch)),
                        _ => return Err(WavError::NotPcm16),
                    }
                }
                b"data" => {
                    let (sample_rate, channels) = format.ok_or(WavError::NotPcm16)?;
                    return Ok(Wav {
                        sample_rate,
                        channels,
                        data: body,
                    });
                }
                _ => {}
            }
            // Chunks are padded to even length.
            rest = rest.get(8 + len + (len & 1)..).unwrap_or(&[]);
        }
        Err(WavError::NoDataChunk)
    }

    pub fn frames(&self) -> u64 {
        (self.data.len() / (2 * self.channels as usize)) as u64
    }

    /// Sample `channel` of `frame`, or silence past the end.
    pub fn sample(&self, frame: u64, channel: u16) -> i16 {
        let i = (frame as usize * self.channels as usize + channel as usize) * 2;
        match self.data.get(i..i + 2) {
            Some(&[lo, hi]) => i16::from_le_bytes([lo, hi]),
            _ => 0,
        }
    }
}

fn le_u16(b: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes(b.try_into().ok()?))
}

fn le_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(b.try_into().ok()?))
}
