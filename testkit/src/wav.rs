//! WAV files for test vectors (hound).

use std::path::Path;

/// Write interleaved `i16` samples.
pub fn write_i16(path: &Path, samples: &[i16], rate: u32, channels: u16) -> hound::Result<()> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for &s in samples {
        w.write_sample(s)?;
    }
    w.finalize()
}

/// Read a 16-bit WAV: samples, rate, channels.
pub fn read_i16(path: &Path) -> hound::Result<(Vec<i16>, u32, u16)> {
    let mut r = hound::WavReader::open(path)?;
    let spec = r.spec();
    if spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int {
        return Err(hound::Error::Unsupported);
    }
    let samples = r.samples::<i16>().collect::<Result<Vec<_>, _>>()?;
    Ok((samples, spec.sample_rate, spec.channels))
}
