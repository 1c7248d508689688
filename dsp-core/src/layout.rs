//! Burst layout: which symbol of a burst is preamble, data, pilot or tail.
//!
//! ```text
//! | preamble 64 | data 32 | pilot 2 | data 32 | pilot 2 | ... | data ≤32 | pilot 2 | tail 12 |
//!  ^ ramp-in over the first 12 symbols                         ramp-out over the tail ^
//! ```
//!
//! The data stream is block B (counter, 76 coded bits) followed by block A
//! (the ID, 220 or 412 coded bits); see [`crate::frame`]. Pilots every 32
//! data symbols let the detector follow carrier phase and clock drift.

/// Known symbols at the start: detection, timing and coarse frequency.
pub const PREAMBLE_SYMBOLS: usize = 64;
/// Raised-cosine amplitude ramp at each end, in symbols.
pub const RAMP_SYMBOLS: usize = 12;
/// Known symbols after the last pilot, sent while the amplitude ramps down.
pub const TAIL_SYMBOLS: usize = RAMP_SYMBOLS;
/// Data symbols between pilot groups.
pub const PILOT_SPACING: usize = 32;
/// Symbols per pilot group.
pub const PILOTS_PER_GROUP: usize = 2;
/// Constraint length of the convolutional code.
pub const CONSTRAINT_LENGTH: usize = 7;
/// Zero tail that terminates each code block.
pub const TAIL_BITS: usize = CONSTRAINT_LENGTH - 1;
/// Block B info bits: 16-bit counter (encrypted) + 16-bit check.
pub const B_INFO_BITS: usize = 32;
/// Block B coded length.
pub const B_CODED: usize = 2 * (B_INFO_BITS + TAIL_BITS);
/// Most pilot groups in any burst.
pub const MAX_PILOT_GROUPS: usize = FrameClass::Long.pilot_groups();
/// Longest burst in symbols.
pub const MAX_BURST_SYMBOLS: usize = FrameClass::Long.total_symbols();
/// Longest data stream in symbols.
pub const MAX_DATA_SYMBOLS: usize = FrameClass::Long.data_symbols();
/// Longest block A coded length.
pub const MAX_A_CODED: usize = FrameClass::Long.a_coded();

/// Frame class: short IDs get shorter bursts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameClass {
    /// IDs of 1 to 8 bytes (64-bit transaction numbers).
    Short,
    /// IDs of 9 to 20 bytes (contract addresses).
    Long,
}

impl FrameClass {
    /// Both classes, short first.
    pub const ALL: [FrameClass; 2] = [FrameClass::Short, FrameClass::Long];

    /// The class that carries an ID of `len` bytes.
    pub const fn for_id_len(len: usize) -> FrameClass {
        if len <= 8 {
            FrameClass::Short
        } else {
            FrameClass::Long
        }
    }

    /// ID bytes the class carries (shorter IDs are zero-padded).
    pub const fn id_capacity(self) -> usize {
        match self {
            FrameClass::Short => 8,
            FrameClass::Long => 20,
        }
    }

    /// Smallest ID length the class carries.
    pub const fn min_id_len(self) -> usize {
        match self {
            FrameClass::Short => 1,
            FrameClass::Long => 9,
        }
    }

    /// Block A bytes: header, ID (padded), 32-bit MAC.
    pub const fn a_bytes(self) -> usize {
        1 + self.id_capacity() + 4
    }

    /// Block A information bits.
    pub const fn a_info_bits(self) -> usize {
        8 * self.a_bytes()
    }

    /// Block A coded bits (rate 1/2 plus the zero tail).
    pub const fn a_coded(self) -> usize {
        2 * (self.a_info_bits() + TAIL_BITS)
    }

    /// Data symbols of a burst: block B then block A, coded.
    pub const fn data_symbols(self) -> usize {
        B_CODED + self.a_coded()
    }

    /// Pilot groups of a burst.
    pub const fn pilot_groups(self) -> usize {
        self.data_symbols().div_ceil(PILOT_SPACING)
    }

    const fn body_symbols(self) -> usize {
        self.data_symbols() + PILOTS_PER_GROUP * self.pilot_groups()
    }

    /// Symbols of a whole burst: preamble, data with pilots, tail.
    pub const fn total_symbols(self) -> usize {
        PREAMBLE_SYMBOLS + self.body_symbols() + TAIL_SYMBOLS
    }

    /// What symbol `k` of a burst carries.
    pub(crate) fn role(self, k: usize) -> SymbolRole {
        if k < PREAMBLE_SYMBOLS {
            return SymbolRole::Preamble(k);
        }
        let r = k - PREAMBLE_SYMBOLS;
        if r >= self.body_symbols() {
            return SymbolRole::Tail(r - self.body_symbols());
        }
        let group = r / (PILOT_SPACING + PILOTS_PER_GROUP);
        let pos = r % (PILOT_SPACING + PILOTS_PER_GROUP);
        let data_in_group = data_in_group(self.data_symbols(), group);
        if pos < data_in_group {
            SymbolRole::Data(group * PILOT_SPACING + pos)
        } else {
            SymbolRole::Pilot(group, pos - data_in_group)
        }
    }

    /// Symbol index of data symbol `j`.
    pub(crate) const fn data_symbol_index(j: usize) -> usize {
        PREAMBLE_SYMBOLS
            + (j / PILOT_SPACING) * (PILOT_SPACING + PILOTS_PER_GROUP)
            + j % PILOT_SPACING
    }

    /// Symbol index of pilot `i` of group `group`.
    pub(crate) const fn pilot_symbol_index(self, group: usize, i: usize) -> usize {
        PREAMBLE_SYMBOLS
            + group * (PILOT_SPACING + PILOTS_PER_GROUP)
            + data_in_group(self.data_symbols(), group)
            + i
    }
}

const fn data_in_group(data_symbols: usize, group: usize) -> usize {
    let left = data_symbols - group * PILOT_SPACING;
    if left < PILOT_SPACING {
        left
    } else {
        PILOT_SPACING
    }
}

/// The role of one symbol in a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SymbolRole {
    /// Preamble symbol `i`.
    Preamble(usize),
    /// Data symbol `j` (0-based over blocks B then A).
    Data(usize),
    /// Pilot `i` of group `g`.
    Pilot(usize, usize),
    /// Tail symbol `i`.
    Tail(usize),
}

/// Index into the keyed "known bits" stream for pilots and tail symbols.
pub(crate) const fn known_bit_index(role: SymbolRole) -> Option<usize> {
    match role {
        SymbolRole::Pilot(g, i) => Some(g * PILOTS_PER_GROUP + i),
        SymbolRole::Tail(i) => Some(MAX_PILOT_GROUPS * PILOTS_PER_GROUP + i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_documented_frame() {
        assert_eq!(B_CODED, 76);
        assert_eq!(FrameClass::Short.a_coded(), 220);
        assert_eq!(FrameClass::Long.a_coded(), 412);
        assert_eq!(FrameClass::Long.pilot_groups(), 16);
        assert_eq!(FrameClass::Long.total_symbols(), 596);
        assert_eq!(FrameClass::Short.total_symbols(), 392);
    }

    #[test]
    fn roles_cover_every_symbol_once() {
        for class in FrameClass::ALL {
            let mut data = 0;
            let mut pilots = 0;
            let mut tail = 0;
            let mut pre = 0;
            for k in 0..class.total_symbols() {
                match class.role(k) {
                    SymbolRole::Preamble(i) => {
                        assert_eq!(i, pre);
                        pre += 1
                    }
                    SymbolRole::Data(j) => {
                        assert_eq!(j, data);
                        assert_eq!(FrameClass::data_symbol_index(j), k);
                        data += 1
                    }
                    SymbolRole::Pilot(g, i) => {
                        assert_eq!(class.pilot_symbol_index(g, i), k);
                        pilots += 1
                    }
                    SymbolRole::Tail(i) => {
                        assert_eq!(i, tail);
                        tail += 1
                    }
                }
            }
            assert_eq!(pre, PREAMBLE_SYMBOLS);
            assert_eq!(data, class.data_symbols());
            assert_eq!(pilots, class.pilot_groups() * PILOTS_PER_GROUP);
            assert_eq!(tail, TAIL_SYMBOLS);
            // The last data symbol is followed by a pilot group.
            let last = FrameClass::data_symbol_index(class.data_symbols() - 1);
            assert!(matches!(class.role(last + 1), SymbolRole::Pilot(_, 0)));
        }
    }
}
