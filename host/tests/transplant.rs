//! Transplanted marks: with `--check-binding`, the ultrasonic band of a
//! marked programme, lifted with a high-pass (sox) and mixed onto another
//! programme, is reported there as transplanted (`"kind":"transplant"`, a
//! summary that says so), never as an airing of its ID; the marked
//! programme itself is clean.

mod common;
use common::*;

#[test]
fn a_lifted_band_mixed_onto_other_programme_is_reported_as_transplanted() {
    let dir = tmp();
    let d = dir.path();
    let key = key_file(d);
    let programme = d.join("programme.wav");
    music_wav(&programme, 48_000, 1, 20.0, 31);
    let marked = d.join("marked.wav");
    embed(&programme, &marked, &key, &[]);
    let (code, genuine, err) = detect_json(&marked, &key, &["--check-binding"]);
    assert_eq!(code, 0, "{err}");
    let bursts = genuine.iter().filter(|e| e["kind"] == "detection").count();
    assert!(bursts >= 9, "{bursts} bursts in 20 s: {genuine:?}");
    assert!(
        genuine.iter().all(|e| e["kind"] != "transplant"),
        "the marked programme itself: {genuine:?}"
    );

    // Someone else's programme (sox: pink noise under a 3.3 Hz tremolo, so
    // it changes from one 80 ms window to the next), with the band above
    // 19.5 kHz of the marked one. The first burst, at 0 s, has nothing
    // before it to compare; half the bursts are caught on recorded
    // programme (docs/REPORT.md).
    let other = d.join("other.wav");
    tool(
        "sox",
        &[
            "-n",
            "-r",
            "48000",
            "-b",
            "16",
            "-c",
            "1",
            s(&other),
            "synth",
            "20",
            "pinknoise",
            "tremolo",
            "3.3",
            "80",
            "gain",
            "-12",
        ],
    );
    let lifted = d.join("lifted.wav");
    tool("sox", &[s(&marked), s(&lifted), "sinc", "19.5k"]);
    let framed = d.join("framed.wav");
    tool(
        "sox",
        &[
            "-m",
            "-v",
            "1",
            s(&other),
            "-v",
            "1",
            s(&lifted),
            s(&framed),
        ],
    );
    let (_, unchecked, _) = detect_json(&framed, &key, &[]);
    assert!(
        unchecked.iter().all(|e| e["kind"] != "transplant"),
        "checked only when asked: {unchecked:?}"
    );
    let (code, events, err) = detect_json(&framed, &key, &["--check-binding"]);
    assert_eq!(code, 0, "{err}");
    let transplants: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "transplant")
        .collect();
    let clean = events.iter().filter(|e| e["kind"] == "detection").count();
    assert!(
        transplants.len() * 2 >= bursts,
        "{} of {bursts} bursts reported transplanted, {clean} as detections: {events:?}",
        transplants.len()
    );
    for t in &transplants {
        assert_eq!(t["id"], ADDRESS, "{t}");
        assert_eq!(t["layer"], "ultrasonic", "{t}");
        let (checked, mismatched) = (
            t["fingerprint_checked"].as_u64().unwrap(),
            t["fingerprint_mismatched"].as_u64().unwrap(),
        );
        assert!(mismatched >= 1 && mismatched <= checked, "{t}");
    }
    assert!(err.contains("TRANSPLANTED"), "{err}");
}
