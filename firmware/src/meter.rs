//! What the engines cost, counted by the CPU's own clocks.
//!
//! * [`SysTickMeter`] (QEMU): with `-icount shift=0` QEMU advances virtual
//!   time by 1 ns per guest instruction, and SysTick counts virtual time at
//!   the board's core clock. A loop of known length calibrates instructions
//!   per tick at start-up, so the count needs no knowledge of QEMU's clocks,
//!   and a run without `-icount` is caught instead of printing nonsense.
//! * [`DwtMeter`] (hardware): the DWT cycle counter.
//!
//! Both extend their hardware counter to 64 bits. [`PathLoad`] accumulates
//! per-call costs for one path of the pipeline.

use core::cell::Cell;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{DCB, DWT, SCB, SYST};

/// A free-running count of work done.
pub trait Meter {
    /// What one count is: "instructions" or "cycles".
    fn unit(&self) -> &'static str;
    /// The count now.
    fn now(&self) -> u64;
}

const SYSTICK_RELOAD: u32 = 0x00FF_FFFF;
/// SysTick wraps seen so far; the board's SysTick handler calls
/// [`SysTickMeter::on_wrap`].
static SYSTICK_WRAPS: AtomicU32 = AtomicU32::new(0);
/// Instructions the calibration loop executes (2 per iteration).
const CALIBRATION_ITERATIONS: u32 = 2_000_000;
const CALIBRATION_INSTRUCTIONS: u64 = 2 * CALIBRATION_ITERATIONS as u64;

/// Instructions executed, from SysTick under `qemu-system-arm -icount shift=0`.
#[derive(Debug)]
pub struct SysTickMeter {
    instructions_per_tick: u64,
}

/// SysTick does not tick once per whole number of instructions: QEMU was
/// not started with `-icount shift=0`, so there is no instruction clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub struct NoInstructionClock {
    pub ticks: u64,
    pub instructions: u64,
}

impl SysTickMeter {
    /// Start SysTick from the core clock, wrapping every 2^24 ticks, and
    /// calibrate it against a loop of known length.
    pub fn start(mut syst: SYST) -> Result<SysTickMeter, NoInstructionClock> {
        syst.disable_counter();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(SYSTICK_RELOAD);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        // Cleared, the counter reads 0 until its first reload, which is not a
        // wrap; start counting from there.
        while SYST::get_current() == 0 {}
        let ticks = {
            let t0 = raw_ticks();
            count_down(CALIBRATION_ITERATIONS);
            raw_ticks() - t0
        };
        let per_tick = (CALIBRATION_INSTRUCTIONS + ticks / 2) / ticks.max(1);
        // Loop entry, exit and the counter reads add a few instructions;
        // anything further off is host time, not instructions.
        let exact = per_tick * ticks;
        if per_tick == 0
            || exact.abs_diff(CALIBRATION_INSTRUCTIONS) > CALIBRATION_INSTRUCTIONS / 1000
        {
            return Err(NoInstructionClock {
                ticks,
                instructions: CALIBRATION_INSTRUCTIONS,
            });
        }
        Ok(SysTickMeter {
            instructions_per_tick: per_tick,
        })
    }

    /// Instructions per SysTick tick found by the calibration.
    pub fn instructions_per_tick(&self) -> u64 {
        self.instructions_per_tick
    }

    /// Call from the board's `SysTick` exception handler.
    pub fn on_wrap() {
        SYSTICK_WRAPS.fetch_add(1, Ordering::Relaxed);
    }
}

impl Meter for SysTickMeter {
    fn unit(&self) -> &'static str {
        "instructions"
    }

    fn now(&self) -> u64 {
        raw_ticks() * self.instructions_per_tick
    }
}

/// Ticks since SysTick started, extended to 64 bits.
fn raw_ticks() -> u64 {
    loop {
        let wraps = SYSTICK_WRAPS.load(Ordering::Acquire);
        let current = SYST::get_current();
        let pending = SCB::is_pendst_pending();
        if SYSTICK_WRAPS.load(Ordering::Acquire) != wraps {
            continue; // the wrap handler ran in between: read again
        }
        // A wrap not yet handled counts if `current` was read after the
        // reload (high), not if it was read just before it (near zero).
        let unhandled = u64::from(pending && current > SYSTICK_RELOAD / 2);
        let elapsed_in_period = u64::from(SYSTICK_RELOAD - current);
        return (u64::from(wraps) + unhandled) * (u64::from(SYSTICK_RELOAD) + 1)
            + elapsed_in_period;
    }
}

/// Exactly two instructions per iteration.
#[inline(never)]
fn count_down(iterations: u32) {
    // SAFETY: register-only loop; touches no memory and no stack.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {n}, {n}, #1",
            "bne 2b",
            n = inout(reg) iterations => _,
            options(nomem, nostack),
        );
    }
}

/// Core clock cycles from the DWT cycle counter (Cortex-M3 and up).
#[derive(Debug)]
pub struct DwtMeter {
    high: Cell<u64>,
    last: Cell<u32>,
}

impl DwtMeter {
    /// Enable tracing and the cycle counter. Call `now` at least once per
    /// 2^32 cycles (20 s at 216 MHz) so wraps are seen; every audio period does.
    pub fn start(dcb: &mut DCB, dwt: &mut DWT) -> DwtMeter {
        dcb.enable_trace();
        DWT::unlock();
        dwt.set_cycle_count(0);
        dwt.enable_cycle_counter();
        DwtMeter {
            high: Cell::new(0),
            last: Cell::new(0),
        }
    }
}

impl Meter for DwtMeter {
    fn unit(&self) -> &'static str {
        "cycles"
    }

    fn now(&self) -> u64 {
        let c = DWT::cycle_count();
        if c < self.last.get() {
            self.high.set(self.high.get() + (1 << 32));
        }
        self.last.set(c);
        self.high.get() + u64::from(c)
    }
}

/// Cost of one path (embedder or detector) over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathLoad {
    /// Meter counts spent inside the engine.
    pub total: u64,
    pub frames: u64,
    pub calls: u32,
    /// The most one call took, and how many frames that call had.
    pub worst_call: u64,
    pub worst_call_frames: u32,
}

impl PathLoad {
    pub fn add(&mut self, cost: u64, frames: usize) {
        self.total += cost;
        self.frames += frames as u64;
        self.calls += 1;
        if cost > self.worst_call {
            self.worst_call = cost;
            self.worst_call_frames = frames as u32;
        }
    }

    /// Run `call`, one engine call over `frames`, and add what it cost.
    pub fn time<R>(&mut self, meter: &impl Meter, frames: usize, call: impl FnOnce() -> R) -> R {
        let t = meter.now();
        let r = call();
        self.add(meter.now() - t, frames);
        r
    }

    /// Counts per second of audio at `sample_rate`.
    pub fn per_second(&self, sample_rate: u32) -> u64 {
        if self.frames == 0 {
            return 0;
        }
        ((self.total as u128 * sample_rate as u128) / self.frames as u128) as u64
    }
}
