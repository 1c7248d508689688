//! Peak stack use from the painted stack.
//!
//! cortex-m-rt (feature `paint-stack`) fills everything between the end of
//! the statics (`_stack_end`) and the initial stack pointer (`_stack_start`)
//! with [`cortex_m_rt::STACK_PAINT_VALUE`] before `main`. The stack grows
//! down, so the lowest word that no longer holds the paint marks the deepest
//! the stack has been.

use cortex_m_rt::STACK_PAINT_VALUE;

extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

/// Stack depth and the room there was for it, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub struct StackUse {
    pub peak_bytes: usize,
    pub size_bytes: usize,
}

/// How deep the stack has been since reset.
pub fn peak() -> StackUse {
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let bottom = core::ptr::addr_of!(_stack_end) as usize;
    let mut addr = bottom;
    while addr < top {
        // SAFETY: `_stack_end..._stack_start` is RAM that the linker script
        // reserves for the stack; reading a word of it is always valid.
        let word = unsafe { core::ptr::read_volatile(addr as *const u32) };
        if word != STACK_PAINT_VALUE {
            break;
        }
        addr += 4;
    }
    StackUse {
        peak_bytes: top - addr,
        size_bytes: top - bottom,
    }
}
