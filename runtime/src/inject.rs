//! Fault injection for test apps: each function makes the CPU fail in one precise way, so a test
//! can check the runtime's report and stop path.

use crate::{arch, console};

/// Writes to an unmapped address on the calling CPU (a page fault).
pub fn page_fault() -> ! {
    arch::inject::page_fault()
}

/// Sends an NMI to the calling CPU outside any stop: the NMI handler panics.
pub fn nmi_self() {
    arch::inject::nmi_self()
}

/// Enters the calling CPU's NMI handler and spins there forever, so no NMI reaches it again.
pub fn spin_in_nmi() -> ! {
    arch::inject::spin_in_nmi()
}

/// Enters the calling CPU's NMI handler, spins there (NMIs blocked) until another CPU starts a
/// stop, then panics inside the handler: it stops itself and no NMI can reach it again.
pub fn panic_in_nmi_when_stopped() -> ! {
    arch::inject::panic_in_nmi_when_stopped()
}

/// Recurses without bound inside the calling CPU's NMI handler: the NMI stack overflows into its
/// guard page (a double fault, reported).
pub fn overflow_nmi_stack() -> ! {
    arch::inject::overflow_nmi_stack()
}

/// Leaves a ping request pending on the calling CPU with no NMI of its own, as when a ping's
/// NMI and a stop NMI arrive together and are delivered once: the stop NMI then finds it.
pub fn ping_merged_with_next_nmi() {
    arch::inject::ping_merged_with_next_nmi()
}

/// Software-disables the calling CPU's local APIC (fixed IPIs refused, NMI and INIT taken).
pub fn disable_local_apic() {
    arch::inject::disable_local_apic()
}

/// Takes the console lock and keeps it forever.
pub fn hold_console_lock() {
    console::hold_lock_forever()
}
