//! Panics on purpose: the handler must log through defmt and exit non-zero.

#![no_std]
#![no_main]

use board_mps2_an386 as _;
use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    defmt::println!("panicking on purpose");
    let limit = core::hint::black_box(3usize);
    let table = [1u8, 2, 3];
    // An out-of-bounds index the compiler cannot see through.
    let v = table[limit];
    defmt::println!("unreachable: {=u8}", v);
    hushmark_firmware::fault::exit(true)
}
