//! The audio system (cpal host) the user chose.

use anyhow::{anyhow, Result};
use cpal::{Host, HostId};

use crate::cli::HostChoice;

/// Open the audio system the user chose.
pub fn open_host(choice: HostChoice) -> Result<Host> {
    match choice {
        HostChoice::Auto => Ok(cpal::default_host()),
        HostChoice::Alsa => cpal::host_from_id(HostId::Alsa).map_err(|e| anyhow!("ALSA: {e}")),
        HostChoice::Pulseaudio => cpal::host_from_id(HostId::PulseAudio).map_err(|e| {
            anyhow!("PulseAudio: {e} (is a PulseAudio or PipeWire server running for this user?)")
        }),
    }
}
