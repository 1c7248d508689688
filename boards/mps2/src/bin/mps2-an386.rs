//! The self-test on QEMU `mps2-an386` (Cortex-M4F): mark and detect the test
//! vectors, print events and costs, exit 0 only if every session ran cleanly.

#![no_std]
#![no_main]

use board_mps2 as _;
use hushmark_firmware::selftest::{main_on_qemu, BoardInfo};

/// 256-frame blocks (5.3 ms at 48 kHz).
const BOARD: BoardInfo = BoardInfo {
    name: "mps2-an386",
    cpu: "Cortex-M4F",
    block_frames: 256,
};

#[cortex_m_rt::entry]
fn main() -> ! {
    main_on_qemu(&BOARD)
}
