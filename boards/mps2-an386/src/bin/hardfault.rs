//! Faults on purpose: the HardFault handler must log and exit non-zero.

#![no_std]
#![no_main]

use board_mps2_an386 as _;
use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    defmt::println!("faulting on purpose");
    // An undefined instruction: a UsageFault, escalated to HardFault because
    // the configurable fault handlers are off.
    cortex_m::asm::udf()
}
