//! Scoring: what detectors reported against the marks that were sent.
//!
//! Layer-independent: a [`Mark`] is an ID put at a sample by one layer's
//! embedder, a [`Report`] an ID a detector of one layer says starts at a
//! sample. A treatment that moves time (resampling, drift, cuts) says how in
//! a [`TimeMap`], and [`score`] matches each report to the mark it names.

use dsp_core::Id;

use dsp_core::Profile;

/// One mark that was sent: `id` at sample `start` of the embedder's stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub profile: Profile,
    pub id: Id,
    pub start: u64,
}

/// One report by a detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    pub profile: Profile,
    pub id: Id,
    /// Where the detector says the mark starts, in its own stream's samples.
    pub start: u64,
    /// 1 for a mark decoded alone, more when several were combined.
    pub combined: u8,
    /// Channel bits the error correction fixed.
    pub corrected_bits: u16,
}

/// Where a sample of the original ends up after a treatment.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeMap {
    /// `t_out = t_in · scale`.
    Scale(f64),
    /// Pieces `[start, start + len)` of the original were removed.
    Cuts(Vec<(u64, u64)>),
}

impl TimeMap {
    /// Time untouched.
    pub const SAME: TimeMap = TimeMap::Scale(1.0);

    /// Output time of input sample `t`, or `None` if it was cut out.
    pub fn map(&self, t: u64) -> Option<f64> {
        match self {
            TimeMap::Scale(s) => Some(t as f64 * s),
            TimeMap::Cuts(cuts) => {
                let mut removed = 0u64;
                for &(start, len) in cuts {
                    if t >= start + len {
                        removed += len;
                    } else if t >= start {
                        return None;
                    }
                }
                Some((t - removed) as f64)
            }
        }
    }
}

/// What a detection run found against what was sent.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Score {
    /// Marks sent.
    pub expected: usize,
    /// Distinct marks reported with their ID and layer within the tolerance.
    pub found: usize,
    /// Found marks decoded alone.
    pub single: usize,
    /// Found marks that needed soft combining.
    pub combined: usize,
    /// Marks whose ID was recovered, alone or within a combination (the
    /// combined counts of the found marks' reports), at most all.
    pub covered: usize,
    /// Reports of an ID that was not sent on that layer. Must be 0.
    pub wrong_id: usize,
    /// The right ID, but no mark within the tolerance of its start.
    pub bad_time: usize,
    /// Further reports of a mark already found.
    pub repeated: usize,
    /// Channel bits corrected, summed over the found marks.
    pub corrected_bits: u32,
}

impl Score {
    /// Share of the marks found (0 when none were sent).
    pub fn rate(&self) -> f32 {
        per(self.found as f32, self.expected)
    }

    /// Mean channel bits corrected per found mark.
    pub fn mean_corrected_bits(&self) -> f32 {
        per(self.corrected_bits as f32, self.found)
    }
}

/// `x / n`, 0 for none.
fn per(x: f32, n: usize) -> f32 {
    if n == 0 {
        0.0
    } else {
        x / n as f32
    }
}

/// Match every report to a mark of its layer and ID whose start, through
/// `map`, lies within `tolerance` samples of the reported one.
pub fn score(reports: &[Report], sent: &[Mark], map: &TimeMap, tolerance: f64) -> Score {
    let mut s = Score {
        expected: sent.len(),
        ..Score::default()
    };
    let mut hit = vec![false; sent.len()];
    for r in reports {
        let same = |m: &Mark| m.profile == r.profile && m.id == r.id;
        if !sent.iter().any(same) {
            s.wrong_id += 1;
            continue;
        }
        let at = sent.iter().position(|m| {
            same(m)
                && map
                    .map(m.start)
                    .is_some_and(|t| (t - r.start as f64).abs() <= tolerance)
        });
        match at {
            None => s.bad_time += 1,
            Some(i) if hit[i] => s.repeated += 1,
            Some(i) => {
                hit[i] = true;
                s.found += 1;
                if r.combined > 1 {
                    s.combined += 1;
                } else {
                    s.single += 1;
                }
                s.covered += r.combined as usize;
                s.corrected_bits += r.corrected_bits as u32;
            }
        }
    }
    s.covered = s.covered.min(sent.len());
    s
}

#[cfg(test)]
mod tests {
    use dsp_core::Profile;

    use super::*;

    #[test]
    fn cut_map_skips_removed_pieces() {
        let m = TimeMap::Cuts(vec![(100, 10), (200, 10)]);
        assert_eq!(m.map(50), Some(50.0));
        assert_eq!(m.map(105), None);
        assert_eq!(m.map(150), Some(140.0));
        assert_eq!(m.map(250), Some(230.0));
    }

    #[test]
    fn reports_match_marks_of_their_layer_id_and_time() {
        let (a, b) = (Id::new(&[1]).unwrap(), Id::new(&[2]).unwrap());
        let (us, near) = (Profile::Ultrasonic, Profile::NearUltrasonic);
        let mark = |profile, id, start| Mark { profile, id, start };
        let report = |profile, id, start, combined| Report {
            profile,
            id,
            start,
            combined,
            corrected_bits: 4,
        };
        let sent = [mark(us, a, 1000), mark(us, a, 3000), mark(near, b, 2000)];
        let reports = [
            report(us, a, 2002, 1),   // mark 2 at half speed
            report(us, a, 2003, 1),   // the same again
            report(us, a, 600, 1),    // nowhere
            report(us, b, 1000, 1),   // b was sent on the other layer only
            report(near, b, 1001, 3), // combined, 3 marks' worth
        ];
        let s = score(&reports, &sent, &TimeMap::Scale(2.0 / 3.0), 5.0);
        assert_eq!(
            s,
            Score {
                expected: 3,
                found: 1,
                single: 1,
                combined: 0,
                covered: 1,
                wrong_id: 1,
                bad_time: 2,
                repeated: 1,
                corrected_bits: 4,
            },
            "{s:?}"
        );
        let reports = [
            report(us, a, 1002, 1),
            report(us, a, 2998, 2),
            report(near, b, 2001, 3),
        ];
        let s = score(&reports, &sent, &TimeMap::SAME, 5.0);
        assert_eq!(
            (s.found, s.single, s.combined, s.covered),
            (3, 1, 2, 3),
            "{s:?}"
        );
        assert_eq!(s.mean_corrected_bits(), 4.0);
    }
}
