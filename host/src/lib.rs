//! # hushmark, the command line
//!
//! The program vendors, monitoring agents and engineers touch. It wraps the
//! `no_std` engine ([`dsp_core`]) with everything a desktop or a Raspberry Pi
//! needs around it. The engine owns the signal, the schedule and its limits;
//! the host asks it rather than working them out again: profile names come
//! from [`dsp_core::Profile::ALL`], bursts and robust frames are counted by
//! the layers' embedders, latency is [`dsp_core::Embedder::latency`],
//! defaults are the engine's constants. Every command runs whichever of the
//! two layers `--profile` names (`ultrasonic+robust` for both).
//!
//! Top down:
//!
//! * **Commands** ([`cli`]): clap parses; `run` below hands each subcommand
//!   to its module ([`embed`], [`detect`], [`monitor`], [`live`],
//!   [`inspect`], [`demo`], [`key`]).
//! * **Files** ([`audio`]): symphonia decodes WAV, FLAC, MP3, AAC/M4A, Ogg
//!   Vorbis and AIFF as streams; hound and flacenc write WAV and FLAC;
//!   outputs go through a temporary file and an atomic rename ([`fsio`]).
//! * **Rates** ([`rates`]): the ultrasonic layer runs at 44.1/48/88.2/96
//!   kHz, the robust layer at 48 kHz; other rates that fit the profile are
//!   resampled with rubato, and the user is told; rates too low for the
//!   band are refused with the rate needed.
//! * **Marking** ([`embed`]): files block by block, live output in
//!   [`live`]; the robust layer's latency is taken out of files (length
//!   and alignment kept); a layer at another rate marks there and only its
//!   mark is resampled back; the embedder is told where a file ends, so no
//!   burst is cut off, and reports what it marked.
//! * **Detection** ([`scan`]): one path for files, stdin and devices, one
//!   lane per profile; marks found and the robust layer's per-second
//!   verdicts on known IDs (`--expect`); times are in seconds of the
//!   source; a reopened device that comes back in another format restarts
//!   the scanner, stream time running on.
//! * **Live audio** ([`live`]): cpal (ALSA, or PulseAudio/PipeWire when
//!   running). Audio callbacks only move samples through lock-free rings;
//!   detection and decoding run on ordinary threads. Devices that vanish are
//!   reopened; xruns are counted and reported.
//! * **The agent** ([`monitor`], [`airing`]): several sources in parallel,
//!   marks of both layers merged into airings (stream + ID), one JSON line
//!   per airing, never audio.
//! * **What the user sees** ([`report`] for results on stdout; [`ui`],
//!   [`progress`] and [`stderr`] for notes, progress and errors on stderr,
//!   which device probing cannot swallow).
//!
//! Nothing allocates per block on the paths that carry audio (scanning,
//! marking, resampling, spectrograms): buffers are made once and reused.
//!
//! Errors are values all the way up: `main` prints them in one line and
//! exits 2 (1 means "nothing found", 130 "interrupted"). Nothing the user
//! types or feeds in can make it panic. The library's only user is the
//! binary (`main.rs`): every module is private to the crate.

// Everything is private to the crate; its docs are for developers
// (`cargo doc -p hushmark --document-private-items`), links included.
#![allow(rustdoc::private_intra_doc_links)]

use std::process::ExitCode;

use clap::Parser;

mod airing;
mod audio;
mod bench;
mod cli;
mod demo;
mod detect;
mod embed;
mod fleet;
mod fsio;
mod id;
mod inspect;
mod key;
mod live;
mod monitor;
mod progress;
mod rates;
mod report;
mod scan;
mod stderr;
mod stream;
mod ui;

/// How a command ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Done; for detect and listen: something was found.
    Success,
    /// Ran fine and found nothing (exit 1).
    NothingFound,
    /// Errors were already reported (exit 2).
    Failed,
}

/// The whole program: parse, run, map the result to an exit status.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    ui::set_quiet(cli.quiet);
    ui::init_logging(cli.verbose, cli.quiet);
    install_panic_hook();
    restore_sigpipe();
    ui::catch_interrupt();
    match run(cli.command) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::NothingFound) => ExitCode::from(1),
        Ok(Outcome::Failed) => ExitCode::from(2),
        Err(e) => {
            ui::error(format!("{e:#}"));
            if ui::stopping() {
                ExitCode::from(130)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

fn run(command: cli::Command) -> anyhow::Result<Outcome> {
    use cli::Command as C;
    match command {
        C::Keygen(a) => key::keygen(&a.keyfile).map(|()| Outcome::Success),
        C::Embed(a) => embed::run(&a),
        C::Detect(a) => detect::run(&a),
        C::Monitor(a) => monitor::run(&a),
        C::Listen(a) => live::listen::run(&a),
        C::Play(a) => live::play::run(&a),
        C::Passthrough(a) => live::passthrough::run(&a),
        C::Devices(a) => live::devices::run(&a),
        C::Inspect(a) => inspect::run(&a),
        C::Demo(a) => demo::run(&a),
        C::Airings(a) => fleet::airings::run(&a),
        C::Bench(a) => bench::run(&a),
    }
}

/// A bug must still not greet the user with a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if ui::in_guarded() {
            // A decoder choking on bad data: the caller reports it as an error.
            return;
        }
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        stderr::write(
            format!("hushmark: internal error ({what}{place}); this is a bug, please report it\n")
                .as_bytes(),
        );
        std::process::exit(2);
    }));
}

/// Die quietly when stdout is a closed pipe (`hushmark detect ... | head -1`),
/// as Unix tools do, instead of failing every later write.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: resetting a signal disposition to its default before any other
    // thread exists has no memory-safety implications.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
