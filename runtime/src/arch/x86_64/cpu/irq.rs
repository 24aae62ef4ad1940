//! Masking maskable interrupts on the calling CPU, and sleeping until the next one.

/// Disables maskable interrupts on this CPU.
pub fn disable() {
    // SAFETY: `cli` changes only this CPU's interrupt flag; NMIs still arrive.
    unsafe { x86::irq::disable() };
}

/// Enables maskable interrupts on this CPU.
pub fn enable() {
    // SAFETY: every vector that can arrive has an IDT entry from boot on.
    unsafe { x86::irq::enable() };
}

/// With interrupts off, asks `ready()`; if it says no, sleeps in `hlt` until the next interrupt
/// and returns false (interrupts then on). If it says yes, returns true with interrupts off.
/// An interrupt that makes `ready()` true after it was asked stays pending during the check and
/// ends the `hlt` (`sti` takes effect only after the following instruction), so no wake-up is
/// lost.
pub fn sleep_unless(ready: impl FnOnce() -> bool) -> bool {
    disable();
    if ready() {
        return true;
    }
    // SAFETY: `sti; hlt` sleeps until the next interrupt; every vector has a handler.
    unsafe { core::arch::asm!("sti", "hlt", options(nomem, nostack)) };
    false
}

/// Sleeps until the next interrupt, with interrupts enabled (an idle CPU's wait).
pub fn wait() {
    sleep_unless(|| false);
}
