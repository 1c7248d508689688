//! # The ultrasonic layer: a keyed CPM burst above 20 kHz
//!
//! The default layer: short bursts of binary CPM in a band above (or, for
//! `near-ultrasonic`, just below) 20 kHz, where programme energy is small and
//! people cannot hear it. It survives PCM, FLAC, AAC at 256 kbit/s and more,
//! Vorbis at 256 kbit/s and 44.1 kHz resampling; lossy codecs that cut near
//! 20 kHz remove it (the [`robust`](crate::robust) layer is for those).
//!
//! ## The signal, top down
//!
//! **Schedule.** A burst every N seconds (0.5 s to 1 h, default 2 s) after a
//! start offset, or back-to-back ([`Schedule`](crate::Schedule)). Outside bursts the output is
//! the input, bit for bit.
//!
//! **Burst.** Symbols at a fixed physical rate (600 per second in the
//! `ultrasonic` and `near-ultrasonic` profiles), laid out as
//! 64 preamble symbols, data in groups of 32 with 2 pilot symbols after each
//! group, and 12 tail symbols; the amplitude ramps up over the first 12 and
//! down over the tail with raised-cosine ramps (`layout.rs`). A 20-byte ID
//! takes 596 symbols, 993 ms at 600 Bd; IDs of up to 8 bytes take 392
//! symbols, 653 ms.
//!
//! | profile | band | carrier | symbol rate | long / short burst |
//! |---|---|---|---|---|
//! | `ultrasonic` (default) | 20.0–21.6 kHz | 20.5 kHz | 600 Bd | 993 / 653 ms |
//! | `near-ultrasonic` | 18.0–19.4 kHz | 18.7 kHz | 600 Bd | 993 / 653 ms |
//! | `ultrasonic-wide` at 48 kHz | 20.0–22.08 kHz | 21.0 kHz | 800 Bd | 745 / 490 ms |
//! | `ultrasonic-wide` at 88.2 kHz | 20.0–40.57 kHz | 30.2 kHz | 4410 Bd | 135 / 89 ms |
//! | `ultrasonic-wide` at 96 kHz | 20.0–44.16 kHz | 32.0 kHz | 4800 Bd | 124 / 82 ms |
//!
//! `near-ultrasonic` survives codecs that cut at 20 kHz (MP3, Opus), but some
//! listeners, mostly young ones, can hear it.
//!
//! **Modulation.** Binary CPM, modulation index 1/2, raised-cosine frequency
//! pulse 4 symbols long (4RC), differentially precoded (`modulator.rs`). The envelope is constant during a burst, so a
//! speaker's nonlinearity maps the mark only to DC and to 41 kHz, never into
//! the audible band; the phase is smooth, so the spectrum falls fast: the
//! residual below (band edge − 1 kHz) is 97 dB under the mark for every
//! profile and rate (test `residual_stays_in_band_...`), and 99.99 % of the
//! energy lies inside the band. The mark is `A·env(t)·sin(2π f_c t + θ(t))`
//! with `A` the peak level (default −30 dBFS, [`DEFAULT_LEVEL_DBFS`](crate::DEFAULT_LEVEL_DBFS)).
//!
//! **Never clips, never leaves its band.** The output is the input delayed
//! by 2 ms; a look-ahead limiter (`limiter.rs`) lowers the mark where the
//! programme nears full scale, as a smooth gain (a quadratic B-spline over
//! the 2 ms) that never lets a sample pass full scale, so even on
//! hard-clipped masters the audible-band residual stays at the output
//! format's floor. The programme itself is never changed. Each burst is
//! counted as sent at full level, lowered (by how much), or without room
//! ([`EmbedStats`]).
//!
//! **Frame.** Two blocks, each convolutionally coded (K = 7, rate 1/2,
//! 171/133 octal, zero tail), interleaved by `i → 37·i mod n`, then XORed
//! with a keyed scrambling sequence (`frame.rs`, `burst.rs`):
//!
//! * block B, first: 16-bit burst counter (encrypted), 8 bits of the
//!   programme's fingerprint before the burst (padded; `binding.rs`: a band
//!   lifted onto another programme reads as transplanted) and an 8-bit keyed
//!   check bound to the ID's MAC; 76 coded bits;
//! * block A: header (version, ID length), the ID zero-padded to 8 or 20
//!   bytes, and a 32-bit SipHash MAC that is also the IV of the encryption
//!   (SIV): 220 or 412 coded bits. Block A is identical in every burst of
//!   one ID, which is what makes soft combining possible.
//!
//! Pilots, tail and scrambling come in four keyed variants, chosen by the
//! burst counter mod 4. A room's echo of a burst (or any interference that
//! repeats with the signal) then differs from burst to burst, so combining
//! averages it out instead of adding it up; the detector recognises the
//! variant from the pilots, and a decoded counter must agree with it.
//!
//! **Keys.** One 128-bit key; preamble, pilots, scrambling, encryption, MAC
//! and counter check all derive from it with SipHash-2-4 (the `siphasher`
//! crate) and a domain byte (`key.rs`). Without the key nobody can find the
//! preamble, read the ID or make a mark that verifies.
//!
//! ## Writing a compatible embedder or decoder
//!
//! Everything needed, in the order the embedder applies it (`K` = the key;
//! PRF = SipHash-2-4 keyed with `K` over `domain byte ‖ input`, see `key.rs`):
//!
//! 1. **Block A** (`frame.rs`): plaintext = `(0 << 5 | len)` ‖ ID ‖ zeros to 8
//!    or 20 ID bytes; MAC = low 32 bits of PRF(0x04, plaintext), little-endian;
//!    ciphertext = plaintext XOR PRF(0x05, MAC ‖ i) (i = 0, 1, 2; each output
//!    as 8 little-endian bytes); block A = ciphertext ‖ MAC (13 or 25 bytes).
//! 2. **Block B**: counter `c` (u16, burst index mod 2^16) XOR low 16 bits of
//!    PRF(0x06, MAC) as u16 LE; then `bind` = the programme fingerprint
//!    ([`binding`](crate::binding)) XOR low 8 bits of PRF(0x08, MAC ‖ c LE);
//!    then low 8 bits of PRF(0x09, MAC ‖ c LE ‖ bind).
//! 3. **Code** each block separately (`fec.rs`): bytes MSB first, then six zero
//!    bits; K = 7 encoder with register `(s << 1 | u) & 0x7F` (u = newest bit in
//!    bit 0), outputs parity(reg & 0o171) then parity(reg & 0o133).
//! 4. **Interleave**: coded bit `i` of an `n`-bit block goes to position
//!    `37·i mod n`; block B fills data positions 0..76, block A 76.. .
//! 5. **Scramble**: data bit `j` XOR bit `j mod 64` of PRF(0x03, `v ‖ j / 64`),
//!    `v` = counter mod 4.
//! 6. **Place** (`layout.rs`): 64 preamble bits (bit `i` of PRF(0x01)), then
//!    groups of 32 data bits each followed by 2 pilot bits, then 12 tail bits;
//!    pilot `i` of group `g` is known bit `2g + i`, tail bit `t` is known bit
//!    `32 + t`, known bit `b` = bit `b mod 64` of PRF(0x02, `v ‖ b / 64`).
//! 7. **Modulate** (`modulator.rs`): `d_k = 1 − 2·bit_k`, `a_k = d_k·d_{k−1}`
//!    (`d_{−1} = 1`), CPM with h = 1/2 and the 4RC phase pulse; symbol `k`
//!    starts at sample `k·fs/R` after the burst start (exact rational
//!    arithmetic), carrier phase 0 at the burst start; mark =
//!    `A·env·sin(2π f_c t + θ(t))` with raised-cosine ramps of 12 symbols.
//!
//! A decoder undoes the steps; the bundled [`Detector`] is one way (see below).
//! `test-vectors/` holds files with their expected events to check against.
//!
//! ## The detector, top down
//!
//! See [`Detector`]. Channels are summed; one polyphase FIR mixes the band to
//! baseband and decimates to ~4 samples per symbol; a correlator against the
//! keyed preamble, cut into 8 segments joined by a 16-point DFT, finds bursts
//! and their carrier offset (sample-clock errors up to ±1800 ppm) in one pass;
//! a Laurent-pulse matched filter demodulates along the time axis the clock
//! error implies, with phase and residual frequency fitted to preamble and
//! pilots; a soft-decision Viterbi decoder and the MAC decide. Bursts that
//! fail alone are remembered as 8-bit LLRs and combined with later ones.
//!
//! ## Measured
//!
//! From this crate's tests (`cargo test -p dsp-core`), white noise in the
//! profile band, 48 kHz: single bursts decode 21/21 at −3 dB in-band SNR and
//! ≥ 80 % at −4 dB; with soft combining IDs still decode at −10 dB, where no
//! single burst does. ±1000 ppm clock error, 48k→44.1k→48k, 16-bit
//! requantisation at −40 dB, gains from −40 to +20 dB and near-full-scale
//! programme lose nothing. Start times are within 1 ms.
//!
//! **False alarms.** Every report has passed a 32-bit MAC and a header check
//! (version 0, a length the frame class allows, zero padding: at most 12/256
//! of random headers pass), so a candidate that is not a mark becomes an event
//! with probability at most 2 · 2^-32 · 12/256 ≈ 2.2e-11 (two frame classes
//! tried); with soft combining, up to 4 attempts per candidate keep it under
//! 5e-11, far below the 1e-9 design bound. The false-alarm test scans 11.2
//! hours of unmarked and wrong-key audio of 14 kinds, making ~49 000 MAC
//! checks, and finds nothing.

pub(crate) mod burst;
pub(crate) mod detector;
pub(crate) mod embedder;
pub(crate) mod limiter;
pub(crate) mod modulator;

pub use detector::{Detector, DetectorStats};
pub use embedder::{EmbedStats, Embedder, AUDIBLE_GAIN};
