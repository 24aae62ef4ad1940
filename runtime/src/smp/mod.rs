//! The CPUs above the hardware: bring-up and restart of the APs, running work on every CPU, the
//! warm restart's parking, NMI requests and the benchmark's probes; and the app-facing SMP API.

pub(crate) mod bringup;
pub(crate) mod injected;
pub(crate) mod nmi_requests;
pub(crate) mod probe;
pub(crate) mod warm;
mod work;

use spin::Once;
pub use stop::{ApicId, CpuIndex};

use crate::arch;
pub use bringup::{BringUp, NotParked, RestartError};
pub use spin::Barrier;

/// Allocates the per-CPU state of this module's parts for `cpus` CPUs (boot, before the APs
/// start).
pub(crate) fn allocate_per_cpu(cpus: usize) {
    work::allocate_per_cpu(cpus);
    nmi_requests::allocate_per_cpu(cpus);
    probe::allocate_per_cpu(cpus);
}

/// How the machine's CPUs were found and started.
#[derive(Clone, Debug)]
pub struct SmpInfo {
    /// Enabled CPUs in the MADT (what the machine offers).
    pub madt_cpus: usize,
    /// Whether the local APICs run in x2APIC mode (else xAPIC).
    pub x2apic: bool,
    /// What bring-up achieved.
    pub bringup: BringUp,
}

static INFO: Once<SmpInfo> = Once::new();

/// Records the bring-up result (boot CPU, once).
pub(crate) fn set_info(info: SmpInfo) {
    INFO.call_once(|| info);
}

/// How the machine's CPUs were found and started.
pub fn info() -> &'static SmpInfo {
    INFO.get().expect("SMP info is set before the app runs")
}

/// Number of CPUs online.
pub fn cpu_count() -> usize {
    bringup::cpu_count()
}

/// Index of the calling CPU (0 is the boot CPU).
pub fn current_cpu() -> CpuIndex {
    arch::percpu::current_index()
}

/// Whether CPU `index` is up and running (not stopped, not offline).
pub fn is_online(index: CpuIndex) -> bool {
    crate::stopping::STOP.cpu_state(index) == Some(stop::CpuState::Running)
}

/// APIC ID of CPU `index`.
pub fn apic_id(index: CpuIndex) -> Option<ApicId> {
    crate::stopping::STOP.apic_id(index)
}

/// Runs `f(cpu_index)` on every online CPU, the caller included, and returns when all are done.
/// Not reentrant: `f` must not call `on_each_cpu`.
pub fn on_each_cpu(f: impl Fn(CpuIndex) + Sync) {
    work::on_each_cpu(&f)
}

/// Bumps the calling CPU's heartbeat: call it in every loop iteration of long-running work, so a
/// test can check that a stopped CPU never runs again.
pub fn beat() {
    crate::stopping::STOP.beat(current_cpu());
}

/// CPU `index`'s heartbeat count.
pub fn heartbeat(index: CpuIndex) -> Option<u64> {
    crate::stopping::STOP.heartbeat(index)
}

/// After a stop this CPU ran (`stopping::stop_others`, or a stop before power-off that did not
/// happen), parks every other CPU with INIT and brings them all up again, ready for a new stop.
/// Only the boot CPU may do it.
pub fn restart_others() -> Result<BringUp, RestartError> {
    bringup::restart_aps()
}
