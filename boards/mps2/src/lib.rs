//! # QEMU `mps2-an386` (Cortex-M4F) and `mps2-an500` (Cortex-M7)
//!
//! | | |
//! |---|---|
//! | memory | both: 4 MiB code SSRAM at 0x0 (the "flash"), 4 MiB data SSRAM at 0x2000_0000 (`memory.x`) |
//! | clocks | 25 MHz core clock; SysTick counts it, and under `-icount shift=0` one tick is 40 instructions ([`SysTickMeter`]) |
//! | audio | [`EmulatedCodec`](hushmark_firmware::emulated::EmulatedCodec): test vectors from flash through the same block trait as a DMA codec |
//! | stream | the clip's own rate (44.1 to 96 kHz) and channels; 256-frame blocks on `mps2-an386`, 480 on `mps2-an500` |
//! | logs | defmt over semihosting, decoded on the host by `defmt-print` |
//!
//! One binary per machine (`src/bin/<machine>.rs`: its name, CPU and block
//! size) and two deliberate failures (`mps2-panic`, `mps2-hardfault`) that
//! run on either. This library is what they share: the defmt transport and
//! the SysTick handler of the instruction meter.
//!
//! Run it: `cargo xtask qemu`, or `cargo run --release --bin <machine>` in
//! this folder.

#![no_std]

use cortex_m_rt::exception;
use hushmark_firmware::meter::SysTickMeter;

// The defmt transport of these machines.
use defmt_semihosting as _;

#[exception]
fn SysTick() {
    SysTickMeter::on_wrap();
}
