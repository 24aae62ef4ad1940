//! Starting and parking APs, the hardware half: INIT and STARTUP IPIs into the trampoline or
//! the park stub. The protocol around it (which CPUs, check-in, time-outs, retries) is the SMP
//! layer's; this file only keeps the rule that makes writing the two start-up pages safe: no AP
//! may run in them, so a start is refused while an earlier start may still be running there.

use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use raw_cpuid::CpuId;
use stop::x86::icr::{Icr, Shorthand};

use super::park_stub::{self, PARK_STUB_ADDR};
use super::trampoline::{self, TrampolineData, TRAMPOLINE_ADDR};
use crate::arch::x86_64::cpu::percpu::CpuBlock;
use crate::arch::x86_64::interrupts::{apic, idt, ipi};

/// INIT to STARTUP wait the SDM asks of older CPUs.
const INIT_TO_SIPI_DELAY_LEGACY: Duration = Duration::from_millis(10);

/// Whether some AP may run (started, and not proven parked since): while it is, nothing may
/// rewrite the trampoline or the park stub. False when every AP is untouched since power-on or
/// proven parked. Lives in `.bss`: a warm restart, which restores the image only after the APs
/// were proven parked, finds it false again.
static APS_MAY_RUN: AtomicBool = AtomicBool::new(false);

/// Which APs an INIT or STARTUP IPI goes to.
#[derive(Clone, Copy)]
pub enum Targets<'a> {
    /// Every CPU but the sender, with one IPI (the caller knows the machine has no others).
    AllExcludingSelf,
    /// These APIC IDs, one IPI each.
    Listed(&'a [u32]),
}

/// The tables the trampoline gives each AP: by CPU index, its APIC ID (how an AP finds its
/// index) and the top of its kernel stack.
#[derive(Clone, Copy)]
pub struct ApTables {
    /// APIC IDs by CPU index.
    pub apic_ids: &'static [u32],
    /// Kernel stack tops by CPU index (same length).
    pub stack_tops: &'static [u64],
}

/// Why the APs were not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApsMayRun;

/// Where a STARTUP IPI starts an AP.
#[derive(Clone, Copy)]
pub enum StartPage {
    /// The trampoline, into the runtime (after [`prepare_start`]).
    Trampoline,
    /// The park stub, to prove INIT landed (after [`prepare_park`]).
    ParkStub,
}

/// Writes the trampoline, which enters `entry(index)` on each AP's own stack, and sends INIT to
/// `targets`; after [`init_to_startup_delay`], [`startup`] into [`StartPage::Trampoline`]
/// starts them. Refused unless no AP may run (none started since power-on, or
/// [`confirm_parked`] since the last start).
pub fn prepare_start(
    tables: ApTables,
    entry: extern "C" fn(usize) -> !,
    targets: Targets<'_>,
) -> Result<(), ApsMayRun> {
    assert_eq!(tables.apic_ids.len(), tables.stack_tops.len());
    if APS_MAY_RUN.swap(true, Ordering::AcqRel) {
        return Err(ApsMayRun);
    }
    // SAFETY: 1. the trampoline page is low RAM the heap never owns (it starts above the kernel
    // image) and that no loader data still needed lives in (start info was copied out). 2. no
    // AP runs there: `APS_MAY_RUN` was false, so each is either untouched since power-on or
    // halted in the park stub, and only the INIT sent next (then a STARTUP IPI) starts it here.
    // The tables are `'static`.
    unsafe {
        trampoline::install(TrampolineData {
            cr3: x86::controlregs::cr3(),
            apic_ids: tables.apic_ids.as_ptr() as u64,
            stack_tops: tables.stack_tops.as_ptr() as u64,
            count: tables.apic_ids.len() as u64,
            entry: entry as *const () as u64,
        });
    }
    send_each(targets, Icr::init_assert);
    Ok(())
}

/// Writes the park stub and sends INIT to `targets`. After [`init_to_startup_delay`], one
/// [`startup`] into [`StartPage::ParkStub`] follows, which each AP takes only once its INIT
/// reset it; there it counts itself ([`parked_count`]) and halts. One STARTUP only: a second
/// could still be pending in a slow vCPU when the next start sends INIT, and start it in the
/// park stub instead of the trampoline.
pub fn prepare_park(targets: Targets<'_>) {
    // SAFETY: 1. the park stub's page is low RAM kept for AP start-up, like the trampoline's.
    // 2. no AP executes in it: since the last start, an AP that came back from the trampoline
    // runs elsewhere and one that has not is halted; an AP parked before halts in the stub.
    unsafe { park_stub::install() };
    send_each(targets, Icr::init_assert);
}

/// How long to wait between INIT and STARTUP: the SDM's 10 ms for older CPUs (Vol. 3A
/// §8.4.4.1); none for family 6 and later and for every hypervisor's vCPUs, as Linux also
/// concludes.
pub fn init_to_startup_delay() -> Duration {
    let cpuid = CpuId::new();
    let hypervisor = cpuid.get_feature_info().is_some_and(|f| f.has_hypervisor());
    let modern = cpuid.get_feature_info().is_some_and(|f| f.family_id() >= 6);
    if hypervisor || modern {
        Duration::ZERO
    } else {
        INIT_TO_SIPI_DELAY_LEGACY
    }
}

/// A STARTUP IPI into `page` to `targets`. An AP that is not waiting for one (already started,
/// or its INIT not yet taken) ignores it.
pub fn startup(targets: Targets<'_>, page: StartPage) {
    let address = match page {
        StartPage::Trampoline => TRAMPOLINE_ADDR,
        StartPage::ParkStub => PARK_STUB_ADDR,
    };
    send_each(targets, |id| Icr::startup(id, (address >> 12) as u8));
}

/// APs that reached the park stub since the last [`prepare_park`].
pub fn parked_count() -> u32 {
    park_stub::acks()
}

/// Records that every AP started is parked, once `expected` acknowledgements (one per AP sent
/// INIT) arrived: a later [`prepare_start`] may rewrite the trampoline. False if fewer arrived.
pub fn confirm_parked(expected: u32) -> bool {
    let parked = parked_count() >= expected;
    if parked {
        APS_MAY_RUN.store(false, Ordering::Release);
    }
    parked
}

/// Whether no AP may run (none started since power-on, or all proven parked since).
pub fn aps_parked() -> bool {
    !APS_MAY_RUN.load(Ordering::Acquire)
}

/// Sends `icr_for(apic_id)` to `targets`.
fn send_each(targets: Targets<'_>, icr_for: impl Fn(u32) -> Icr) {
    match targets {
        Targets::AllExcludingSelf => ipi::send(Icr {
            shorthand: Shorthand::AllExcludingSelf,
            destination: 0,
            ..icr_for(0)
        }),
        Targets::Listed(ids) => ids.iter().for_each(|&id| ipi::send(icr_for(id))),
    }
}

/// A starting AP's first hardware set-up, on its own stack: its per-CPU block (GS, GDT, TSS
/// with the IST stacks), the IDT and its local APIC.
pub fn set_up_this_ap(block: &'static CpuBlock) {
    block.activate();
    idt::load();
    apic::init_this_ap();
}
