//! Issue 5's commands: Criterion benches, the robustness suite, the report.
//!
//! * `cargo xtask bench` — every Criterion benchmark (a few minutes).
//! * `cargo xtask robustness [--quick]` — the robustness matrix with real
//!   codecs; `--quick` is the reduced form CI runs (every treatment once).
//! * `cargo xtask report` — benches, then the full suite (matrix, SNR sweep,
//!   side effects, ten hours of false-alarm audio), written to
//!   `docs/REPORT.md` with its figures.

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
    })
}

/// What `cargo xtask test` runs: every benchmark once (no timing), and the
/// reduced robustness suite with its assertions.
pub fn quick_checks() -> Result<(), String> {
    sh::step("benches, once each (no timing)", || {
        sh::cargo(&["test", "--package", "hushmark-benches", "--benches"])
    })?;
    robustness(true, false)
}
