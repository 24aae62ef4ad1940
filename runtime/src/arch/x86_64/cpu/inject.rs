//! Faults on purpose, the hardware half: for the test apps that check how the runtime reports
//! and stops them.

use stop::x86::icr::Icr;

use crate::arch::x86_64::interrupts::apic;

/// An address above the identity map: nothing is mapped there.
const UNMAPPED_ADDRESS: usize = 1 << 40;

/// Writes to an unmapped address: a page fault.
pub fn page_fault() -> ! {
    // SAFETY: the write faults before it changes anything; the page-fault handler panics and
    // never returns here.
    unsafe { (UNMAPPED_ADDRESS as *mut u64).write_volatile(0) };
    unreachable!("a write to {UNMAPPED_ADDRESS:#x} did not fault")
}

/// An address in page 0: a field of a struct behind a null pointer.
const NULL_PLUS_OFFSET: usize = 0x10;

/// Writes through a null pointer plus an offset: a page fault, page 0 being unmapped (were it
/// mapped, the write would silently change low memory).
pub fn null_write() -> ! {
    // SAFETY: page 0 is unmapped (`boot_cpu::set_up`): the write faults before it changes
    // anything; the page-fault handler panics and never returns here.
    unsafe { (NULL_PLUS_OFFSET as *mut u64).write_volatile(0) };
    unreachable!("a write to {NULL_PLUS_OFFSET:#x} did not fault: page 0 is mapped")
}

/// Executes an invalid instruction: #UD.
pub fn invalid_opcode() -> ! {
    // SAFETY: `ud2` raises #UD, whose handler reports the fault and never returns here.
    unsafe { core::arch::asm!("ud2", options(nomem, nostack, noreturn)) }
}

/// A frame pointer that no stack holds (above the identity map): a backtrace walk from it must
/// stop at once.
const CORRUPT_FRAME_POINTER: u64 = 0x0000_dead_beef_0000;

/// Overwrites the frame pointer with `0x0000_dead_beef_0000` and spins forever, with
/// whatever interrupt state the caller set: a CPU whose frame-pointer chain is broken.
pub fn spin_with_corrupt_frame_pointer() -> ! {
    // SAFETY: RBP is overwritten and nothing restores it, but this code never returns, so no
    // frame of a caller is used again; the only reader of RBP as a frame pointer is a
    // backtrace walk, which checks each frame before it reads it.
    unsafe {
        core::arch::asm!(
            "mov rbp, {bad}",
            "2:",
            "pause",
            "jmp 2b",
            bad = in(reg) CORRUPT_FRAME_POINTER,
            options(noreturn, nomem, nostack)
        )
    }
}

/// Sends an NMI to the calling CPU.
pub fn nmi_self() {
    if let Err(e) = apic::icr().send(Icr::nmi(apic::id())) {
        panic!("NMI to self failed: {e}");
    }
}

/// Recurses without bound (until the stack overflows); `black_box` keeps the frames from being
/// optimised away.
#[allow(unconditional_recursion)]
pub fn recurse(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 32]);
    recurse(depth + 1) + frame[31]
}

/// Software-disables the calling CPU's local APIC: it refuses fixed interrupts (the stop vector
/// among them) but still takes NMI and INIT.
pub fn disable_local_apic() {
    apic::software_disable();
}
