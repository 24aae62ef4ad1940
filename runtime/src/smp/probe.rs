//! Round-trip probes for the benchmark: a fixed IPI to every other CPU answered by a store in its
//! handler, and an NMI to one CPU (interrupts off or not) answered the same way. Both use the
//! same clock and ICR writer as the stop path, so stop latencies compare with them directly.

use core::sync::atomic::{AtomicU64, Ordering};
use alloc::vec::Vec;
use core::time::Duration;

use stop::x86::icr::Icr;
use stop::{ApicId, CpuIndex};

use super::nmi_requests::{self, Request};
use crate::arch::vectors::PROBE_VECTOR;
use crate::arch::{ipi, tsc};
use crate::per_cpu::{per_cpu, PerCpu};
use crate::time;

/// Longest a probe waits for its answers.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Probe IPIs answered, by CPU.
static IPI_PONGS: PerCpu<AtomicU64> = per_cpu!(AtomicU64::new(0));

/// Allocates this module's per-CPU state for `cpus` CPUs (boot, before the APs start).
pub(crate) fn allocate_per_cpu(cpus: usize) {
    IPI_PONGS.allocate(cpus);
}

/// The probe vector's handler: answer by a store.
pub fn on_probe_vector() {
    IPI_PONGS.current().fetch_add(1, Ordering::SeqCst);
}

/// Waits until `done()`, at most [`PROBE_TIMEOUT`]; returns the time from `start` (TSC).
fn wait(start: u64, done: impl Fn() -> bool) -> Option<Duration> {
    let limit = time::ns_to_ticks(PROBE_TIMEOUT.as_nanos() as u64, time::tsc_khz());
    loop {
        let now = tsc::read();
        if done() {
            return Some(Duration::from_nanos(time::ticks_to_ns(
                now - start,
                time::tsc_khz(),
            )));
        }
        if now - start > limit {
            return None;
        }
        core::hint::spin_loop();
    }
}

/// Sends the probe vector to all-excluding-self and waits until every CPU in `others` answered.
pub fn ipi_round_trip(others: &[CpuIndex]) -> Option<Duration> {
    let before: Vec<u64> = others
        .iter()
        .map(|&cpu| IPI_PONGS[cpu].load(Ordering::SeqCst))
        .collect();
    let start = tsc::read();
    ipi::send(Icr::fixed_all_excluding_self(PROBE_VECTOR));
    wait(start, || {
        others
            .iter()
            .zip(&before)
            .all(|(&cpu, &before)| IPI_PONGS[cpu].load(Ordering::SeqCst) > before)
    })
}

/// Sends an NMI to CPU `cpu` (APIC ID `apic_id`) and waits for its answer.
pub fn nmi_round_trip(cpu: CpuIndex, apic_id: ApicId) -> Option<Duration> {
    let before = nmi_requests::pongs(cpu);
    nmi_requests::request(cpu, Request::Ping);
    let start = tsc::read();
    ipi::send(Icr::nmi(apic_id.get()));
    let answered = wait(start, || nmi_requests::pongs(cpu) > before);
    if answered.is_none() {
        // Unanswered: withdraw the ping, or the CPU's next NMI (a stop's) would be taken for it.
        nmi_requests::withdraw(cpu, Request::Ping);
    }
    answered
}
