//! Fault injection for test apps: each function makes the CPU fail in one precise way, so a test
//! can check the runtime's report and stop path.

/// Writes to an unmapped address on the calling CPU (a page fault).
pub fn page_fault() -> ! {
    crate::arch::inject::page_fault()
}
