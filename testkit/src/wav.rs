//! WAV files (hound): 16-bit for the golden test vectors, 24-bit and float
//! for handing audio to and from the external codec tools.

use std::io::Cursor;
use std::path::Path;

/// Interleaved 16-bit samples as a complete WAV file.
pub fn i16_to_bytes(samples: &[i16], rate: u32, channels: u16) -> hound::Result<Vec<u8>> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cursor, spec)?;
        let mut w16 = w.get_i16_writer(samples.len() as u32);
        for &s in samples {
            w16.write_sample(s);
        }
        w16.flush()?;
        w.finalize()?;
    }
    Ok(cursor.into_inner())
}

/// Read a 16-bit WAV: interleaved samples, rate, channels.
pub fn read_i16(path: &Path) -> hound::Result<(Vec<i16>, u32, u16)> {
    let mut r = hound::WavReader::open(path)?;
    let spec = r.spec();
    if spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int {
        return Err(hound::Error::Unsupported);
    }
    let samples = r.samples::<i16>().collect::<Result<Vec<_>, _>>()?;
    Ok((samples, spec.sample_rate, spec.channels))
}

/// Mono `x` as a 24-bit WAV with `channels` identical channels (clipped at
/// full scale).
pub fn write_24(path: &Path, x: &[f32], rate: u32, channels: u16) -> hound::Result<()> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for &v in x {
        let sample = (v.clamp(-1.0, 1.0) * 8_388_607.0).round() as i32;
        for _ in 0..channels {
            w.write_sample(sample)?;
        }
    }
    w.finalize()
}

/// The first channel of a WAV of any integer or float format, in ±1.
pub fn read_mono(path: &Path) -> hound::Result<Vec<f32>> {
    let mut r = hound::WavReader::open(path)?;
    let spec = r.spec();
    let all: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().collect::<Result<_, _>>()?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()?
        }
    };
    Ok(all
        .chunks(spec.channels as usize)
        .map(|frame| frame[0])
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_bytes() {
        let x: Vec<i16> = (0..1000)
            .map(|i| (i * 37 % 65_536 - 32_768) as i16)
            .collect();
        let bytes = i16_to_bytes(&x, 48_000, 2).unwrap();
        let dir = std::env::temp_dir().join(format!("testkit-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.wav");
        std::fs::write(&path, &bytes).unwrap();
        let (y, rate, ch) = read_i16(&path).unwrap();
        assert_eq!((y, rate, ch), (x, 48_000, 2));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn mono_through_24_bit_stereo_and_back() {
        let dir = std::env::temp_dir().join(format!("testkit-wav24-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("b.wav");
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin()).collect();
        write_24(&path, &x, 44_100, 2).unwrap();
        let y = read_mono(&path).unwrap();
        assert_eq!(y.len(), x.len());
        assert!(x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-6));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
