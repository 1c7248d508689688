//! The self-test the QEMU boards run: the firmware marks programme and
//! detects test vectors, all from flash through [`EmulatedCodec`], and
//! prints what it found (see [`crate::report`]) and what it cost.
//!
//! 1. **mark**: the unmarked music vector, played as stereo, is marked by the
//!    embedder (set-top-box path) with the firmware's own ID, once per layer
//!    set ([`MARKS`]: ultrasonic, robust, both); the DAC's output is
//!    fingerprinted, and looped back with a fixed delay into the detector
//!    (monitoring path) for the same layers, which must find every mark.
//! 2. **clips**: each vector is captured and searched for the layers
//!    [`CLIPS`] names.
//!
//! Every session is named `NAME/LAYERS` in its closing and `measure` lines.
//!
//! `cargo xtask qemu` checks the printed lines against the same computation
//! on the host and against `firmware/expected/selftest.out`.

use core::ptr::addr_of_mut;

use defmt::Display2Format;
use dsp_core::{
    DetectConfig, Detector, EmbedConfig, Embedder, Id, Key, Profile, Profiles, Schedule,
};

use crate::audio::AudioFormat;
use crate::emulated::{Capture, EmulatedCodec, Programme};
use crate::fault;
use crate::meter::{Meter, PathLoad, SysTickMeter};
use crate::pipeline::{Pipeline, RunStats};
use crate::report;
use crate::stack;
use crate::wav::Wav;

/// The public key of the test vectors (never for real content).
pub const VECTOR_KEY: Key = Key::PUBLIC_TEST;
/// The ID the firmware marks with: a 20-byte contract address, the longest burst.
pub const MARK_ID: [u8; 20] = [
    0x52, 0x90, 0x84, 0x00, 0x09, 0x85, 0x27, 0x88, 0x6e, 0x0f, 0x70, 0x30, 0x06, 0x98, 0x57, 0xd2,
    0xe4, 0x16, 0x9e, 0xe7,
];
/// The loopback cable's delay: 20 ms at 48 kHz, longer than any board's block.
pub const LOOPBACK_DELAY_FRAMES: usize = 960;

/// A test vector in flash, searched for `profiles`.
#[derive(Debug, Clone, Copy)]
pub struct Clip {
    pub name: &'static str,
    pub profiles: Profiles,
    pub wav: &'static [u8],
}

/// A vector from `test-vectors/`, in its own linker section (`.testaudio`)
/// so image sizes can be counted without it. One static per file: a file
/// searched twice is in flash once.
macro_rules! vector {
    ($name:literal) => {{
        #[link_section = ".testaudio"]
        static WAV: [u8; include_bytes!(concat!("../../test-vectors/", $name, ".wav")).len()] =
            *include_bytes!(concat!("../../test-vectors/", $name, ".wav"));
        &WAV
    }};
}

/// The unmarked programme the set-top-box path marks.
pub const PROGRAMME: &str = "unmarked-48000-music";
static PROGRAMME_WAV: &[u8] = vector!("unmarked-48000-music");

const ULTRASONIC: Profiles = Profiles::only(Profile::Ultrasonic);
const ROBUST: Profiles = Profiles::only(Profile::Robust);
/// The set-top box's recommended setting.
const BOTH: Profiles = ULTRASONIC.with(Profile::Robust);

/// The layer sets the set-top-box path marks the programme with, one
/// session each: the robust layer alone gives its own embedding cost.
pub const MARKS: [Profiles; 3] = [ULTRASONIC, ROBUST, BOTH];

const fn clip(name: &'static str, profiles: Profiles, wav: &'static [u8]) -> Clip {
    Clip {
        name,
        profiles,
        wav,
    }
}

/// Vectors the monitoring path searches: every profile, 44.1 to 96 kHz,
/// mono and stereo, long and short IDs, and negatives (unmarked, other key,
/// each layer on the other's mark). The unmarked music is searched by
/// each layer alone, so each layer's cost of searching is measured.
/// Together with the code they fit the MPS2 machines' 4 MiB of flash.
// Not formatted: one clip a line reads as the table it is.
#[rustfmt::skip]
pub static CLIPS: [Clip; 12] = [
    clip("ultrasonic-48000-music-stereo", ULTRASONIC, vector!("ultrasonic-48000-music-stereo")),
    clip("ultrasonic-48000-short-id", ULTRASONIC, vector!("ultrasonic-48000-short-id")),
    clip("ultrasonic-44100-speech", ULTRASONIC, vector!("ultrasonic-44100-speech")),
    clip("ultrasonic-96000-music", ULTRASONIC, vector!("ultrasonic-96000-music")),
    clip("near-ultrasonic-48000-speech", Profiles::only(Profile::NearUltrasonic), vector!("near-ultrasonic-48000-speech")),
    clip("ultrasonic-wide-48000-music", Profiles::only(Profile::UltrasonicWide), vector!("ultrasonic-wide-48000-music")),
    clip("ultrasonic-wide-96000-music", Profiles::only(Profile::UltrasonicWide), vector!("ultrasonic-wide-96000-music")),
    clip("robust-48000-music", ROBUST, vector!("robust-48000-music")),
    clip("other-key-48000-music", BOTH, vector!("other-key-48000-music")),
    clip("unmarked-44100-speech", ULTRASONIC, vector!("unmarked-44100-speech")),
    clip(PROGRAMME, ULTRASONIC, PROGRAMME_WAV),
    clip(PROGRAMME, ROBUST, PROGRAMME_WAV),
];

/// What the board tells the self-test about itself.
#[derive(Debug, Clone, Copy)]
pub struct BoardInfo {
    pub name: &'static str,
    pub cpu: &'static str,
    pub block_frames: usize,
}

/// The whole program of a QEMU board: start the instruction meter, run the
/// self-test, print the peak stack and exit with its verdict.
pub fn main_on_qemu(board: &BoardInfo) -> ! {
    let Some(core) = cortex_m::Peripherals::take() else {
        fault::exit(false)
    };
    // Statics, so the engines' state (125 KiB detecting both layers, 25 KiB
    // embedding them) never passes through the stack; all zeros (.bss).
    static mut CODEC: EmulatedCodec = EmulatedCodec::new();
    static mut EMBEDDER: Embedder = Embedder::unconfigured();
    static mut DETECTOR: Detector = Detector::unconfigured();
    // SAFETY: nothing else names these statics, and this line runs once:
    // `Peripherals::take` above succeeds only once, and we never return.
    let (codec, embedder, detector) = unsafe {
        (
            &mut *addr_of_mut!(CODEC),
            &mut *addr_of_mut!(EMBEDDER),
            &mut *addr_of_mut!(DETECTOR),
        )
    };
    let meter = match SysTickMeter::start(core.SYST) {
        Ok(m) => m,
        Err(e) => {
            defmt::error!("no instruction clock, run QEMU with -icount shift=0: {}", e);
            fault::exit(false)
        }
    };
    defmt::println!(
        "measure calibration instructions_per_tick {=u64}",
        meter.instructions_per_tick()
    );
    let ok = run(board, &meter, codec, embedder, detector);
    let s = stack::peak();
    defmt::println!(
        "measure stack peak {=usize} size {=usize}",
        s.peak_bytes,
        s.size_bytes
    );
    fault::exit(ok)
}

/// A program that panics on purpose: the handler must log through defmt and
/// exit non-zero (CI runs it on every board).
pub fn panic_on_purpose() -> ! {
    defmt::println!("panicking on purpose");
    let limit = core::hint::black_box(3usize);
    let table = [1u8, 2, 3];
    // An out-of-bounds index the compiler cannot see through.
    let v = table[limit];
    defmt::println!("unreachable: {=u8}", v);
    fault::exit(true)
}

/// A program that faults on purpose: the HardFault handler must log and exit
/// non-zero.
pub fn fault_on_purpose() -> ! {
    defmt::println!("faulting on purpose");
    // An undefined instruction: a UsageFault, escalated to HardFault because
    // the configurable fault handlers are off.
    cortex_m::asm::udf()
}

/// Run everything; `true` if every session ran cleanly. Event correctness is
/// judged on the host, from the printed lines.
pub fn run<M: Meter>(
    board: &BoardInfo,
    meter: &M,
    codec: &mut EmulatedCodec,
    embedder: &mut Embedder,
    detector: &mut Detector,
) -> bool {
    defmt::println!(
        "board {=str}: {=str}, {=usize} frames per block, costs in {=str}",
        board.name,
        board.cpu,
        board.block_frames,
        meter.unit()
    );
    let mut rig = Rig {
        board,
        meter,
        codec,
        embedder,
        detector,
    };
    let mut ok = true;
    for profiles in MARKS {
        ok &= mark(&mut rig, profiles);
    }
    for clip in &CLIPS {
        ok &= search(&mut rig, clip);
    }
    ok
}

/// What every session runs on.
struct Rig<'a, M: Meter> {
    board: &'a BoardInfo,
    meter: &'a M,
    codec: &'a mut EmulatedCodec,
    embedder: &'a mut Embedder,
    detector: &'a mut Detector,
}

/// One pass of the pipeline over a stream: what the DAC plays and what the
/// ADC hears, searched by the detector; marked on the way out if there is
/// an embedder.
struct Session {
    /// Names the session in its closing lines, with its layers.
    name: &'static str,
    profiles: Profiles,
    sample_rate: u32,
    channels: u16,
    programme: Programme,
    capture: Capture,
    frames: u64,
    /// Whether the rig's embedder (configured) marks what is played.
    marks: bool,
}

impl<M: Meter> Rig<'_, M> {
    /// Run `s` and print its closing lines (with an embedder, first what
    /// the DAC played); `true` if it ran cleanly.
    fn run(&mut self, s: Session) -> bool {
        let Some(format) = self.start(&s) else {
            return false;
        };
        let mut pipeline = Pipeline {
            embedder: s.marks.then_some(&mut *self.embedder),
            detector: Some(&mut *self.detector),
            meter: self.meter,
        };
        let stats = pipeline.run(&mut *self.codec, report::event);
        if s.marks {
            let played = self.codec.played();
            defmt::println!(
                "played {=u64} frames, fnv1a64 {=u64:016x}",
                played.frames,
                played.fnv1a64
            );
        }
        finish(&s, format, self.meter, stats)
    }

    /// Configure the detector and start the codec for `s`. Out of line:
    /// inlined into `run`, this frame (1.4 KiB for `Detector::configure`)
    /// would stay on the stack under the pipeline's, raising the peak.
    #[inline(never)]
    fn start(&mut self, s: &Session) -> Option<AudioFormat> {
        let mut cfg = DetectConfig::new(VECTOR_KEY);
        cfg.sample_rate = s.sample_rate;
        cfg.channels = s.channels;
        cfg.profiles = s.profiles;
        if let Err(e) = self.detector.configure(&cfg) {
            defmt::error!("detector: {}", e);
            return None;
        }
        let format = AudioFormat {
            sample_rate: s.sample_rate,
            channels: s.channels,
            block_frames: self.board.block_frames,
        };
        if let Err(e) = self.codec.start(format, s.programme, s.capture, s.frames) {
            defmt::error!("emulated codec: {}", e);
            return None;
        }
        Some(format)
    }
}

/// A vector's audio, or `None` once the log says why not.
fn parse(name: &str, wav: &'static [u8]) -> Option<Wav> {
    match Wav::parse(wav) {
        Ok(w) => Some(w),
        Err(e) => {
            defmt::error!("{=str}: {}", name, e);
            None
        }
    }
}

/// The set-top-box path: mark the programme (as stereo) with [`MARK_ID`] in
/// the layers `profiles`, and loop what was played back into the detector.
fn mark<M: Meter>(rig: &mut Rig<M>, profiles: Profiles) -> bool {
    let Some(wav) = parse(PROGRAMME, PROGRAMME_WAV) else {
        return false;
    };
    let Ok(id) = Id::new(&MARK_ID) else {
        return false;
    };
    let mut cfg = EmbedConfig::new(id, VECTOR_KEY);
    cfg.sample_rate = wav.sample_rate;
    cfg.channels = 2;
    cfg.profiles = profiles;
    let (every_ms, offset_ms) = match cfg.schedule {
        Schedule::Interval {
            every_ms,
            offset_ms,
        } => (every_ms, offset_ms),
        Schedule::BackToBack { offset_ms } => (0, offset_ms),
    };
    defmt::println!(
        "mark mark/{}: {=str}, {=u32} Hz, {=u16} ch, {=u64} frames, id {}, level {=f32} dBFS, robust {=f32} dB, every {=u32} ms from {=u32} ms, loopback delay {=usize} frames",
        Display2Format(&profiles),
        PROGRAMME,
        cfg.sample_rate,
        cfg.channels,
        wav.frames(),
        Display2Format(&id),
        cfg.level_dbfs,
        cfg.robust_mmr_db,
        every_ms,
        offset_ms,
        LOOPBACK_DELAY_FRAMES
    );
    if let Err(e) = rig.embedder.configure(&cfg) {
        defmt::error!("embedder: {}", e);
        return false;
    }
    rig.run(Session {
        name: "mark",
        profiles,
        sample_rate: cfg.sample_rate,
        channels: cfg.channels,
        programme: Programme::Clip(wav),
        capture: Capture::Loopback {
            delay_frames: LOOPBACK_DELAY_FRAMES,
        },
        frames: wav.frames(),
        marks: true,
    })
}

/// The monitoring path: capture `clip` and search it.
fn search<M: Meter>(rig: &mut Rig<M>, clip: &Clip) -> bool {
    let Some(wav) = parse(clip.name, clip.wav) else {
        return false;
    };
    defmt::println!(
        "clip {=str}/{}: {=u32} Hz, {=u16} ch, {=u64} frames",
        clip.name,
        Display2Format(&clip.profiles),
        wav.sample_rate,
        wav.channels,
        wav.frames()
    );
    rig.run(Session {
        name: clip.name,
        profiles: clip.profiles,
        sample_rate: wav.sample_rate,
        channels: wav.channels,
        programme: Programme::Silence,
        capture: Capture::Clip(wav),
        frames: wav.frames(),
        marks: false,
    })
}

/// Print the session's closing line and costs; `true` if it ran cleanly.
/// Out of line, as [`Rig::start`] is.
#[inline(never)]
fn finish<M: Meter>(
    s: &Session,
    format: AudioFormat,
    meter: &M,
    stats: Result<RunStats, crate::AudioError>,
) -> bool {
    let name = Display2Format(&SessionName(s));
    let stats = match stats {
        Ok(s) => s,
        Err(e) => {
            defmt::error!("{}: {}", name, e);
            return false;
        }
    };
    defmt::println!("end {}: {=u32} events", name, stats.events);
    for (path, load) in [("embed", &stats.embed), ("detect", &stats.detect)] {
        if load.calls > 0 {
            measure(s, path, format, meter, load);
        }
    }
    if stats.detect.calls > 0 {
        defmt::println!(
            "measure finish {} total {=u64} unit {=str}",
            name,
            stats.detect_finish,
            meter.unit()
        );
    }
    let clean = stats.overruns == 0 && stats.dropped_events == 0 && stats.engine_errors == 0;
    if !clean {
        defmt::error!(
            "{}: {=u32} overruns, {=u32} dropped events, {=u32} engine errors",
            name,
            stats.overruns,
            stats.dropped_events,
            stats.engine_errors
        );
    }
    clean
}

fn measure<M: Meter>(s: &Session, path: &str, format: AudioFormat, meter: &M, load: &PathLoad) {
    defmt::println!(
        "measure {=str} {} rate {=u32} channels {=u16} frames {=u64} total {=u64} per_second {=u64} worst_call {=u64} worst_call_frames {=u32} calls {=u32} unit {=str}",
        path,
        Display2Format(&SessionName(s)),
        format.sample_rate,
        format.channels,
        load.frames,
        load.total,
        load.per_second(format.sample_rate),
        load.worst_call,
        load.worst_call_frames,
        load.calls,
        meter.unit()
    );
}

/// `NAME/LAYERS`, as the session's lines name it.
struct SessionName<'a>(&'a Session);

impl core::fmt::Display for SessionName<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.0.name, self.0.profiles)
    }
}
