//! Live audio through cpal: finding devices, choosing their format,
//! capturing with reconnection.
//!
//! Real-time rules: audio callbacks only convert samples and move them
//! through a lock-free single-producer ring (`rtrb`); when the ring is full
//! or empty they count the loss and carry on. Decoding, detection and
//! printing happen on ordinary threads. A host (ALSA, PulseAudio) is opened
//! afresh for every attempt, so a restarted sound server is picked up.
//!
//! Device loss: the error callback records the reason; the reader notices,
//! drops the stream, tells the user and reopens the device every second
//! until it is back or the user stops. A device that delivers nothing for
//! [`STALL`] is treated as lost too.

pub mod devices;
pub mod listen;
pub mod passthrough;
pub mod play;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{BufferSize, Device, ErrorKind, Host, HostId, SampleFormat, SizedSample, StreamConfig};
use dsp_core::config::{MAX_CHANNELS, SAMPLE_RATES};

use crate::cli::HostChoice;
use crate::ui;

/// No audio for this long means the device is gone.
pub const STALL: Duration = Duration::from_secs(10);

/// Run `f` with the process's stderr pointed at /dev/null (unless `-v`):
/// alsa-lib and the JACK plugin print probing chatter ("Cannot get card
/// index", "jack server is not running") for every plugin they try.
pub fn hush_stderr<T>(f: impl FnOnce() -> T) -> T {
    if tracing::enabled!(tracing::Level::INFO) {
        return f();
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
            return f();
        };
        // SAFETY: plain descriptor juggling on fd 2; the saved copy is
        // restored and closed before returning.
        let saved = unsafe { libc::dup(2) };
        if saved < 0 {
            return f();
        }
        unsafe { libc::dup2(null.as_raw_fd(), 2) };
        let r = f();
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
        r
    }
    #[cfg(not(unix))]
    f()
}

/// Open the audio system the user chose.
pub fn open_host(choice: HostChoice) -> Result<Host> {
    match choice {
        HostChoice::Auto => Ok(cpal::default_host()),
        HostChoice::Alsa => cpal::host_from_id(HostId::Alsa).map_err(|e| anyhow!("ALSA: {e}")),
        HostChoice::Pulseaudio => cpal::host_from_id(HostId::PulseAudio).map_err(|e| {
            anyhow!("PulseAudio: {e} (is a PulseAudio or PipeWire server running for this user?)")
        }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

impl Direction {
    fn word(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

/// The name `--device` takes (the backend's device ID, e.g. `hw:CARD=PCH,DEV=0`
/// or a PulseAudio sink name) and the description people read.
pub fn device_names(device: &Device) -> (String, String) {
    let id = device
        .id()
        .map(|i| i.id().to_string())
        .unwrap_or_else(|_| "?".into());
    let description = device
        .description()
        .map(|d| d.name().to_string())
        .unwrap_or_else(|_| id.clone());
    (id, description)
}

fn devices(host: &Host, dir: Direction) -> Result<Vec<Device>> {
    hush_stderr(|| list_devices(host, dir))
}

fn list_devices(host: &Host, dir: Direction) -> Result<Vec<Device>> {
    let list: Vec<Device> = match dir {
        Direction::Input => host
            .input_devices()
            .map_err(|e| anyhow!("cannot list {} devices: {e}", dir.word()))?
            .collect(),
        Direction::Output => host
            .output_devices()
            .map_err(|e| anyhow!("cannot list {} devices: {e}", dir.word()))?
            .collect(),
    };
    Ok(list)
}

/// Find a device by exact name, exact description, or a unique part of
/// either (case-insensitive); `None` or `"default"` is the default device.
pub fn find_device(host: &Host, dir: Direction, name: Option<&str>) -> Result<Device> {
    let want = name.unwrap_or("default");
    if want == "default" {
        let d = hush_stderr(|| match dir {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        });
        return d.ok_or_else(|| {
            anyhow!(
                "no default {} device on {} (see `hushmark devices`)",
                dir.word(),
                host.id().name()
            )
        });
    }
    let all = devices(host, dir)?;
    let named: Vec<(Device, String, String)> = all
        .into_iter()
        .map(|d| {
            let (id, desc) = device_names(&d);
            (d, id, desc)
        })
        .collect();
    if let Some((d, _, _)) = named.iter().find(|(_, id, _)| id == want) {
        return Ok(d.clone());
    }
    if let Some((d, _, _)) = named.iter().find(|(_, _, desc)| desc == want) {
        return Ok(d.clone());
    }
    let lower = want.to_lowercase();
    let partial: Vec<&(Device, String, String)> = named
        .iter()
        .filter(|(_, id, desc)| {
            id.to_lowercase().contains(&lower) || desc.to_lowercase().contains(&lower)
        })
        .collect();
    match partial.len() {
        1 => Ok(partial[0].0.clone()),
        0 => {
            let names: Vec<&str> = named.iter().map(|(_, id, _)| id.as_str()).collect();
            bail!(
                "no {} device matches {want:?} on {}; available: {} (see `hushmark devices`)",
                dir.word(),
                host.id().name(),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        }
        _ => {
            let names: Vec<&str> = partial.iter().map(|(_, id, _)| id.as_str()).collect();
            bail!(
                "{want:?} matches several {} devices: {}; give the full name",
                dir.word(),
                names.join(", ")
            )
        }
    }
}

/// A stream format chosen for a device.
#[derive(Debug, Clone, Copy)]
pub struct Chosen {
    pub config: StreamConfig,
    pub format: SampleFormat,
}

impl Chosen {
    pub fn rate(&self) -> u32 {
        self.config.sample_rate
    }
    pub fn channels(&self) -> usize {
        self.config.channels as usize
    }
    pub fn describe(&self) -> String {
        format!(
            "{} Hz, {} ch, {}",
            self.config.sample_rate, self.config.channels, self.format
        )
    }
}

/// Sample formats we can convert, best first.
const FORMATS: [SampleFormat; 8] = [
    SampleFormat::F32,
    SampleFormat::I32,
    SampleFormat::I24,
    SampleFormat::I16,
    SampleFormat::F64,
    SampleFormat::U16,
    SampleFormat::U8,
    SampleFormat::I8,
];

/// Pick rate, channels and sample format: the first of `rates` and
/// `channels` (in order of preference) the device supports, in the best
/// sample format it offers. `buffer_frames` asks for a fixed callback size
/// when the device allows it.
pub fn choose_config(
    device: &Device,
    dir: Direction,
    rates: &[u32],
    channels: &[u16],
    buffer_frames: Option<u32>,
) -> Result<Chosen> {
    let ranges: Vec<cpal::SupportedStreamConfigRange> = hush_stderr(|| match dir {
        Direction::Input => device.supported_input_configs().map(|r| r.collect()),
        Direction::Output => device.supported_output_configs().map(|r| r.collect()),
    })
    .map_err(|e| anyhow!("cannot query the device's formats: {e} (see `hushmark devices`)"))?;
    for &rate in rates {
        for &ch in channels {
            for format in FORMATS {
                if let Some(range) = ranges.iter().find(|r| {
                    r.channels() == ch
                        && r.sample_format() == format
                        && r.min_sample_rate() <= rate
                        && rate <= r.max_sample_rate()
                }) {
                    let buffer_size = match (buffer_frames, range.buffer_size()) {
                        (Some(n), cpal::SupportedBufferSize::Range { min, max }) => {
                            BufferSize::Fixed(n.clamp(*min, *max))
                        }
                        _ => BufferSize::Default,
                    };
                    return Ok(Chosen {
                        config: StreamConfig {
                            channels: ch,
                            sample_rate: rate,
                            buffer_size,
                        },
                        format,
                    });
                }
            }
        }
    }
    let offered: Vec<String> = ranges
        .iter()
        .map(|r| {
            format!(
                "{}-{} Hz {} ch {}",
                r.min_sample_rate(),
                r.max_sample_rate(),
                r.channels(),
                r.sample_format()
            )
        })
        .collect();
    bail!(
        "the device offers no usable format (wanted {rates:?} Hz with {channels:?} channels; it offers {})",
        if offered.is_empty() { "nothing".to_string() } else { offered.join(", ") }
    )
}

/// Rates to try, best first: `first` (if any), then the device's default,
/// then the engine rates from 48 kHz up; only rates in `allowed`.
pub fn rate_preference(
    first: Option<u32>,
    default: Option<u32>,
    allowed: impl Fn(u32) -> bool,
) -> Vec<u32> {
    let mut v = Vec::new();
    for r in first
        .into_iter()
        .chain(default)
        .chain([48_000, 44_100, 96_000, 88_200])
    {
        if allowed(r) && !v.contains(&r) {
            v.push(r);
        }
    }
    v
}

/// Channel counts to try, best first, all within the engine's limit.
pub fn channel_preference(first: Option<u16>, default: Option<u16>) -> Vec<u16> {
    let mut v = Vec::new();
    for c in first
        .into_iter()
        .chain(default)
        .chain([2, 1])
        .chain(3..=MAX_CHANNELS)
    {
        if (1..=MAX_CHANNELS).contains(&c) && !v.contains(&c) {
            v.push(c);
        }
    }
    v
}

/// Map interleaved frames from `from` to `to` channels: mono is copied to
/// every channel, many-to-mono averages, otherwise channels beyond the input
/// are silent and extra input channels are dropped.
pub fn map_channels(input: &[f32], from: usize, to: usize, out: &mut Vec<f32>) {
    out.clear();
    if from == to {
        out.extend_from_slice(input);
        return;
    }
    for frame in input.chunks_exact(from) {
        if from == 1 {
            out.extend(std::iter::repeat_n(frame[0], to));
        } else if to == 1 {
            out.push(frame.iter().sum::<f32>() / from as f32);
        } else {
            out.extend((0..to).map(|c| frame.get(c).copied().unwrap_or(0.0)));
        }
    }
}

/// What the error callback of a stream saw.
#[derive(Debug, Default)]
pub struct StreamHealth {
    lost: Mutex<Option<String>>,
    pub xruns: AtomicU64,
}

impl StreamHealth {
    /// The error callback: xruns are counted, anything else ends the stream.
    pub fn report(&self, e: cpal::Error) {
        match e.kind() {
            ErrorKind::Xrun => {
                self.xruns.fetch_add(1, Ordering::Relaxed);
            }
            ErrorKind::RealtimeDenied | ErrorKind::DeviceChanged => {
                tracing::info!("audio: {e}");
            }
            _ => {
                if let Ok(mut lost) = self.lost.lock() {
                    lost.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }

    pub fn lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }
}

/// An open input stream delivering interleaved `f32` through a ring.
pub struct Capture {
    consumer: rtrb::Consumer<f32>,
    _stream: cpal::Stream,
    pub chosen: Chosen,
    pub name: String,
    pub host: &'static str,
    pub health: Arc<StreamHealth>,
    /// Frames the callback had to drop because the ring was full.
    pub dropped: Arc<AtomicU64>,
}

pub enum Read {
    /// Frames were appended.
    Data,
    /// Nothing arrived within the timeout.
    Idle,
    /// The device went away.
    Lost(String),
}

impl Capture {
    /// Open `name` (or the default input) at an engine rate if the device has
    /// one, else at its default rate (the caller resamples).
    pub fn open(choice: HostChoice, name: Option<&str>) -> Result<Capture> {
        // Probing (ALSA especially) is chatty on stderr; failures come back as values.
        hush_stderr(|| Capture::open_quietly(choice, name))
    }

    fn open_quietly(choice: HostChoice, name: Option<&str>) -> Result<Capture> {
        let host = open_host(choice)?;
        let device = find_device(&host, Direction::Input, name)?;
        let (id, _) = device_names(&device);
        let default = hush_stderr(|| device.default_input_config().ok());
        let rates = rate_preference(None, default.as_ref().map(|d| d.sample_rate()), |r| {
            SAMPLE_RATES.contains(&r)
        });
        let channels = channel_preference(None, default.as_ref().map(|d| d.channels()));
        let chosen = match choose_config(&device, Direction::Input, &rates, &channels, None) {
            Ok(c) => c,
            Err(_) => {
                // No engine rate at all: take the device's own and resample.
                let mut any: Vec<u32> = default.iter().map(|d| d.sample_rate()).collect();
                any.extend([192_000, 176_400, 64_000, 50_000]);
                choose_config(&device, Direction::Input, &any, &channels, None)
                    .with_context(|| format!("cannot capture from {id}"))?
            }
        };
        tracing::info!(
            "capturing from {id}: {} ({:?})",
            chosen.describe(),
            chosen.config.buffer_size
        );
        let health = Arc::new(StreamHealth::default());
        let dropped = Arc::new(AtomicU64::new(0));
        let capacity = chosen.rate() as usize * chosen.channels() * 2;
        let (producer, consumer) = rtrb::RingBuffer::<f32>::new(capacity);
        let deliver = ring_writer(producer, chosen.channels(), dropped.clone());
        let stream = build_input(&device, &chosen, deliver, health.clone())
            .with_context(|| format!("cannot open {id} for capture"))?;
        stream
            .play()
            .map_err(|e| anyhow!("cannot start capturing from {id}: {e}"))?;
        Ok(Capture {
            consumer,
            _stream: stream,
            chosen,
            name: id,
            host: host.id().name(),
            health,
            dropped,
        })
    }

    /// Append whatever whole frames have arrived (waiting up to `timeout`).
    pub fn read(&mut self, out: &mut Vec<f32>, timeout: Duration) -> Read {
        let ch = self.chosen.channels();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(reason) = self.health.lost() {
                return Read::Lost(reason);
            }
            let n = self.consumer.slots() / ch * ch;
            if n > 0 {
                if let Ok(chunk) = self.consumer.read_chunk(n) {
                    let (a, b) = chunk.as_slices();
                    out.extend_from_slice(a);
                    out.extend_from_slice(b);
                    chunk.commit_all();
                }
                return Read::Data;
            }
            if Instant::now() >= deadline {
                return Read::Idle;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Evaluate `$body` with `$t` naming the Rust type of cpal sample format
/// `$format`; formats hushmark cannot convert are an error.
macro_rules! with_sample_type {
    ($format:expr, $t:ident => $body:expr) => {
        with_sample_type!(@match $format, $t, $body;
            F32 f32, F64 f64, I32 i32, I24 cpal::I24, I16 i16, I8 i8, U16 u16, U8 u8)
    };
    (@match $format:expr, $t:ident, $body:expr; $($variant:ident $ty:ty),*) => {
        match $format {
            $(SampleFormat::$variant => {
                type $t = $ty;
                $body
            })*
            other => bail!("sample format {other} is not supported"),
        }
    };
}

/// Build an input stream that hands `deliver` each callback's samples as
/// interleaved `f32`. `deliver` runs on the audio thread: it must not block.
pub fn build_input(
    device: &Device,
    chosen: &Chosen,
    deliver: impl FnMut(&[f32], &cpal::InputCallbackInfo) + Send + 'static,
    health: Arc<StreamHealth>,
) -> Result<cpal::Stream> {
    with_sample_type!(chosen.format, T => build_input_typed::<T>(device, chosen, deliver, health))
}

fn build_input_typed<T>(
    device: &Device,
    chosen: &Chosen,
    mut deliver: impl FnMut(&[f32], &cpal::InputCallbackInfo) + Send + 'static,
    health: Arc<StreamHealth>,
) -> Result<cpal::Stream>
where
    T: SizedSample + cpal::Sample,
    f32: cpal::FromSample<T>,
{
    let ch = chosen.channels();
    // Grown once to the largest callback size, then reused.
    let mut scratch: Vec<f32> = Vec::with_capacity(16_384);
    let data = move |input: &[T], info: &cpal::InputCallbackInfo| {
        scratch.clear();
        let whole = input.len() / ch * ch;
        scratch.extend(input[..whole].iter().map(|s| s.to_sample::<f32>()));
        deliver(&scratch, info);
    };
    let error = move |e: cpal::Error| health.report(e);
    device
        .build_input_stream::<T, _, _>(chosen.config, data, error, Some(Duration::from_secs(5)))
        .map_err(|e| anyhow!("{e}"))
}

/// A callback for [`build_input`] that pushes whole frames into a ring and
/// counts the frames that did not fit.
pub fn ring_writer(
    mut producer: rtrb::Producer<f32>,
    channels: usize,
    dropped: Arc<AtomicU64>,
) -> impl FnMut(&[f32], &cpal::InputCallbackInfo) + Send + 'static {
    move |samples: &[f32], _: &cpal::InputCallbackInfo| {
        let room = producer.slots() / channels * channels;
        let n = samples.len().min(room);
        if n < samples.len() {
            dropped.fetch_add(((samples.len() - n) / channels) as u64, Ordering::Relaxed);
        }
        let _ = producer.push_partial_slice(&samples[..n]);
    }
}

/// Build an output stream whose samples come from `render`, which fills
/// interleaved `f32` (full scale ±1.0); conversion to the device's format
/// happens here. `render` runs on the audio thread: it must not block.
pub fn build_output(
    device: &Device,
    chosen: &Chosen,
    render: impl FnMut(&mut [f32], &cpal::OutputCallbackInfo) + Send + 'static,
    health: Arc<StreamHealth>,
) -> Result<cpal::Stream> {
    with_sample_type!(chosen.format, T => build_output_typed::<T>(device, chosen, render, health))
}

fn build_output_typed<T>(
    device: &Device,
    chosen: &Chosen,
    mut render: impl FnMut(&mut [f32], &cpal::OutputCallbackInfo) + Send + 'static,
    health: Arc<StreamHealth>,
) -> Result<cpal::Stream>
where
    T: SizedSample + cpal::Sample + cpal::FromSample<f32>,
{
    // Grown once to the largest callback size, then reused.
    let mut scratch: Vec<f32> = Vec::with_capacity(16_384);
    let data = move |out: &mut [T], info: &cpal::OutputCallbackInfo| {
        if scratch.len() < out.len() {
            scratch.resize(out.len(), 0.0);
        }
        let buf = &mut scratch[..out.len()];
        buf.iter_mut().for_each(|v| *v = 0.0);
        render(buf, info);
        for (o, &s) in out.iter_mut().zip(buf.iter()) {
            *o = T::from_sample(s.clamp(-1.0, 1.0));
        }
    };
    let error = move |e: cpal::Error| health.report(e);
    device
        .build_output_stream::<T, _, _>(chosen.config, data, error, Some(Duration::from_secs(5)))
        .map_err(|e| anyhow!("{e}"))
}

/// What a live input tells its user.
pub enum InputEvent<'a> {
    /// Capturing (again, after a loss, when `reopened`).
    Started {
        capture: &'a Capture,
        reopened: bool,
    },
    /// Samples, with the wall-clock time the last of them arrived.
    Block(&'a [f32], SystemTime),
    /// Frames lost (ring overflow, or the time the device was away).
    Gap(u64),
    /// The device went away; it will be reopened.
    Lost(String),
    /// The device reported xruns (running total).
    Xruns(u64),
}

/// Capture from a device until `stop()` says so, reopening it whenever it
/// is lost. Only the first open may fail (a bad name, no device).
pub fn run_input(
    choice: HostChoice,
    name: Option<&str>,
    stop: impl Fn() -> bool,
    mut handle: impl FnMut(InputEvent<'_>) -> Result<()>,
) -> Result<()> {
    let mut reopened = false;
    let mut lost_at: Option<(Instant, u32)> = None;
    let mut buf = Vec::new();
    let mut last_retry_note = Instant::now() - Duration::from_secs(3600);
    while !stop() {
        let capture = match Capture::open(choice, name) {
            Ok(c) => c,
            Err(e) if !reopened => return Err(e),
            Err(e) => {
                if last_retry_note.elapsed() > Duration::from_secs(30) {
                    ui::warn(format!("still cannot reopen the device ({e:#}); retrying"));
                    last_retry_note = Instant::now();
                }
                sleep_unless(&stop, Duration::from_secs(1));
                continue;
            }
        };
        let mut capture = capture;
        if let Some((at, rate)) = lost_at.take() {
            handle(InputEvent::Gap(
                (at.elapsed().as_secs_f64() * rate as f64) as u64,
            ))?;
        }
        handle(InputEvent::Started {
            capture: &capture,
            reopened,
        })?;
        reopened = true;
        let mut last_data = Instant::now();
        let mut last_presence = Instant::now();
        let mut dropped_seen = 0;
        let mut xruns_seen = 0;
        // A sound server moves the streams of a vanished device to another
        // one instead of failing them: look for the device by name instead.
        let watch = name.filter(|n| *n != "default" && capture.host == HostId::PulseAudio.name());
        let reason = loop {
            if stop() {
                return Ok(());
            }
            if let Some(n) = watch {
                if last_presence.elapsed() >= PRESENCE_CHECK {
                    last_presence = Instant::now();
                    if !device_present(choice, Direction::Input, n) {
                        break "the device disappeared".to_string();
                    }
                }
            }
            buf.clear();
            match capture.read(&mut buf, Duration::from_millis(100)) {
                Read::Data => {
                    last_data = Instant::now();
                    let dropped = capture.dropped.load(Ordering::Relaxed);
                    if dropped > dropped_seen {
                        handle(InputEvent::Gap(dropped - dropped_seen))?;
                        dropped_seen = dropped;
                    }
                    handle(InputEvent::Block(&buf, SystemTime::now()))?;
                }
                Read::Idle => {
                    if last_data.elapsed() > STALL {
                        break format!("no audio for {} s", STALL.as_secs());
                    }
                }
                Read::Lost(reason) => break reason,
            }
            let xruns = capture.health.xruns.load(Ordering::Relaxed);
            if xruns > xruns_seen {
                xruns_seen = xruns;
                handle(InputEvent::Xruns(xruns))?;
            }
        };
        lost_at = Some((Instant::now(), capture.chosen.rate()));
        drop(capture);
        handle(InputEvent::Lost(reason))?;
        sleep_unless(&stop, Duration::from_secs(1));
    }
    Ok(())
}

/// How often a named PulseAudio device is checked for.
const PRESENCE_CHECK: Duration = Duration::from_secs(2);

/// True if the device can still be found by `name`.
pub fn device_present(choice: HostChoice, dir: Direction, name: &str) -> bool {
    match open_host(choice) {
        Ok(host) => find_device(&host, dir, Some(name)).is_ok(),
        // No server at all: certainly gone.
        Err(_) => false,
    }
}

/// Sleep for `d`, waking early if `stop()` turns true.
pub fn sleep_unless(stop: &impl Fn() -> bool, d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end && !stop() {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A stop condition: Ctrl-C, or `duration` seconds after now.
pub fn stop_after(duration: Option<f64>) -> Result<impl Fn() -> bool> {
    let end = match duration {
        Some(d) if !d.is_finite() || d <= 0.0 => {
            bail!("--duration must be a positive number of seconds")
        }
        Some(d) => Some(Instant::now() + Duration::from_secs_f64(d.min(1e9))),
        None => None,
    };
    Ok(move || ui::stopping() || end.is_some_and(|e| Instant::now() >= e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_mapping() {
        let mut out = Vec::new();
        map_channels(&[0.5, -0.5], 1, 2, &mut out);
        assert_eq!(out, [0.5, 0.5, -0.5, -0.5]);
        map_channels(&[0.2, 0.4, 0.6, 0.8], 2, 1, &mut out);
        assert!((out[0] - 0.3).abs() < 1e-6 && (out[1] - 0.7).abs() < 1e-6);
        map_channels(&[1.0, 2.0, 3.0], 3, 2, &mut out);
        assert_eq!(out, [1.0, 2.0]);
        map_channels(&[1.0, 2.0], 2, 3, &mut out);
        assert_eq!(out, [1.0, 2.0, 0.0]);
    }

    #[test]
    fn preferences_start_with_what_was_asked() {
        assert_eq!(
            rate_preference(Some(44_100), Some(48_000), |r| SAMPLE_RATES.contains(&r)),
            vec![44_100, 48_000, 96_000, 88_200]
        );
        assert_eq!(
            rate_preference(None, Some(32_000), |r| r >= 48_000),
            vec![48_000, 96_000, 88_200]
        );
        let c = channel_preference(Some(6), Some(2));
        assert_eq!(&c[..3], &[6, 2, 1]);
        assert!(c.iter().all(|&c| c <= MAX_CHANNELS));
    }
}
