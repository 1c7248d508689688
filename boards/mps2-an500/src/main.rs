//! The self-test on `mps2-an500`: mark and detect the test vectors, print
//! events and costs, exit 0 only if every session ran cleanly.

#![no_std]
#![no_main]

use board_mps2_an500::BOARD;
use cortex_m_rt::entry;
use dsp_core::Detector;
use hushmark_firmware::emulated::EmulatedCodec;

#[entry]
fn main() -> ! {
    // cortex-m-rt turns these into `&'static mut`: the codec is all zeros
    // (.bss) and the detector's 40 KiB never pass through the stack.
    static mut CODEC: EmulatedCodec = EmulatedCodec::new();
    static mut DETECTOR: Detector = Detector::unconfigured();
    hushmark_firmware::selftest::main_on_qemu(&BOARD, CODEC, DETECTOR)
}
