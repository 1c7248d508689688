//! Building cpal streams that speak interleaved `f32`, and watching their health.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use cpal::traits::DeviceTrait;
use cpal::{Device, ErrorKind, SampleFormat, SizedSample};

use super::format::Chosen;

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
        let lost = push_frames(&mut producer, samples, channels);
        if lost > 0 {
            dropped.fetch_add(lost, Ordering::Relaxed);
        }
    }
}

/// Push the whole frames of `samples` that fit into the ring, never
/// waiting; returns how many frames did not fit.
pub fn push_frames(producer: &mut rtrb::Producer<f32>, samples: &[f32], channels: usize) -> u64 {
    let room = producer.slots() / channels * channels;
    let n = samples.len().min(room);
    let _ = producer.push_partial_slice(&samples[..n]);
    ((samples.len() - n) / channels) as u64
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
