//! # QEMU `mps2-an386` (Cortex-M4F)
//!
//! | | |
//! |---|---|
//! | memory | 4 MiB code SSRAM at 0x0 (the "flash"), 4 MiB data SSRAM at 0x2000_0000 (`memory.x`) |
//! | clocks | 25 MHz core clock; SysTick counts it, and under `-icount shift=0` one tick is 40 instructions ([`SysTickMeter`]) |
//! | audio | [`EmulatedCodec`](hushmark_firmware::emulated::EmulatedCodec): test vectors from flash through the same block trait as a DMA codec |
//! | stream | the clip's own rate (44.1 to 96 kHz) and channels; 256-frame blocks (5.3 ms at 48 kHz) |
//! | logs | defmt over semihosting, decoded on the host by `defmt-print` |
//!
//! Run it: `cargo xtask qemu`, or `cargo run --release` in this folder.

#![no_std]

use cortex_m_rt::exception;
use hushmark_firmware::meter::SysTickMeter;
use hushmark_firmware::selftest::BoardInfo;

// The defmt transport of this board.
use defmt_semihosting as _;

pub const BOARD: BoardInfo = BoardInfo {
    name: "mps2-an386",
    cpu: "Cortex-M4F",
    block_frames: 256,
};

#[exception]
fn SysTick() {
    SysTickMeter::on_wrap();
}
