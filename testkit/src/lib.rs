//! hushmark's shared test harness: everything tests, vectors, benches and the
//! robustness suite need besides the engine itself.
//!
//! * Material: deterministic synthetic programme ([`synth`]: music, speech,
//!   noise, tones, sweeps, other data-over-sound signals) and WAV files
//!   ([`wav`]).
//! * What happens on the way to a monitor: impairments and models computed
//!   here ([`channel`]: noise at an in-band SNR, gain, requantisation,
//!   resampling, clock drift, rooms, a nonlinear speaker), the real codec
//!   tools ([`codec`]), and both as one value each for suites to loop over
//!   ([`treat`]).
//! * Driving dsp-core ([`harness`]): keys and IDs, configurations, marking
//!   and searching whole signals, burst schedules.
//! * Judging the result ([`score`]): reports against sent marks, per layer,
//!   through whatever a treatment did to time; splices of differently
//!   marked copies ([`splice`]): made, and judged by where each ID plays.
//! * [`par::map`]: long jobs on every core.
//!
//! Generators use only basic arithmetic and `libm`, so the same seed gives the
//! same samples on every machine: the golden test vectors depend on it.
//! Impairments that use FFTs or resamplers (rustfft, rubato) are for tests,
//! not for golden files.

pub mod channel;
pub mod codec;
pub mod harness;
pub mod par;
pub mod rng;
pub mod score;
pub mod splice;
pub mod synth;
pub mod treat;
pub mod wav;

pub use rng::Rng;
