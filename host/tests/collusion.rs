//! Colluded copies: two boxes' copies of one programme mixed together carry
//! no readable ID, and `detect` says they are marked and colliding (with
//! the times) instead of "no mark found"; never a third ID.

mod common;
use common::*;

#[test]
fn detect_reports_averaged_and_spliced_copies_as_marked_but_colliding() {
    let dir = tmp();
    let key = key_file(dir.path());
    let programme = dir.path().join("programme.wav");
    music_wav(&programme, 48_000, 1, 12.0, 5);
    let ids = [
        "d8da6bf26964af9d7eed9e03e53415d37aa96045",
        "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
    ];
    let copies: Vec<Vec<i16>> = ids
        .iter()
        .map(|id| {
            let out = dir.path().join(format!("{id}.wav"));
            embed(&programme, &out, &key, &["--id", id]);
            read_i16(&out)
        })
        .collect();
    let averaged: Vec<i16> = copies[0]
        .iter()
        .zip(&copies[1])
        .map(|(&a, &b)| ((a as i32 + b as i32) / 2) as i16)
        .collect();
    let piece = 12_000;
    let spliced: Vec<i16> = (0..copies[0].len())
        .map(|i| copies[(i / piece) % 2][i])
        .collect();
    for (name, samples) in [("averaged", averaged), ("spliced", spliced)] {
        let path = dir.path().join(format!("{name}.wav"));
        write_wav_i16(&path, 48_000, 1, &samples);
        let (code, events, err) = detect_json(&path, &key, &[]);
        assert_eq!(code, 0, "{name}: marked audio: {err}");
        assert!(
            events
                .iter()
                .all(|e| e["kind"] != "detection" || ids.contains(&e["id"].as_str().unwrap_or(""))),
            "{name}: {events:?}"
        );
        let runs: Vec<_> = events.iter().filter(|e| e["kind"] == "collision").collect();
        let last = runs
            .last()
            .unwrap_or_else(|| panic!("{name}: no collision: {events:?}"));
        assert!(last["marks"].as_u64().unwrap() >= 5, "{name}: {last}");
        assert!(last["start_s"].as_f64().unwrap() < 0.1, "{name}: {last}");
        assert!(last["end_s"].as_f64().unwrap() > 10.0, "{name}: {last}");
        assert_eq!(last["layer"], "ultrasonic");
        assert!(err.contains("marked but colliding"), "{name}: {err}");
    }
}
