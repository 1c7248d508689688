//! Loud masters: `embed` says what the limiter did, and what it wrote stays
//! out of the audible band (issue: bursts on full-scale programme were
//! reported as sent while cut to pieces).

mod common;
use common::*;

/// Pink-ish noise driven 6 dB into hard clipping: a fifth of it at full scale.
fn clipped_noise(seconds: f64) -> Vec<i16> {
    let n = (48_000.0 * seconds) as usize;
    let mut rng = testkit::rng::Rng::new(4);
    let mut lp = 0.0f32;
    (0..n)
        .map(|_| {
            lp = 0.7 * lp + 0.3 * (rng.uniform() * 2.0 - 1.0);
            (lp * 8.0).clamp(-1.0, 1.0)
        })
        .map(|v| (v * 32_767.0) as i16)
        .collect()
}

#[test]
fn embed_reports_bursts_without_room_and_leaves_the_audible_band_clean() {
    let dir = tmp();
    let key = key_file(dir.path());
    let input = dir.path().join("hot.wav");
    let output = dir.path().join("hot-marked.wav");
    let x = clipped_noise(6.0);
    write_wav_i16(&input, 48_000, 1, &x);
    let note = embed(&input, &output, &key, &[]);
    // Every burst is accounted for, none claimed as sent at full level.
    assert!(note.contains("0 at full level"), "{note}");
    assert!(note.contains("no room for a readable mark"), "{note}");
    let y = read_i16(&output);
    assert_eq!(y.len(), x.len());
    let r: Vec<f32> = y
        .iter()
        .zip(&x)
        .map(|(&a, &b)| (a as f32 - b as f32) / 32_768.0)
        .collect();
    let audible = testkit::channel::low_passed(&r, 48_000, 16_000.0);
    let worst = testkit::channel::window_levels_db(&audible, 48_000, 0.05)
        .into_iter()
        .fold(f32::MIN, f32::max);
    assert!(worst < -98.0, "audible residual {worst} dBFS");
}

#[test]
fn embed_reports_a_lowered_mark_on_a_loud_master() {
    let dir = tmp();
    let key = key_file(dir.path());
    let input = dir.path().join("loud.wav");
    let output = dir.path().join("loud-marked.wav");
    // Music normalised so its peaks touch full scale now and then.
    music_wav(&input, 48_000, 1, 6.0, 9);
    let mut x = read_i16(&input);
    let peak = x.iter().map(|v| v.unsigned_abs()).max().unwrap_or(1) as f32;
    x.iter_mut()
        .for_each(|v| *v = (*v as f32 * 32_767.0 / peak * 1.6).clamp(-32_768.0, 32_767.0) as i16);
    write_wav_i16(&input, 48_000, 1, &x);
    let note = embed(&input, &output, &key, &["--level", "-12"]);
    assert!(note.contains("lowered for loud programme"), "{note}");
    assert!(note.contains("lowered by up to"), "{note}");
    let (code, found, _) = detect_json(&output, &key, &[]);
    assert_eq!(code, 0, "{found:?}");
    assert!(found.iter().all(|d| d["id"] == ADDRESS));
}
