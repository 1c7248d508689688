//! # QEMU `mps2-an500` (Cortex-M7)
//!
//! | | |
//! |---|---|
//! | memory | 4 MiB code SSRAM at 0x0 (the "flash"), 4 MiB data SSRAM at 0x2000_0000 (`memory.x`) |
//! | clocks | 25 MHz core clock; SysTick counts it, and under `-icount shift=0` one tick is 40 instructions ([`SysTickMeter`]) |
//! | audio | [`EmulatedCodec`](hushmark_firmware::emulated::EmulatedCodec): test vectors from flash through the same block trait as a DMA codec |
//! | stream | the clip's own rate (44.1 to 96 kHz) and channels; 480-frame blocks (10 ms at 48 kHz), so the two QEMU boards also show that results do not depend on the block size |
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
    name: "mps2-an500",
    cpu: "Cortex-M7",
    block_frames: 480,
};

#[exception]
fn SysTick() {
    SysTickMeter::on_wrap();
}
