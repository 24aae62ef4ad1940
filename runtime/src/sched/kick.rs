//! Waking another CPU so it looks at its run queue: a wake IPI ends its `hlt`; and the tick
//! that wakes a sleeping CPU to notice deadlines.

use stop::x86::icr::Icr;
use stop::CpuIndex;

use crate::arch::vectors::WAKE_VECTOR;
use crate::arch::{apic, ipi};
use crate::stopping::STOP;

/// Sends the wake vector to CPU `index` (nothing if it does not exist).
pub fn kick(index: CpuIndex) {
    if let Some(apic_id) = STOP.apic_id(index) {
        ipi::send(Icr::fixed(WAKE_VECTOR, apic_id.get()));
    }
}

/// Starts (or, with `on` false, stops) the calling CPU's periodic wake-up tick, so a CPU in
/// `hlt` notices sleep deadlines.
pub fn tick(on: bool) {
    if on {
        apic::start_tick(WAKE_VECTOR);
    } else {
        apic::stop_tick();
    }
}
