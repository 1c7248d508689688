//! The lines the firmware prints about what it found.
//!
//! They are a contract with the host: `cargo xtask qemu` computes the same
//! lines with the engine built for the host and compares them, and with the
//! expected output committed in `firmware/expected/`. Floats go out as
//! defmt `f32`, which the host decodes with the shortest text that
//! round-trips, so equal text means equal bits.
//!
//! Lines that depend on the machine (sizes, counts, timings) start with
//! `measure ` or `board ` and are left out of the comparison.

use dsp_core::{Detection, Id};

/// An ID as lowercase hex, on the stack.
#[derive(Debug)]
pub struct IdHex {
    buf: [u8; 2 * Id::MAX_LEN],
    len: usize,
}

impl IdHex {
    pub fn new(id: &Id) -> IdHex {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 2 * Id::MAX_LEN];
        for (pair, b) in buf.chunks_exact_mut(2).zip(id.as_bytes()) {
            pair.copy_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
        }
        IdHex {
            buf,
            len: 2 * id.len(),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits were written.
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

/// `event id .. counter .. start .. snr .. corrected .. combined .. ppm ..`
pub fn event(d: &Detection) {
    let id = IdHex::new(&d.id);
    match d.counter {
        Some(c) => defmt::println!(
            "event id {=str} counter {=u16} start {=u64} snr {=f32} corrected {=u16} combined {=u8} ppm {=f32}",
            id.as_str(),
            c,
            d.start_sample,
            d.snr_db,
            d.corrected_bits,
            d.bursts_combined,
            d.clock_ppm
        ),
        None => defmt::println!(
            "event id {=str} counter ? start {=u64} snr {=f32} corrected {=u16} combined {=u8} ppm {=f32}",
            id.as_str(),
            d.start_sample,
            d.snr_db,
            d.corrected_bits,
            d.bursts_combined,
            d.clock_ppm
        ),
    }
}
