//! Treatments: what happens to marked programme between a set-top box and a
//! monitor, as one value each, so a suite can loop over them. Codecs and
//! resampling run the real tools ([`codec`]); clock drift, noise, reverb
//! and a nonlinear speaker are models ([`channel`]).
//!
//! Independent of the layer under test: the only thing a treatment needs to
//! know of the mark is where it sits and how strong it is ([`InBand`]), for
//! noise at an in-band SNR.

use crate::channel::{self, InBand, Noise};
use crate::codec;
use crate::score::TimeMap;
use crate::synth::{self, Kind};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Treatment {
    None,
    Flac,
    Aac(u32),
    Mp3(u32),
    /// MPEG-1 Layer II by ffmpeg (broadcast contribution, DAB).
    Mp2(u32),
    /// Dolby Digital by ffmpeg.
    Ac3(u32),
    /// Dolby Digital Plus by ffmpeg.
    Eac3(u32),
    Opus(u32),
    Vorbis(u32),
    /// To this rate and back with sox.
    Resample(u32),
    /// Sample-clock error in ppm.
    Drift(f64),
    /// sox `speed` by this many percent (pitch and tempo together).
    Speed(f64),
    GainDb(f32),
    /// Noise at this SNR in the mark's band.
    WhiteNoise(f32),
    PinkNoise(f32),
    /// Pink noise this many dB below the programme's own power (the
    /// reference for a layer that lives inside the programme).
    ProgrammeNoise(f32),
    /// The programme ducked by 10 dB under a voice.
    VoiceOver,
    /// 200 ms spliced out every 3.1 s.
    Cuts,
    /// ffmpeg's EBU R128 loudness normaliser (−16 LUFS) and a limiter.
    Loudnorm,
    /// Room impulse response with this RT60 in seconds.
    Reverb(f32),
    /// 2nd/3rd-order speaker nonlinearity applied at 4× oversampling.
    Speaker,
    /// Loudspeaker to microphone: 18 kHz roll-off, a room of RT60 0.4 s
    /// and DRR 0 dB, white microphone noise 40 dB below the programme.
    Room,
}

impl Treatment {
    /// Every treatment, in report order.
    pub const ALL: [Treatment; 25] = [
        Treatment::None,
        Treatment::Flac,
        Treatment::Aac(128),
        Treatment::Aac(256),
        Treatment::Aac(320),
        Treatment::Mp3(128),
        Treatment::Mp3(320),
        Treatment::Opus(128),
        Treatment::Vorbis(256),
        Treatment::Resample(44_100),
        Treatment::Drift(100.0),
        Treatment::Drift(-100.0),
        Treatment::Drift(1000.0),
        Treatment::Drift(-1000.0),
        Treatment::GainDb(-20.0),
        Treatment::GainDb(6.0),
        Treatment::WhiteNoise(0.0),
        Treatment::WhiteNoise(-3.0),
        Treatment::PinkNoise(-3.0),
        Treatment::VoiceOver,
        Treatment::Cuts,
        Treatment::Loudnorm,
        Treatment::Reverb(0.3),
        Treatment::Reverb(0.8),
        Treatment::Speaker,
    ];

    /// What it is, naming the tool where one runs.
    pub fn name(&self) -> String {
        match *self {
            Treatment::None => "none".into(),
            Treatment::Flac => "FLAC (flac)".into(),
            Treatment::Aac(k) => format!("AAC {k}k (ffmpeg)"),
            Treatment::Mp3(k) => format!("MP3 {k}k (lame)"),
            Treatment::Mp2(k) => format!("MP2 {k}k (ffmpeg)"),
            Treatment::Ac3(k) => format!("AC-3 {k}k (ffmpeg)"),
            Treatment::Eac3(k) => format!("E-AC-3 {k}k (ffmpeg)"),
            Treatment::Opus(k) => format!("Opus {k}k (opusenc)"),
            Treatment::Vorbis(k) => format!("Vorbis {k}k (oggenc)"),
            Treatment::Resample(via) => format!("via {}k and back (sox)", via as f32 / 1000.0),
            Treatment::Drift(ppm) => format!("clock {ppm:+} ppm"),
            Treatment::Speed(pc) => format!("speed {pc:+} % (sox)"),
            Treatment::GainDb(db) => format!("gain {db:+} dB"),
            Treatment::WhiteNoise(snr) => format!("white noise {snr} dB SNR"),
            Treatment::PinkNoise(snr) => format!("pink noise {snr} dB SNR"),
            Treatment::ProgrammeNoise(db) => format!("pink noise {db} dB below the programme"),
            Treatment::VoiceOver => "voice-over, programme −10 dB".into(),
            Treatment::Cuts => "200 ms cuts every 3.1 s".into(),
            Treatment::Loudnorm => "loudnorm −16 LUFS + limiter (ffmpeg)".into(),
            Treatment::Reverb(rt) => format!("reverb RT60 {rt} s"),
            Treatment::Speaker => "speaker nonlinearity (4× oversampled)".into(),
            Treatment::Room => "room: 18 kHz speaker, RT60 0.4 s, DRR 0 dB, mic noise".into(),
        }
    }

    /// Apply to mono `x` at `rate`: the treated signal at the same rate, and
    /// where each input sample went. `band` is the mark's (for noise),
    /// `seed` varies noise and rooms.
    pub fn apply(
        &self,
        x: &[f32],
        rate: u32,
        band: &InBand,
        seed: u64,
    ) -> Result<(Vec<f32>, TimeMap), String> {
        let same = |y: Vec<f32>| Ok((y, TimeMap::SAME));
        match *self {
            Treatment::None => same(x.to_vec()),
            Treatment::Flac => same(codec::flac(x, rate)?),
            Treatment::Aac(k) => same(codec::aac(x, rate, k)?),
            Treatment::Mp3(k) => same(codec::mp3(x, rate, k)?),
            Treatment::Mp2(k) => same(codec::ffmpeg_codec(x, rate, "mp2", "mp2", k)?),
            Treatment::Ac3(k) => same(codec::ffmpeg_codec(x, rate, "ac3", "ac3", k)?),
            Treatment::Eac3(k) => same(codec::ffmpeg_codec(x, rate, "eac3", "eac3", k)?),
            Treatment::Opus(k) => same(codec::opus(x, rate, k)?),
            Treatment::Vorbis(k) => same(codec::vorbis(x, rate, k)?),
            Treatment::Resample(via) => same(codec::resample_round_trip(x, rate, via)?),
            Treatment::Drift(ppm) => Ok((
                channel::clock_drift(x, ppm),
                TimeMap::Scale(1.0 / (1.0 + ppm * 1e-6)),
            )),
            Treatment::Speed(pc) => {
                let f = 1.0 + pc / 100.0;
                Ok((codec::speed(x, rate, f)?, TimeMap::Scale(1.0 / f)))
            }
            Treatment::GainDb(db) => {
                let mut y = x.to_vec();
                channel::gain_db(&mut y, db);
                same(y)
            }
            Treatment::WhiteNoise(snr) | Treatment::PinkNoise(snr) => {
                let noise = if matches!(self, Treatment::WhiteNoise(_)) {
                    Noise::White
                } else {
                    Noise::Pink
                };
                let mut y = x.to_vec();
                channel::add_noise_at_snr(&mut y, rate, band, snr as f64, noise, seed);
                same(y)
            }
            Treatment::ProgrammeNoise(db) => {
                let mut y = x.to_vec();
                add_below(&mut y, &synth::pink_noise(x.len(), 0.1, seed), db);
                same(y)
            }
            Treatment::VoiceOver => {
                let voice = synth::generate(Kind::Speech, rate, x.len(), seed ^ 0x70CE);
                same(
                    x.iter()
                        .zip(&voice)
                        .map(|(p, v)| 0.316 * p + 0.9 * v)
                        .collect(),
                )
            }
            Treatment::Cuts => {
                let rate = rate as u64;
                let (cut, every, first) = (rate / 5, rate * 31 / 10, rate * 13 / 10);
                let cuts: Vec<(u64, u64)> = (0..)
                    .map(|k| first + k * every)
                    .take_while(|&s| s + cut < x.len() as u64)
                    .map(|s| (s, cut))
                    .collect();
                let mut y = Vec::with_capacity(x.len());
                let mut at = 0usize;
                for &(s, len) in &cuts {
                    y.extend_from_slice(&x[at..s as usize]);
                    at = (s + len) as usize;
                }
                y.extend_from_slice(&x[at..]);
                Ok((y, TimeMap::Cuts(cuts)))
            }
            Treatment::Loudnorm => same(codec::loudnorm(x, rate)?),
            Treatment::Reverb(rt60) => same(channel::convolve(
                x,
                &channel::room_impulse(rt60, rate, seed),
            )),
            Treatment::Speaker => same(channel::speaker(x, rate)),
            Treatment::Room => {
                let played = channel::low_passed(x, rate, 18_000.0);
                let mut y = channel::convolve(&played, &channel::room_impulse(0.4, rate, seed));
                add_below(
                    &mut y,
                    &synth::white_noise(x.len(), 0.1, seed ^ 0x313C),
                    40.0,
                );
                same(y)
            }
        }
    }
}

/// Add `noise`, scaled to `db` below `x`'s power.
fn add_below(x: &mut [f32], noise: &[f32], db: f32) {
    let power = |v: &[f32]| v.iter().map(|&s| s as f64 * s as f64).sum::<f64>();
    let g = (power(x) / power(noise).max(1e-30) / 10f64.powf(db as f64 / 10.0)).sqrt() as f32;
    x.iter_mut().zip(noise).for_each(|(v, n)| *v += g * n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_codecs_and_speed_keep_the_programme_and_its_time() {
        let rate = 48_000;
        let x = synth::generate(Kind::Music, rate, rate as usize * 2, 3);
        let band = InBand {
            low_hz: 20_000.0,
            high_hz: 21_600.0,
            mark_power: 1e-3,
        };
        let power = |v: &[f32]| v.iter().map(|s| s * s).sum::<f32>() / v.len() as f32;
        let cases = [
            Treatment::Aac(256),
            Treatment::Mp2(256),
            Treatment::Ac3(448),
            Treatment::Eac3(256),
            Treatment::Speed(2.0),
            Treatment::ProgrammeNoise(10.0),
            Treatment::Room,
        ];
        for t in cases {
            let (y, map) = t.apply(&x, rate, &band, 1).unwrap();
            let want = map.map(x.len() as u64).unwrap();
            // Codecs pad to whole frames; never by a tenth of a second.
            assert!(
                (y.len() as f64 - want).abs() < 4800.0,
                "{}: {}",
                t.name(),
                y.len()
            );
            let db = 10.0 * (power(&y) / power(&x)).log10();
            // ffmpeg's `-ac 1` sums the two identical channels at −3 dB
            // each: coded chains come back 3 dB louder.
            let gain = match t {
                Treatment::Aac(_) | Treatment::Mp2(_) | Treatment::Ac3(_) | Treatment::Eac3(_) => {
                    3.0
                }
                _ => 0.0,
            };
            assert!((db - gain).abs() < 1.0, "{}: {db:.1} dB", t.name());
        }
    }
}
