//! Panics and HardFaults: log through defmt, then stop for good.
//!
//! Under QEMU (feature `semihosting`) the program exits with a failure status
//! so CI fails instead of hanging; on hardware `udf` traps, which probe-rs
//! reports with a backtrace. [`exit`] ends a successful run the same way.
//!
//! The audio path is built not to panic (see `pipeline`), so reaching these
//! handlers is always a bug worth a red CI run.

use cortex_m_rt::{exception, ExceptionFrame};

/// End the program: exit code 0 or 1 under QEMU, a breakpoint or trap on
/// hardware.
pub fn exit(success: bool) -> ! {
    #[cfg(feature = "semihosting")]
    semihosting::process::exit(if success { 0 } else { 1 });
    #[cfg(not(feature = "semihosting"))]
    loop {
        if success {
            cortex_m::asm::bkpt();
        } else {
            cortex_m::asm::udf();
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // Interrupts off: nothing may log over the panic message.
    cortex_m::interrupt::disable();
    match info.location() {
        Some(l) => defmt::error!(
            "panicked at {=str}:{=u32}: {}",
            l.file(),
            l.line(),
            defmt::Display2Format(&info.message())
        ),
        None => defmt::error!("panicked: {}", defmt::Display2Format(&info.message())),
    }
    exit(false)
}

/// `defmt::panic!` and failed `defmt::assert!`s end here too.
#[defmt::panic_handler]
fn defmt_panic() -> ! {
    cortex_m::interrupt::disable();
    exit(false)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!(
        "HardFault at pc {=u32:#010x} (lr {=u32:#010x}, xpsr {=u32:#010x})",
        frame.pc(),
        frame.lr(),
        frame.xpsr()
    );
    let scb = cortex_m::peripheral::SCB::PTR;
    // SAFETY: reads of the fault status registers, which are always mapped.
    let (cfsr, hfsr) = unsafe { ((*scb).cfsr.read(), (*scb).hfsr.read()) };
    defmt::error!("CFSR {=u32:#010x} HFSR {=u32:#010x}", cfsr, hfsr);
    exit(false)
}
