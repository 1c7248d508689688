//! Writing audio: WAV (16-bit, 24-bit, 32-bit float, via hound) and FLAC
//! (16- or 24-bit, via flacenc), streamed block by block.
//!
//! FLAC is written frame by frame; its STREAMINFO header (length, MD5, frame
//! sizes) is only known at the end, so a placeholder of the same size is
//! written first and overwritten when the stream is finished.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use flacenc::component::{BitRepr, Stream, StreamInfo};
use flacenc::error::Verify;
use flacenc::source::{Context as FlacContext, Fill, FrameBuf};

/// Sample format of an output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    S16,
    S24,
    F32,
    /// 64-bit float (WAV only), kept for 64-bit input.
    F64,
    /// 32-bit integer (WAV only), kept for 32-bit input.
    S32,
}

impl SampleKind {
    pub fn describe(self) -> &'static str {
        match self {
            SampleKind::S16 => "16-bit",
            SampleKind::S24 => "24-bit",
            SampleKind::F32 => "32-bit float",
            SampleKind::F64 => "64-bit float",
            SampleKind::S32 => "32-bit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Wav,
    Flac,
}

impl Container {
    /// From OUT's extension.
    pub fn from_path(path: &Path) -> Result<Container> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("wav" | "wave") => Ok(Container::Wav),
            Some("flac") => Ok(Container::Flac),
            _ => bail!(
                "{}: OUT must end in .wav or .flac (the format is taken from the name)",
                path.display()
            ),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Container::Wav => "WAV",
            Container::Flac => "FLAC",
        }
    }
}

/// A sample type an output file holds: `i16`, `i32` (24-bit) or `f32`.
pub trait PcmSample: hound::Sample + Copy {
    /// As a FLAC sample; `None` for float, which FLAC cannot hold.
    fn flac(self) -> Option<i32>;
}

impl PcmSample for i16 {
    fn flac(self) -> Option<i32> {
        Some(self as i32)
    }
}

impl PcmSample for i32 {
    fn flac(self) -> Option<i32> {
        Some(self)
    }
}

impl PcmSample for f32 {
    fn flac(self) -> Option<i32> {
        None
    }
}

pub enum Writer {
    Wav(hound::WavWriter<BufWriter<File>>),
    /// hound writes no 64-bit float: a plain WAVE_FORMAT_IEEE_FLOAT file.
    Wav64(Wav64Writer),
    Flac(Box<FlacWriter>),
}

impl Writer {
    pub fn new(
        file: File,
        container: Container,
        kind: SampleKind,
        rate: u32,
        channels: u16,
    ) -> Result<Writer> {
        match container {
            Container::Wav if kind == SampleKind::F64 => {
                Ok(Writer::Wav64(Wav64Writer::new(file, rate, channels)?))
            }
            Container::Wav => {
                let spec = hound::WavSpec {
                    channels,
                    sample_rate: rate,
                    bits_per_sample: match kind {
                        SampleKind::S16 => 16,
                        SampleKind::S24 => 24,
                        SampleKind::F32 | SampleKind::F64 | SampleKind::S32 => 32,
                    },
                    sample_format: match kind {
                        SampleKind::F32 | SampleKind::F64 => hound::SampleFormat::Float,
                        _ => hound::SampleFormat::Int,
                    },
                };
                let w = hound::WavWriter::new(BufWriter::new(file), spec)
                    .map_err(|e| anyhow!("cannot start the WAV file: {e}"))?;
                Ok(Writer::Wav(w))
            }
            Container::Flac => {
                let bits = match kind {
                    SampleKind::S16 => 16,
                    SampleKind::S24 => 24,
                    SampleKind::F32 | SampleKind::F64 | SampleKind::S32 => bail!(
                        "FLAC holds integer samples only; use --format s16 or s24, or write a .wav"
                    ),
                };
                Ok(Writer::Flac(Box::new(FlacWriter::new(
                    file, rate, channels, bits,
                )?)))
            }
        }
    }

    /// Write interleaved samples in the file's format.
    pub fn write<T: PcmSample>(&mut self, samples: &[T]) -> Result<()> {
        match self {
            Writer::Wav(w) => {
                for &s in samples {
                    w.write_sample(s).map_err(wav_error)?;
                }
                Ok(())
            }
            Writer::Wav64(_) => {
                bail!("internal error: 64-bit WAV written with another sample type")
            }
            // A type is integer or not throughout: the first sample tells.
            Writer::Flac(_) if samples.first().is_some_and(|s| s.flac().is_none()) => {
                bail!("FLAC holds integer samples only")
            }
            Writer::Flac(f) => f.push(samples.iter().filter_map(|s| s.flac())),
        }
    }

    /// Write interleaved samples held as `f64` (full scale ±1.0) to a
    /// [`SampleKind::F64`] or [`SampleKind::S32`] file.
    pub fn write_f64(&mut self, samples: &[f64]) -> Result<()> {
        match self {
            Writer::Wav64(w) => w.write(samples),
            // Exact: a 32-bit sample was decoded as n / 2^31.
            Writer::Wav(w) if w.spec().bits_per_sample == 32 => {
                for &s in samples {
                    let n = (s * 2_147_483_648.0)
                        .round()
                        .clamp(i32::MIN as f64, i32::MAX as f64);
                    w.write_sample(n as i32).map_err(wav_error)?;
                }
                Ok(())
            }
            _ => bail!("internal error: 64-bit samples for a file of another format"),
        }
    }

    /// Complete the file (headers, lengths) and flush it.
    pub fn finish(self) -> Result<()> {
        match self {
            Writer::Wav(w) => w.finalize().map_err(wav_error),
            Writer::Wav64(w) => w.finish(),
            Writer::Flac(f) => f.finish(),
        }
    }
}

fn wav_error(e: hound::Error) -> anyhow::Error {
    match e {
        // The caller names the file; the system says why (a full disk).
        hound::Error::IoError(io) => anyhow!(io),
        hound::Error::TooWide => anyhow!("sample does not fit the WAV sample format"),
        other => anyhow!("cannot write the WAV file: {other}"),
    }
}

/// A 64-bit float WAV: header with placeholder sizes, samples, then the
/// sizes written in at the end.
pub struct Wav64Writer {
    out: BufWriter<File>,
    data_bytes: u64,
}

/// Bytes before the samples: RIFF header, 16-byte fmt chunk, data header.
const WAV64_HEADER: u64 = 44;

impl Wav64Writer {
    fn new(file: File, rate: u32, channels: u16) -> Result<Wav64Writer> {
        let block_align = channels as u32 * 8;
        let mut h = Vec::with_capacity(WAV64_HEADER as usize);
        h.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&3u16.to_le_bytes()); // WAVE_FORMAT_IEEE_FLOAT
        h.extend_from_slice(&channels.to_le_bytes());
        h.extend_from_slice(&rate.to_le_bytes());
        h.extend_from_slice(&(rate * block_align).to_le_bytes());
        h.extend_from_slice(&(block_align as u16).to_le_bytes());
        h.extend_from_slice(&64u16.to_le_bytes());
        h.extend_from_slice(b"data\0\0\0\0");
        let mut out = BufWriter::new(file);
        out.write_all(&h)?;
        Ok(Wav64Writer { out, data_bytes: 0 })
    }

    fn write(&mut self, samples: &[f64]) -> Result<()> {
        for s in samples {
            self.out.write_all(&s.to_le_bytes())?;
        }
        self.data_bytes += samples.len() as u64 * 8;
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        let riff = WAV64_HEADER - 8 + self.data_bytes;
        if riff > u32::MAX as u64 {
            bail!("more than 4 GiB of audio: too long for a WAV file; write a shorter one");
        }
        self.out.flush()?;
        let file = self.out.get_mut();
        file.seek(SeekFrom::Start(4))?;
        file.write_all(&(riff as u32).to_le_bytes())?;
        file.seek(SeekFrom::Start(WAV64_HEADER - 4))?;
        file.write_all(&(self.data_bytes as u32).to_le_bytes())?;
        file.flush()?;
        Ok(())
    }
}

/// Samples per FLAC frame (the reference encoder's default).
const FLAC_BLOCK: usize = 4096;

pub struct FlacWriter {
    out: BufWriter<File>,
    config: flacenc::error::Verified<flacenc::config::Encoder>,
    frame_buf: FrameBuf,
    context: FlacContext,
    info: StreamInfo,
    pending: Vec<i32>,
    channels: usize,
    frame_number: usize,
    header_len: usize,
    rate: u32,
    bits: usize,
}

impl FlacWriter {
    fn new(file: File, rate: u32, channels: u16, bits: usize) -> Result<FlacWriter> {
        let ch = channels as usize;
        let config = flacenc::config::Encoder::default()
            .into_verified()
            .map_err(|(_, e)| anyhow!("FLAC encoder configuration: {e:?}"))?;
        let info = StreamInfo::new(rate as usize, ch, bits)
            .map_err(|e| anyhow!("FLAC cannot hold this stream: {e:?}"))?;
        let frame_buf = FrameBuf::with_size(ch, FLAC_BLOCK)
            .map_err(|e| anyhow!("FLAC cannot hold {ch} channels: {e:?}"))?;
        let mut w = FlacWriter {
            out: BufWriter::new(file),
            config,
            frame_buf,
            context: FlacContext::new(bits, ch),
            info,
            pending: Vec::with_capacity(FLAC_BLOCK * ch),
            channels: ch,
            frame_number: 0,
            header_len: 0,
            rate,
            bits,
        };
        let header = w.header_bytes()?;
        w.header_len = header.len();
        w.out.write_all(&header)?;
        Ok(w)
    }

    /// `fLaC` and the STREAMINFO block as they stand now.
    fn header_bytes(&self) -> Result<Vec<u8>> {
        let mut stream = Stream::new(self.rate as usize, self.channels, self.bits)
            .map_err(|e| anyhow!("FLAC header: {e:?}"))?;
        *stream.stream_info_mut() = self.info.clone();
        let mut sink = flacenc::bitsink::ByteSink::new();
        stream
            .write(&mut sink)
            .map_err(|e| anyhow!("FLAC header: {e:?}"))?;
        Ok(sink.as_slice().to_vec())
    }

    fn push(&mut self, samples: impl Iterator<Item = i32>) -> Result<()> {
        let block = FLAC_BLOCK * self.channels;
        for s in samples {
            self.pending.push(s);
            if self.pending.len() == block {
                self.encode_pending()?;
            }
        }
        Ok(())
    }

    fn encode_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.frame_buf
            .fill_interleaved(&self.pending)
            .map_err(|e| anyhow!("FLAC encoder: {e:?}"))?;
        self.context
            .fill_interleaved(&self.pending)
            .map_err(|e| anyhow!("FLAC encoder: {e:?}"))?;
        let frame = flacenc::encode_fixed_size_frame(
            &self.config,
            &self.frame_buf,
            self.frame_number,
            &self.info,
        )
        .map_err(|e| anyhow!("FLAC encoder: {e:?}"))?;
        let mut sink = flacenc::bitsink::ByteSink::new();
        frame
            .write(&mut sink)
            .map_err(|e| anyhow!("FLAC encoder: {e:?}"))?;
        // flacenc's Rice coder caps its parameter at 14, so 24-bit frames can
        // come out bigger than the raw samples; store those verbatim instead.
        let raw_bytes = self.pending.len() * self.bits / 8 + 64;
        let frame = if sink.as_slice().len() > raw_bytes {
            let verbatim = self.verbatim_frame()?;
            sink = flacenc::bitsink::ByteSink::new();
            verbatim
                .write(&mut sink)
                .map_err(|e| anyhow!("FLAC encoder: {e:?}"))?;
            verbatim
        } else {
            frame
        };
        self.info.update_frame_info(&frame);
        self.out.write_all(sink.as_slice())?;
        self.frame_number += 1;
        self.pending.clear();
        Ok(())
    }

    /// The pending block as a frame of uncompressed subframes.
    fn verbatim_frame(&self) -> Result<flacenc::component::Frame> {
        use flacenc::component::{
            ChannelAssignment, Frame, FrameHeader, FrameOffset, SubFrame, Verbatim,
        };
        let frames = self.pending.len() / self.channels;
        let header = FrameHeader::new(
            frames,
            ChannelAssignment::Independent(self.channels as u8),
            self.bits,
            self.rate as usize,
            FrameOffset::Frame(self.frame_number as u32),
        )
        .map_err(|e| anyhow!("FLAC encoder: {e:?}"))?;
        let subframes = (0..self.channels)
            .map(|c| {
                let channel: Vec<i32> = self
                    .pending
                    .iter()
                    .skip(c)
                    .step_by(self.channels)
                    .copied()
                    .collect();
                Verbatim::new(&channel, self.bits).map(SubFrame::from)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("FLAC encoder: {e:?}"))?;
        Frame::new(header, subframes.into_iter()).map_err(|e| anyhow!("FLAC encoder: {e:?}"))
    }

    fn finish(mut self) -> Result<()> {
        self.encode_pending()?;
        self.info.set_md5_digest(&self.context.md5_digest());
        // Fixed-size blocks: min = max = block size, as the reference encoder writes.
        self.info
            .set_block_sizes(FLAC_BLOCK, FLAC_BLOCK)
            .map_err(|e| anyhow!("FLAC header: {e:?}"))?;
        let header = self.header_bytes()?;
        if header.len() != self.header_len {
            bail!(
                "FLAC header changed size ({} -> {})",
                self.header_len,
                header.len()
            );
        }
        self.out.flush()?;
        let file = self.out.get_mut();
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&header))
            .and_then(|_| file.flush())?;
        Ok(())
    }
}
