//! Evidence for hushmark: what survives which chain, how often the detector
//! lies, what the mark costs in the audible band, and how fast it runs.
//!
//! * [`suite`]: programme × profile × treatment → bursts found, wrong IDs,
//!   corrected bits; detection rate against in-band SNR; false-alarm hours.
//!   The treatments, the scorer and the worker pool are testkit's
//!   ([`testkit::treat`], [`testkit::score`], [`testkit::par`]).
//! * [`audible`]: the residual and speaker-nonlinearity products in the
//!   audible band, and the capacity used.
//! * [`bench`](mod@bench): reads Criterion's results and turns them into times real time.
//! * [`report`] and [`plot`]: `docs/REPORT.md` and its PNG figures.
//!
//! Modules depend downwards only: `report` and `plot` read what `suite`,
//! `audible` and `bench` measured; those three use testkit and dsp-core.

pub mod audible;
pub mod bench;
pub mod machine;
pub mod plot;
pub mod programme;
pub mod real;
pub mod report;
pub mod suite;

/// Sample rate of the robustness suite (the set-top-box rate).
pub const RATE: u32 = 48_000;
