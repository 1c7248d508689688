//! The audio-block trait every board implements.
//!
//! A period is one DMA half-transfer on both directions of a full-duplex
//! codec: the captured block the DMA has just filled and the playback block it
//! has just released. Both stay valid until the next call to
//! [`AudioInterface::next_period`], which is the CPU's deadline.

use core::fmt;

/// The stream a board's codec runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFormat {
    pub sample_rate: u32,
    /// Interleaved channels in both directions.
    pub channels: u16,
    /// Frames per period (one DMA half).
    pub block_frames: usize,
}

impl defmt::Format for AudioFormat {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(
            f,
            "{} Hz, {} ch, {} frames per block",
            self.sample_rate,
            self.channels,
            self.block_frames
        )
    }
}

/// One period's blocks, interleaved.
#[derive(Debug)]
pub struct Period<'a, S> {
    /// Frame index of both blocks' first frame since the stream started,
    /// missed periods included.
    pub index: u64,
    /// What the ADC delivered; the monitoring path reads it.
    pub captured: &'a [S],
    /// The programme to play next; the set-top-box path marks it in place
    /// before the DMA sends it.
    pub playback: &'a mut [S],
}

/// Why no period was handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioError {
    /// The CPU missed `missed` periods: the DMA came back to a half before it
    /// was released. The stream goes on; `Period::index` jumps.
    Overrun { missed: u32 },
    /// A finite source (an emulated codec playing a clip) has ended.
    EndOfStream,
    /// The peripheral or its DMA reported an error it cannot recover from.
    Hardware,
}

impl fmt::Display for AudioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AudioError::Overrun { missed } => {
                write!(
                    f,
                    "missed {missed} audio periods (processing overran its deadline)"
                )
            }
            AudioError::EndOfStream => f.write_str("the audio source has ended"),
            AudioError::Hardware => f.write_str("the audio peripheral or its DMA failed"),
        }
    }
}

impl defmt::Format for AudioError {
    fn format(&self, f: defmt::Formatter) {
        match *self {
            AudioError::Overrun { missed } => {
                defmt::write!(f, "overrun: missed {} periods", missed)
            }
            AudioError::EndOfStream => defmt::write!(f, "end of stream"),
            AudioError::Hardware => defmt::write!(f, "audio hardware error"),
        }
    }
}

/// A full-duplex, DMA-driven audio interface (I2S or SAI plus a codec).
pub trait AudioInterface {
    /// The sample format of the DMA buffers (`i16`, or `i32` for 24-bit).
    type Sample: dsp_core::Sample;

    fn format(&self) -> AudioFormat;

    /// Wait for the DMA to hand over the next period and lend its blocks.
    /// Blocks are whole frames; only a finite source's last period may be
    /// shorter than `block_frames`.
    fn next_period(&mut self) -> Result<Period<'_, Self::Sample>, AudioError>;
}
