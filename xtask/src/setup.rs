//! Prerequisites: Debian packages, rustup components and targets, cargo tools.
//! Each is checked first and installed only if missing, so a second run costs
//! a few seconds.

use std::process::Command;

use crate::sh;

/// What a command needs.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    pub packages: &'static [&'static str],
    pub targets: &'static [&'static str],
    pub components: &'static [&'static str],
    /// (binary, crate@version)
    pub tools: &'static [(&'static str, &'static str)],
}

/// Building and running the host program.
const HOST_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libasound2-dev",
    "libpulse-dev",
];

/// The firmware under `qemu-system-arm` and the C API for Cortex-M.
const FIRMWARE_PACKAGES: &[&str] = &[
    "build-essential",
    "qemu-system-arm",
    "gcc-arm-none-eabi",
    "binutils-arm-none-eabi",
    "libnewlib-arm-none-eabi",
];

/// ARM Linux cross builds run under `qemu-user`; the host program for
/// aarch64 links the arm64 ALSA and PulseAudio libraries (Debian multiarch:
/// a package named `name:arch` adds its architecture first).
const PI_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "qemu-user",
    "gcc-aarch64-linux-gnu",
    "gcc-arm-linux-gnueabihf",
    "libc6-dev-arm64-cross",
    "libc6-dev-armhf-cross",
    "libasound2-dev:arm64",
    "libpulse-dev:arm64",
];

/// Decodes the firmware's defmt logs.
const DEFMT_PRINT: (&str, &str) = ("defmt-print", "defmt-print@1.2.0");

impl Needs {
    pub const DEMO: Needs = Needs {
        packages: HOST_PACKAGES,
        targets: &[],
        components: &[],
        tools: &[],
    };

    /// `cargo xtask qemu`.
    pub const FIRMWARE: Needs = Needs {
        packages: FIRMWARE_PACKAGES,
        targets: &["thumbv7em-none-eabihf"],
        components: &["rustfmt", "clippy"],
        tools: &[DEFMT_PRINT],
    };

    /// `cargo xtask pi`.
    pub const PI: Needs = Needs {
        packages: PI_PACKAGES,
        targets: &["aarch64-unknown-linux-gnu", "armv7-unknown-linux-gnueabihf"],
        components: &[],
        tools: &[],
    };

    /// Everything `cargo xtask test` exercises.
    pub const ALL: Needs = Needs {
        packages: &[
            "build-essential",
            "pkg-config",
            "libasound2-dev",
            "libpulse-dev",
            // Real codecs and tools for the round trips and the robustness suite.
            "ffmpeg",
            "lame",
            "flac",
            "opus-tools",
            "vorbis-tools",
            "sox",
            // Software audio devices for the live end-to-end tests.
            "pulseaudio",
            "pulseaudio-utils",
            // Firmware under emulation and ARM Linux cross builds.
            "qemu-system-arm",
            "qemu-user",
            "gcc-arm-none-eabi",
            "libnewlib-arm-none-eabi",
            "gcc-aarch64-linux-gnu",
            "gcc-arm-linux-gnueabihf",
            "libc6-dev-arm64-cross",
            "libc6-dev-armhf-cross",
            "binutils-arm-none-eabi",
            "libasound2-dev:arm64",
            "libpulse-dev:arm64",
        ],
        targets: &[
            "thumbv7em-none-eabihf",
            "aarch64-unknown-linux-gnu",
            "armv7-unknown-linux-gnueabihf",
        ],
        components: &["rustfmt", "clippy"],
        tools: &[DEFMT_PRINT],
    };
}

pub fn install(needs: Needs) -> Result<(), String> {
    packages(needs.packages)?;
    rustup("component", needs.components)?;
    rustup("target", needs.targets)?;
    for &(bin, krate) in needs.tools {
        if !sh::succeeds(Command::new(bin).arg("--version")) {
            sh::step(&format!("install {krate}"), || {
                sh::cargo(&["install", "--locked", krate])
            })?;
        }
    }
    Ok(())
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn packages(wanted: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = wanted.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !sh::succeeds(Command::new("apt-get").arg("--version")) {
        return Err(format!(
            "these packages are missing and apt-get is not available: {}",
            missing.join(" ")
        ));
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| -> Result<(), String> {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        sh::run(&mut c)
    };
    sh::step(
        &format!("install Debian packages: {}", missing.join(" ")),
        || {
            for arch in foreign_architectures(&missing) {
                let mut c = if root {
                    Command::new("dpkg")
                } else {
                    let mut c = Command::new("sudo");
                    c.arg("dpkg");
                    c
                };
                sh::run(c.args(["--add-architecture", arch]))?;
            }
            apt(&["update", "-qq"])?;
            let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
            args.extend(&missing);
            apt(&args)
        },
    )
}

/// Architectures named by `package:arch` entries that dpkg does not know yet.
fn foreign_architectures<'a>(packages: &[&'a str]) -> Vec<&'a str> {
    let known = Command::new("dpkg")
        .arg("--print-foreign-architectures")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let mut archs: Vec<&str> = packages
        .iter()
        .filter_map(|p| p.split_once(':').map(|(_, arch)| arch))
        .filter(|arch| !known.lines().any(|k| k.trim() == *arch))
        .collect();
    archs.sort_unstable();
    archs.dedup();
    archs
}

fn rustup(kind: &str, wanted: &[&str]) -> Result<(), String> {
    if wanted.is_empty() {
        return Ok(());
    }
    let list = Command::new("rustup")
        .args([kind, "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup is needed ({e}); install it from https://rustup.rs"))?;
    let have = String::from_utf8_lossy(&list.stdout).to_string();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| {
            !have
                .lines()
                .any(|l| l.trim() == *w || l.starts_with(&format!("{w}-")))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    sh::step(&format!("rustup {kind} add {}", missing.join(" ")), || {
        sh::run(Command::new("rustup").args([kind, "add"]).args(&missing))
    })
}
