//! The self-test on QEMU `mps2-an500` (Cortex-M7): the same as on
//! `mps2-an386`, with another CPU and block size.

#![no_std]
#![no_main]

use board_mps2 as _;
use hushmark_firmware::selftest::{main_on_qemu, BoardInfo};

/// 480-frame blocks (10 ms at 48 kHz): not `mps2-an386`'s size, so the two
/// machines also show that results do not depend on how a stream is cut.
const BOARD: BoardInfo = BoardInfo {
    name: "mps2-an500",
    cpu: "Cortex-M7",
    block_frames: 480,
};

#[cortex_m_rt::entry]
fn main() -> ! {
    main_on_qemu(&BOARD)
}
