//! Live audio through cpal: the `listen`, `play`, `passthrough` and
//! `devices` commands, and what they share.
//!
//! Top down, one file per job:
//!
//! * [`host`]: the audio system the user chose (ALSA, PulseAudio/PipeWire),
//!   opened afresh for every attempt, so a restarted sound server is
//!   picked up.
//! * [`lookup`]: devices by name, description or a unique part of either;
//!   [`lookup::Presence`] notices a named PulseAudio device vanishing (the
//!   server would quietly move its streams elsewhere).
//! * [`format`](mod@format): rate, channels and sample format to open a device with,
//!   best first; channel mapping between devices and files.
//! * [`stream`]: cpal streams that speak interleaved `f32` whatever the
//!   device's sample type, and their health (xruns, loss).
//! * [`capture`]: an input device as a ring of whole frames.
//! * [`reconnect`]: capture across device loss, as events
//!   ([`InputEvent`]) for `listen` and `monitor`.
//!
//! Real-time rules: audio callbacks only convert samples and move them
//! through a lock-free single-producer ring (`rtrb`); when the ring is full
//! or empty they count the loss and carry on. Decoding, detection and
//! printing happen on ordinary threads. Probing devices is chatty on stderr
//! (alsa-lib, the JACK plugin): it runs under [`crate::stderr::hush`].
//!
//! Device loss: the error callback records the reason (or the device
//! vanishes by name, or delivers nothing for [`reconnect::STALL`]); the
//! reader notices, drops the stream, tells the user and reopens the device
//! every second until it is back or the user stops.

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
