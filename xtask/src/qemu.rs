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

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{reference, sh};

struct Machine {
    /// QEMU machine and board folder name.
    name: &'static str,
    cpu: &'static str,
    /// The real chip its counts are compared with.
    reference_mhz: u64,
}

const MACHINES: [Machine; 2] = [
    Machine {
        name: "mps2-an386",
        cpu: "Cortex-M4F",
        reference_mhz: 168,
    },
    Machine {
        name: "mps2-an500",
        cpu: "Cortex-M7",
        reference_mhz: 216,
    },
];

/// The firmware workspace's own packages.
const FIRMWARE_PACKAGES: [&str; 4] = [
    "hushmark-firmware",
    "board-mps2-an386",
    "board-mps2-an500",
    "board-stm32f746g-disco",
];

/// No self-test takes close to this; a hung firmware must not hang CI.
const QEMU_TIMEOUT: Duration = Duration::from_secs(300);
/// Embedding target: share of a 168 MHz Cortex-M4 for stereo 48 kHz.
const EMBED_TARGET_PERCENT: f64 = 2.0;
/// Detection target: share of a 168 MHz Cortex-M4 for mono 48 kHz.
const DETECT_TARGET_PERCENT: f64 = 20.0;

pub fn firmware_dir() -> PathBuf {
    sh::root().join("firmware")
}

fn expected_path() -> PathBuf {
    firmware_dir().join("expected/selftest.out")
}

/// Where the firmware workspace puts its ELFs.
fn elf_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => firmware_dir().join(d), // absolute paths replace the base
        None => firmware_dir().join("target"),
    };
    target.join("thumbv7em-none-eabihf/release")
}

pub fn cargo_in(dir: &Path, args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    sh::run(Command::new(cargo).args(args).current_dir(dir))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let bless = args.iter().any(|a| a == "--bless");
    let fw = firmware_dir();
    // Not `--all`: that would reach into path dependencies (dsp-core and
    // the root workspace), which the root's own format check covers.
    sh::step("firmware: format", || {
        let mut args = vec!["fmt", "--check"];
        for p in FIRMWARE_PACKAGES {
            args.extend(["-p", p]);
        }
        cargo_in(&fw, &args)
    })?;
    sh::step("firmware: clippy", || {
        cargo_in(
            &fw,
            &["clippy", "--workspace", "--release", "--", "-D", "warnings"],
        )
    })?;
    // One build per feature set: the STM32 HAL turns on cortex-m-rt's
    // `device` feature (its interrupt vectors), which the MPS2 images lack.
    sh::step("firmware: build every board", || {
        cargo_in(
            &fw,
            &[
                "build",
                "--release",
                "-p",
                "board-mps2-an386",
                "-p",
                "board-mps2-an500",
            ],
        )?;
        cargo_in(&fw, &["build", "--release", "-p", "board-stm32f746g-disco"])
    })?;

    if args.iter().any(|a| a == "--profile") {
        return crate::profile::run(&elf_dir().join("mps2-an386"));
    }

    let mut runs = Vec::new();
    for m in &MACHINES {
        let mut lines = Vec::new();
        sh::step(&format!("qemu {}: self-test", m.name), || {
            let t = Instant::now();
            let (ok, out) = boot(m.name, &elf_dir().join(m.name))?;
            println!(
                "({} lines of output in {:.1} s)",
                out.len(),
                t.elapsed().as_secs_f64()
            );
            if !ok {
                return Err(format!("the self-test failed:\n{}", out.join("\n")));
            }
            lines = out;
            Ok(())
        })?;
        sh::step(
            &format!("qemu {}: panic and HardFault handlers", m.name),
            || {
                expect_failure(m.name, "panic", "panicked at")?;
                expect_failure(m.name, "hardfault", "HardFault at pc")
            },
        )?;
        runs.push((m, lines));
    }

    sh::step(
        "firmware output = host output = firmware/expected/selftest.out",
        || {
            let vectors = sh::root().join("test-vectors");
            if bless {
                let headers = reference::headers(&runs[0].1);
                let host = reference::lines_for(&headers, &vectors)?;
                std::fs::create_dir_all(expected_path().parent().unwrap_or(&fw))
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
            for (m, lines) in &runs {
                compare(m.name, &comparable(lines), &expected)?;
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

/// Boot `elf` on `machine`; (exit status was 0, decoded lines).
fn boot(machine: &str, elf: &Path) -> Result<(bool, Vec<String>), String> {
    let mut qemu = Command::new("qemu-system-arm");
    qemu.args([
        "-machine",
        machine,
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "none",
    ])
    .args([
        "-icount",
        "shift=0",
        "-semihosting-config",
        "enable=on,target=native",
        "-kernel",
    ])
    .arg(elf)
    .stdin(Stdio::null())
    .stdout(Stdio::piped());
    let mut qemu = qemu
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
    let defmt_in = qemu.stdout.take().ok_or("no QEMU stdout")?;
    let mut print = Command::new("defmt-print")
        .arg("-e")
        .arg(elf)
        .args(["--log-format", "{s}"])
        .stdin(defmt_in)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start defmt-print: {e} (cargo install defmt-print)"))?;
    let mut stdout = print.stdout.take().ok_or("no defmt-print stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = qemu.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if started.elapsed() > QEMU_TIMEOUT {
            let _ = qemu.kill();
            let _ = qemu.wait();
            let _ = print.wait();
            return Err(format!(
                "{machine}: no exit after {} s",
                QEMU_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let printed = print.wait().map_err(|e| e.to_string())?;
    let text = reader
        .join()
        .map_err(|_| "defmt-print reader panicked".to_string())?
        .map_err(|e| e.to_string())?;
    if !printed.success() {
        return Err(format!("defmt-print failed ({printed}) on:\n{text}"));
    }
    Ok((status.success(), text.lines().map(str::to_string).collect()))
}

fn expect_failure(machine: &str, what: &str, message: &str) -> Result<(), String> {
    let (ok, lines) = boot(machine, &elf_dir().join(format!("{machine}-{what}")))?;
    let logged = lines.iter().any(|l| l.contains(message));
    println!("{}", lines.join("\n"));
    if ok || !logged {
        return Err(format!(
            "{machine}-{what}: expected a non-zero exit and a line with `{message}`; exit ok = {ok}"
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
pub fn image_size(elf: &Path) -> Result<(u64, u64, u64), String> {
    let s = sections(elf)?;
    let size = |names: &[&str]| {
        s.iter()
            .filter(|(n, _)| names.contains(&n.as_str()))
            .map(|(_, v)| v)
            .sum::<u64>()
    };
    let flash = size(&[".vector_table", ".text", ".rodata", ".data"]);
    let ram = size(&[".data", ".bss", ".uninit"]);
    Ok((flash, ram, size(&[".testaudio"])))
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// One table cell from a machine and its output lines.
type Cell = dyn Fn(&Machine, &[String]) -> Result<String, String>;

fn budget_table(runs: &[(&Machine, Vec<String>)]) -> Result<String, String> {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |name: &str, cells: Vec<String>| rows.push((name.to_string(), cells));
    let cells = |f: &Cell| -> Result<Vec<String>, String> {
        runs.iter().map(|(m, lines)| f(m, lines)).collect()
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
    let load = |path: &'static str, scenario: &'static str, target: Option<f64>| {
        move |m: &Machine, lines: &[String]| -> Result<String, String> {
            let x = find(lines, path, scenario)?;
            let per_second = x.get("per_second")?;
            let pct = share(m, per_second);
            let verdict = match target {
                Some(t) if m.reference_mhz == 168 && pct > t => format!(" (over the {t} % target)"),
                Some(t) if m.reference_mhz == 168 => format!(" (target ≤ {t} %)"),
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
        "embed, stereo 48 kHz, 993 ms burst every 2 s",
        cells(&load("embed", "mark", Some(EMBED_TARGET_PERCENT)))?,
    );
    row(
        "detect, mono 48 kHz, unmarked music (8 s)",
        cells(&load(
            "detect",
            "unmarked-48000-music",
            Some(DETECT_TARGET_PERCENT),
        ))?,
    );
    row(
        "detect, mono 48 kHz, 2 short-ID bursts (1.8 s)",
        cells(&load(
            "detect",
            "ultrasonic-48000-short-id",
            Some(DETECT_TARGET_PERCENT),
        ))?,
    );
    row(
        "detect, stereo 48 kHz, the marked loopback (8 s)",
        cells(&load("detect", "mark", None))?,
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
    for (m, _) in runs {
        t += &format!(" {} ({}) |", m.name, m.cpu);
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
    let (flash, ram, _) = image_size(&elf_dir().join("stm32f746g-disco"))?;
    t += &format!(
        "\nThe STM32F746G-DISCO image (SAI + codec drivers, 2 × 100 ms DMA rings): flash {}, RAM {} (statics).",
        kib(flash),
        kib(ram)
    );
    Ok(t)
}
