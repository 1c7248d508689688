//! The audio system (cpal host) the user chose.

use anyhow::{anyhow, Result};
use cpal::{Host, HostId};

use crate::cli::HostChoice;

/// Open the audio system the user chose.
pub fn open_host(choice: HostChoice) -> Result<Host> {
    match choice {
        HostChoice::Auto => Ok(cpal::default_host()),
        HostChoice::Alsa => open_id(HostId::Alsa),
        HostChoice::Pulseaudio => open_id(HostId::PulseAudio),
    }
}

/// Open one audio system, saying what it needs when it cannot be opened.
pub fn open_id(id: HostId) -> Result<Host> {
    cpal::host_from_id(id).map_err(|e| match id {
        HostId::PulseAudio => {
            anyhow!("PulseAudio: {e} (is a PulseAudio or PipeWire server running for this user?)")
        }
        _ => anyhow!("{}: {e}", id.name()),
    })
}

/// The audio systems `choice` names: `auto` is every one available here.
pub fn host_ids(choice: HostChoice) -> Vec<HostId> {
    match choice {
        HostChoice::Auto => cpal::available_hosts(),
        HostChoice::Alsa => vec![HostId::Alsa],
        HostChoice::Pulseaudio => vec![HostId::PulseAudio],
    }
}
