//! Running commands: echo them, stream their output, fail with their status.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// No emulated run takes close to this; a hung one must not hang CI.
pub const EMULATOR_TIMEOUT: Duration = Duration::from_secs(300);

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Where cargo, run in `workspace` (the root or `firmware/`), puts what it
/// builds: `CARGO_TARGET_DIR` is relative to the directory cargo runs in,
/// and an absolute one replaces the base.
pub fn target_dir(workspace: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => workspace.join(d),
        None => workspace.join("target"),
    }
}

/// Run a named step and report how long it took.
pub fn step(name: &str, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    println!("\n==> {name}");
    let t = Instant::now();
    let r = f();
    match &r {
        Ok(()) => println!("<== {name}: ok ({:.0} s)", t.elapsed().as_secs_f64()),
        Err(e) => println!("<== {name}: FAILED: {e}"),
    }
    r
}

/// Cargo in the root workspace.
pub fn cargo(args: &[&str]) -> Result<(), String> {
    cargo_in(&root(), args, &[] as &[(&str, &str)])
}

/// Cargo in the root workspace with extra environment.
pub fn cargo_env(
    args: &[&str],
    env: &[(impl AsRef<OsStr>, impl AsRef<OsStr>)],
) -> Result<(), String> {
    cargo_in(&root(), args, env)
}

/// Cargo in `dir`, which picks the workspace and its `.cargo/config.toml`.
pub fn cargo_in(
    dir: &Path,
    args: &[&str],
    env: &[(impl AsRef<OsStr>, impl AsRef<OsStr>)],
) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(cargo);
    c.args(args).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    run(&mut c)
}

/// Run and require success.
pub fn run(c: &mut Command) -> Result<(), String> {
    println!("$ {}", describe(c));
    let status = c
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(c)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(c)))
    }
}

/// Run quietly; true if it succeeded.
pub fn succeeds(c: &mut Command) -> bool {
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Start `c` with its stdout piped and read it on a thread, so a child that
/// writes a lot never blocks on a full pipe while we wait for it.
pub fn spawn_reading(
    c: &mut Command,
) -> Result<(Child, std::thread::JoinHandle<std::io::Result<String>>), String> {
    let mut child = c
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(c)))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    Ok((child, reader))
}

/// Collect what a [`spawn_reading`] thread read.
pub fn read_all(
    reader: std::thread::JoinHandle<std::io::Result<String>>,
) -> Result<String, String> {
    reader
        .join()
        .map_err(|_| "output reader panicked".to_string())?
        .map_err(|e| e.to_string())
}

/// Wait for `child`, or kill it after [`EMULATOR_TIMEOUT`].
pub fn wait_within(child: &mut Child, what: &str) -> Result<ExitStatus, String> {
    let started = Instant::now();
    loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(s);
        }
        if started.elapsed() > EMULATOR_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{what}: no exit after {} s",
                EMULATOR_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
