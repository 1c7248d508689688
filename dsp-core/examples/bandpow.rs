use testkit::synth::{generate, Kind};
fn main() {
    let mark = testkit::channel::mark_power(-30.0);
    for kind in Kind::ALL {
        let x = generate(kind, 48000, 48000 * 20, 1);
        let p = testkit::channel::band_power(&x, 48000, 20000.0, 21600.0);
        let q = testkit::channel::band_power(&x, 48000, 18000.0, 19400.0);
        println!(
            "{:18} ultrasonic band SNR {:6.1} dB   near-ultrasonic band SNR {:6.1} dB",
            kind.name(),
            10.0 * (mark / p).log10(),
            10.0 * (mark / q).log10()
        );
    }
}
