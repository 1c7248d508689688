//! Evidence for hushmark: what survives which chain, how often the detector
//! lies, what the mark costs in the audible band, and how fast it runs.
//!
//! * [`treat`]: the chains a mark meets, each with the real tool people use
//!   (ffmpeg's AAC, lame, opusenc, oggenc, flac, sox) or a model where no
//!   tool applies (clock drift, reverb, a nonlinear speaker).
//! * [`suite`]: programme × profile × treatment → bursts found, wrong IDs,
//!   corrected bits; detection rate against in-band SNR; false-alarm hours.
//! * [`audible`]: the residual and speaker-nonlinearity products in the
//!   audible band, and the capacity used.
//! * [`bench`]: reads Criterion's results and turns them into times real time.
//! * [`report`] and [`plot`]: `docs/REPORT.md` and its PNG figures.

pub mod audible;
pub mod bench;
pub mod machine;
pub mod plot;
pub mod report;
pub mod suite;
pub mod treat;

/// Sample rate of the robustness suite (the set-top-box rate).
pub const RATE: u32 = 48_000;
/// The key used throughout (a test key, never for real content).
pub const KEY: dsp_core::Key = dsp_core::Key::from_bytes([0x5E; 16]);
/// Another key, for wrong-key material.
pub const OTHER_KEY: dsp_core::Key = dsp_core::Key::from_bytes([0xA7; 16]);

/// The 20-byte ID the suite embeds.
pub fn contract_id() -> dsp_core::Id {
    dsp_core::Id::new(&[
        0x5a, 0xae, 0xb6, 0x05, 0x3f, 0x3e, 0x94, 0xc9, 0xb9, 0xa0, 0x9f, 0x33, 0x66, 0x94, 0x35,
        0xe7, 0xef, 0x1b, 0xea, 0xed,
    ])
    .expect("20 bytes")
}
