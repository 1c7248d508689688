//! Reading audio files with symphonia: WAV, FLAC, MP3, AAC/M4A, Ogg Vorbis,
//! AIFF, as interleaved `f32` blocks.
//!
//! `f32` is exact for every integer format up to 24 bits (symphonia divides
//! by 2^15 or 2^23), so 16- and 24-bit files come back bit for bit when
//! converted back; 64-bit float and 32-bit integer files are also given as
//! `f64`, which holds them exactly. Pipes, FIFOs, devices and stdin (`-`)
//! are read into memory first: the decoders seek. Rate and channels come from the first decoded block,
//! which is authoritative even where the container does not state them
//! (MP3 without headers); a change later in the stream is an error.
//!
//! Damage is reported, not hidden: a file that ends before its header says
//! it should is *truncated* (see [`AudioFile::truncation`]), and packets that
//! fail to decode are skipped and counted.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

/// What we know about a file before reading its audio.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub path: PathBuf,
    pub rate: u32,
    pub channels: usize,
    /// Frames the container promises, if it says.
    pub frames: Option<u64>,
    /// Bits per sample of integer PCM/FLAC; `None` for float and lossy codecs.
    pub int_bits: Option<u32>,
    /// Samples are floating point in the file (float WAV).
    pub float: bool,
    /// 64-bit float samples: kept as such too ([`AudioFile::next_block_f64`]),
    /// as `f32` would round them.
    pub f64: bool,
    /// Lossless codec (PCM, FLAC, ALAC): frame counts are exact.
    pub lossless: bool,
    pub codec: String,
    pub container: String,
}

impl SourceInfo {
    /// `48000 Hz stereo 16-bit FLAC`-style summary.
    pub fn describe(&self) -> String {
        let ch = match self.channels {
            1 => "mono".to_string(),
            2 => "stereo".to_string(),
            n => format!("{n} ch"),
        };
        let depth = match (self.int_bits, self.float) {
            (Some(b), _) => format!(" {b}-bit"),
            (None, true) if self.f64 => " 64-bit float".to_string(),
            (None, true) => " float".to_string(),
            _ => String::new(),
        };
        let format = if self.codec.starts_with("pcm") {
            match self.container.as_str() {
                "wave" | "wav" => "WAV".to_string(),
                other => other.to_uppercase(),
            }
        } else {
            self.codec.to_uppercase()
        };
        format!("{} Hz {ch}{depth} {format}", self.rate)
    }

    /// Whether `f32` rounds this file's samples (64-bit float, 32-bit
    /// integer), so blocks are kept as `f64` too, which holds them exactly.
    pub fn exact64(&self) -> bool {
        self.f64 || self.int_bits.is_some_and(|b| b > 24)
    }

    pub fn seconds(&self, frames: u64) -> f64 {
        frames as f64 / self.rate as f64
    }
}

/// Audio lost to a packet that could not be decoded, on the stream's clock
/// (frames decoded and skipped before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub start_frame: u64,
    pub frames: u64,
}

pub struct AudioFile {
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    info: SourceInfo,
    buf: Vec<f32>,
    /// The same block as `f64`, for 64-bit float files only.
    buf64: Vec<f64>,
    /// First block, decoded while opening to learn rate and channels.
    primed: bool,
    decoded_frames: u64,
    bad_packets: u64,
    /// Frames of the packets skipped, so far.
    skipped_frames: u64,
    /// Skipped spans not yet taken ([`AudioFile::take_gaps`]).
    gaps: Vec<Gap>,
    /// The stream ended on a read error rather than a clean end.
    cut_short: Option<String>,
    ended: bool,
}

impl std::fmt::Debug for AudioFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioFile")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

const FORMATS: &str = "WAV, FLAC, MP3, AAC/M4A, Ogg Vorbis or AIFF";

/// The decoder panicked on this file's data.
fn crash(path: &Path) -> anyhow::Error {
    anyhow!(
        "cannot decode {}: the decoder failed on its data (malformed or unsupported file)",
        path.display()
    )
}

/// Why a WAV file is unusable, when its header says so plainly: checked
/// before symphonia sees it (which rejects, or worse, some channel counts).
fn wav_diagnosis<R: std::io::Read>(reader: R) -> Option<String> {
    let spec = hound::WavReader::new(reader).ok()?.spec();
    if spec.channels as usize > dsp_core::config::MAX_CHANNELS as usize {
        return Some(format!(
            "{} channels: hushmark handles 1 to {}",
            spec.channels,
            dsp_core::config::MAX_CHANNELS
        ));
    }
    if let Err(e) = crate::rates::check_rate(spec.sample_rate) {
        return Some(e.to_string());
    }
    None
}

/// Most bytes read into memory from a pipe, stdin or a device (about 3 h of
/// 48 kHz stereo float); more is surely not one recording.
const MAX_STREAMED_BYTES: u64 = 4 << 30;

/// Read all of a non-seekable input (pipe, FIFO, character device, stdin).
/// The read blocks until the writer is done, so a stop request ends it.
fn read_all(path: &Path, stdin: bool) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let read = crate::ui::interruptible(|| -> std::io::Result<u64> {
        let source: Box<dyn Read> = match stdin {
            true => Box::new(std::io::stdin().lock()),
            false => Box::new(open_waiting(path)?),
        };
        source
            .take(MAX_STREAMED_BYTES + 1)
            .read_to_end(&mut bytes)
            .map(|n| n as u64)
    })
    .with_context(|| format!("cannot read {}", path.display()))?;
    if read > MAX_STREAMED_BYTES {
        bail!(
            "{} gives more than {} GiB: not one recording; write it to a file first",
            path.display(),
            MAX_STREAMED_BYTES >> 30
        );
    }
    if bytes.is_empty() {
        bail!(
            "{} gave no data (0 bytes), not an audio file",
            path.display()
        );
    }
    fix_streamed_wav(&mut bytes);
    Ok(bytes)
}

/// Open a FIFO (or device) without blocking until its writer comes, then
/// wait for the writer checking for a stop request, so monitor's source
/// threads end too when asked. Reads after that block as usual.
#[cfg(unix)]
fn open_waiting(path: &Path) -> std::io::Result<File> {
    use std::io::{Error, ErrorKind};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let fd = file.as_raw_fd();
    loop {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for an open descriptor. A FIFO that never
        // had a writer reports nothing (no POLLHUP) until one comes.
        let ready = unsafe { libc::poll(&mut p, 1, 200) };
        if ready > 0 {
            break;
        }
        if ready < 0 {
            let e = Error::last_os_error();
            if e.kind() != ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if crate::ui::stopping() {
            return Err(Error::other("interrupted while waiting for a writer"));
        }
    }
    // SAFETY: fcntl on an open descriptor; only O_NONBLOCK is cleared.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
    }
    Ok(file)
}

#[cfg(not(unix))]
fn open_waiting(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// A WAV written to a pipe cannot go back to fill in its lengths: its RIFF
/// and data sizes are 0 or 0xFFFFFFFF. With the whole stream in memory the
/// true sizes are known, so write them in (whole frames only).
fn fix_streamed_wav(bytes: &mut [u8]) {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return;
    }
    let le = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let mut block_align = 1usize;
    let mut pos = 12usize;
    while pos + 8 <= bytes.len() {
        let size = le(bytes, pos + 4) as usize;
        let body = pos + 8;
        if &bytes[pos..pos + 4] == b"data" {
            let left = bytes.len() - body;
            if size == 0 || size == u32::MAX as usize || size > left {
                let size = (left - left % block_align.max(1)).min(u32::MAX as usize - 1);
                bytes[pos + 4..pos + 8].copy_from_slice(&(size as u32).to_le_bytes());
                let riff = (body + size - 8).min(u32::MAX as usize - 1) as u32;
                bytes[4..8].copy_from_slice(&riff.to_le_bytes());
            }
            return;
        }
        if &bytes[pos..pos + 4] == b"fmt " && size >= 14 && body + 14 <= bytes.len() {
            block_align = u16::from_le_bytes([bytes[body + 12], bytes[body + 13]]) as usize;
        }
        // Chunks are padded to an even length.
        pos = body.saturating_add(size).saturating_add(size & 1);
    }
}

impl AudioFile {
    /// Open an audio file; `-` is stdin. Pipes, FIFOs and devices are read
    /// into memory first (the decoders seek).
    pub fn open(path: &Path) -> Result<AudioFile> {
        let stdin = path.as_os_str() == "-";
        let meta = match stdin {
            true => None,
            false => Some(
                std::fs::metadata(path)
                    .with_context(|| format!("cannot open {}", path.display()))?,
            ),
        };
        let source: Box<dyn symphonia::core::io::MediaSource> = match meta {
            Some(m) if m.is_dir() => {
                bail!("{} is a directory, not an audio file", path.display())
            }
            Some(m) if m.is_file() => {
                if m.len() == 0 {
                    bail!("{} is empty (0 bytes), not an audio file", path.display());
                }
                let file =
                    File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
                if let Some(why) = File::open(path)
                    .ok()
                    .and_then(|f| wav_diagnosis(std::io::BufReader::new(f)))
                {
                    bail!("{}: {why}", path.display());
                }
                Box::new(file)
            }
            _ => {
                let bytes = read_all(path, stdin)?;
                if let Some(why) = wav_diagnosis(std::io::Cursor::new(&bytes)) {
                    bail!("{}: {why}", path.display());
                }
                Box::new(std::io::Cursor::new(bytes))
            }
        };
        let mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = crate::ui::guarded(|| {
            symphonia::default::get_probe().probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
        })
        .ok_or_else(|| crash(path))?;
        let reader = probed.map_err(|e| match e {
            SymError::Unsupported(_) => anyhow!(
                "{} is not an audio file hushmark can read (it reads {FORMATS})",
                path.display()
            ),
            SymError::IoError(ref io) if io.kind() == ErrorKind::UnexpectedEof => anyhow!(
                "{} is not an audio file hushmark can read, or is truncated (it reads {FORMATS})",
                path.display()
            ),
            other => anyhow!("cannot read {}: {other}", path.display()),
        })?;
        let track = reader
            .default_track(TrackType::Audio)
            .ok_or_else(|| anyhow!("{} has no audio track", path.display()))?;
        let Some(CodecParameters::Audio(params)) = track.codec_params.clone() else {
            bail!("{} has no audio track", path.display());
        };
        let track_id = track.id;
        let frames = track.num_frames;
        let codec_registry = symphonia::default::get_codecs();
        let decoder = crate::ui::guarded(|| {
            codec_registry.make_audio_decoder(&params, &AudioDecoderOptions::default())
        })
        .ok_or_else(|| crash(path))?
        .map_err(|e| match e {
            SymError::Unsupported(_) => anyhow!(
                "{}: its codec is not supported (hushmark reads {FORMATS}); convert it first, \
                     e.g. `ffmpeg -i {} out.flac`",
                path.display(),
                path.display()
            ),
            other => anyhow!("cannot decode {}: {other}", path.display()),
        })?;
        let codec = decoder.codec_info().short_name.to_string();
        let lossless = matches!(codec.as_str(), "flac" | "alac") || codec.starts_with("pcm");
        use symphonia::core::audio::sample::SampleFormat as F;
        use symphonia::core::codecs::audio::well_known as ids;
        // PCM tracks name their format by codec, not by sample_format.
        let f64 = matches!(params.sample_format, Some(F::F64))
            || [ids::CODEC_ID_PCM_F64LE, ids::CODEC_ID_PCM_F64BE].contains(&params.codec);
        let float = f64
            || matches!(params.sample_format, Some(F::F32))
            || [ids::CODEC_ID_PCM_F32LE, ids::CODEC_ID_PCM_F32BE].contains(&params.codec);
        let int_bits = if lossless && !float {
            params.bits_per_sample
        } else {
            None
        };
        let info = SourceInfo {
            path: path.to_path_buf(),
            rate: params.sample_rate.unwrap_or(0),
            channels: params.channels.as_ref().map(|c| c.count()).unwrap_or(0),
            frames,
            int_bits,
            float,
            f64,
            lossless,
            codec,
            container: reader.format_info().short_name.to_string(),
        };
        let mut file = AudioFile {
            reader,
            decoder,
            track_id,
            info,
            buf: Vec::new(),
            buf64: Vec::new(),
            primed: false,
            decoded_frames: 0,
            bad_packets: 0,
            skipped_frames: 0,
            gaps: Vec::new(),
            cut_short: None,
            ended: false,
        };
        file.prime()?;
        tracing::info!(
            "{}: {} in {}, {} frames promised",
            path.display(),
            file.info.describe(),
            file.info.container,
            file.info
                .frames
                .map(|f| f.to_string())
                .unwrap_or_else(|| "no count of".into())
        );
        Ok(file)
    }

    /// Decode the first block so rate and channels are known for certain.
    fn prime(&mut self) -> Result<()> {
        if let Some((rate, channels)) = self.decode_next()? {
            self.info.rate = rate;
            self.info.channels = channels;
            self.primed = true;
        }
        if self.info.rate == 0 {
            bail!(
                "{} holds no audio (no sample rate)",
                self.info.path.display()
            );
        }
        if self.info.channels == 0 {
            bail!("{} holds no audio (no channels)", self.info.path.display());
        }
        crate::rates::check_rate(self.info.rate)
            .with_context(|| self.info.path.display().to_string())?;
        Ok(())
    }

    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// The next block of interleaved samples (full scale ±1.0); `None` at the end.
    pub fn next_block(&mut self) -> Result<Option<&[f32]>> {
        let more = self.advance()?;
        Ok(more.then_some(&self.buf[..]))
    }

    /// [`AudioFile::next_block`], and the same samples as `f64` (exact;
    /// empty unless [`SourceInfo::exact64`]).
    pub fn next_block_f64(&mut self) -> Result<Option<(&[f32], &[f64])>> {
        let more = self.advance()?;
        Ok(more.then_some((&self.buf[..], &self.buf64[..])))
    }

    /// Decode the next block into `buf`; false at the end.
    fn advance(&mut self) -> Result<bool> {
        if self.primed {
            self.primed = false;
            self.decoded_frames += (self.buf.len() / self.info.channels) as u64;
            return Ok(true);
        }
        match self.decode_next()? {
            None => Ok(false),
            Some((rate, channels)) => {
                if rate != self.info.rate || channels != self.info.channels {
                    bail!(
                        "{} changes format mid-stream ({} Hz {} ch, then {rate} Hz {channels} ch); \
                         split it first",
                        self.info.path.display(),
                        self.info.rate,
                        self.info.channels
                    );
                }
                self.decoded_frames += (self.buf.len() / channels) as u64;
                Ok(true)
            }
        }
    }

    /// Decode packets until one yields audio; returns its rate and channels.
    fn decode_next(&mut self) -> Result<Option<(u32, usize)>> {
        if self.ended {
            return Ok(None);
        }
        loop {
            let next = crate::ui::guarded(|| self.reader.next_packet())
                .ok_or_else(|| crash(&self.info.path))?;
            let packet = match next {
                Ok(Some(p)) => p,
                Ok(None) => {
                    self.ended = true;
                    return Ok(None);
                }
                Err(SymError::IoError(e)) => {
                    // Symphonia reports the end of a cut-off file as an I/O error.
                    if e.kind() != ErrorKind::UnexpectedEof {
                        self.cut_short = Some(e.to_string());
                    }
                    self.ended = true;
                    return Ok(None);
                }
                Err(SymError::ResetRequired) => bail!(
                    "{} changes its track layout mid-stream (chained streams are not supported); \
                     split it first",
                    self.info.path.display()
                ),
                Err(SymError::DecodeError(e)) => {
                    self.cut_short = Some(format!("malformed data: {e}"));
                    self.ended = true;
                    return Ok(None);
                }
                Err(e) => bail!("cannot read {}: {e}", self.info.path.display()),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let decoder = &mut self.decoder;
            let buf = &mut self.buf;
            let (buf64, keep64) = (&mut self.buf64, self.info.exact64());
            let decoded = crate::ui::guarded(|| match decoder.decode(&packet) {
                Ok(block) => {
                    if block.frames() == 0 {
                        return Ok(None);
                    }
                    let rate = block.spec().rate();
                    let channels = block.spec().channels().count();
                    block.copy_to_vec_interleaved(buf);
                    if keep64 {
                        block.copy_to_vec_interleaved(buf64);
                    }
                    Ok(Some((rate, channels)))
                }
                Err(e) => Err(e),
            })
            .ok_or_else(|| crash(&self.info.path))?;
            let why = match decoded {
                Ok(None) => continue,
                Ok(Some(spec)) => return Ok(Some(spec)),
                Err(SymError::DecodeError(e)) => e.to_string(),
                Err(SymError::IoError(e)) => e.to_string(),
                Err(e) => bail!("cannot decode {}: {e}", self.info.path.display()),
            };
            tracing::debug!("{}: skipped a bad packet: {why}", self.info.path.display());
            self.bad_packets += 1;
            // Audio codecs' packets count time in frames (time base 1/rate).
            let frames = packet.dur.get();
            self.gaps.push(Gap {
                start_frame: self.decoded_frames + self.skipped_frames,
                frames,
            });
            self.skipped_frames += frames;
        }
    }

    /// Frames returned so far.
    pub fn decoded_frames(&self) -> u64 {
        self.decoded_frames
    }

    /// Packets that could not be decoded and were skipped.
    pub fn bad_packets(&self) -> u64 {
        self.bad_packets
    }

    /// [`AudioFile::next_block`], and the spans skipped before it moved to
    /// `gaps`.
    pub fn next_block_and_gaps(&mut self, gaps: &mut Vec<Gap>) -> Result<Option<&[f32]>> {
        let more = self.advance()?;
        gaps.append(&mut self.gaps);
        Ok(more.then_some(&self.buf[..]))
    }

    /// The spans skipped since the last call (undecodable packets).
    pub fn take_gaps(&mut self) -> Vec<Gap> {
        std::mem::take(&mut self.gaps)
    }

    /// After the end: why the file is damaged, if it is (truncated, read
    /// errors, packets that could not be decoded), as `detect` says it.
    pub fn damage(&self) -> Option<String> {
        self.truncation().or_else(|| {
            (self.bad_packets > 0).then(|| {
                format!(
                    "{}: {} damaged packet(s) could not be decoded",
                    self.info.path.display(),
                    self.bad_packets
                )
            })
        })
    }

    /// After the end: why the file seems damaged, if it does (fewer frames
    /// than its header promised, or a read error).
    pub fn truncation(&self) -> Option<String> {
        let got = self.decoded_frames;
        if let Some(why) = &self.cut_short {
            return Some(format!(
                "{} is damaged: reading stopped after {} ({why})",
                self.info.path.display(),
                crate::ui::duration(self.info.seconds(got))
            ));
        }
        let promised = self.info.frames?;
        // Lossy decoders may differ from the container's count by a packet.
        let slack = if self.info.lossless { 0 } else { 4096 };
        (got + slack < promised).then(|| {
            format!(
                "{} is truncated: its audio ends after {} but its header promises {}",
                self.info.path.display(),
                crate::ui::duration(self.info.seconds(got)),
                crate::ui::duration(self.info.seconds(promised))
            )
        })
    }
}
