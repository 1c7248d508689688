//! Panics on purpose: the handler must log through defmt and exit non-zero.

#![no_std]
#![no_main]

use board_mps2 as _;

#[cortex_m_rt::entry]
fn main() -> ! {
    hushmark_firmware::selftest::panic_on_purpose()
}
