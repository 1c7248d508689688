//! # hushmark firmware
//!
//! The engine inside Cortex-M firmware: a set-top box marks every block it
//! plays, a monitor detects every block it captures. This crate is the part
//! every board shares; `boards/<board>/` adds memory layout, clocks and the
//! audio interface.
//!
//! ## The audio path
//!
//! A codec on I2S or SAI moves audio by circular DMA over buffers cut into two
//! halves. While the DMA plays (or fills) one half, the CPU owns the other;
//! the half-transfer and transfer-complete interrupts say when ownership
//! flips. So the CPU sees a stream of fixed-size *periods*, and must finish
//! each before the DMA comes back for it:
//!
//! ```text
//!   DMA ──► captured half ──► Detector::process ──► events (monitoring path)
//!   DMA ◄── playback half ◄── Embedder::process ◄── programme (set-top-box path)
//! ```
//!
//! embedded-hal 1.0 has no I2S trait, so [`audio::AudioInterface`] is the
//! small one this crate needs: `next_period()` blocks until the DMA hands over
//! the next period and lends its two blocks. The playback block already holds
//! the programme to play (as a set-top box's decoder writes it into the output
//! ring); the pipeline marks it in place. Each board implements the trait once:
//! QEMU boards with [`emulated::EmulatedCodec`] (audio from flash), real boards
//! with their HAL's DMA driver.
//!
//! [`pipeline::Pipeline`] runs the two paths period by period, with the period's
//! first frame index as `now` for both engines. Nothing in it allocates or
//! panics: sizes are fixed at build time, errors are values, and the modules
//! on the audio path deny indexing, `unwrap` and `expect` at compile time.
//!
//! ## Measuring
//!
//! [`meter::Meter`] counts what the engines cost per call: instructions under
//! QEMU (`-icount shift=0` makes virtual time one nanosecond per instruction;
//! SysTick counts that time, see [`meter::SysTickMeter`]) and cycles on real
//! hardware (DWT). [`stack`] reads how deep the painted stack was scrubbed.
//!
//! ## Proving it
//!
//! [`selftest`] (feature `selftest`, the QEMU boards) marks and detects the
//! test vectors from flash and prints [`report`] lines; `cargo xtask qemu`
//! compares them with the host's build of the engine, bit for bit.
//! `cargo xtask qemu --profile` runs the same self-test under a QEMU plugin
//! (`tools/insn-profile.c`) and says which functions the instructions went to.
//!
//! ## Failing loudly
//!
//! [`fault`] logs panics and HardFaults through defmt, then ends the program:
//! with a failure status through semihosting under QEMU (feature
//! `semihosting`), or with `udf` so a debug probe stops and shows a backtrace.

#![no_std]
#![warn(missing_debug_implementations)]

// The critical-section implementation and the FPU/startup glue.
use cortex_m as _;

pub mod audio;
pub mod emulated;
pub mod fault;
pub mod hash;
pub mod meter;
pub mod pipeline;
pub mod report;
#[cfg(feature = "selftest")]
pub mod selftest;
pub mod stack;
pub mod wav;

pub use audio::{AudioError, AudioFormat, AudioInterface, Period};
pub use pipeline::{PathLoad, Pipeline, RunStats};
