//! # hushmark DSP core
//!
//! Hides a keyed transaction ID in audio above 20 kHz and finds it again.
//! `no_std`, no allocator, no heap: every buffer lives in [`Embedder`] or
//! [`Detector`], whose sizes are fixed at build time. (Full design notes,
//! frame format and measured figures follow once the engine is complete.)

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

#[cfg(any(test, feature = "trace"))]
extern crate std;

pub mod config;
pub mod error;
pub mod frame;
pub mod layout;
pub mod sample;

mod burst;
mod detector;
mod embedder;
mod fec;
mod key;
mod math;
mod modulator;

pub use config::{
    Band, ChannelMask, DetectConfig, EmbedConfig, Id, Key, Phy, Profile, Schedule,
    DEFAULT_LEVEL_DBFS,
};
pub use detector::{
    Detection, Detector, DetectorStats, DEFAULT_SYNC_THRESHOLD, MAX_SYNC_THRESHOLD,
    MIN_SYNC_THRESHOLD,
};
pub use embedder::Embedder;
pub use error::{ConfigError, ProcessError};
pub use layout::FrameClass;
pub use sample::Sample;
