//! What the mark costs: its residual in the audible band, what a nonlinear
//! speaker (testkit's model) makes of it, and the payload it carries per
//! second.

use dsp_core::{FrameClass, Phy, Profile, DEFAULT_LEVEL_DBFS};
use testkit::channel::{band_power, mark_power, residual, speaker};
use testkit::harness::{contract_id, embed, embed_config};
use testkit::synth::{self, Kind};

use crate::RATE;

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

pub fn measure(profile: Profile, seconds: usize) -> SideEffects {
    let phy = Phy::new(profile, RATE).expect("48 kHz fits every profile");
    let n = RATE as usize * seconds;
    let cfg = embed_config(profile, RATE, 1, contract_id());
    let music = synth::generate(Kind::Music, RATE, n, 5);
    let mut marked = music.clone();
    embed(&cfg, &mut marked);
    let mark = residual(&marked, &music);
    let edge = phy.band.low_hz as f32 - 1000.0;
    let total = band_power(&mark, RATE, 0.0, RATE as f32 / 2.0);
    let audible = band_power(&mark, RATE, 0.0, edge);

    let mut alone = vec![0.0f32; n];
    embed(&cfg, &mut alone);
    let speaker_alone = band_power(&speaker(&alone, RATE), RATE, 20.0, edge);
    let (sm, so) = (speaker(&marked, RATE), speaker(&music, RATE));
    let speaker_music = band_power(&residual(&sm, &so), RATE, 20.0, edge);
    // The music's own products: distorted minus clean, in the audible band.
    let own_products = band_power(&residual(&so, &music), RATE, 20.0, edge);
    SideEffects {
        profile,
        mark_dbfs: db(mark_power(DEFAULT_LEVEL_DBFS)),
        residual_dbfs: db(audible),
        residual_rel_db: db(audible) - db(total),
        speaker_alone_dbfs: db(speaker_alone),
        speaker_music_dbfs: db(speaker_music),
        speaker_music_rel_db: db(speaker_music) - db(own_products),
        burst_ms: phy.burst_ms(FrameClass::Long),
        payload_bits: 8 * contract_id().len() as u32 + 16,
    }
}
