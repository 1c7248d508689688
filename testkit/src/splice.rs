//! Splices of differently marked copies of one programme: a pirate's edit
//! that alternates sources, or a schedule that switches boxes. Made here,
//! judged here: every ID reported must be one that was sent, at a place
//! where its copy is playing, and the marks that lie whole inside their
//! copy's segments are the ones expected.

use dsp_core::{EmbedConfig, Id, Profile};

use crate::harness::mark_span;
use crate::rng::Rng;
use crate::score::{Mark, Report};

/// A piece of the splice: samples `start..end` come from copy `copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub start: u64,
    pub end: u64,
    pub copy: usize,
}

/// The copies of `copies` (all as long as the first), taken in turn in
/// pieces of uniformly random length between `min` and `max` samples.
pub fn alternate(copies: &[&[f32]], min: u64, max: u64, rng: &mut Rng) -> (Vec<f32>, Vec<Segment>) {
    let len = copies[0].len() as u64;
    let mut out = Vec::with_capacity(len as usize);
    let mut segments = Vec::new();
    let mut start = 0;
    while start < len {
        let copy = segments.len() % copies.len();
        let end = (start + min + rng.below(max - min + 1)).min(len);
        out.extend_from_slice(&copies[copy][start as usize..end as usize]);
        segments.push(Segment { start, end, copy });
        start = end;
    }
    (out, segments)
}

/// What a detector made of a splice.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SpliceScore {
    /// Marks that lie whole inside a segment of their own copy.
    pub expected: usize,
    /// Of those, reported with their ID within the tolerance of their start.
    pub found: usize,
    /// Reports of an ID no copy carries. Must be 0.
    pub third_id: usize,
    /// Reports of a sent ID where none of its copy's marks is playing (no
    /// mark of that ID near the reported start overlaps its copy's
    /// segments). Must be 0.
    pub misplaced: usize,
}

impl core::ops::AddAssign for SpliceScore {
    fn add_assign(&mut self, o: SpliceScore) {
        self.expected += o.expected;
        self.found += o.found;
        self.third_id += o.third_id;
        self.misplaced += o.misplaced;
    }
}

/// Judge `reports` of the `profile` layer against the marks each copy's
/// configuration sent (`sent[c]` for `configs[c]`) and where the splice
/// played each copy. `tolerance` in samples.
pub fn judge(
    reports: &[Report],
    profile: Profile,
    configs: &[&EmbedConfig],
    sent: &[Vec<Mark>],
    segments: &[Segment],
    tolerance: u64,
) -> SpliceScore {
    let mut s = SpliceScore::default();
    let overlap = |copy: usize, from: u64, to: u64| {
        segments
            .iter()
            .filter(|g| g.copy == copy)
            .map(|g| to.min(g.end).saturating_sub(from.max(g.start)))
            .sum::<u64>()
    };
    let ids: Vec<Id> = configs.iter().map(|c| c.id).collect();
    let mut hit: Vec<Vec<bool>> = sent.iter().map(|m| vec![false; m.len()]).collect();
    for r in reports.iter().filter(|r| r.profile == profile) {
        let Some(copy) = ids.iter().position(|&id| id == r.id) else {
            s.third_id += 1;
            continue;
        };
        let span = mark_span(configs[copy]);
        let near = sent[copy]
            .iter()
            .position(|m| m.start.abs_diff(r.start) <= tolerance);
        match near {
            Some(i) if overlap(copy, sent[copy][i].start, sent[copy][i].start + span) > 0 => {
                hit[copy][i] = true
            }
            _ => s.misplaced += 1,
        }
    }
    for (copy, marks) in sent.iter().enumerate() {
        let span = mark_span(configs[copy]);
        for (i, m) in marks.iter().enumerate() {
            if overlap(copy, m.start, m.start + span) == span {
                s.expected += 1;
                s.found += hit[copy][i] as usize;
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{contract_id, embed_config};

    #[test]
    fn alternate_takes_each_copy_in_turn_and_covers_the_whole() {
        let a = vec![1.0f32; 1000];
        let b = vec![2.0f32; 1000];
        let (out, segs) = alternate(&[&a, &b], 10, 100, &mut Rng::new(3));
        assert_eq!(out.len(), 1000);
        assert_eq!(segs[0].start, 0);
        assert_eq!(segs.last().unwrap().end, 1000);
        for (k, g) in segs.iter().enumerate() {
            assert_eq!(g.copy, k % 2);
            assert!(g.end - g.start <= 100);
            assert!(g.end - g.start >= 10 || g.end == 1000);
            assert!(out[g.start as usize..g.end as usize]
                .iter()
                .all(|&v| v == 1.0 + g.copy as f32));
        }
    }

    #[test]
    fn judge_counts_whole_marks_third_ids_and_misplaced_reports() {
        let other = Id::new(&[7; 20]).unwrap();
        let ca = embed_config(Profile::Robust, 48_000, 1, contract_id());
        let cb = embed_config(Profile::Robust, 48_000, 1, other);
        let span = mark_span(&ca);
        let mark = |id, start| Mark {
            profile: Profile::Robust,
            id,
            start,
        };
        let sent = vec![
            vec![mark(ca.id, 0), mark(ca.id, span), mark(ca.id, 2 * span)],
            vec![mark(other, 0), mark(other, span), mark(other, 2 * span)],
        ];
        // a plays the first 1.5 periods, b the rest.
        let cut = span + span / 2;
        let segments = [
            Segment {
                start: 0,
                end: cut,
                copy: 0,
            },
            Segment {
                start: cut,
                end: 3 * span,
                copy: 1,
            },
        ];
        let report = |id, start| Report {
            profile: Profile::Robust,
            id,
            start,
            combined: 1,
            corrected_bits: 0,
        };
        let reports = [
            report(ca.id, 2),            // found
            report(ca.id, 2 * span),     // a's third period: b is playing
            report(other, 2 * span + 1), // found
            report(other, span),         // straddles the cut: where it is, not expected
            report(Id::new(&[9]).unwrap(), 0),
        ];
        let s = judge(&reports, Profile::Robust, &[&ca, &cb], &sent, &segments, 10);
        assert_eq!(
            s,
            SpliceScore {
                expected: 2,
                found: 2,
                third_id: 1,
                misplaced: 1,
            }
        );
    }
}
