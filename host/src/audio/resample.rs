//! Streaming sample-rate conversion with rubato, time-aligned.
//!
//! Blocks of any size go in; output comes out as soon as the resampler has a
//! chunk. The resampler's own delay is removed, so output frame `n` is input
//! time `n / rate_out`: event times found in resampled audio need no
//! correction. At the end, [`StreamResampler::finish`] flushes the tail so the
//! output holds exactly `round(input_frames * ratio)` frames.
//!
//! Nothing is allocated per chunk: rubato writes into a buffer made once
//! (`process_into_buffer`), and input waits in one reused buffer.

use anyhow::{anyhow, Result};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Indexing, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

/// Input frames per resampler call.
const CHUNK: usize = 1024;

pub struct StreamResampler {
    inner: Async<f32>,
    channels: usize,
    from: u32,
    to: u32,
    /// Input not yet resampled: less than a chunk between calls.
    pending: Vec<f32>,
    /// Rubato's output for one chunk.
    chunk_out: Vec<f32>,
    /// Output frames still to drop (the resampler's delay).
    skip: usize,
    in_frames: u64,
    out_frames: u64,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StreamResampler({} -> {} Hz, {} ch)",
            self.from, self.to, self.channels
        )
    }
}

impl StreamResampler {
    pub fn new(from: u32, to: u32, channels: usize) -> Result<StreamResampler> {
        // 256 taps, Blackman-Harris: flat to ~95 % of the lower Nyquist
        // frequency, so 20-22 kHz survives 48 kHz output.
        let params = SincInterpolationParameters {
            sinc_len: 256,
            f_cutoff: None,
            interpolation: SincInterpolationType::Cubic,
            oversampling_factor: 256,
            window: WindowFunction::BlackmanHarris2,
        };
        let inner = Async::<f32>::new_sinc(
            to as f64 / from as f64,
            1.0,
            &params,
            CHUNK,
            channels,
            FixedAsync::Input,
        )
        .map_err(|e| anyhow!("cannot resample {from} Hz to {to} Hz: {e}"))?;
        let skip = inner.output_delay();
        let chunk_out = vec![0.0; inner.output_frames_max() * channels];
        Ok(StreamResampler {
            inner,
            channels,
            from,
            to,
            pending: Vec::with_capacity(CHUNK * channels * 2),
            chunk_out,
            skip,
            in_frames: 0,
            out_frames: 0,
        })
    }

    pub fn ratio(&self) -> f64 {
        self.to as f64 / self.from as f64
    }

    /// Resample interleaved `input`, appending whatever output is ready to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<()> {
        self.pending.extend_from_slice(input);
        self.in_frames += (input.len() / self.channels) as u64;
        let chunk = CHUNK * self.channels;
        let mut start = 0;
        while self.pending.len() - start >= chunk {
            self.run_chunk(start, CHUNK, out)?;
            start += chunk;
        }
        // One move of the remainder (under a chunk) per call, not per chunk.
        self.pending.drain(..start);
        Ok(())
    }

    /// Resample the chunk at `start` in `pending`, of which `valid` frames
    /// are input (the rest is read as silence), appending to `out`.
    fn run_chunk(&mut self, start: usize, valid: usize, out: &mut Vec<f32>) -> Result<()> {
        let ch = self.channels;
        let input = &self.pending[start..];
        let adapter = InterleavedSlice::new(input, ch, input.len() / ch)
            .map_err(|e| anyhow!("resampler input: {e}"))?;
        let out_frames = self.chunk_out.len() / ch;
        let mut output = InterleavedSlice::new_mut(&mut self.chunk_out[..], ch, out_frames)
            .map_err(|e| anyhow!("resampler output: {e}"))?;
        let indexing = Indexing::new().partial_len(valid);
        let (_, produced) = self
            .inner
            .process_into_buffer(&adapter, &mut output, Some(&indexing))
            .map_err(|e| anyhow!("resampler: {e}"))?;
        let drop = self.skip.min(produced);
        self.skip -= drop;
        out.extend_from_slice(&self.chunk_out[drop * ch..produced * ch]);
        self.out_frames += (produced - drop) as u64;
        Ok(())
    }

    /// End of input: flush the tail so the output is complete.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        let expected = (self.in_frames as f64 * self.ratio()).round() as u64;
        let start = out.len();
        let mut guard = 0;
        while self.out_frames < expected && guard < 64 {
            let valid = self.pending.len() / self.channels;
            if self.pending.len() < CHUNK * self.channels {
                self.pending.resize(CHUNK * self.channels, 0.0);
            }
            self.run_chunk(0, valid.min(CHUNK), out)?;
            self.pending.drain(..CHUNK * self.channels);
            guard += 1;
        }
        // Drop what the flush produced beyond the true end.
        let excess = self.out_frames.saturating_sub(expected) as usize;
        let keep =
            (out.len() - start) / self.channels - excess.min((out.len() - start) / self.channels);
        out.truncate(start + keep * self.channels);
        self.out_frames = expected.min(self.out_frames);
        self.pending.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_time_aligned_and_complete() {
        // A click at 0.5 s must come out at 0.5 s, and the length must scale.
        let (from, to) = (192_000u32, 96_000u32);
        let mut x = vec![0.0f32; from as usize];
        x[from as usize / 2] = 1.0;
        let mut r = StreamResampler::new(from, to, 1).unwrap();
        let mut y = Vec::new();
        for block in x.chunks(777) {
            r.push(block, &mut y).unwrap();
        }
        r.finish(&mut y).unwrap();
        assert_eq!(y.len(), to as usize);
        let peak = y
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap()
            .0;
        assert!((peak as i64 - to as i64 / 2).abs() <= 1, "peak at {peak}");
    }

    #[test]
    fn output_does_not_depend_on_how_input_is_cut() {
        let x: Vec<f32> = (0..50_000)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let run = |block: usize| {
            let mut r = StreamResampler::new(44_100, 48_000, 2).unwrap();
            let mut y = Vec::new();
            for b in x.chunks(block) {
                r.push(b, &mut y).unwrap();
            }
            r.finish(&mut y).unwrap();
            y
        };
        let whole = run(x.len());
        assert_eq!(
            whole.len(),
            2 * (25_000f64 * 48_000.0 / 44_100.0).round() as usize
        );
        assert_eq!(run(2 * 333), whole);
        assert_eq!(run(2 * 4096), whole);
    }

    #[test]
    fn keeps_the_ultrasonic_band_when_going_to_48k() {
        let (from, to) = (64_000u32, 48_000u32);
        let n = from as usize;
        let x: Vec<f32> = (0..n)
            .map(|i| 0.5 * (std::f32::consts::TAU * 21_000.0 * i as f32 / from as f32).sin())
            .collect();
        let mut r = StreamResampler::new(from, to, 1).unwrap();
        let mut y = Vec::new();
        r.push(&x, &mut y).unwrap();
        r.finish(&mut y).unwrap();
        let mid = &y[10_000..40_000];
        let rms = (mid.iter().map(|v| v * v).sum::<f32>() / mid.len() as f32).sqrt();
        assert!((rms / (0.5 / 2f32.sqrt()) - 1.0).abs() < 0.05, "rms {rms}");
    }
}
