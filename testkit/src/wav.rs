//! WAV files for test vectors (hound).

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
}
