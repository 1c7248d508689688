//! [`AudioInterface`] over SAI2 with the HAL's ring-buffered DMA: block A
//! transmits to the codec's DAC (master, drives the clocks), block B
//! receives from its ADC (synchronous slave, same clocks), so capture and
//! playback periods stay in lockstep.
//!
//! The programme is the LINE IN signal: each captured block is copied into
//! the playback block, which the pipeline marks before it is queued for the
//! headphone output. So the board is an in-line marker that also monitors
//! its input, the two paths a set-top box and a monitoring agent run.
//!
//! The DMA rings are deeper than two halves on purpose: a call that decodes
//! a burst can take longer than a block (see the budget table), and the
//! rings absorb that. The cost is playback latency, `RING_BLOCKS` blocks.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use embassy_futures::block_on;
use embassy_stm32::peripherals::SAI2;
use embassy_stm32::sai::{self, Sai};
use hushmark_firmware::{AudioError, AudioFormat, AudioInterface, Period};

use crate::{BLOCK_FRAMES, CHANNELS, SAMPLE_RATE};

pub const BLOCK_SAMPLES: usize = BLOCK_FRAMES * CHANNELS as usize;
/// DMA ring depth in blocks: 20 × 5 ms = 100 ms, four times the longest
/// detector call measured under QEMU (23 ms at 216 MHz, one instruction per
/// cycle), which leaves room for flash wait states with the D-cache off.
pub const RING_BLOCKS: usize = 20;
pub const RING_SAMPLES: usize = RING_BLOCKS * BLOCK_SAMPLES;

pub struct SaiPort<'d> {
    tx: Sai<'d, SAI2, u16>,
    rx: Sai<'d, SAI2, u16>,
    captured: [i16; BLOCK_SAMPLES],
    playback: [i16; BLOCK_SAMPLES],
    /// Raw words moved between the i16 blocks and the driver's u16 rings.
    words: [u16; BLOCK_SAMPLES],
    next_index: u64,
    playing: bool,
}

impl<'d> SaiPort<'d> {
    /// Prime the playback ring with silence so the transmitter has slack,
    /// and start the receiver.
    pub fn start(
        mut tx: Sai<'d, SAI2, u16>,
        mut rx: Sai<'d, SAI2, u16>,
    ) -> Result<Self, sai::Error> {
        let silence = [0u16; BLOCK_SAMPLES];
        // The first write starts the DMA; keep two blocks of room for the loop.
        for _ in 0..RING_BLOCKS - 2 {
            block_on(tx.write(&silence))?;
        }
        rx.start()?;
        Ok(SaiPort {
            tx,
            rx,
            captured: [0; BLOCK_SAMPLES],
            playback: [0; BLOCK_SAMPLES],
            words: [0; BLOCK_SAMPLES],
            next_index: 0,
            playing: false,
        })
    }
}

impl AudioInterface for SaiPort<'_> {
    type Sample = i16;

    fn format(&self) -> AudioFormat {
        AudioFormat {
            sample_rate: SAMPLE_RATE,
            channels: CHANNELS,
            block_frames: BLOCK_FRAMES,
        }
    }

    fn next_period(&mut self) -> Result<Period<'_, i16>, AudioError> {
        if self.playing {
            // Queue the block the pipeline marked last period.
            for (w, s) in self.words.iter_mut().zip(&self.playback) {
                *w = *s as u16;
            }
            match block_on(self.tx.write(&self.words)) {
                Ok(()) => {}
                // The DMA caught up with us: a glitch in the output. The
                // ring resets itself; carry on.
                Err(sai::Error::Overrun) => defmt::warn!("playback underrun"),
                Err(_) => return Err(AudioError::Hardware),
            }
        }
        match block_on(self.rx.read(&mut self.words)) {
            Ok(()) => {}
            Err(sai::Error::Overrun) => {
                // Captured audio was overwritten; the ring has reset to the
                // newest data. At least one block is gone: say so, and let
                // the engines treat it as a time jump.
                self.next_index += BLOCK_FRAMES as u64 * RING_BLOCKS as u64;
                self.playing = false;
                return Err(AudioError::Overrun {
                    missed: RING_BLOCKS as u32,
                });
            }
            Err(_) => return Err(AudioError::Hardware),
        }
        for (s, w) in self.captured.iter_mut().zip(&self.words) {
            *s = *w as i16;
        }
        // The programme to mark is what came in on LINE IN.
        self.playback.copy_from_slice(&self.captured);
        self.playing = true;
        let index = self.next_index;
        self.next_index += BLOCK_FRAMES as u64;
        Ok(Period {
            index,
            captured: &self.captured,
            playback: &mut self.playback,
        })
    }
}
