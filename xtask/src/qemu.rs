//! `cargo xtask qemu`: the firmware on both QEMU Cortex-M machines.
//!
//! 1. Format, lint and build the firmware workspace (`firmware/`, `boards/`).
//! 2. Boot each MPS2 machine with an instruction clock (`-icount shift=0`)
//!    and semihosting; decode its defmt log with `defmt-print`.
//! 3. Compare what each firmware found (events, the embedder's output
//!    fingerprint) with `firmware/expected/selftest.out`, and that file with
//!    the same scenarios run by the host's build of the engine
//!    ([`crate::reference`]). `--bless` rewrites the file from the host.
//! 4. Check that a panic and a HardFault log and exit non-zero, and run the
//!    C API's test program on the host and on Cortex-M ([`crate::capi`]).
//! 5. Print the budget table: flash, RAM, painted-stack peak, and
//!    instructions per second of audio against a 168 MHz Cortex-M4 and a
//!    216 MHz Cortex-M7.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use crate::{reference, sh};

struct Machine {
    /// QEMU machine, and the name of the self-test binary built for it.
    name: &'static str,
    /// The real chip its counts are compared with.
    reference_mhz: u64,
}

const MACHINES: [Machine; 2] = [
    Machine {
        name: "mps2-an386",
        reference_mhz: 168,
    },
    Machine {
        name: "mps2-an500",
        reference_mhz: 216,
    },
];

/// The firmware workspace's own packages.
const FIRMWARE_PACKAGES: [&str; 3] = ["hushmark-firmware", "board-mps2", "board-stm32f746g-disco"];

/// A budget: at most this share of the machine modelling a chip of this clock.
#[derive(Clone, Copy)]
struct Target {
    mhz: u64,
    percent: f64,
}

/// Ultrasonic embedding: share of a 168 MHz Cortex-M4 for stereo 48 kHz.
const EMBED_TARGET: Target = Target {
    mhz: 168,
    percent: 2.0,
};
/// Ultrasonic detection: share of a 168 MHz Cortex-M4 for mono 48 kHz.
const DETECT_TARGET: Target = Target {
    mhz: 168,
    percent: 20.0,
};
/// Robust embedding: share of a 168 MHz Cortex-M4 for stereo 48 kHz.
const ROBUST_EMBED_TARGET: Target = Target {
    mhz: 168,
    percent: 25.0,
};
/// Robust detection: share of a 216 MHz Cortex-M7 for mono 48 kHz.
const ROBUST_DETECT_TARGET: Target = Target {
    mhz: 216,
    percent: 60.0,
};

fn firmware_dir() -> PathBuf {
    sh::root().join("firmware")
}

fn expected_path() -> PathBuf {
    firmware_dir().join("expected/selftest.out")
}

/// Where the firmware workspace puts its ELFs.
fn elf_dir() -> PathBuf {
    sh::target_dir(&firmware_dir()).join("thumbv7em-none-eabihf/release")
}

fn cargo_fw(args: &[&str]) -> Result<(), String> {
    sh::cargo_in(&firmware_dir(), args, &[] as &[(&str, &str)])
}

/// The one QEMU command line for every Cortex-M image: `machine` boots
/// `elf` with an instruction clock (`-icount shift=0`: the budget meter
/// counts instructions through it) and semihosting (stdout and the exit
/// status); no display, monitor or serial port.
pub fn qemu_system(machine: &str, elf: &Path) -> Command {
    let mut c = Command::new("qemu-system-arm");
    c.args(["-machine", machine, "-nographic", "-monitor", "none"])
        .args(["-serial", "none", "-icount", "shift=0"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(elf)
        .stdin(Stdio::null());
    c
}

/// `cargo xtask qemu-run ELF`, the cargo runner of `boards/mps2` (through
/// `boards/mps2/qemu-run`): boot ELF on the machine it is named after
/// (others, such as the fault demos, on the first), log decoded on stdout,
/// failing if the firmware does.
pub fn run_elf(args: &[String]) -> Result<(), String> {
    let [elf] = args else {
        return Err("usage: cargo xtask qemu-run ELF".into());
    };
    let elf = Path::new(elf);
    let stem = elf.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let machine = MACHINES
        .iter()
        .find(|m| m.name == stem)
        .unwrap_or(&MACHINES[0]);
    let (status, _) = boot(machine.name, elf, false)?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} on {}: {status}", elf.display(), machine.name))
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let bless = args.iter().any(|a| a == "--bless");
    // Not `--all`: that would reach into path dependencies (dsp-core and
    // the root workspace), which the root's own format check covers.
    sh::step("firmware: format", || {
        let mut args = vec!["fmt", "--check"];
        for p in FIRMWARE_PACKAGES {
            args.extend(["-p", p]);
        }
        cargo_fw(&args)
    })?;
    sh::step("firmware: clippy", || {
        cargo_fw(&["clippy", "--workspace", "--release", "--", "-D", "warnings"])
    })?;
    // One build per feature set: the STM32 HAL turns on cortex-m-rt's
    // `device` feature (its interrupt vectors), which the MPS2 images lack.
    sh::step("firmware: build every board", || {
        cargo_fw(&["build", "--release", "-p", "board-mps2"])?;
        cargo_fw(&["build", "--release", "-p", "board-stm32f746g-disco"])
    })?;

    if args.iter().any(|a| a == "--profile") {
        let m = &MACHINES[0];
        return crate::profile::run(m.name, &elf_dir().join(m.name));
    }

    let mut runs = Vec::new();
    for m in &MACHINES {
        let mut run = None;
        sh::step(&format!("qemu {}: self-test", m.name), || {
            let t = Instant::now();
            let (status, out) = boot(m.name, &elf_dir().join(m.name), true)?;
            println!(
                "({} lines of output in {:.1} s)",
                out.len(),
                t.elapsed().as_secs_f64()
            );
            if !status.success() {
                return Err(format!("the self-test failed:\n{}", out.join("\n")));
            }
            run = Some(Run::new(m, out)?);
            Ok(())
        })?;
        sh::step(
            &format!("qemu {}: panic and HardFault handlers", m.name),
            || {
                expect_failure(m.name, "mps2-panic", "panicked at")?;
                expect_failure(m.name, "mps2-hardfault", "HardFault at pc")
            },
        )?;
        runs.extend(run);
    }

    sh::step(
        "firmware output = host output = firmware/expected/selftest.out",
        || {
            let vectors = sh::root().join("test-vectors");
            if bless {
                let headers = reference::headers(&runs[0].lines);
                let host = reference::lines_for(&headers, &vectors)?;
                std::fs::create_dir_all(expected_path().parent().unwrap_or(&firmware_dir()))
                    .map_err(|e| e.to_string())?;
                std::fs::write(expected_path(), host.join("\n") + "\n")
                    .map_err(|e| e.to_string())?;
                println!("wrote {}", expected_path().display());
            }
            let expected: Vec<String> = std::fs::read_to_string(expected_path())
                .map_err(|e| {
                    format!(
                        "{}: {e} (create it with `cargo xtask qemu --bless`)",
                        expected_path().display()
                    )
                })?
                .lines()
                .map(str::to_string)
                .collect();
            let host = reference::lines_for(&reference::headers(&expected), &vectors)?;
            compare("host", &host, &expected)?;
            for r in &runs {
                compare(r.machine.name, &comparable(&r.lines), &expected)?;
            }
            let events = expected.iter().filter(|l| l.starts_with("event ")).count();
            println!(
                "{} scenarios, {events} events: identical on the host and on {}",
                reference::headers(&expected).len(),
                MACHINES.map(|m| m.name).join(" and ")
            );
            Ok(())
        },
    )?;

    crate::capi::run()?;

    let table = budget_table(&runs)?;
    println!("\n{table}");
    Ok(())
}

/// A machine's self-test output.
struct Run<'m> {
    machine: &'m Machine,
    /// The CPU the firmware says it runs on (its `board` line).
    cpu: String,
    lines: Vec<String>,
}

impl<'m> Run<'m> {
    /// Checks that the firmware was built for the machine it booted on.
    fn new(machine: &'m Machine, lines: Vec<String>) -> Result<Run<'m>, String> {
        let board = lines
            .iter()
            .find_map(|l| l.strip_prefix("board "))
            .ok_or("the firmware printed no `board` line")?;
        let cpu = board
            .strip_prefix(machine.name)
            .and_then(|r| r.strip_prefix(": "))
            .and_then(|r| r.split(',').next())
            .ok_or_else(|| {
                format!(
                    "booted on {}, the firmware says `board {board}`",
                    machine.name
                )
            })?
            .to_string();
        Ok(Run {
            machine,
            cpu,
            lines,
        })
    }
}

/// Boot `elf` on `machine`, its defmt log decoded by `defmt-print`:
/// returned as lines if `collect`, else printed as it comes.
fn boot(machine: &str, elf: &Path, collect: bool) -> Result<(ExitStatus, Vec<String>), String> {
    let mut qemu = qemu_system(machine, elf)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
    let defmt_in = qemu.stdout.take().ok_or("no QEMU stdout")?;
    let mut print = Command::new("defmt-print");
    print
        .arg("-e")
        .arg(elf)
        .args(["--log-format", "{s}"])
        .stdin(defmt_in);
    let (mut print, reader) = if collect {
        let (child, reader) = sh::spawn_reading(&mut print)?;
        (child, Some(reader))
    } else {
        let child = print
            .spawn()
            .map_err(|e| format!("cannot start defmt-print: {e} (cargo install defmt-print)"))?;
        (child, None)
    };
    let status = sh::wait_within(&mut qemu, machine);
    // QEMU has gone, so defmt-print has seen the end of its input.
    let printed = print.wait().map_err(|e| e.to_string())?;
    let status = status?;
    let text = reader.map(sh::read_all).transpose()?.unwrap_or_default();
    if !printed.success() {
        return Err(format!("defmt-print failed ({printed}) on:\n{text}"));
    }
    Ok((status, text.lines().map(str::to_string).collect()))
}

fn expect_failure(machine: &str, bin: &str, message: &str) -> Result<(), String> {
    let (status, lines) = boot(machine, &elf_dir().join(bin), true)?;
    let logged = lines.iter().any(|l| l.contains(message));
    println!("{}", lines.join("\n"));
    if status.success() || !logged {
        return Err(format!(
            "{bin} on {machine}: expected a non-zero exit and a line with `{message}`; {status}"
        ));
    }
    Ok(())
}

/// The lines that must not depend on the machine.
fn comparable(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| !l.starts_with("measure ") && !l.starts_with("board "))
        .cloned()
        .collect()
}

fn compare(who: &str, actual: &[String], expected: &[String]) -> Result<(), String> {
    if actual == expected {
        return Ok(());
    }
    let i = actual
        .iter()
        .zip(expected)
        .take_while(|(a, e)| a == e)
        .count();
    Err(format!(
        "{who} differs from {} at line {}:\n  {who}:     {}\n  expected: {}\n({} lines against {}; if the change is deliberate, `cargo xtask qemu --bless`)",
        expected_path().display(),
        i + 1,
        actual.get(i).map_or("<end>", String::as_str),
        expected.get(i).map_or("<end>", String::as_str),
        actual.len(),
        expected.len()
    ))
}

/// One `measure <path> <scenario> key value ...` line.
struct Measure {
    path: String,
    scenario: String,
    values: Vec<(String, String)>,
}

impl Measure {
    fn parse(line: &str) -> Option<Measure> {
        let mut words = line.strip_prefix("measure ")?.split(' ');
        let path = words.next()?.to_string();
        let scenario = words.next()?.to_string();
        let rest: Vec<&str> = words.collect();
        let values = rest
            .chunks(2)
            .filter_map(|p| Some((p.first()?.to_string(), p.get(1)?.to_string())))
            .collect();
        Some(Measure {
            path,
            scenario,
            values,
        })
    }

    fn get(&self, key: &str) -> Result<u64, String> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| format!("measure {} {}: no number `{key}`", self.path, self.scenario))
    }
}

fn find(lines: &[String], path: &str, scenario: &str) -> Result<Measure, String> {
    lines
        .iter()
        .filter_map(|l| Measure::parse(l))
        .find(|m| m.path == path && m.scenario == scenario)
        .ok_or_else(|| format!("the firmware printed no `measure {path} {scenario}`"))
}

/// Section sizes from `arm-none-eabi-size -A`.
fn sections(elf: &Path) -> Result<Vec<(String, u64)>, String> {
    let out = Command::new("arm-none-eabi-size")
        .arg("-A")
        .arg(elf)
        .output()
        .map_err(|e| format!("cannot run arm-none-eabi-size: {e}"))?;
    if !out.status.success() {
        return Err(format!("arm-none-eabi-size failed on {}", elf.display()));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.parse().ok()?))
        })
        .collect())
}

/// Flash (code, constants, `.data` image) and RAM (statics) of an image,
/// without the QEMU-only test audio.
fn image_size(elf: &Path) -> Result<(u64, u64), String> {
    let s = sections(elf)?;
    let size = |names: &[&str]| {
        s.iter()
            .filter(|(n, _)| names.contains(&n.as_str()))
            .map(|(_, v)| v)
            .sum::<u64>()
    };
    let flash = size(&[".vector_table", ".text", ".rodata", ".data"]);
    let ram = size(&[".data", ".bss", ".uninit"]);
    Ok((flash, ram))
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// One table cell from a machine and its output lines.
type Cell = dyn Fn(&Machine, &[String]) -> Result<String, String>;

fn budget_table(runs: &[Run]) -> Result<String, String> {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |name: &str, cells: Vec<String>| rows.push((name.to_string(), cells));
    let cells = |f: &Cell| -> Result<Vec<String>, String> {
        runs.iter().map(|r| f(r.machine, &r.lines)).collect()
    };
    row(
        "flash: code + constants (test audio not counted)",
        cells(&|m, _| Ok(kib(image_size(&elf_dir().join(m.name))?.0)))?,
    );
    row(
        "RAM: statics (detector, codec buffers)",
        cells(&|m, _| Ok(kib(image_size(&elf_dir().join(m.name))?.1)))?,
    );
    row(
        "RAM: peak stack (painted)",
        cells(&|_, lines| {
            let peak = lines
                .iter()
                .find_map(|l| l.strip_prefix("measure stack peak "))
                .and_then(|r| r.split(' ').next())
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or("no stack measurement")?;
            Ok(format!("{peak} B"))
        })?,
    );
    let share =
        |m: &Machine, per_second: u64| 100.0 * per_second as f64 / (m.reference_mhz as f64 * 1e6);
    let load = |path: &'static str, scenario: &'static str, target: Option<Target>| {
        move |m: &Machine, lines: &[String]| -> Result<String, String> {
            let x = find(lines, path, scenario)?;
            let per_second = x.get("per_second")?;
            let pct = share(m, per_second);
            let verdict = match target {
                Some(t) if m.reference_mhz == t.mhz && pct > t.percent => {
                    format!(" (over the {} % target)", t.percent)
                }
                Some(t) if m.reference_mhz == t.mhz => format!(" (target ≤ {} %)", t.percent),
                _ => String::new(),
            };
            Ok(format!(
                "{:.2} M/s = {pct:.1} % of {} MHz{verdict}",
                per_second as f64 / 1e6,
                m.reference_mhz
            ))
        }
    };
    row(
        "ultrasonic embed, stereo 48 kHz, 993 ms burst every 2 s",
        cells(&load("embed", "mark/ultrasonic", Some(EMBED_TARGET)))?,
    );
    row(
        "robust embed, stereo 48 kHz",
        cells(&load("embed", "mark/robust", Some(ROBUST_EMBED_TARGET)))?,
    );
    row(
        "both layers embed, stereo 48 kHz",
        cells(&load("embed", "mark/ultrasonic+robust", None))?,
    );
    row(
        "ultrasonic detect, mono 48 kHz, unmarked music (8 s)",
        cells(&load(
            "detect",
            "unmarked-48000-music/ultrasonic",
            Some(DETECT_TARGET),
        ))?,
    );
    row(
        "ultrasonic detect, mono 48 kHz, 2 short-ID bursts (1.8 s)",
        cells(&load(
            "detect",
            "ultrasonic-48000-short-id/ultrasonic",
            Some(DETECT_TARGET),
        ))?,
    );
    row(
        "robust detect, mono 48 kHz, unmarked music (8 s, searching)",
        cells(&load(
            "detect",
            "unmarked-48000-music/robust",
            Some(ROBUST_DETECT_TARGET),
        ))?,
    );
    row(
        "robust detect, mono 48 kHz, marked music (4.8 s)",
        cells(&load(
            "detect",
            "robust-48000-music/robust",
            Some(ROBUST_DETECT_TARGET),
        ))?,
    );
    row(
        "both layers detect, stereo 48 kHz, the marked loopback (8 s)",
        cells(&load("detect", "mark/ultrasonic+robust", None))?,
    );
    // The longest call sets how much audio the DMA ring must buffer.
    let longest = |path: &'static str, key: &'static str| {
        move |m: &Machine, lines: &[String]| -> Result<String, String> {
            let (count, scenario) = lines
                .iter()
                .filter_map(|l| Measure::parse(l))
                .filter(|x| x.path == path)
                .filter_map(|x| Some((x.get(key).ok()?, x.scenario)))
                .max()
                .ok_or_else(|| format!("no `measure {path}` lines"))?;
            Ok(format!(
                "{:.2} M = {:.1} ms at {} MHz ({scenario})",
                count as f64 / 1e6,
                count as f64 / (m.reference_mhz as f64 * 1e3),
                m.reference_mhz
            ))
        }
    };
    row(
        "longest embed call (one block)",
        cells(&longest("embed", "worst_call"))?,
    );
    row(
        "longest detect call (one block; a burst decoded)",
        cells(&longest("detect", "worst_call"))?,
    );
    row(
        "longest end-of-stream drain (`Detector::finish`)",
        cells(&longest("finish", "total"))?,
    );
    let mut t = String::from("| measured in the same run |");
    for r in runs {
        t += &format!(" {} ({}) |", r.machine.name, r.cpu);
    }
    t += "\n|---|";
    t += &"---|".repeat(runs.len());
    for (name, cells) in rows {
        t += &format!("\n| {name} |");
        for c in cells {
            t += &format!(" {c} |");
        }
    }
    t += "\n\nInstructions counted by QEMU (`-icount shift=0` against SysTick), shown as a share of \
          the clock of the real chip each machine models, at one instruction per cycle.";
    let (flash, ram) = image_size(&elf_dir().join("stm32f746g-disco"))?;
    t += &format!(
        "\nThe STM32F746G-DISCO image (SAI + codec drivers, 2 × 100 ms DMA rings): flash {}, RAM {} (statics).",
        kib(flash),
        kib(ram)
    );
    Ok(t)
}
