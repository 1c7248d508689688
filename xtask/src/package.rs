//! `cargo xtask package`: Debian packages of `hushmark` for amd64, arm64
//! and armhf (cargo-deb), each with `hushmark-monitor@.service`, which runs
//! `hushmark monitor --config /etc/hushmark/SITE.toml`. `cargo xtask test`
//! builds the amd64 one, installs it (`dpkg -i`, as root; else into a
//! temporary root with `dpkg -x`), runs the installed `hushmark --version`
//! and checks the unit with `systemd-analyze verify`. Also
//! `cargo xtask fleet-bench`: the many-streams table of docs/REPORT.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::sh;

/// (Rust target, C cross compiler, multiarch directory).
type Cross = (&'static str, &'static str, &'static str);

/// (Debian architecture, cross toolchain; None: native).
const ARCHES: [(&str, Option<Cross>); 3] = [
    ("amd64", None),
    (
        "arm64",
        Some((
            "aarch64-unknown-linux-gnu",
            "aarch64-linux-gnu-gcc",
            "aarch64-linux-gnu",
        )),
    ),
    (
        "armhf",
        Some((
            "armv7-unknown-linux-gnueabihf",
            "arm-linux-gnueabihf-gcc",
            "arm-linux-gnueabihf",
        )),
    ),
];

/// Build one package; returns the .deb's path.
fn build(arch: &str, cross: Option<Cross>) -> Result<PathBuf, String> {
    let out = sh::target_dir(&sh::root()).join("debian");
    let out_s = out.to_string_lossy().to_string();
    let mut args = vec!["deb", "-p", "hushmark", "--output", &out_s];
    let mut env: Vec<(String, String)> = Vec::new();
    if let Some((triple, gcc, multiarch)) = cross {
        args.extend(["--target", triple]);
        let key = triple.replace('-', "_");
        env.extend([
            (
                format!("CARGO_TARGET_{}_LINKER", key.to_uppercase()),
                gcc.into(),
            ),
            (format!("CC_{key}"), gcc.into()),
            ("PKG_CONFIG_ALLOW_CROSS".into(), "1".into()),
            (
                format!("PKG_CONFIG_LIBDIR_{key}"),
                format!("/usr/lib/{multiarch}/pkgconfig:/usr/share/pkgconfig"),
            ),
        ]);
    }
    sh::step(&format!("Debian package for {arch}"), || {
        sh::cargo_env(&args, &env)
    })?;
    let version = env!("CARGO_PKG_VERSION");
    let deb = out.join(format!("hushmark_{version}-1_{arch}.deb"));
    if deb.exists() {
        Ok(deb)
    } else {
        // cargo-deb's revision default changed over versions.
        let alt = out.join(format!("hushmark_{version}_{arch}.deb"));
        alt.exists()
            .then_some(alt)
            .ok_or_else(|| format!("cargo deb wrote no package for {arch} in {}", out.display()))
    }
}

pub fn build_all() -> Result<(), String> {
    for (arch, cross) in ARCHES {
        let deb = build(arch, cross)?;
        println!("{arch}: {}", deb.display());
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Build, install and check the amd64 package.
pub fn check_amd64() -> Result<(), String> {
    let deb = build("amd64", None)?;
    sh::step("install the amd64 package and check it", || {
        let (exe, unit) = if is_root() {
            sh::run(Command::new("dpkg").arg("-i").arg(&deb))?;
            (
                PathBuf::from("/usr/bin/hushmark"),
                PathBuf::from("/lib/systemd/system/hushmark-monitor@.service"),
            )
        } else {
            let root = sh::target_dir(&sh::root()).join("debian/root");
            let _ = std::fs::remove_dir_all(&root);
            sh::run(Command::new("dpkg").arg("-x").arg(&deb).arg(&root))?;
            (
                root.join("usr/bin/hushmark"),
                root.join("lib/systemd/system/hushmark-monitor@.service"),
            )
        };
        sh::run(Command::new(&exe).arg("--version"))?;
        verify_unit(&unit, &exe)
    })
}

/// `systemd-analyze verify` on an instance of the template unit, with the
/// installed binary (a copy pointed at `exe` when not installed for real).
fn verify_unit(unit: &Path, exe: &Path) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("hushmark-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(unit).map_err(|e| format!("{}: {e}", unit.display()))?;
    let text = text.replace("/usr/bin/hushmark", &exe.to_string_lossy());
    let instance = dir.join("hushmark-monitor@ci.service");
    std::fs::write(&instance, text).map_err(|e| e.to_string())?;
    let r = sh::run(
        Command::new("systemd-analyze")
            .arg("verify")
            .arg(&instance)
            .env("SYSTEMD_LOG_LEVEL", "warning"),
    );
    let _ = std::fs::remove_dir_all(&dir);
    r
}

/// `hushmark bench --streams N` for N in 16, 64, 256 (or the N given),
/// release build.
pub fn fleet_bench(args: &[String]) -> Result<(), String> {
    sh::cargo(&["build", "--release", "-p", "hushmark"])?;
    let exe = sh::target_dir(&sh::root()).join("release/hushmark");
    let counts: Vec<String> = if args.is_empty() {
        vec!["16".into(), "64".into(), "256".into()]
    } else {
        args.to_vec()
    };
    for n in counts {
        sh::run(Command::new(&exe).args(["bench", "--streams", &n, "--seconds", "30"]))?;
    }
    Ok(())
}
