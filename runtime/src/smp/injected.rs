//! Faults the boot options inject into bring-up and parking: an AP that faults as it starts
//! (`inject.ap_entry_fault=1`), and a park that waits for one acknowledgement too many
//! (`inject.park_missing_ack=1`).

use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch;

/// Set by `inject.ap_entry_fault=1`: AP 1 faults as its start-up work begins.
static AP_ENTRY_FAULT: AtomicBool = AtomicBool::new(false);

/// Arms (or disarms) the fault of [`ap_entry_fault`].
pub(crate) fn set_ap_entry_fault(on: bool) {
    AP_ENTRY_FAULT.store(on, Ordering::Relaxed);
}

/// Called by every AP as its start-up work begins: AP 1 executes an invalid instruction when
/// `inject.ap_entry_fault=1`.
pub(crate) fn ap_entry_fault(index: usize) {
    if index == 1 && AP_ENTRY_FAULT.swap(false, Ordering::Relaxed) {
        arch::inject::invalid_opcode();
    }
}

/// Set by `inject.park_missing_ack=1`: parking the APs expects one acknowledgement too many.
static PARK_MISSING_ACK: AtomicBool = AtomicBool::new(false);

/// Arms (or disarms) the missing acknowledgement of [`park_missing_acks`].
pub(crate) fn set_park_missing_ack(on: bool) {
    PARK_MISSING_ACK.store(on, Ordering::Relaxed);
}

/// Acknowledgements parking must wait for beyond one per AP: 1 when
/// `inject.park_missing_ack=1` (as if one AP's INIT never landed), else 0.
pub(crate) fn park_missing_acks() -> u32 {
    u32::from(PARK_MISSING_ACK.load(Ordering::Relaxed))
}
