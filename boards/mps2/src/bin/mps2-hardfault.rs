//! Faults on purpose: the HardFault handler must log and exit non-zero.

#![no_std]
#![no_main]

use board_mps2 as _;

#[cortex_m_rt::entry]
fn main() -> ! {
    hushmark_firmware::selftest::fault_on_purpose()
}
