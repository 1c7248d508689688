//! Test material for hushmark: deterministic synthetic programme (music-,
//! speech-like, noise, tones, sweeps, other data-over-sound signals) and the
//! channel impairments marks must survive (noise at a set in-band SNR, gain,
//! requantisation, resampling, clock drift).
//!
//! Generators use only basic arithmetic and `libm`, so the same seed gives the
//! same samples on every machine: the golden test vectors depend on it.
//! Impairments that use FFTs or resamplers (rustfft, rubato) are for tests,
//! not for golden files.

pub mod channel;
pub mod rng;
pub mod synth;
pub mod wav;

pub use rng::Rng;
