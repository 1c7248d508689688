//! `cargo xtask qemu --profile`: where the firmware's instructions go.
//!
//! Runs the `mps2-an386` self-test under a QEMU TCG plugin
//! (`firmware/tools/insn-profile.c`) that counts executions of every
//! instruction address, maps each address to its inlined call chain with
//! `arm-none-eabi-addr2line -i`, and prints, for the embedder and for the
//! detector, the functions (innermost, after inlining) that executed most.
//! A development aid for engine optimisation; CI does not run it.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::sh;

/// Frames whose names say which path an instruction belongs to. A function
/// the compiler kept out of line is its own chain's outermost frame, so the
/// robust layer's helpers are named by module.
const EMBED_MARKERS: &[&str] = &[
    "dsp_core::engine::Embedder",
    "dsp_core::ultrasonic::embedder",
    "dsp_core::ultrasonic::burst",
    "dsp_core::robust::embedder",
];
const DETECT_MARKERS: &[&str] = &[
    "dsp_core::engine::Detector",
    "dsp_core::ultrasonic::detector",
    "dsp_core::robust::detector",
    "dsp_core::fec",
];
/// What both robust paths share: the masking model, transforms, resampling.
const ROBUST_SHARED_MARKERS: &[&str] = &[
    "dsp_core::robust::masking",
    "dsp_core::robust::spectrum",
    "dsp_core::robust::rate",
    "dsp_core::robust::layout",
    "microfft::",
];
/// Frames worth naming in the breakdown (the rest are std glue).
const NAMED: &[&str] = &[
    "dsp_core::",
    "compiler_builtins",
    "libm::",
    "__aeabi",
    "hushmark_firmware::",
    "microfft::",
];

pub fn run(machine: &str, elf: &Path) -> Result<(), String> {
    let tools = sh::root().join("firmware/tools");
    let out_dir = elf.parent().ok_or("ELF without a folder")?.join("profile");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let plugin = out_dir.join("insn-profile.so");
    let counts_file = out_dir.join("counts.txt");
    sh::step("profile: build the TCG plugin", || {
        sh::run(
            Command::new("gcc")
                .args([
                    "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                ])
                .arg(&plugin)
                .arg(tools.join("insn-profile.c")),
        )
    })?;
    sh::step(
        &format!("profile: the {machine} self-test under the plugin"),
        || {
            let status = crate::qemu::qemu_system(machine, elf)
                .arg("-plugin")
                .arg(format!(
                    "{},out={}",
                    plugin.display(),
                    counts_file.display()
                ))
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
            if status.success() {
                Ok(())
            } else {
                Err(format!("the self-test failed under the plugin ({status})"))
            }
        },
    )?;
    let counts = read_counts(&counts_file)?;
    let chains = inline_chains(elf, counts.keys().copied())?;
    let total: u64 = counts.values().sum();
    println!("\n{total} instructions executed in all (self-test, emulated codec included)");
    for (path, markers) in [
        ("embed", EMBED_MARKERS),
        ("detect", DETECT_MARKERS),
        (
            "robust shared (masking, FFTs, resampling)",
            ROBUST_SHARED_MARKERS,
        ),
    ] {
        let mut by_function: HashMap<&str, u64> = HashMap::new();
        let mut path_total = 0u64;
        for (addr, &n) in &counts {
            let Some(chain) = chains.get(addr) else {
                continue;
            };
            if !chain
                .iter()
                .any(|f| markers.iter().any(|m| f.starts_with(m)))
            {
                continue;
            }
            path_total += n;
            let name = chain
                .iter()
                .find(|f| NAMED.iter().any(|p| f.starts_with(p)))
                .or(chain.first())
                .map_or("?", String::as_str);
            *by_function.entry(name).or_default() += n;
        }
        let mut rows: Vec<_> = by_function.into_iter().collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.1));
        println!("\n{path}: {path_total} instructions inside its own code (callees it shares, e.g. memcpy or soft-float helpers, are listed below)");
        for (name, n) in rows.iter().take(15) {
            println!(
                "  {:5.1} %  {n:>12}  {name}",
                100.0 * *n as f64 / path_total.max(1) as f64
            );
        }
    }
    let mut shared: HashMap<&str, u64> = HashMap::new();
    for (addr, &n) in &counts {
        if let Some(name) = chains.get(addr).and_then(|c| c.first()) {
            if name.starts_with("compiler_builtins")
                || name.starts_with("__aeabi")
                || name.starts_with("libm::")
            {
                *shared.entry(name.as_str()).or_default() += n;
            }
        }
    }
    let mut rows: Vec<_> = shared.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    println!("\nshared helpers (soft-float conversions, memcpy, libm):");
    for (name, n) in rows.iter().take(10) {
        println!("  {n:>12}  {name}");
    }
    Ok(())
}

fn read_counts(path: &Path) -> Result<HashMap<u64, u64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let (a, n) = l.split_once(' ')?;
            Some((u64::from_str_radix(a, 16).ok()?, n.parse().ok()?))
        })
        .collect())
}

/// Address → inlined call chain, innermost first, generics stripped.
fn inline_chains(
    elf: &Path,
    addrs: impl Iterator<Item = u64>,
) -> Result<HashMap<u64, Vec<String>>, String> {
    let input: String = addrs.map(|a| format!("{a:#x}\n")).collect();
    let mut child = Command::new("arm-none-eabi-addr2line")
        .args(["-f", "-i", "-C", "-a", "-e"])
        .arg(elf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start arm-none-eabi-addr2line: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no addr2line stdin")?;
    let writer =
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, input.as_bytes()));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    writer
        .join()
        .map_err(|_| "addr2line writer panicked".to_string())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut chains = HashMap::new();
    let mut current: Option<(u64, Vec<String>)> = None;
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if let Some(hex) = l.strip_prefix("0x") {
            if let Some((a, c)) = current.take() {
                chains.insert(a, c);
            }
            current = u64::from_str_radix(hex, 16).ok().map(|a| (a, Vec::new()));
        } else if let Some((_, chain)) = current.as_mut() {
            chain.push(strip_generics(l));
            lines.next(); // the frame's file:line
        }
    }
    if let Some((a, c)) = current {
        chains.insert(a, c);
    }
    Ok(chains)
}

fn strip_generics(name: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for ch in name.chars() {
        match ch {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    out
}
