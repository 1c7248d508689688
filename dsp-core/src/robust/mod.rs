//! # The robust layer: an in-band mark under the programme's masking threshold
//!
//! The ultrasonic layer lives above 20 kHz, where every broadcast and
//! streaming codec cuts. This layer lives at 344 Hz–7 kHz, inside the
//! programme, as keyed noise shaped frame by frame under the masking
//! threshold the programme itself sets, and is found by coherent
//! correlation with the key's pattern. It carries the same block A (ID and
//! MAC) and block B (counter) as the ultrasonic layer.
//!
//! ## Choices, and why
//!
//! * **Band 344 Hz–7 kHz.** Every target codec codes it as a waveform
//!   (MP3 128k, AAC 128k, Opus 64k, Vorbis 128k, MP2, AC-3, E-AC-3 all keep
//!   the band's phase well enough for correlation: measured 0.1–1.5 dB of
//!   loss), loudspeakers and microphones pass it, and the programme's
//!   energy (so its masking) is there. Below 344 Hz masking is weak and
//!   rooms ring; above 7 kHz the 3:1 resampling filter needs its transition.
//! * **A 16 kHz mark domain.** The mark is defined on a 16 kHz grid
//!   ([`MARK_RATE`]); at 48 kHz one linear-phase FIR decimates the programme
//!   for analysis and interpolates the mark back (`rate.rs`). A mark is
//!   thus the same physical signal whatever the stream rate; other rates go
//!   through the host's resampler.
//! * **STFT, 512 points (32 ms), hop 256 (16 ms), sqrt-Hann.** 31.25 Hz
//!   bins resolve the critical bands of the masking model; 32 ms frames are
//!   short enough for speech and long enough for codecs (20–24 ms frames).
//!   The analysis and synthesis windows overlap-add to exactly one.
//! * **Coherent cells, phase-only correlation.** Each bin of each frame is a
//!   cell: the embedder adds `A·s·e^{jφ}` with `A` from the masking model,
//!   `φ` a keyed phase and `s = ±1` the cell's pilot or data value; the
//!   detector correlates `Re(Y·e^{−jφ}) / |Y|`. Lossy codecs keep a band's
//!   magnitudes and, at these rates, its phases to within a few degrees;
//!   dividing by `|Y|` whitens the programme, which is the noise here. At the
//!   default mark-to-mask ratio of −3 dB one cell has an SNR of about −10 to
//!   −14 dB on real programme, and a 4 s window holds 53 500 cells.
//! * **Informed embedding (ISS).** The embedder knows the programme, so it
//!   knows the part of the detector's statistic the programme itself will
//!   contribute to each data slot, and cancels most of it (λ = 0.8, at
//!   most +3 dB over the masked amplitude): about +2 dB per coded bit on
//!   real programme for the same average mark power.
//! * **Masking model** (`masking.rs`): Johnston-style critical-band
//!   spreading, per-band tonality, the threshold in quiet, and a temporal
//!   rule (never louder than the previous frame allowed: no pre-echo).
//!   Silence and near-silence (below −70 dB against a full-scale sine) carry
//!   no mark, and the detector ignores such frames: they claim nothing.
//!
//! ## Frame format (enough for a compatible implementation)
//!
//! Time is counted in mark samples (16 kHz) from the schedule's start
//! (anchor + offset). Frame `m` is centred at mark sample `256·m` (48 kHz
//! sample `768·m`) and spans 512 samples. `q = m mod 8` is its phase index;
//! in-band bins are `k = 11..=224`, `b = k − 11`.
//!
//! 1. **Cell phases**: byte `b mod 8` of PRF(0x10, `q ‖ (b / 8) as u16 LE`),
//!    in 1/256 turns.
//! 2. **Cell roles**: the 214 in-band bins are shuffled (Fisher–Yates from
//!    the end, swap `i` with PRF(0x11, `q ‖ i as u16 LE`) mod (i + 1));
//!    ranks 0..30 are pilots, ranks 30 + 46·j .. 30 + 46·(j+1) data slot j
//!    (j = 0..4). Pilot of rank r has sign −1 if bit r of PRF(0x12, `q`).
//! 3. **Period**: the ID's frame class sets the period, 128 frames
//!    (2.048 s) for IDs over 8 bytes, 80 frames (1.28 s) otherwise. Period
//!    `p` covers frames `p·P .. (p+1)·P`; its slots (frame f of the period,
//!    slot j → index `4f + j`) are shuffled with PRF(0x13, class ‖ i) (class
//!    0 short, 1 long): the first `len(A coded)` ranks carry block A's coded
//!    bits in order, the next 76 block B's (counter `p mod 2^16`), the last
//!    24 binding bits (reserved: sent as bit 0 for now).
//! 4. **Blocks** are [`frame`](crate::frame)'s block A and block B, coded
//!    with the K = 7 convolutional code (`fec.rs`), exactly as in the
//!    ultrasonic layer but not interleaved (the period map spreads them).
//! 5. **Values**: coded bit 0 → +1, 1 → −1; the cell adds
//!    `A_k · g · s · e^{j2π φ/256}` to the frame's spectrum, with `g` the
//!    slot's ISS scale (1 without ISS).
//!
//! ## The detector, top down
//!
//! Channels are summed and decimated to 16 kHz; a 512-point STFT at hop
//! 128 (twice the embedder's rate, so one of every two frames is within 64
//! samples of an embedder frame) keeps each in-band bin's phase, 4 bits,
//! for the last 4.1 s. Acquisition searches frame parity, phase index and
//! clock drift on the pilots (an IFFT over bins gives the timing); a lock
//! is refined on every pilot in the window, then each period phase and
//! frame class is tried: slot sums → LLRs → Viterbi → MAC. Once an ID is
//! known, every second is tested against the ID's full pattern
//! (confirmation), so an airing keeps a 1 s resolution.

mod detector;
mod embedder;
pub(crate) mod layout;
pub(crate) mod masking;
pub(crate) mod rate;
pub(crate) mod spectrum;

pub use detector::{Detector, Stats as DetectStats, MAX_KNOWN, PRESENCE_Z};
pub use embedder::{Embedder, Stats as EmbedStats, LATENCY};
pub use masking::{
    measure as measure_mask_ratio, MaskFrame, DEFAULT_MMR_DB, MASK_BANDS, MAX_MMR_DB, MIN_MMR_DB,
    SILENCE_DB,
};

/// Stream samples (at [`STREAM_RATE`]) of one period of an ID's class:
/// 128 frames (2.048 s) for IDs over 8 bytes, 80 (1.28 s) otherwise.
pub const fn period_samples(class: crate::layout::FrameClass) -> u64 {
    (layout::period_frames(class) * HOP * (STREAM_RATE / MARK_RATE) as usize) as u64
}

/// The mark's sample rate: the robust layer is defined on this grid.
pub const MARK_RATE: u32 = 16_000;
/// The stream rate the robust engine runs at (others: resample first).
pub use crate::config::ROBUST_STREAM_RATE as STREAM_RATE;
/// Most channels the robust embedder marks (mono or stereo).
pub const MAX_CHANNELS: u16 = 2;

/// STFT length, mark samples.
pub(crate) const FRAME: usize = 512;
/// Embedder hop, mark samples.
pub(crate) const HOP: usize = 256;
/// Lowest and highest in-band bin.
pub(crate) const FIRST_BIN: usize = 11;
pub(crate) const LAST_BIN: usize = 224;
/// In-band bins (cells per frame).
pub(crate) const BINS: usize = LAST_BIN + 1 - FIRST_BIN;
/// Frames between repeats of the cell tables.
pub(crate) const PHASE_CYCLE: usize = 8;
/// Pilot cells per frame.
pub(crate) const PILOTS: usize = 30;
/// Data slots per frame and cells per slot.
pub(crate) const SLOTS: usize = 4;
pub(crate) const SLOT_CELLS: usize = 46;
/// Binding slots per period.
pub(crate) const BIND_SLOTS: usize = 24;

const _: () = assert!(PILOTS + SLOTS * SLOT_CELLS == BINS);
