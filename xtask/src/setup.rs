//! Prerequisites: Debian packages, rustup components and targets, cargo tools.
//! Each is checked first and installed only if missing, so a second run costs
//! a few seconds.

use std::process::Command;

use crate::sh;

/// What a command needs.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    packages: &'static [&'static str],
    targets: &'static [&'static str],
    components: &'static [&'static str],
    /// (binary, crate@version)
    tools: &'static [(&'static str, &'static str)],
}

/// Decodes the firmware's defmt logs.
const DEFMT_PRINT: (&str, &str) = ("defmt-print", "defmt-print@1.2.0");
/// Builds the Debian packages.
const CARGO_DEB: (&str, &str) = ("cargo-deb", "cargo-deb");

const NOTHING: Needs = Needs {
    packages: &[],
    targets: &[],
    components: &[],
    tools: &[],
};

impl Needs {
    /// Building and running the host program (`cargo xtask demo`).
    pub const DEMO: Needs = Needs {
        packages: &[
            "build-essential",
            "pkg-config",
            "libasound2-dev",
            "libpulse-dev",
        ],
        ..NOTHING
    };

    /// What `cargo xtask test` adds: format and lint; real codecs and tools
    /// for the round trips and the robustness suite; software audio devices
    /// for the live tests.
    const CHECKS: Needs = Needs {
        packages: &[
            "ffmpeg",
            "lame",
            "flac",
            "opus-tools",
            "vorbis-tools",
            "sox",
            "pulseaudio",
            "pulseaudio-utils",
            // The fleet tests: a broker, an HTTP server for streams, a CA
            // and certificates made at test time for the TLS broker.
            "nats-server",
            "python3",
            "openssl",
            // Real programme: Debian content packages, ViSQOL in a venv.
            "apt",
            "dpkg",
            "python3-venv",
        ],
        components: &["rustfmt", "clippy"],
        ..NOTHING
    };

    /// `cargo xtask package`: Debian packages (cargo-deb) for amd64, arm64
    /// and armhf, the cross libraries they link, and `systemd-analyze`
    /// for checking the unit.
    pub const PACKAGE: Needs = Needs {
        packages: &[
            "build-essential",
            "pkg-config",
            "libasound2-dev",
            "libpulse-dev",
            "gcc-aarch64-linux-gnu",
            "gcc-arm-linux-gnueabihf",
            "libc6-dev-arm64-cross",
            "libc6-dev-armhf-cross",
            "libasound2-dev:arm64",
            "libpulse-dev:arm64",
            "libasound2-dev:armhf",
            "libpulse-dev:armhf",
            "systemd",
            "adduser",
        ],
        targets: &["aarch64-unknown-linux-gnu", "armv7-unknown-linux-gnueabihf"],
        tools: &[CARGO_DEB],
        ..NOTHING
    };

    /// `cargo xtask qemu`: the firmware under `qemu-system-arm` and the C
    /// API for Cortex-M.
    pub const FIRMWARE: Needs = Needs {
        packages: &[
            "build-essential",
            "qemu-system-arm",
            "gcc-arm-none-eabi",
            "binutils-arm-none-eabi",
            "libnewlib-arm-none-eabi",
        ],
        targets: &["thumbv7em-none-eabihf"],
        components: &["rustfmt", "clippy"],
        tools: &[DEFMT_PRINT],
    };

    /// `cargo xtask pi`: ARM Linux cross builds run under `qemu-user`; the
    /// host program for aarch64 links the arm64 ALSA and PulseAudio
    /// libraries (Debian multiarch: a package named `name:arch` adds its
    /// architecture first).
    pub const PI: Needs = Needs {
        packages: &[
            "build-essential",
            "pkg-config",
            "qemu-user",
            "gcc-aarch64-linux-gnu",
            "gcc-arm-linux-gnueabihf",
            "libc6-dev-arm64-cross",
            "libc6-dev-armhf-cross",
            "libasound2-dev:arm64",
            "libpulse-dev:arm64",
        ],
        targets: &["aarch64-unknown-linux-gnu", "armv7-unknown-linux-gnueabihf"],
        ..NOTHING
    };
}

/// What `cargo xtask test` adds for the amd64 package check.
pub const PACKAGE_CHECK: Needs = Needs {
    packages: &["systemd", "adduser"],
    tools: &[CARGO_DEB],
    ..NOTHING
};

/// Everything `cargo xtask test` exercises.
pub const ALL: &[Needs] = &[
    Needs::DEMO,
    Needs::CHECKS,
    Needs::FIRMWARE,
    Needs::PI,
    PACKAGE_CHECK,
];

/// Install what any of `needs` lists and is missing.
pub fn install(needs: &[Needs]) -> Result<(), String> {
    let all = |f: fn(&Needs) -> &'static [&'static str]| {
        let mut v: Vec<&str> = needs.iter().flat_map(|n| f(n).iter().copied()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    packages(&all(|n| n.packages))?;
    rustup("component", &all(|n| n.components))?;
    rustup("target", &all(|n| n.targets))?;
    let mut tools: Vec<_> = needs.iter().flat_map(|n| n.tools.iter().copied()).collect();
    tools.sort_unstable();
    tools.dedup();
    for (bin, krate) in tools {
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
    let apt = |args: &[&str]| -> Result<(), String> {
        let mut c = as_root("apt-get");
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        sh::run(&mut c)
    };
    sh::step(
        &format!("install Debian packages: {}", missing.join(" ")),
        || {
            for arch in foreign_architectures(&missing) {
                sh::run(as_root("dpkg").args(["--add-architecture", arch]))?;
            }
            apt(&["update", "-qq"])?;
            let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
            args.extend(&missing);
            apt(&args)
        },
    )
}

/// `program`, through sudo unless we are root.
fn as_root(program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if root {
        Command::new(program)
    } else {
        let mut c = Command::new("sudo");
        c.arg(program);
        c
    }
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
