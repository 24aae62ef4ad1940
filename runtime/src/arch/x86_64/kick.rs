//! Waking another CPU so it looks at its run queue (`crate::sched`): a wake IPI ends its `hlt`.

use stop::x86::icr::Icr;

use super::smp::{apic_id_of, send};
use super::vectors::WAKE_VECTOR;

/// Sends the wake vector to CPU `index` (nothing if it does not exist).
pub fn kick(index: usize) {
    if let Some(apic_id) = apic_id_of(index) {
        send(Icr::fixed(WAKE_VECTOR, apic_id));
    }
}

/// Starts (or, with `on` false, stops) the calling CPU's periodic wake-up tick, so a CPU in
/// `hlt` notices sleep deadlines.
pub fn tick(on: bool) {
    if on {
        super::apic::start_tick(WAKE_VECTOR);
    } else {
        super::apic::stop_tick();
    }
}
