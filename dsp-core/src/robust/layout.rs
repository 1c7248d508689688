//! Where everything sits in the time-frequency grid: the keyed cell
//! tables and the period maps (see the module docs of [`robust`](super)).

use crate::key::KeySchedule;
use crate::layout::{FrameClass, B_CODED};

use super::{BIND_SLOTS, BINS, PHASE_CYCLE, PILOTS, SLOTS, SLOT_CELLS};

/// PRF domain: cell phases.
pub(crate) const DOMAIN_PHASE: u8 = 0x10;
/// PRF domain: cell roles (a keyed permutation of the bins per phase index).
pub(crate) const DOMAIN_ROLE: u8 = 0x11;
/// PRF domain: pilot signs.
pub(crate) const DOMAIN_PILOT: u8 = 0x12;
/// PRF domain: the period map (a keyed permutation of the period's slots).
pub(crate) const DOMAIN_PERIOD: u8 = 0x13;

/// Role of a cell: a pilot (with its sign) or one of the frame's data slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A known ±1.
    Pilot(i8),
    /// Data slot `0..SLOTS` of the frame.
    Slot(u8),
}

/// Keyed cell roles: for each phase index `q = frame mod 8` and in-band
/// bin `b` (bin `FIRST_BIN + b`), pilot (and its sign) or data slot. The
/// phases are cheap to derive (one PRF call gives eight), so they are not
/// stored: see [`cell_phases`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Cells {
    /// Two cells per byte (bin 2i in the low nibble); a nibble's bit 3
    /// marks a pilot, bit 2 its negative sign, bits 0..2 a data slot.
    role: [[u8; BINS.div_ceil(2)]; PHASE_CYCLE],
}

/// Phases (1/256 turns) of the in-band cells of frames with phase index `q`.
pub(crate) fn cell_phases(keys: &KeySchedule, q: usize, mut each: impl FnMut(usize, u8)) {
    for w in 0..BINS.div_ceil(8) {
        let bytes = keys
            .prf(DOMAIN_PHASE, &[&[q as u8], &(w as u16).to_le_bytes()])
            .to_le_bytes();
        for (i, p) in bytes.into_iter().enumerate() {
            let b = 8 * w + i;
            if b < BINS {
                each(b, p);
            }
        }
    }
}

const PILOT_BIT: u8 = 0x8;
const NEGATIVE_BIT: u8 = 0x4;

impl Cells {
    pub const fn zeroed() -> Cells {
        Cells {
            role: [[0; BINS.div_ceil(2)]; PHASE_CYCLE],
        }
    }

    pub fn new(keys: &KeySchedule) -> Cells {
        let mut c = Cells::zeroed();
        for q in 0..PHASE_CYCLE {
            let mut order: [u8; BINS] = core::array::from_fn(|b| b as u8);
            shuffle(keys, DOMAIN_ROLE, q as u8, &mut order);
            let signs = keys.prf(DOMAIN_PILOT, &[&[q as u8]]);
            for (rank, &b) in order.iter().enumerate() {
                let nibble = if rank < PILOTS {
                    let negative = (signs >> rank) & 1 == 1;
                    PILOT_BIT | if negative { NEGATIVE_BIT } else { 0 }
                } else {
                    ((rank - PILOTS) / SLOT_CELLS) as u8
                };
                c.role[q][b as usize / 2] |= nibble << (4 * (b as usize % 2));
            }
        }
        c
    }

    /// Role of in-band bin `b` in frames with phase index `q`.
    #[inline]
    pub fn role(&self, q: usize, b: usize) -> Role {
        let r = (self.role[q][b / 2] >> (4 * (b % 2))) & 0xF;
        if r & PILOT_BIT != 0 {
            Role::Pilot(if r & NEGATIVE_BIT != 0 { -1 } else { 1 })
        } else {
            Role::Slot(r)
        }
    }
}

impl core::fmt::Debug for Cells {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Cells(<keyed>)")
    }
}

/// What a data slot of a period carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content {
    /// Coded bit `i` of block A (the ID).
    A(u16),
    /// Coded bit `i` of block B (the counter).
    B(u16),
    /// Binding bit `i` (a keyed fingerprint of the programme).
    Bind(u16),
}

/// Frames in a period of each class.
pub(crate) const fn period_frames(class: FrameClass) -> usize {
    (class.a_coded() + B_CODED + BIND_SLOTS) / SLOTS
}

/// Longest period, frames.
pub(crate) const MAX_PERIOD_FRAMES: usize = period_frames(FrameClass::Long);
const MAX_PERIOD_SLOTS: usize = MAX_PERIOD_FRAMES * SLOTS;

const _: () = assert!(period_frames(FrameClass::Long) * SLOTS == 412 + 76 + BIND_SLOTS);
const _: () = assert!(period_frames(FrameClass::Short) * SLOTS == 220 + 76 + BIND_SLOTS);
const _: () = assert!(period_frames(FrameClass::Long) % PHASE_CYCLE == 0);
const _: () = assert!(period_frames(FrameClass::Short) % PHASE_CYCLE == 0);

/// The period map of one frame class: slot `f * SLOTS + j` (frame `f` of
/// the period, data slot `j`) carries `content(f, j)`. A keyed permutation
/// spreads each block over the whole period, so a fade or a gap hits
/// scattered coded bits, which the code corrects.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PeriodMap {
    class: FrameClass,
    /// Bits 14..16: kind (0 A, 1 B, 2 bind); bits 0..14: index.
    slot: [u16; MAX_PERIOD_SLOTS],
}

impl PeriodMap {
    pub const fn zeroed() -> PeriodMap {
        PeriodMap {
            class: FrameClass::Short,
            slot: [0; MAX_PERIOD_SLOTS],
        }
    }

    pub fn new(keys: &KeySchedule, class: FrameClass) -> PeriodMap {
        let n = period_frames(class) * SLOTS;
        let mut order = [0u16; MAX_PERIOD_SLOTS];
        for (i, o) in order.iter_mut().enumerate().take(n) {
            *o = i as u16;
        }
        shuffle(keys, DOMAIN_PERIOD, class_tag(class), &mut order[..n]);
        let mut map = PeriodMap {
            class,
            slot: [0; MAX_PERIOD_SLOTS],
        };
        let a = class.a_coded();
        for (rank, &s) in order[..n].iter().enumerate() {
            map.slot[s as usize] = if rank < a {
                rank as u16
            } else if rank < a + B_CODED {
                (1 << 14) | (rank - a) as u16
            } else {
                (2 << 14) | (rank - a - B_CODED) as u16
            };
        }
        map
    }

    pub fn frames(&self) -> usize {
        period_frames(self.class)
    }

    /// Content of data slot `j` of frame `f` (`f < frames()`).
    #[inline]
    pub fn content(&self, f: usize, j: usize) -> Content {
        let v = self.slot[f * SLOTS + j];
        let i = v & 0x3FFF;
        match v >> 14 {
            0 => Content::A(i),
            1 => Content::B(i),
            _ => Content::Bind(i),
        }
    }
}

impl core::fmt::Debug for PeriodMap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PeriodMap({:?}, <keyed>)", self.class)
    }
}

fn class_tag(class: FrameClass) -> u8 {
    match class {
        FrameClass::Short => 0,
        FrameClass::Long => 1,
    }
}

/// Keyed Fisher–Yates shuffle: for `i` from the end, swap `i` with
/// `PRF(domain, tag ‖ i) mod (i + 1)` (the modulo bias is below 2^-50).
fn shuffle<T>(keys: &KeySchedule, domain: u8, tag: u8, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let r = keys.prf(domain, &[&[tag], &(i as u16).to_le_bytes()]);
        let j = (r % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Key;

    fn keys() -> KeySchedule {
        KeySchedule::new(&Key::from_bytes([3; 16]))
    }

    #[test]
    fn every_frame_has_the_documented_cells() {
        let cells = Cells::new(&keys());
        for q in 0..PHASE_CYCLE {
            let mut pilots = 0;
            let mut slots = [0; SLOTS];
            for b in 0..BINS {
                match cells.role(q, b) {
                    Role::Pilot(s) => {
                        assert!(s == 1 || s == -1);
                        pilots += 1
                    }
                    Role::Slot(j) => slots[j as usize] += 1,
                }
            }
            assert_eq!(pilots, PILOTS);
            assert_eq!(slots, [SLOT_CELLS; SLOTS]);
        }
        let other = Cells::new(&KeySchedule::new(&Key::from_bytes([4; 16])));
        assert!(cells != other, "tables depend on the key");
    }

    #[test]
    fn period_maps_carry_each_bit_once() {
        for class in FrameClass::ALL {
            let map = PeriodMap::new(&keys(), class);
            let (mut a, mut b, mut bind) = ([0u8; 412], [0u8; B_CODED], [0u8; BIND_SLOTS]);
            for f in 0..map.frames() {
                for j in 0..SLOTS {
                    match map.content(f, j) {
                        Content::A(i) => a[i as usize] += 1,
                        Content::B(i) => b[i as usize] += 1,
                        Content::Bind(i) => bind[i as usize] += 1,
                    }
                }
            }
            assert!(a[..class.a_coded()].iter().all(|&n| n == 1), "{class:?}");
            assert!(a[class.a_coded()..].iter().all(|&n| n == 0));
            assert!(b.iter().all(|&n| n == 1));
            assert!(bind.iter().all(|&n| n == 1));
        }
    }
}
