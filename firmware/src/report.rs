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

use defmt::Display2Format;
use dsp_core::{Collision, Detection, Event, Presence};

/// One line per event:
/// `event PROFILE id .. counter .. start .. snr .. corrected .. combined .. ppm ..`
/// for a mark read, `presence id .. from .. to .. z .. present|absent` for
/// the robust layer's verdict on a window,
/// `collision PROFILE from .. to .. marks .. pilots ..` for unreadable,
/// colliding marks, `transplant N of M bits event ..` for a burst lifted
/// from another programme.
pub fn event(e: &Event) {
    match e {
        Event::Detection(d) => detection(d),
        Event::Presence(p) => presence(p),
        Event::Collision(c) => collision(c),
        Event::Transplant(t) => {
            let d = &t.detection;
            defmt::println!(
                "transplant {=u8} of {=u8} bits event {=str} id {} counter {} start {=u64} snr {=f32} corrected {=u16} combined {=u8} ppm {=f32}",
                t.check.mismatched,
                t.check.checked,
                d.profile.name(),
                Display2Format(&d.id),
                Counter(d.counter),
                d.start_sample,
                d.snr_db,
                d.corrected_bits,
                d.bursts_combined,
                d.clock_ppm
            );
        }
    }
}

fn collision(c: &Collision) {
    defmt::println!(
        "collision {=str} from {=u64} to {=u64} marks {=u16} pilots {=f32}",
        c.profile.name(),
        c.start_sample,
        c.end_sample,
        c.marks,
        c.pilot_snr_db
    );
}

fn detection(d: &Detection) {
    // `Id`'s Display: lowercase hex, as the host prints it.
    defmt::println!(
        "event {=str} id {} counter {} start {=u64} snr {=f32} corrected {=u16} combined {=u8} ppm {=f32}",
        d.profile.name(),
        Display2Format(&d.id),
        Counter(d.counter),
        d.start_sample,
        d.snr_db,
        d.corrected_bits,
        d.bursts_combined,
        d.clock_ppm
    );
}

fn presence(p: &Presence) {
    defmt::println!(
        "presence id {} from {=u64} to {=u64} z {=f32} {=str}",
        Display2Format(&p.id),
        p.start_sample,
        p.end_sample,
        p.z,
        if p.present { "present" } else { "absent" }
    );
}

/// A mark's counter, `?` when its counter block did not verify.
struct Counter(Option<u16>);

impl defmt::Format for Counter {
    fn format(&self, f: defmt::Formatter) {
        match self.0 {
            Some(c) => defmt::write!(f, "{=u16}", c),
            None => defmt::write!(f, "?"),
        }
    }
}
