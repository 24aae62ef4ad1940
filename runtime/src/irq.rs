//! Interrupt control for apps: code that must not be interrupted (and test apps that want a CPU
//! the stop vector cannot reach, so the stop path has to use an NMI).

use crate::arch;

/// Disables maskable interrupts on the calling CPU (NMIs still arrive).
pub fn disable() {
    arch::irq::disable()
}

/// Enables maskable interrupts on the calling CPU.
pub fn enable() {
    arch::irq::enable()
}

/// Sleeps until the next interrupt, with interrupts enabled (an idle CPU's wait).
pub fn wait() {
    arch::irq::sleep_unless(|| false);
}
