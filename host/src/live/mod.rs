//! Live audio through cpal: finding devices, choosing their format,
//! capturing with reconnection.
//!
//! Real-time rules: audio callbacks only convert samples and move them
//! through a lock-free single-producer ring (`rtrb`); when the ring is full
//! or empty they count the loss and carry on. Decoding, detection and
//! printing happen on ordinary threads. A host (ALSA, PulseAudio) is opened
//! afresh for every attempt, so a restarted sound server is picked up.
//!
//! Device loss: the error callback records the reason; the reader notices,
//! drops the stream, tells the user and reopens the device every second
//! until it is back or the user stops. A device that delivers nothing for
//! [`STALL`] is treated as lost too.

mod capture;
mod format;
mod host;
mod lookup;
mod reconnect;
mod stream;

pub mod devices;
pub mod listen;
pub mod passthrough;
pub mod play;

pub use reconnect::{run_input, InputEvent};
