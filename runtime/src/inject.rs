//! Fault injection for test apps: each function makes the CPU fail in one precise way, so a test
//! can check the runtime's report and stop path.

use core::time::Duration;

use crate::smp::nmi_requests::{self, Request};
use crate::{arch, console, time};

pub use arch::inject::{
    disable_local_apic, nmi_self, null_write, page_fault, spin_with_corrupt_frame_pointer,
};

/// Enters the calling CPU's NMI handler and spins there forever, so no NMI reaches it again.
pub fn spin_in_nmi() -> ! {
    request_in_nmi(Request::Spin)
}

/// Enters the calling CPU's NMI handler, spins there (NMIs blocked) until another CPU starts a
/// stop, then panics inside the handler: it stops itself and no NMI can reach it again.
pub fn panic_in_nmi_when_stopped() -> ! {
    request_in_nmi(Request::PanicWhenStopped)
}

/// Recurses without bound inside the calling CPU's NMI handler: the NMI stack overflows into its
/// guard page (a double fault, reported).
pub fn overflow_nmi_stack() -> ! {
    request_in_nmi(Request::Overflow)
}

/// Leaves a ping request pending on the calling CPU with no NMI of its own, as when a ping's
/// NMI and a stop NMI arrive together and are delivered once: the stop NMI then finds it.
pub fn ping_merged_with_next_nmi() {
    nmi_requests::request(crate::smp::current_cpu(), Request::Ping);
}

/// Takes the console lock and keeps it forever.
pub fn hold_console_lock() {
    console::hold_lock_forever()
}

/// How long [`request_in_nmi`] waits for its NMI to self.
const NMI_SELF_TIMEOUT: Duration = Duration::from_secs(1);

/// Sets `request` on the calling CPU and sends it an NMI whose handler carries it out and never
/// returns. The NMI is not taken the moment the ICR write completes (under KVM it arrives a
/// little later): until it does, this CPU waits, doing nothing else, for up to
/// [`NMI_SELF_TIMEOUT`]. (It used to panic at once, and under KVM the NMI then landed inside
/// that panic: a double panic, or a hang with NMIs blocked in the panic path.)
fn request_in_nmi(request: Request) -> ! {
    nmi_requests::request(crate::smp::current_cpu(), request);
    nmi_self();
    time::delay(NMI_SELF_TIMEOUT);
    panic!(
        "the NMI to self did not arrive within {} ms",
        NMI_SELF_TIMEOUT.as_millis()
    )
}
