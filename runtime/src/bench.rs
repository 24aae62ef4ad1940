//! Measurements for the benchmark app, on the same clock and IPI path as the stop: raw round
//! trips to compare stop latencies with.

use alloc::vec::Vec;
use core::time::Duration;

use crate::smp::{self, CpuIndex};

/// Time from sending a fixed IPI to all-but-self until every other online CPU's handler has
/// answered by a store; `None` if one did not answer within a second.
pub fn ipi_round_trip() -> Option<Duration> {
    let me = smp::current_cpu();
    let others: Vec<CpuIndex> = (0..crate::stopping::STOP.cpu_count())
        .map(CpuIndex::new)
        .filter(|&cpu| cpu != me && smp::is_online(cpu))
        .collect();
    crate::smp::probe::ipi_round_trip(&others)
}

/// Time from sending an NMI to CPU `cpu` (interrupts off or not) until its NMI handler answered
/// by a store; `None` for an unknown CPU or no answer within a second.
pub fn nmi_round_trip(cpu: CpuIndex) -> Option<Duration> {
    crate::smp::probe::nmi_round_trip(cpu, smp::apic_id(cpu)?)
}

/// When the boot CPU ran the kernel's first instructions (the PVH entry), on the clock of
/// [`crate::time::now`]: the start of the boot-time figure. `None` after a warm restart.
pub fn pvh_entry() -> Option<Duration> {
    let tsc = crate::arch::entry_tsc()?;
    Some(Duration::from_nanos(crate::time::ticks_to_ns(
        tsc,
        crate::time::tsc_khz(),
    )))
}
