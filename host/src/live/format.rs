//! Choosing a device's stream format, and mapping channels.

use anyhow::{anyhow, bail, Result};
use cpal::traits::DeviceTrait;
use cpal::{
    BufferSize, Device, SampleFormat, StreamConfig, SupportedStreamConfig,
    SupportedStreamConfigRange,
};
use dsp_core::config::MAX_CHANNELS;

use super::lookup::Direction;
use crate::stderr;

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

/// The device's own default format, if it says.
pub fn default_config(device: &Device, dir: Direction) -> Option<SupportedStreamConfig> {
    stderr::hush(|| match dir {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    })
    .ok()
}

/// Every format the device offers.
pub fn supported_configs(
    device: &Device,
    dir: Direction,
) -> Result<Vec<SupportedStreamConfigRange>, cpal::Error> {
    stderr::hush(|| match dir {
        Direction::Input => device.supported_input_configs().map(|r| r.collect()),
        Direction::Output => device.supported_output_configs().map(|r| r.collect()),
    })
}

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
    let ranges = supported_configs(device, dir)
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

#[cfg(test)]
mod tests {
    use super::*;
    use dsp_core::config::SAMPLE_RATES;

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
