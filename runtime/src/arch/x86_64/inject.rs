//! Faults on purpose, for the test apps that check how the runtime reports and stops them.

use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use stop::x86::icr::Icr;

use super::{apic, nmi_requests};
use crate::time;

/// Set by `inject.ap_entry_fault=1`: AP 1 faults as its start-up work begins.
static AP_ENTRY_FAULT: AtomicBool = AtomicBool::new(false);

/// Arms (or disarms) the fault of [`ap_entry_fault`].
pub fn set_ap_entry_fault(on: bool) {
    AP_ENTRY_FAULT.store(on, Ordering::Relaxed);
}

/// Called by every AP as its start-up work begins: AP 1 executes an invalid instruction when
/// `inject.ap_entry_fault=1`.
pub fn ap_entry_fault(index: usize) {
    if index == 1 && AP_ENTRY_FAULT.swap(false, Ordering::Relaxed) {
        // SAFETY: `ud2` raises #UD, whose handler reports the fault and never returns here.
        unsafe { core::arch::asm!("ud2", options(nomem, nostack, noreturn)) }
    }
}

/// Set by `inject.park_missing_ack=1`: parking the APs expects one acknowledgement too many.
static PARK_MISSING_ACK: AtomicBool = AtomicBool::new(false);

/// Arms (or disarms) the missing acknowledgement of [`park_missing_acks`].
pub fn set_park_missing_ack(on: bool) {
    PARK_MISSING_ACK.store(on, Ordering::Relaxed);
}

/// Acknowledgements parking must wait for beyond one per AP: 1 when
/// `inject.park_missing_ack=1` (as if one AP's INIT never landed), else 0.
pub fn park_missing_acks() -> u32 {
    u32::from(PARK_MISSING_ACK.load(Ordering::Relaxed))
}

/// An address above the identity map: nothing is mapped there.
const UNMAPPED_ADDRESS: usize = 1 << 40;

/// Writes to an unmapped address: a page fault.
pub fn page_fault() -> ! {
    // SAFETY: the write faults before it changes anything; the page-fault handler panics and
    // never returns here.
    unsafe { (UNMAPPED_ADDRESS as *mut u64).write_volatile(0) };
    unreachable!("a write to {UNMAPPED_ADDRESS:#x} did not fault")
}

/// Sends an NMI to the calling CPU.
pub fn nmi_self() {
    if let Err(e) = apic::icr().send(Icr::nmi(apic::id())) {
        panic!("NMI to self failed: {e}");
    }
}

/// Makes the calling CPU's next NMI handler spin forever, then sends that NMI: from then on no
/// NMI reaches this CPU (they stay blocked until an IRET that never comes).
pub fn spin_in_nmi() -> ! {
    request_in_nmi(nmi_requests::Request::Spin)
}

/// Makes the calling CPU's next NMI handler spin until a stop begins and then panic, and sends
/// that NMI: the CPU loses the election and stops itself with NMIs blocked.
pub fn panic_in_nmi_when_stopped() -> ! {
    request_in_nmi(nmi_requests::Request::PanicWhenStopped)
}

/// Makes the calling CPU's next NMI handler recurse without bound, and sends that NMI: the NMI
/// stack overflows into its guard page.
pub fn overflow_nmi_stack() -> ! {
    request_in_nmi(nmi_requests::Request::Overflow)
}

/// How long [`request_in_nmi`] waits for its NMI to self.
const NMI_SELF_TIMEOUT: Duration = Duration::from_secs(1);

/// Sets `request` on the calling CPU and sends it an NMI whose handler carries it out and never
/// returns. The NMI is not taken the moment the ICR write completes (under KVM it arrives a
/// little later): until it does, this CPU waits, doing nothing else, for up to
/// [`NMI_SELF_TIMEOUT`]. (It used to panic at once, and under KVM the NMI then landed inside
/// that panic: a double panic, or a hang with NMIs blocked in the panic path.)
fn request_in_nmi(request: nmi_requests::Request) -> ! {
    nmi_requests::request(crate::cpu::current_index(), request);
    nmi_self();
    time::delay(NMI_SELF_TIMEOUT);
    panic!(
        "the NMI to self did not arrive within {} ms",
        NMI_SELF_TIMEOUT.as_millis()
    )
}

/// Recurses without bound; `black_box` keeps the frames from being optimised away.
#[allow(unconditional_recursion)]
pub(super) fn recurse(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 32]);
    recurse(depth + 1) + frame[31]
}

/// Sets a ping request on the calling CPU without sending its NMI (two NMIs latched together
/// are delivered once, so the next NMI is the only one that request gets).
pub fn ping_merged_with_next_nmi() {
    nmi_requests::request(crate::cpu::current_index(), nmi_requests::Request::Ping);
}

/// Software-disables the calling CPU's local APIC: it refuses fixed interrupts (the stop vector
/// among them) but still takes NMI and INIT.
pub fn disable_local_apic() {
    apic::software_disable();
}
