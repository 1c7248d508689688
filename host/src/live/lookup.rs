//! Finding devices by name, and noticing when a named one is gone.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{Device, Host, HostId};

use super::host::open_host;
use crate::cli::HostChoice;
use crate::stderr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

impl Direction {
    pub fn word(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

/// The name `--device` takes (the backend's device ID, e.g. `hw:CARD=PCH,DEV=0`
/// or a PulseAudio sink name) and the description people read.
pub fn device_names(device: &Device) -> (String, String) {
    let id = device
        .id()
        .map(|i| i.id().to_string())
        .unwrap_or_else(|_| "?".into());
    let description = device
        .description()
        .map(|d| d.name().to_string())
        .unwrap_or_else(|_| id.clone());
    (id, description)
}

/// Every device of the host in one direction.
pub fn devices(host: &Host, dir: Direction) -> Result<Vec<Device>> {
    stderr::hush(|| match dir {
        Direction::Input => host.input_devices().map(|d| d.collect()),
        Direction::Output => host.output_devices().map(|d| d.collect()),
    })
    .map_err(|e| anyhow!("cannot list {} devices: {e}", dir.word()))
}

/// The host's default device in one direction, if it has one.
pub fn default_device(host: &Host, dir: Direction) -> Option<Device> {
    stderr::hush(|| match dir {
        Direction::Input => host.default_input_device(),
        Direction::Output => host.default_output_device(),
    })
}

/// Find a device by exact name, exact description, or a unique part of
/// either (case-insensitive); `None` or `"default"` is the default device.
pub fn find_device(host: &Host, dir: Direction, name: Option<&str>) -> Result<Device> {
    let want = name.unwrap_or("default");
    if want == "default" {
        return default_device(host, dir).ok_or_else(|| {
            anyhow!(
                "no default {} device on {} (see `hushmark devices`)",
                dir.word(),
                host.id().name()
            )
        });
    }
    let all = devices(host, dir)?;
    let named: Vec<(Device, String, String)> = all
        .into_iter()
        .map(|d| {
            let (id, desc) = device_names(&d);
            (d, id, desc)
        })
        .collect();
    if let Some((d, _, _)) = named.iter().find(|(_, id, _)| id == want) {
        return Ok(d.clone());
    }
    if let Some((d, _, _)) = named.iter().find(|(_, _, desc)| desc == want) {
        return Ok(d.clone());
    }
    let lower = want.to_lowercase();
    let partial: Vec<&(Device, String, String)> = named
        .iter()
        .filter(|(_, id, desc)| {
            id.to_lowercase().contains(&lower) || desc.to_lowercase().contains(&lower)
        })
        .collect();
    match partial.len() {
        1 => Ok(partial[0].0.clone()),
        0 => {
            let names: Vec<&str> = named.iter().map(|(_, id, _)| id.as_str()).collect();
            bail!(
                "no {} device matches {want:?} on {}; available: {} (see `hushmark devices`)",
                dir.word(),
                host.id().name(),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        }
        _ => {
            let names: Vec<&str> = partial.iter().map(|(_, id, _)| id.as_str()).collect();
            bail!(
                "{want:?} matches several {} devices: {}; give the full name",
                dir.word(),
                names.join(", ")
            )
        }
    }
}

/// True if the device can still be found by `name`.
fn device_present(choice: HostChoice, dir: Direction, name: &str) -> bool {
    match open_host(choice) {
        Ok(host) => find_device(&host, dir, Some(name)).is_ok(),
        // No server at all: certainly gone.
        Err(_) => false,
    }
}

/// How often a named PulseAudio device is looked for.
const PRESENCE_CHECK: Duration = Duration::from_secs(2);

/// Notices a named device vanishing where the stream would not say so:
/// PulseAudio moves the streams of a vanished device to another device
/// instead of failing them, so there a named device is looked up by name
/// every [`PRESENCE_CHECK`]. Elsewhere the stream's error callback tells.
pub struct Presence {
    choice: HostChoice,
    dir: Direction,
    /// The name to look for; `None` when there is nothing to watch.
    name: Option<String>,
    last: Instant,
}

impl Presence {
    pub fn new(choice: HostChoice, host: HostId, dir: Direction, name: Option<&str>) -> Presence {
        let name = name.filter(|n| *n != "default" && host == HostId::PulseAudio);
        Presence {
            choice,
            dir,
            name: name.map(str::to_owned),
            last: Instant::now(),
        }
    }

    /// True once the device cannot be found any more (looked up at most
    /// every [`PRESENCE_CHECK`]).
    pub fn gone(&mut self) -> bool {
        let Some(name) = self.name.as_deref() else {
            return false;
        };
        if self.last.elapsed() < PRESENCE_CHECK {
            return false;
        }
        self.last = Instant::now();
        !device_present(self.choice, self.dir, name)
    }
}
