//! `cargo xtask pi`: the engine on ARM Linux, under `qemu-user`.
//!
//! Two targets: `aarch64-unknown-linux-gnu` (a Raspberry Pi 3, 4 or 5 on a
//! 64-bit OS) and `armv7-unknown-linux-gnueabihf` (32-bit ARM set-top boxes,
//! and 32-bit Raspberry Pi OS). For each, cross-built with Debian's gcc
//! cross toolchains and run through `qemu-aarch64` / `qemu-arm`:
//!
//! * `dsp-core`'s tests, a subset that runs in a minute or two under
//!   emulation (the whole suite would take hours there): every unit test, the
//!   golden vectors (decode each one, and regenerate each one bit for bit, so
//!   the arithmetic is the same on ARM), the embedding tests but the slow
//!   ones ([`SLOW_EMBEDDING_TESTS`]), and the detection tests in
//!   [`DETECTION_TESTS`];
//! * the Criterion benches in test mode (each bench once);
//! * on aarch64, the `hushmark` host program, linked against the arm64 ALSA
//!   and PulseAudio libraries (Debian multiarch), started once, and its
//!   `hushmark bench` run briefly (every profile, `--json`).

use std::process::Command;

use crate::sh;

struct Target {
    triple: &'static str,
    what: &'static str,
    gcc: &'static str,
    qemu: &'static str,
    /// Where Debian's cross libc lives (`qemu -L`).
    sysroot: &'static str,
    /// Debian architecture for multiarch `-dev` packages, if the host program is built.
    host_program: Option<&'static str>,
}

const TARGETS: [Target; 2] = [
    Target {
        triple: "aarch64-unknown-linux-gnu",
        what: "Raspberry Pi (aarch64)",
        gcc: "aarch64-linux-gnu-gcc",
        qemu: "qemu-aarch64",
        sysroot: "/usr/aarch64-linux-gnu",
        host_program: Some("aarch64-linux-gnu"),
    },
    Target {
        triple: "armv7-unknown-linux-gnueabihf",
        what: "armv7 set-top box",
        gcc: "arm-linux-gnueabihf-gcc",
        qemu: "qemu-arm",
        sysroot: "/usr/arm-linux-gnueabihf",
        host_program: None,
    },
];

/// Detection tests that run under emulation, seconds each there: IDs of
/// every length at any offset, integer formats and channel layouts, wrong
/// keys, the embedder under hostile input and time jumps, error values. The
/// golden vectors already decode every profile and rate with start times
/// within 1 ms; the statistical tests (noise, drift, resampling, hostile
/// detector input) take minutes each under emulation and run natively.
const DETECTION_TESTS: &[&str] = &[
    "any_id_length_and_offset",
    "integer_samples_and_several_channels",
    "wrong_key_finds_nothing",
    "embedder_survives_hostile_input_and_time_jumps",
    "bad_blocks_are_errors_not_panics",
    "memory_is_fixed_and_within_budget",
];

/// Embedding tests left out under emulation (`--skip` matches substrings):
/// the property test over random block partitions (two minutes there) and
/// the spectral residual tests (FFTs over seconds of audio). On ARM the
/// golden vectors regenerate bit for bit, so the embedder's output, and with
/// it its spectrum, is the one those tests check natively.
const SLOW_EMBEDDING_TESTS: &[&str] = &["output_does_not_depend_on_block_partition", "residual_"];

/// The arguments of the one `qemu-user` command line (after `t.qemu`) for
/// a target's programs. The cross toolchain's C library comes first:
/// Debian's multiarch libc6:arm64 (pulled in by the ALSA packages) can be
/// another build than the cross sysroot's loader, and the two mixed hang in
/// pthread_create under qemu-user. The multiarch libraries follow, for the
/// host program's ALSA and PulseAudio.
fn qemu_user_args(t: &Target) -> [String; 4] {
    let mut libs = format!("{}/lib", t.sysroot);
    if let Some(multiarch) = t.host_program {
        libs += &format!(":/usr/lib/{multiarch}:/lib/{multiarch}");
    }
    [
        "-L".into(),
        t.sysroot.into(),
        "-E".into(),
        format!("LD_LIBRARY_PATH={libs}"),
    ]
}

/// Cargo's environment for one cross target: linker, runner, C compiler and,
/// for the host program, pkg-config pointed at the target's multiarch libs.
fn cross_env(t: &Target) -> Vec<(String, String)> {
    let key = t.triple.replace('-', "_");
    let mut env = vec![
        (
            format!("CARGO_TARGET_{}_LINKER", key.to_uppercase()),
            t.gcc.to_string(),
        ),
        (
            format!("CARGO_TARGET_{}_RUNNER", key.to_uppercase()),
            format!("{} {}", t.qemu, qemu_user_args(t).join(" ")),
        ),
        (format!("CC_{key}"), t.gcc.to_string()),
        // Debug info makes cross links slow and is not needed to run tests.
        ("CARGO_PROFILE_DEV_DEBUG".into(), "false".into()),
        ("CARGO_PROFILE_TEST_DEBUG".into(), "false".into()),
    ];
    if let Some(multiarch) = t.host_program {
        env.extend([
            ("PKG_CONFIG_ALLOW_CROSS".into(), "1".into()),
            (
                format!("PKG_CONFIG_LIBDIR_{key}"),
                format!("/usr/lib/{multiarch}/pkgconfig:/usr/share/pkgconfig"),
            ),
        ]);
    }
    env
}

fn cargo(t: &Target, args: &[&str]) -> Result<(), String> {
    sh::cargo_env(args, &cross_env(t))
}

pub fn run() -> Result<(), String> {
    // Both targets in one cargo run per package, so the two cores stay busy
    // through the whole build; the steps below only run what it built (same
    // packages, same features: nothing is compiled twice).
    let both = |args: &[&str]| {
        let mut args = args.to_vec();
        for t in &TARGETS {
            args.extend(["--target", t.triple]);
        }
        let env: Vec<(String, String)> = TARGETS.iter().flat_map(cross_env).collect();
        sh::cargo_env(&args, &env)
    };
    sh::step(
        "cross-build dsp-core's tests and the benches for aarch64 and armv7",
        || {
            both(&["test", "--no-run", "-p", "dsp-core", "--lib", "--tests"])?;
            both(&["test", "--no-run", "-p", "hushmark-benches", "--benches"])
        },
    )?;
    for t in &TARGETS {
        let test = |what: &[&str], filters: &[&str]| {
            let mut args = vec!["test", "-p", "dsp-core", "--target", t.triple];
            args.extend(what);
            args.push("--");
            args.extend(filters);
            cargo(t, &args)
        };
        sh::step(
            &format!("{}: dsp-core tests under {}", t.what, t.qemu),
            || {
                test(&["--lib", "--test", "vectors"], &[])?;
                let skips: Vec<&str> = SLOW_EMBEDDING_TESTS
                    .iter()
                    .flat_map(|t| ["--skip", t])
                    .collect();
                test(&["--test", "embedding"], &skips)?;
                test(&["--test", "detection"], DETECTION_TESTS)
            },
        )?;
        sh::step(
            &format!("{}: benches under {} (each once)", t.what, t.qemu),
            || {
                cargo(
                    t,
                    &[
                        "test",
                        "-p",
                        "hushmark-benches",
                        "--target",
                        t.triple,
                        "--benches",
                        "--",
                        "--test",
                    ],
                )
            },
        )?;
        if t.host_program.is_some() {
            sh::step(
                &format!("{}: hushmark with ALSA, cross-built", t.what),
                || {
                    cargo(t, &["build", "-p", "hushmark", "--target", t.triple])?;
                    let exe = sh::target_dir(&sh::root())
                        .join(t.triple)
                        .join("debug/hushmark");
                    // Started once, so the arm64 ALSA and PulseAudio libraries resolve.
                    sh::run(
                        Command::new(t.qemu)
                            .args(qemu_user_args(t))
                            .arg(&exe)
                            .arg("--version"),
                    )?;
                    // The device guide's benchmark, briefly: every profile
                    // embeds and detects under emulation (figures are
                    // qemu's, not a Pi's).
                    sh::run(
                        Command::new(t.qemu)
                            .args(qemu_user_args(t))
                            .arg(&exe)
                            .args(["bench", "--seconds", "0.2", "--json"]),
                    )
                },
            )?;
        }
    }
    Ok(())
}
