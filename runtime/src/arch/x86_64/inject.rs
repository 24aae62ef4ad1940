//! Faults on purpose, for the test apps that check how the runtime reports them.

/// An address above the identity map: nothing is mapped there.
const UNMAPPED_ADDRESS: usize = 1 << 40;

/// Writes to an unmapped address: a page fault.
pub fn page_fault() -> ! {
    // SAFETY: the write faults before it changes anything; the page-fault handler panics and
    // never returns here.
    unsafe { (UNMAPPED_ADDRESS as *mut u64).write_volatile(0) };
    unreachable!("a write to {UNMAPPED_ADDRESS:#x} did not fault")
}
