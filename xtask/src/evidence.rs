//! Issue 5's commands: Criterion benches, the robustness suite, the report.
//!
//! * `cargo xtask bench` — every Criterion benchmark (a few minutes).
//! * `cargo xtask robustness [--quick]` — the robustness matrix with real
//!   codecs; `--quick` is the reduced form CI runs (every treatment once).
//! * `cargo xtask report` — benches, then the full suite (matrix, SNR sweep,
//!   side effects, ten hours of false-alarm audio), written to
//!   `docs/REPORT.md` with its figures, then `programme`.
//! * `cargo xtask programme` — issue 9: both layers on real recorded
//!   programme (clips from Debian content packages, cached in
//!   `target/programme/`), the robust window curve, the confirmation window
//!   and ViSQOL (visqol-python in `target/visqol-venv/`); spliced into
//!   `docs/REPORT.md` as "Robust layer on real programme".

use std::path::PathBuf;
use std::process::Command;

use crate::sh;

pub fn bench() -> Result<(), String> {
    sh::step("Criterion benches", || {
        sh::cargo(&[
            "bench",
            "--package",
            "hushmark-benches",
            "--bench",
            "throughput",
        ])
    })
}

fn evidence(release: bool, args: &[&str]) -> Result<(), String> {
    let mut a = vec![
        "run",
        "--quiet",
        "--package",
        "hushmark-benches",
        "--bin",
        "evidence",
    ];
    if release {
        a.insert(1, "--release");
    }
    a.push("--");
    a.extend(args);
    sh::cargo(&a)
}

/// The robustness suite; `quick` is the reduced form. `release` builds
/// optimised (the full run); CI's quick run reuses the test build instead.
pub fn robustness(quick: bool, release: bool) -> Result<(), String> {
    let out = sh::target_dir(&sh::root()).join(if quick { "evidence-quick" } else { "evidence" });
    let out = out.to_string_lossy().into_owned();
    let (command, extra): (&str, &[&str]) = if quick {
        ("cargo xtask robustness --quick", &["--quick"])
    } else {
        ("cargo xtask robustness", &[])
    };
    let step = if quick {
        "robustness suite, reduced"
    } else {
        "robustness suite"
    };
    sh::step(step, || {
        let mut a = vec!["--out", out.as_str(), "--command", command];
        a.extend_from_slice(extra);
        evidence(release, &a)
    })?;
    println!("report written to {out}/REPORT.md");
    Ok(())
}

/// visqol-python, pinned, in its own venv under the target dir; its interpreter.
const VISQOL: &str = "visqol-python==3.8.0";

fn visqol_python() -> Result<PathBuf, String> {
    let venv = sh::target_dir(&sh::root()).join("visqol-venv");
    let python = venv.join("bin").join("python");
    if sh::succeeds(Command::new(&python).args(["-c", "import visqol"])) {
        return Ok(python);
    }
    sh::step(&format!("venv with {VISQOL}"), || {
        sh::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        sh::run(Command::new(venv.join("bin").join("pip")).args(["install", "--quiet", VISQOL]))
    })?;
    Ok(python)
}

/// The real-programme section, measured and spliced into `docs/REPORT.md`.
pub fn programme() -> Result<(), String> {
    let python = visqol_python()?;
    let target = sh::target_dir(&sh::root());
    let (cache, docs) = (target.join("programme"), sh::root().join("docs"));
    // The CLI, for the speed changes only `detect --speed-search` follows.
    sh::cargo(&[
        "build",
        "--release",
        "--quiet",
        "--package",
        "hushmark",
        "--bin",
        "hushmark",
    ])?;
    let hushmark = target.join("release").join("hushmark");
    sh::step("real programme", || {
        evidence(
            true,
            &[
                "--programme",
                "--cache",
                &cache.to_string_lossy(),
                "--visqol",
                &python.to_string_lossy(),
                "--hushmark",
                &hushmark.to_string_lossy(),
                "--out",
                &docs.to_string_lossy(),
                "--command",
                "cargo xtask programme",
            ],
        )
    })
}

pub fn report() -> Result<(), String> {
    bench()?;
    let criterion = sh::target_dir(&sh::root()).join("criterion");
    let docs = sh::root().join("docs");
    let (criterion, docs) = (
        criterion.to_string_lossy().into_owned(),
        docs.to_string_lossy().into_owned(),
    );
    sh::step("full evidence run", || {
        evidence(
            true,
            &[
                "--out",
                &docs,
                "--criterion",
                &criterion,
                "--command",
                "cargo xtask report",
            ],
        )
    })?;
    programme()
}

/// What `cargo xtask test` runs: every benchmark once (no timing), and the
/// reduced robustness suite with its assertions.
pub fn quick_checks() -> Result<(), String> {
    sh::step("benches, once each (no timing)", || {
        sh::cargo(&["test", "--package", "hushmark-benches", "--benches"])
    })?;
    robustness(true, false)?;
    let target = sh::target_dir(&sh::root());
    let (cache, out) = (target.join("programme"), target.join("evidence-quick"));
    sh::step("real programme, reduced", || {
        evidence(
            false,
            &[
                "--programme",
                "--quick",
                "--cache",
                &cache.to_string_lossy(),
                "--out",
                &out.to_string_lossy(),
                "--command",
                "cargo xtask test",
            ],
        )
    })
}
