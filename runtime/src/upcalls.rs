//! The entry points the hardware layer calls into: the boot path (cold boot and warm restart)
//! and the interrupts the runtime handles. `arch` names nothing above it but this module.

use crate::arch::{Interrupt, StartInfo, TrapFrame};
use crate::smp::{nmi_requests, probe};
use crate::stopping;

/// The boot path on the boot CPU, with the loader's start info and the heap just set up
/// (`(start, len)`).
pub fn boot(info: StartInfo, heap: (u64, u64)) -> ! {
    crate::boot::main(info, heap)
}

/// An interrupt on the calling CPU, which interrupted `frame` (the trap entry acknowledges
/// fixed vectors afterwards).
pub fn interrupt(interrupt: Interrupt, frame: &TrapFrame) {
    match interrupt {
        // Stops this CPU for good unless the vector is spurious.
        Interrupt::StopVector => stopping::on_stop_vector(frame),
        Interrupt::ProbeVector => probe::on_probe_vector(),
        // The stop comes first: a request's NMI may have merged with a stop NMI (two NMIs
        // latched together are delivered once), and answering the request would lose it.
        Interrupt::Nmi => {
            if stopping::nmi_is_for_stop()
                || !nmi_requests::take(crate::arch::percpu::current_index())
            {
                stopping::on_nmi(frame);
            }
        }
    }
}

/// The ID of the scheduler thread whose stack's guard page holds `address`, if one does: for
/// the report of a fault there (a thread's stack overflow).
pub fn thread_with_guard_at(address: usize) -> Option<u32> {
    crate::sched::thread_with_guard_at(address)
}
