//! `cargo xtask <command>`: the project's entry points. Every command first
//! installs what it needs (Debian packages, rustup targets, cargo tools), so
//! each works on a fresh Debian/Ubuntu machine with nothing but cargo.

mod capi;
mod evidence;
mod package;
mod pi;
mod profile;
mod qemu;
mod reference;
mod setup;
mod sh;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

  demo        mark the bundled audio, detect it, show the events (the main job)
  test        install prerequisites and run every check CI runs
  qemu        the firmware on QEMU's Cortex-M4F and Cortex-M7 boards, checked
              against the host, and the budget table (--bless: rewrite
              firmware/expected/selftest.out from the host; --profile:
              where the embedder's and detector's instructions go)
  qemu-run    ELF: boot a Cortex-M image on the QEMU machine it is named after,
              defmt log decoded (the cargo runner of boards/mps2)
  pi          the engine on ARM Linux (aarch64, armv7) under qemu-user; hushmark
              bench for aarch64 under qemu-user
  package     Debian packages (amd64, arm64, armhf) with hushmark-monitor@.service
              (--check: only amd64, installed and checked, as test does)
  fleet-bench hushmark bench --streams 16/64/256 (release build): the table in docs/REPORT.md
  bench       every Criterion benchmark (embed and detect throughput)
  robustness  the robustness suite with real codecs (--quick: the CI subset)
  report      benches + full robustness suite + false-alarm hours + programme → docs/REPORT.md
  programme   both layers on real recorded programme (Debian content packages),
              window curve, confirmation window, ViSQOL → docs/REPORT.md section
  vectors     regenerate test-vectors/ (after a deliberate format change)
  setup       only install prerequisites
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("vectors") => vectors(),
        Some("bench") => setup::install(setup::ALL).and_then(|()| evidence::bench()),
        Some("robustness") => setup::install(setup::ALL)
            .and_then(|()| evidence::robustness(args.iter().any(|a| a == "--quick"), true)),
        Some("report") => setup::install(setup::ALL).and_then(|()| evidence::report()),
        Some("programme") => setup::install(setup::ALL).and_then(|()| evidence::programme()),
        Some("qemu") => {
            setup::install(&[setup::Needs::FIRMWARE]).and_then(|()| qemu::run(&args[1..]))
        }
        Some("qemu-run") => {
            setup::install(&[setup::Needs::FIRMWARE]).and_then(|()| qemu::run_elf(&args[1..]))
        }
        Some("pi") => setup::install(&[setup::Needs::PI]).and_then(|()| pi::run()),
        Some("package") if args.iter().any(|a| a == "--check") => {
            setup::install(&[setup::PACKAGE_CHECK]).and_then(|()| package::check_amd64())
        }
        Some("package") => {
            setup::install(&[setup::Needs::PACKAGE]).and_then(|()| package::build_all())
        }
        Some("fleet-bench") => {
            setup::install(&[setup::Needs::DEMO]).and_then(|()| package::fleet_bench(&args[1..]))
        }
        Some("setup") => setup::install(setup::ALL),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn demo(args: &[String]) -> Result<(), String> {
    setup::install(&[setup::Needs::DEMO])?;
    let mut cmd = vec![
        "run",
        "--release",
        "--quiet",
        "--package",
        "hushmark",
        "--",
        "demo",
    ];
    cmd.extend(args.iter().map(String::as_str));
    sh::cargo(&cmd)
}

fn test(args: &[String]) -> Result<(), String> {
    setup::install(setup::ALL)?;
    let quick = args.iter().any(|a| a == "--quick");
    sh::step("format", || sh::cargo(&["fmt", "--all", "--check"]))?;
    sh::step("clippy", || {
        sh::cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
    })?;
    sh::step("dsp-core for thumbv7em-none-eabihf", || {
        sh::cargo(&[
            "build",
            "--release",
            "--package",
            "dsp-core",
            "--target",
            "thumbv7em-none-eabihf",
            "--features",
            "defmt",
        ])
    })?;
    sh::step("workspace tests", || {
        let mut a = vec!["test", "--workspace"];
        if quick {
            a.extend(["--", "--skip", "ten_hours"]);
        }
        sh::cargo(&a)
    })?;
    evidence::quick_checks()?;
    qemu::run(&[])?;
    pi::run()?;
    package::check_amd64()?;
    println!("\nall checks passed");
    Ok(())
}

fn vectors() -> Result<(), String> {
    sh::step("regenerate test vectors", || {
        sh::cargo_env(
            &[
                "test",
                "--package",
                "dsp-core",
                "--test",
                "vectors",
                "regeneration",
            ],
            &[("HUSHMARK_WRITE_VECTORS", "1")],
        )
    })?;
    sh::step("check them", || {
        sh::cargo(&["test", "--package", "dsp-core", "--test", "vectors"])
    })
}
