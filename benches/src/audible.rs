//! What the mark costs: its residual in the audible band, what a nonlinear
//! speaker makes of it, and the payload it carries per second.

use dsp_core::{FrameClass, Phy, Profile};
use testkit::channel::{band_power, resample};
use testkit::synth::{self, Kind};

use crate::suite::{embed, embed_config};
use crate::{contract_id, RATE};

/// Per-profile side effects, all at 48 kHz over music.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SideEffects {
    pub profile: Profile,
    /// Power of the mark itself (during bursts), dBFS.
    pub mark_dbfs: f64,
    /// Residual (output − input) below band edge − 1 kHz, dBFS over the run.
    pub residual_dbfs: f64,
    /// The same relative to the residual's total power.
    pub residual_rel_db: f64,
    /// Products of the mark on silence through the speaker model, below
    /// band edge − 1 kHz (where the residual is measured too), dBFS.
    pub speaker_alone_dbfs: f64,
    /// The change the mark makes to music through the speaker model, same range, dBFS.
    pub speaker_music_dbfs: f64,
    /// The same change relative to the music's own distortion products.
    pub speaker_music_rel_db: f64,
    pub burst_ms: u32,
    /// Payload bits (ID + counter) per burst.
    pub payload_bits: u32,
}

fn db(p: f64) -> f64 {
    10.0 * p.max(1e-30).log10()
}

/// y = x + 0.1x² + 0.05x³ at 4× oversampling: a small speaker driven hard.
pub fn speaker(x: &[f32]) -> Vec<f32> {
    let up = resample(x, RATE as f64, 4.0 * RATE as f64, Some(0.95));
    let bent: Vec<f32> = up
        .iter()
        .map(|&v| v + 0.1 * v * v + 0.05 * v * v * v)
        .collect();
    resample(&bent, 4.0 * RATE as f64, RATE as f64, Some(0.95))
}

pub fn measure(profile: Profile, seconds: usize) -> SideEffects {
    let phy = Phy::new(profile, RATE).expect("48 kHz fits every profile");
    let n = RATE as usize * seconds;
    let cfg = embed_config(profile, contract_id());
    let music = synth::generate(Kind::Music, RATE, n, 5);
    let mut marked = music.clone();
    embed(&cfg, &mut marked);
    let residual: Vec<f32> = marked
        .iter()
        .zip(&music)
        .map(|(&a, &b)| (a as f64 - b as f64) as f32)
        .collect();
    let edge = phy.band.low_hz as f32 - 1000.0;
    let total = band_power(&residual, RATE, 0.0, RATE as f32 / 2.0);
    let audible = band_power(&residual, RATE, 0.0, edge);

    let mut alone = vec![0.0f32; n];
    embed(&cfg, &mut alone);
    let speaker_alone = band_power(&speaker(&alone), RATE, 20.0, edge);
    let (sm, so) = (speaker(&marked), speaker(&music));
    let change: Vec<f32> = sm.iter().zip(&so).map(|(a, b)| a - b).collect();
    let speaker_music = band_power(&change, RATE, 20.0, edge);
    // The music's own products: distorted minus clean, in the audible band.
    let own: Vec<f32> = so.iter().zip(&music).map(|(a, b)| a - b).collect();
    let own_products = band_power(&own, RATE, 20.0, edge);
    SideEffects {
        profile,
        mark_dbfs: db(testkit::channel::mark_power(dsp_core::DEFAULT_LEVEL_DBFS)),
        residual_dbfs: db(audible),
        residual_rel_db: db(audible) - db(total),
        speaker_alone_dbfs: db(speaker_alone),
        speaker_music_dbfs: db(speaker_music),
        speaker_music_rel_db: db(speaker_music) - db(own_products),
        burst_ms: phy.burst_ms(FrameClass::Long),
        payload_bits: 8 * contract_id().len() as u32 + 16,
    }
}
