//! An input device as a ring of interleaved `f32` frames.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use cpal::traits::StreamTrait;
use cpal::HostId;
use dsp_core::config::SAMPLE_RATES;

use super::format::{channel_preference, choose_config, default_config, rate_preference, Chosen};
use super::host::open_host;
use super::lookup::{device_names, find_device, Direction};
use super::stream::{build_input, ring_writer, StreamHealth};
use crate::cli::HostChoice;
use crate::stderr;

/// An open input stream delivering interleaved `f32` through a ring.
pub struct Capture {
    consumer: rtrb::Consumer<f32>,
    _stream: cpal::Stream,
    pub chosen: Chosen,
    pub name: String,
    pub host: HostId,
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
        stderr::hush(|| Capture::open_quietly(choice, name))
    }

    fn open_quietly(choice: HostChoice, name: Option<&str>) -> Result<Capture> {
        let host = open_host(choice)?;
        let device = find_device(&host, Direction::Input, name)?;
        let (id, _) = device_names(&device);
        let default = default_config(&device, Direction::Input);
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
            host: host.id(),
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
