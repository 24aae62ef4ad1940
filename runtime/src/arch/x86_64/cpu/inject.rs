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

/// Executes an invalid instruction: #UD.
pub fn invalid_opcode() -> ! {
    // SAFETY: `ud2` raises #UD, whose handler reports the fault and never returns here.
    unsafe { core::arch::asm!("ud2", options(nomem, nostack, noreturn)) }
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
