//! What the protocol core needs from the machine.
#![forbid(unsafe_code)]

use crate::cpu::ApicId;

/// An IPI could not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpiFailed;

/// The hardware (or a simulation, or a loom model) under a [`StopController`](crate::StopController).
///
/// All methods may be called from panic, interrupt and NMI context: no locks, no allocation.
pub trait Platform {
    /// Sends the stop vector to every CPU but the caller (APIC shorthand all-excluding-self).
    fn send_stop_vector(&self) -> Result<(), IpiFailed>;
    /// Sends an NMI to the CPU with this APIC ID. Every store the caller made before must be
    /// visible to the target before the NMI lands (x86: `mfence; lfence` before the ICR write).
    fn send_nmi(&self, apic_id: ApicId) -> Result<(), IpiFailed>;
    /// Sends INIT (assert) to the CPU with this APIC ID.
    fn send_init(&self, apic_id: ApicId) -> Result<(), IpiFailed>;
    /// A monotonic clock in nanoseconds, consistent across CPUs.
    fn now_ns(&self) -> u64;
    /// Called in every wait loop iteration (x86: `pause`).
    fn relax(&self);
    /// Stops the calling CPU for good: interrupts off, halt in a loop; never returns.
    fn halt(&self) -> !;
    /// Stops CPU `cpu` (the caller) at the end of the stop NMI handler, after its last store.
    /// By default it halts in place, NMIs still blocked. A platform may instead leave the NMI
    /// handler into a halt loop with no further store, so that a later NMI can wake that CPU
    /// (the x86 platform does so for the boot CPU, which a warm restart must wake; see the
    /// crate docs).
    fn halt_after_nmi(&self, cpu: usize) -> ! {
        let _ = cpu;
        self.halt()
    }
    /// Called on a stopping CPU just before each store it makes to shared stop state. Hardware
    /// leaves it empty; models use it to assert invariant I1 and as points where an NMI lands.
    fn on_cpu_store(&self, cpu: usize) {
        let _ = cpu;
    }
}
