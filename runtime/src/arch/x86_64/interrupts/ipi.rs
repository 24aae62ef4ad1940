//! Sending IPIs the runtime cannot do without, through the machine's one ICR writer.

use stop::x86::icr::Icr;

use super::apic;

/// Sends `icr`; a failure (an xAPIC that never finishes a send) is fatal.
pub fn send(icr: Icr) {
    if let Err(e) = apic::icr().send(icr) {
        panic!("IPI {icr:?} failed: {e}");
    }
}
