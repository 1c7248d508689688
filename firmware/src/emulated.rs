//! A full-duplex codec emulated in memory, for boards without audio hardware
//! (QEMU's MPS2 machines).
//!
//! It behaves like circular DMA over two halves per direction: each
//! [`next_period`](AudioInterface::next_period) first "transmits" the
//! playback half released by the previous call (to the emulated DAC, which
//! fingerprints it), then fills the other halves: the programme the set-top
//! box's decoder would write into the playback half, and what the ADC hears
//! in the capture half. The ADC hears either a clip from flash or, through
//! a loopback cable with a fixed delay, what the DAC played.
//!
//! Sources are finite, so the last period may be short; everything else a
//! real codec does, it does, through the same trait.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use crate::audio::{AudioError, AudioFormat, AudioInterface, Period};
use crate::hash::Fnv1a64;
use crate::wav::Wav;

/// Largest block the emulation buffers hold.
pub const MAX_BLOCK_FRAMES: usize = 512;
pub const MAX_CHANNELS: usize = 2;
const HALF: usize = MAX_BLOCK_FRAMES * MAX_CHANNELS;
/// Played frames the loopback cable remembers (a power of two).
const LOOPBACK_FRAMES: usize = 2048;

/// What the decoder writes into each playback half.
#[derive(Debug, Clone, Copy)]
pub enum Programme {
    Silence,
    /// A clip, channel `c` taken from the clip's channel `min(c, last)` (so a
    /// mono programme plays on every channel).
    Clip(Wav),
}

/// What the ADC hears.
#[derive(Debug, Clone, Copy)]
pub enum Capture {
    Clip(Wav),
    /// The DAC's output, `delay_frames` later (at least one block).
    Loopback {
        delay_frames: usize,
    },
}

/// A session the emulated codec cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum EmulationError {
    /// 1 ..= `MAX_BLOCK_FRAMES` frames per block, 1 ..= `MAX_CHANNELS` channels.
    Format { block_frames: usize, channels: u16 },
    /// The loopback delay must lie in `block_frames ..= LOOPBACK_FRAMES - MAX_BLOCK_FRAMES`.
    LoopbackDelay { delay_frames: usize },
    /// A clip whose rate differs from the session's.
    ClipRate { clip: u32, session: u32 },
}

impl core::fmt::Display for EmulationError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            EmulationError::Format { block_frames, channels } => write!(
                f,
                "{block_frames} frames per block and {channels} channels: 1 to {MAX_BLOCK_FRAMES} and 1 to {MAX_CHANNELS} are supported"
            ),
            EmulationError::LoopbackDelay { delay_frames } => write!(
                f,
                "a loopback delay of {delay_frames} frames must be at least one block and at most {}",
                LOOPBACK_FRAMES - MAX_BLOCK_FRAMES
            ),
            EmulationError::ClipRate { clip, session } => {
                write!(f, "a {clip} Hz clip cannot play in a {session} Hz session")
            }
        }
    }
}

/// What the emulated DAC has played.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Played {
    pub frames: u64,
    pub fnv1a64: u64,
}

/// The emulated codec. About 16 KiB: keep it in a `static`.
#[derive(Debug)]
pub struct EmulatedCodec {
    format: AudioFormat,
    programme: Programme,
    capture: Capture,
    length: u64,
    next_index: u64,
    half: usize,
    /// The playback half lent out by the last call, with its frame count.
    outstanding: Option<usize>,
    playback: [[i16; HALF]; 2],
    captured: [[i16; HALF]; 2],
    loopback: [i16; LOOPBACK_FRAMES * MAX_CHANNELS],
    dac: Fnv1a64,
    dac_frames: u64,
}

impl Default for EmulatedCodec {
    fn default() -> Self {
        EmulatedCodec::new()
    }
}

impl EmulatedCodec {
    /// An idle codec (all zeros, so a `static` of it lives in `.bss`).
    pub const fn new() -> EmulatedCodec {
        EmulatedCodec {
            format: AudioFormat {
                sample_rate: 0,
                channels: 0,
                block_frames: 0,
            },
            programme: Programme::Silence,
            capture: Capture::Loopback { delay_frames: 0 },
            length: 0,
            next_index: 0,
            half: 0,
            outstanding: None,
            playback: [[0; HALF]; 2],
            captured: [[0; HALF]; 2],
            loopback: [0; LOOPBACK_FRAMES * MAX_CHANNELS],
            dac: Fnv1a64::zeroed(),
            dac_frames: 0,
        }
    }

    /// Start a session of `length` frames; forgets the previous one.
    pub fn start(
        &mut self,
        format: AudioFormat,
        programme: Programme,
        capture: Capture,
        length: u64,
    ) -> Result<(), EmulationError> {
        let ch = usize::from(format.channels);
        if !(1..=MAX_BLOCK_FRAMES).contains(&format.block_frames)
            || !(1..=MAX_CHANNELS).contains(&ch)
        {
            return Err(EmulationError::Format {
                block_frames: format.block_frames,
                channels: format.channels,
            });
        }
        for wav in [programme_clip(&programme), capture_clip(&capture)]
            .into_iter()
            .flatten()
        {
            if wav.sample_rate != format.sample_rate {
                return Err(EmulationError::ClipRate {
                    clip: wav.sample_rate,
                    session: format.sample_rate,
                });
            }
        }
        if let Capture::Loopback { delay_frames } = capture {
            if delay_frames < format.block_frames
                || delay_frames > LOOPBACK_FRAMES - MAX_BLOCK_FRAMES
            {
                return Err(EmulationError::LoopbackDelay { delay_frames });
            }
        }
        self.format = format;
        self.programme = programme;
        self.capture = capture;
        self.length = length;
        self.next_index = 0;
        self.half = 0;
        self.outstanding = None;
        self.loopback.fill(0);
        self.dac = Fnv1a64::default();
        self.dac_frames = 0;
        Ok(())
    }

    /// What the DAC has played so far (complete after `EndOfStream`).
    pub fn played(&self) -> Played {
        Played {
            frames: self.dac_frames,
            fnv1a64: self.dac.finish(),
        }
    }

    /// The DAC plays the half released by the previous period.
    fn transmit(&mut self) {
        let Some(frames) = self.outstanding.take() else {
            return;
        };
        let ch = usize::from(self.format.channels);
        let Some(block) = self
            .playback
            .get(self.half)
            .and_then(|h| h.get(..frames * ch))
        else {
            return;
        };
        self.dac.write_i16(block);
        let first = self.dac_frames;
        self.dac_frames += frames as u64;
        if !matches!(self.capture, Capture::Loopback { .. }) {
            // Nothing listens to the cable.
            return;
        }
        for (i, frame) in block.chunks_exact(ch).enumerate() {
            let slot = ((first + i as u64) as usize) % LOOPBACK_FRAMES * MAX_CHANNELS;
            if let Some(dst) = self.loopback.get_mut(slot..slot + ch) {
                dst.copy_from_slice(frame);
            }
        }
    }

    fn fill_programme(&mut self, index: u64, frames: usize) {
        let ch = self.format.channels;
        let Some(block) = self.playback.get_mut(self.half) else {
            return;
        };
        for (i, frame) in block
            .chunks_exact_mut(usize::from(ch))
            .take(frames)
            .enumerate()
        {
            for (c, s) in frame.iter_mut().enumerate() {
                *s = match &self.programme {
                    Programme::Silence => 0,
                    Programme::Clip(wav) => {
                        wav.sample(index + i as u64, (c as u16).min(wav.channels - 1))
                    }
                };
            }
        }
    }

    fn fill_capture(&mut self, index: u64, frames: usize) {
        let ch = usize::from(self.format.channels);
        let Some(block) = self.captured.get_mut(self.half) else {
            return;
        };
        for (i, frame) in block.chunks_exact_mut(ch).take(frames).enumerate() {
            let n = index + i as u64;
            match self.capture {
                Capture::Clip(wav) => {
                    for (c, s) in frame.iter_mut().enumerate() {
                        *s = wav.sample(n, (c as u16).min(wav.channels - 1));
                    }
                }
                Capture::Loopback { delay_frames } => match n.checked_sub(delay_frames as u64) {
                    Some(played) => {
                        let slot = (played as usize) % LOOPBACK_FRAMES * MAX_CHANNELS;
                        if let Some(src) = self.loopback.get(slot..slot + ch) {
                            frame.copy_from_slice(src);
                        }
                    }
                    None => frame.fill(0),
                },
            }
        }
    }
}

fn programme_clip(p: &Programme) -> Option<Wav> {
    match *p {
        Programme::Clip(w) => Some(w),
        Programme::Silence => None,
    }
}

fn capture_clip(c: &Capture) -> Option<Wav> {
    match *c {
        Capture::Clip(w) => Some(w),
        Capture::Loopback { .. } => None,
    }
}

impl AudioInterface for EmulatedCodec {
    type Sample = i16;

    fn format(&self) -> AudioFormat {
        self.format
    }

    fn next_period(&mut self) -> Result<Period<'_, i16>, AudioError> {
        self.transmit();
        let index = self.next_index;
        if index >= self.length {
            return Err(AudioError::EndOfStream);
        }
        let frames = (self.length - index).min(self.format.block_frames as u64) as usize;
        self.half ^= 1;
        self.fill_programme(index, frames);
        self.fill_capture(index, frames);
        self.next_index += frames as u64;
        self.outstanding = Some(frames);
        let samples = frames * usize::from(self.format.channels);
        let half = self.half;
        let captured = self.captured.get(half).and_then(|h| h.get(..samples));
        let playback = self
            .playback
            .get_mut(half)
            .and_then(|h| h.get_mut(..samples));
        match (captured, playback) {
            (Some(captured), Some(playback)) => Ok(Period {
                index,
                captured,
                playback,
            }),
            _ => Err(AudioError::Hardware),
        }
    }
}
