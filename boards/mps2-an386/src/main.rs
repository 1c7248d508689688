//! The self-test on `mps2-an386`: mark and detect the test vectors, print
//! events and costs, exit 0 only if every session ran cleanly.

#![no_std]
#![no_main]

use board_mps2_an386::BOARD;
use cortex_m_rt::entry;
use dsp_core::Detector;
use hushmark_firmware::emulated::EmulatedCodec;
use hushmark_firmware::{fault, meter::SysTickMeter, selftest, stack};

#[entry]
fn main() -> ! {
    // Both live in statics: the codec is all zeros (.bss), the detector's
    // 40 KiB never pass through the stack.
    static mut CODEC: EmulatedCodec = EmulatedCodec::new();
    static mut DETECTOR: Detector = Detector::unconfigured();

    let Some(core) = cortex_m::Peripherals::take() else {
        fault::exit(false)
    };
    let meter = match SysTickMeter::start(core.SYST) {
        Ok(m) => m,
        Err(e) => {
            defmt::error!("no instruction clock, run QEMU with -icount shift=0: {}", e);
            fault::exit(false)
        }
    };
    defmt::println!(
        "measure calibration instructions_per_tick {=u64}",
        meter.instructions_per_tick()
    );
    let ok = selftest::run(&BOARD, &meter, CODEC, DETECTOR);
    let s = stack::peak();
    defmt::println!(
        "measure stack peak {=usize} size {=usize}",
        s.peak_bytes,
        s.size_bytes
    );
    fault::exit(ok)
}
