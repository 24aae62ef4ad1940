//! The park stub: proof that INIT landed. An AP that took INIT waits for a STARTUP IPI; sent to
//! this stub, it counts itself in the stub's acknowledgement word and halts with interrupts off.
//! A CPU still running (its INIT not yet taken) ignores the STARTUP IPI, so once the count equals
//! the number of APs sent it, every one of them has been reset by its INIT and runs nothing.
//!
//! The stub has a page of its own ([`PARK_STUB_ADDR`], the one after the trampoline's): an AP
//! that has just counted itself may not have reached its `hlt` yet when bring-up copies the
//! trampoline into its page (seen: all three APs of a 4-CPU restart loop triple-faulted when the
//! two shared a page).

use core::arch::global_asm;
use core::sync::atomic::{AtomicU32, Ordering};

use super::low_page::write_changed;
use super::trampoline::TRAMPOLINE_ADDR;

/// Physical address the stub runs at: the page after the trampoline's, below 1 MiB and
/// page-aligned as a STARTUP IPI requires.
pub const PARK_STUB_ADDR: usize = TRAMPOLINE_ADDR + 0x1000;

global_asm!(
    r#"
    .section .rodata.park_stub, "a"
    .global park_stub_start
park_stub_start:
    .code16
    cli
    mov %cs, %ax
    mov %ax, %ds
    lock incl (park_stub_acks - park_stub_start)
1:
    hlt
    jmp 1b
    .balign 4
    .global park_stub_acks
park_stub_acks:
    .long 0
    .global park_stub_end
park_stub_end:
    .code64
"#,
    options(att_syntax),
);

unsafe extern "C" {
    static park_stub_start: u8;
    static park_stub_acks: u8;
    static park_stub_end: u8;
}

/// Copies the stub to [`PARK_STUB_ADDR`] (the bytes that changed) with its count at zero.
///
/// # Safety
/// 1. The page at [`PARK_STUB_ADDR`] must be identity-mapped RAM that nothing else uses.
/// 2. No AP may be running code in that page: each is parked by INIT (waiting for a STARTUP
///    IPI), halted elsewhere, or halted in this stub.
pub unsafe fn install() {
    let start = &raw const park_stub_start;
    let len = &raw const park_stub_end as usize - start as usize;
    assert!(len <= 4096, "park stub larger than a page");
    // SAFETY: 1. the source is the stub image in .rodata, `len` bytes long, above 1 MiB, so it
    // does not overlap the destination. 2. the caller guarantees the destination page is free
    // RAM that no CPU executes.
    unsafe { write_changed(core::slice::from_raw_parts(start, len), PARK_STUB_ADDR) };
}

/// How many APs have reached the installed stub since [`install`].
pub fn acks() -> u32 {
    let offset = &raw const park_stub_acks as usize - &raw const park_stub_start as usize;
    // SAFETY: after `install`, the stub's count is a 4-aligned `u32` (`.balign 4`) at this
    // identity-mapped address, written only by the APs' `lock inc`, atomically.
    let acks = unsafe { AtomicU32::from_ptr((PARK_STUB_ADDR + offset) as *mut u32) };
    acks.load(Ordering::SeqCst)
}
