//! Faults on purpose, for the test apps that check how the runtime reports and stops them.

use core::sync::atomic::{AtomicBool, Ordering};

use stop::x86::icr::Icr;

use super::apic;
use crate::stopping::MAX_CPUS;

/// An address above the identity map: nothing is mapped there.
const UNMAPPED_ADDRESS: usize = 1 << 40;

/// CPUs whose next NMI handler should spin forever (NMIs stay blocked meanwhile).
static SPIN_IN_NMI: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

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
    SPIN_IN_NMI[crate::cpu::current_index()].store(true, Ordering::SeqCst);
    nmi_self();
    unreachable!("the NMI to self did not arrive")
}

/// Called first in the NMI handler: spins forever (beating) if [`spin_in_nmi`] asked for it.
pub fn nmi_spin_if_requested() {
    let cpu = crate::cpu::current_index();
    if SPIN_IN_NMI[cpu].load(Ordering::Relaxed) {
        loop {
            crate::stopping::STOP.beat(cpu);
            core::hint::spin_loop();
        }
    }
}

/// Software-disables the calling CPU's local APIC: it refuses fixed interrupts (the stop vector
/// among them) but still takes NMI and INIT.
pub fn disable_local_apic() {
    apic::software_disable();
}
