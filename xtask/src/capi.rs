//! The C API from C: `capi/tests/c/capi_test.c` linked against
//! `libhushmark_capi.a`, built with gcc and run on the host, and built with
//! `arm-none-eabi-gcc` and run on QEMU's Cortex-M4F. Both must pass and
//! print the same lines.

use std::process::Command;

use crate::{qemu, sh};

const CORTEX_M_FLAGS: &[&str] = &[
    "-mcpu=cortex-m4",
    "-mthumb",
    "-mfloat-abi=hard",
    "-mfpu=fpv4-sp-d16",
];
const WARNINGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2"];

/// Run `c` (with the emulator timeout), print its stdout; (succeeded, stdout).
fn capture(c: &mut Command) -> Result<(bool, String), String> {
    let (mut child, reader) = sh::spawn_reading(c)?;
    let status = sh::wait_within(&mut child, "the C test");
    let text = sh::read_all(reader)?;
    print!("{text}");
    Ok((status?.success(), text))
}

fn expect_pass(who: &str, (ok, text): (bool, String)) -> Result<String, String> {
    let summary = text.lines().last().unwrap_or("");
    if !ok || !summary.ends_with(" passed, 0 failed") {
        return Err(format!("the C test failed on {who}: `{summary}`"));
    }
    Ok(text)
}

pub fn run() -> Result<(), String> {
    let root = sh::root();
    let capi = root.join("capi");
    let test_c = capi.join("tests/c/capi_test.c");
    let include = capi.join("include");
    let target = sh::target_dir(&root);
    let out = target.join("capi-c");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let mut host_text = String::new();
    sh::step("C API: gcc on the host", || {
        sh::cargo(&["build", "-p", "hushmark-capi", "--release"])?;
        let exe = out.join("capi_test");
        sh::run(
            Command::new("gcc")
                .args(WARNINGS)
                .arg("-I")
                .arg(&include)
                .arg(&test_c)
                .arg(target.join("release/libhushmark_capi.a"))
                .args(["-lpthread", "-ldl", "-lm", "-o"])
                .arg(&exe),
        )?;
        host_text = expect_pass("the host", capture(&mut Command::new(&exe))?)?;
        Ok(())
    })?;
    sh::step("C API: arm-none-eabi-gcc on QEMU mps2-an386", || {
        sh::cargo(&[
            "build",
            "-p",
            "hushmark-capi",
            "--release",
            "--target",
            "thumbv7em-none-eabihf",
        ])?;
        let elf = out.join("capi_test_m4.elf");
        let startup = capi.join("tests/c/cortex-m");
        sh::run(
            Command::new("arm-none-eabi-gcc")
                .args(WARNINGS)
                .args(CORTEX_M_FLAGS)
                .args([
                    "-ffunction-sections",
                    "-fdata-sections",
                    "-nostartfiles",
                    "--specs=rdimon.specs",
                ])
                .arg("-I")
                .arg(&include)
                .arg("-T")
                .arg(startup.join("mps2.ld"))
                .arg(startup.join("startup.c"))
                .arg(&test_c)
                .arg(target.join("thumbv7em-none-eabihf/release/libhushmark_capi.a"))
                .args(["-Wl,--gc-sections", "-Wl,--no-warn-execstack", "-lm", "-o"])
                .arg(&elf),
        )?;
        let text = expect_pass(
            "Cortex-M4F",
            capture(&mut qemu::qemu_system("mps2-an386", &elf))?,
        )?;
        if text != host_text {
            return Err("the C test printed different lines on the host and on Cortex-M4F".into());
        }
        println!("same output on the host and on Cortex-M4F");
        Ok(())
    })
}
