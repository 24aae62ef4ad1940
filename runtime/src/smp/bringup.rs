//! The bring-up protocol: starting the APs (INIT-SIPI-SIPI to all of them at once), their
//! check-in handshake and time-outs, and, after a stop, parking them with INIT and bringing
//! them up again. The IPIs themselves and the start-up pages are `arch::ap_start`'s.

use stop::{ApicId, CpuIndex};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use core::time::Duration;

use spin::Once;
use stop::x86::icr::Icr;
use stop::CpuState;

use super::work;
use crate::arch::ap_start::{self, ApTables, StartPage, Targets};
use crate::arch::percpu::CpuBlock;
use crate::arch::vectors::WAKE_VECTOR;
use crate::arch::{apic, boot_cpu, ipi, irq, tsc};
use crate::stopping::STOP;
use crate::time;
/// Longest wait between the first and the second STARTUP IPI (cut short once every AP arrived).
const SIPI_RETRY_DELAY: Duration = Duration::from_micros(200);
/// How long the boot CPU waits for all APs to check in before it goes on without the missing
/// (plus [`WAIT_PER_AP`] per AP).
const CHECK_IN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long [`park_others`] waits for every AP to prove it was parked (INIT lands late on a
/// loaded host: a vCPU thread takes it only when it runs), plus [`WAIT_PER_AP`] per AP.
const PARK_TIMEOUT: Duration = Duration::from_secs(1);
/// What each AP adds to the waits for all APs (check-in, parking). Each AP answers on its own,
/// but a host with fewer cores than vCPUs runs them in turn: 1,024 vCPUs on this 2-core host
/// took 4 s to check in (8 missed a flat 2 s), and 255 missed a flat 1 s to prove parked.
const WAIT_PER_AP: Duration = Duration::from_millis(10);

/// `base` plus [`WAIT_PER_AP`] for each of `aps` APs.
fn grown(base: Duration, aps: usize) -> Duration {
    base + WAIT_PER_AP * u32::try_from(aps).unwrap_or(u32::MAX)
}

/// Bring-up handshake of one AP: the AP moves it WAITING → ARRIVED when it reaches Rust, the
/// boot CPU moves it WAITING → ABANDONED at its time-out; whoever is first decides. Whether a
/// CPU is up is its stop-protocol state (`Running`), kept by the stop controller.
const WAITING: u8 = 0;
const ARRIVED: u8 = 1;
const ABANDONED: u8 = 2;

/// Every CPU's block, by index, plus its bring-up handshake.
struct Cpu {
    block: &'static CpuBlock,
    handshake: AtomicU8,
}

/// Whether CPU `index` is up (the stop protocol's `Running`).
fn is_running(index: usize) -> bool {
    STOP.cpu_state(CpuIndex::new(index)) == Some(CpuState::Running)
}

/// The CPUs and the tables the trampoline reads, kept for restarts.
struct Machine {
    /// Every CPU, by index (0 = boot CPU).
    cpus: Vec<Cpu>,
    /// APIC IDs by index (the trampoline's lookup table).
    apic_ids: Vec<u32>,
    /// Kernel stack tops by index (the trampoline's stack table).
    stack_tops: Vec<u64>,
    /// Whether `cpus` holds every enabled CPU of the machine (broadcast IPIs are then safe).
    all_cpus: bool,
}

impl Machine {
    /// Where INIT and STARTUP IPIs for every AP go: once to all-excluding-self when the list is
    /// complete, so bring-up time does not grow with the CPU count; else to each AP.
    fn ap_targets(&self) -> Targets<'_> {
        if self.all_cpus {
            Targets::AllExcludingSelf
        } else {
            Targets::Listed(&self.apic_ids[1..])
        }
    }
}

static MACHINE: Once<Machine> = Once::new();

fn machine() -> &'static Machine {
    MACHINE
        .get()
        .expect("the CPU table exists from bring-up on")
}

/// Why the APs' restart (`restart_aps`) did not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartError {
    /// Only the boot CPU restarts the others (an INIT to the boot CPU resets real machines).
    NotBootCpu,
    /// The stop controller refused a new round: the caller did not run the last stop.
    NotStopper,
    /// Not every AP could be proven parked: some may still run.
    NotParked(NotParked),
}

/// What bring-up achieved.
#[derive(Clone, Debug)]
pub struct BringUp {
    /// CPUs running (the boot CPU included).
    pub online: usize,
    /// CPUs the runtime tried to run (the boot CPU included).
    pub wanted: usize,
    /// APIC IDs of the APs that never checked in.
    pub missing: Vec<ApicId>,
    /// Time from the first INIT to the last check-in.
    pub duration: Duration,
}

/// Registers every CPU with the stop controller (index = position in `apic_ids`, the boot CPU
/// first) and sets up the boot CPU's own block (GDT, TSS, IST stacks, stack guard); the boot CPU
/// enters `Running`.
pub fn init_boot_cpu(apic_ids: &[u32]) -> &'static CpuBlock {
    for &apic_id in apic_ids {
        STOP.register_cpu(ApicId::new(apic_id))
            .expect("topology holds at most MAX_CPUS CPUs");
    }
    let block = boot_cpu::set_up(apic_ids[0]);
    crate::interrupted::set_kernel_stack(block.stack());
    STOP.boot_cpu(CpuIndex::BOOT).expect("boot CPU registered as Offline");
    STOP.online_cpu(CpuIndex::BOOT).expect("boot CPU is Booting");
    block
}

/// Starts the CPUs whose APIC IDs are `apic_ids[1..]` (index 0 is the calling boot CPU, whose
/// block is `boot`) and waits until each checked in or the time-out passed.
///
/// When `all_cpus` (the list holds every enabled CPU of the machine), INIT and STARTUP go out
/// once, to all-excluding-self, so bring-up time does not grow with the CPU count; otherwise
/// one of each per AP. A CPU the list does not name that wakes anyway parks in the trampoline.
///
/// `stop_during_bringup` (a test) panics right after the STARTUP IPIs, while the APs boot.
pub fn start_aps(
    boot: &'static CpuBlock,
    apic_ids: &[u32],
    all_cpus: bool,
    stop_during_bringup: bool,
) -> BringUp {
    let mut cpus = Vec::with_capacity(apic_ids.len());
    cpus.push(Cpu {
        block: boot,
        handshake: AtomicU8::new(ARRIVED),
    });
    for (index, &apic_id) in apic_ids.iter().enumerate().skip(1) {
        cpus.push(Cpu {
            block: CpuBlock::new(CpuIndex::new(index), ApicId::new(apic_id), None),
            handshake: AtomicU8::new(WAITING),
        });
    }
    let stack_tops = cpus.iter().map(|c| c.block.stack_top() as u64).collect();
    let machine = MACHINE.call_once(|| Machine {
        cpus,
        apic_ids: apic_ids.to_vec(),
        stack_tops,
        all_cpus,
    });
    launch(machine, stop_during_bringup)
}

/// After a stop run by the boot CPU: parks every other CPU with INIT (whatever it was doing,
/// stuck ones included), opens a new stop round, and brings them all up again. A job the APs
/// were running for `on_each_cpu` is abandoned, so a caller inside that `on_each_cpu` returns
/// from it once its own share is done.
pub fn restart_aps() -> Result<BringUp, RestartError> {
    if super::current_cpu() != CpuIndex::BOOT {
        return Err(RestartError::NotBootCpu);
    }
    if STOP.stopper() != Some(CpuIndex::BOOT) {
        return Err(RestartError::NotStopper);
    }
    park_others().map_err(RestartError::NotParked)?;
    STOP.rearm(CpuIndex::BOOT).map_err(|_| RestartError::NotStopper)?;
    let m = machine();
    work::abandon_current_job();
    for cpu in &m.cpus[1..] {
        cpu.handshake.store(WAITING, Ordering::Release);
    }
    Ok(launch(m, false))
}

/// Parks every AP with INIT and proves that each INIT landed: then one STARTUP IPI into the
/// park stub, which an AP takes only once its INIT reset it (a CPU whose INIT lands late takes
/// both in order), acknowledges, and halts there. Waits until every AP acknowledged or
/// [`PARK_TIMEOUT`] passed. One STARTUP IPI only: a second could still be pending in a slow
/// vCPU when bring-up sends INIT next, and start it in the park stub again instead of the
/// trampoline (seen: one AP in ~10 runs of 200 restarts did not come back). Only the boot CPU
/// calls this; the IPIs go out here unless [`start_parking`] sent them already.
pub fn park_others() -> Result<(), NotParked> {
    let m = machine();
    let expected = (m.cpus.len() - 1) as u32 + super::injected::park_missing_acks();
    if expected == 0 {
        // No AP: nothing to park, and nothing may run in the start-up pages.
        ap_start::confirm_parked(0);
        return Ok(());
    }
    if !PARKING_STARTED.swap(false, Ordering::AcqRel) {
        send_park_ipis(m);
    }
    let timeout = grown(PARK_TIMEOUT, m.cpus.len() - 1);
    time::spin_until(timeout, || ap_start::parked_count() >= expected);
    if ap_start::confirm_parked(expected) {
        Ok(())
    } else {
        Err(NotParked {
            acknowledged: ap_start::parked_count(),
            expected,
            waited: timeout,
        })
    }
}

/// Whether [`start_parking`] sent the park IPIs that the next [`park_others`] waits for.
static PARKING_STARTED: AtomicBool = AtomicBool::new(false);

/// Sends the park IPIs [`park_others`] would send, without waiting for the APs to acknowledge:
/// a warm restart's boot CPU calls it right after its stop, so that the APs park while it
/// writes the panic report, and [`park_others`] then only checks that they did. Every AP must
/// be stopped (none reported stuck: INIT parks stuck APs only by policy, which `park_others`'s
/// caller decides). Does nothing before bring-up or with no AP.
pub fn start_parking() {
    let Some(m) = MACHINE.get() else {
        return;
    };
    if m.cpus.len() > 1 && !PARKING_STARTED.swap(true, Ordering::AcqRel) {
        send_park_ipis(m);
    }
}

/// INIT to every AP, then one STARTUP IPI into the park stub (see [`park_others`]).
fn send_park_ipis(m: &Machine) {
    let targets = m.ap_targets();
    ap_start::prepare_park(targets);
    time::delay(ap_start::init_to_startup_delay());
    ap_start::startup(targets, StartPage::ParkStub);
}

/// APs that parking (`park_others`) could not prove parked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotParked {
    /// APs that acknowledged.
    pub acknowledged: u32,
    /// Acknowledgements it waited for (one per AP sent INIT).
    pub expected: u32,
    /// How long it waited.
    pub waited: Duration,
}

impl core::fmt::Display for NotParked {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "only {} of {} APs proved parked by INIT within {} ms",
            self.acknowledged,
            self.expected,
            self.waited.as_millis()
        )
    }
}

/// INIT-SIPI(-SIPI) to every AP, then waits for each to reach `Running` or the time-out.
fn launch(m: &'static Machine, stop_during_bringup: bool) -> BringUp {
    let wanted = m.cpus.len();
    if wanted == 1 {
        return BringUp {
            online: 1,
            wanted,
            missing: Vec::new(),
            duration: Duration::ZERO,
        };
    }
    let start = tsc::read();
    let aps = &m.cpus[1..];
    // Every AP is `Booting` before its STARTUP IPI, so a stop from now on waits for it.
    let mut may_start = true;
    for index in 1..wanted {
        may_start &= STOP
            .start_cpu(CpuIndex::new(index))
            .expect("an AP about to start is Offline");
    }
    if !may_start {
        // A stop is under way: start nothing (the stop will reach this CPU too).
        return BringUp {
            online: 1,
            wanted,
            missing: aps.iter().map(|c| c.block.apic_id()).collect(),
            duration: Duration::ZERO,
        };
    }
    let waiting = || {
        aps.iter()
            .filter(|c| c.handshake.load(Ordering::Acquire) == WAITING)
    };
    let targets = m.ap_targets();
    let tables = ApTables {
        apic_ids: &m.apic_ids,
        stack_tops: &m.stack_tops,
    };
    ap_start::prepare_start(tables, ap_entry, targets)
        .expect("every AP waits for a STARTUP IPI: never started, or proven parked");
    time::delay(ap_start::init_to_startup_delay());
    ap_start::startup(targets, StartPage::Trampoline);
    if stop_during_bringup {
        panic!("stop requested during bring-up (inject.stop_during_bringup)");
    }
    time::spin_until(SIPI_RETRY_DELAY, || waiting().next().is_none());
    let late: Vec<u32> = waiting().map(|c| c.block.apic_id().get()).collect();
    if !late.is_empty() {
        // A STARTUP IPI reaches only CPUs still waiting for one; the others ignore it.
        let targets = if m.all_cpus {
            Targets::AllExcludingSelf
        } else {
            Targets::Listed(&late)
        };
        ap_start::startup(targets, StartPage::Trampoline);
    }

    let timeout = grown(CHECK_IN_TIMEOUT, wanted - 1);
    let deadline = start + time::ns_to_ticks(timeout.as_nanos() as u64, time::tsc_khz());
    let all_running = || (1..wanted).all(is_running);
    if !sleep_until(all_running, deadline) {
        // An AP that arrived gets as long again to finish setting up; one that never arrived
        // is abandoned, and parks itself if it ever does arrive.
        for cpu in aps {
            let _ = cpu.handshake.compare_exchange(
                WAITING,
                ABANDONED,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
        sleep_until(all_running, deadline + (deadline - start));
    }
    let missing: Vec<ApicId> = (1..wanted)
        .filter(|&i| !is_running(i))
        .map(|i| m.cpus[i].block.apic_id())
        .collect();
    let duration = Duration::from_nanos(time::ticks_to_ns(tsc::read() - start, time::tsc_khz()));
    BringUp {
        online: wanted - missing.len(),
        wanted,
        missing,
        duration,
    }
}

/// Sleeps in `hlt` until `done()` or the TSC passes `deadline`; returns whether `done()`. Wakes on
/// any interrupt: the APs' check-in IPIs, and a local APIC tick armed for the wait. Leaves
/// interrupts disabled.
fn sleep_until(done: impl Fn() -> bool, deadline: u64) -> bool {
    apic::start_tick(WAKE_VECTOR);
    let result = loop {
        let mut done_now = false;
        if irq::sleep_unless(|| {
            done_now = done();
            done_now || tsc::read() >= deadline
        }) {
            break done_now;
        }
    };
    apic::stop_tick();
    result
}

/// First Rust code on an AP, on its own stack, called by the trampoline with its CPU index.
extern "C" fn ap_entry(index: usize) -> ! {
    let cpu = &machine().cpus[index];
    // Per-CPU block (GS, GDT, TSS with the IST stacks), IDT and local APIC first: a fault in
    // anything after this is reported like any other (the report's stop sends IPIs), instead
    // of ending in a silent triple fault.
    ap_start::set_up_this_ap(cpu.block);
    crate::interrupted::set_kernel_stack(cpu.block.stack());
    super::injected::ap_entry_fault(index);
    if cpu
        .handshake
        .compare_exchange(WAITING, ARRIVED, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // The boot CPU gave up on us: stay out of everything.
        crate::arch::power::halt_forever();
    }
    // The boot CPU made this AP `Booting` before its STARTUP IPI; stops here if a stop is
    // already under way.
    STOP.arrive(CpuIndex::new(index)).expect("a starting AP is Booting");
    let apic_id = apic::id();
    assert_eq!(
        apic_id,
        cpu.block.apic_id().get(),
        "AP {index} started with the wrong APIC ID"
    );
    work::prepare_ap(CpuIndex::new(index));
    // Booting → Running now that the IDT and the NMI stack are live; stops itself instead if a
    // stop began meanwhile.
    STOP.online_cpu(CpuIndex::new(index)).expect("a starting AP is Booting");
    // Wake the boot CPU, which sleeps until every AP is online.
    ipi::send(Icr::fixed(WAKE_VECTOR, machine().apic_ids[0]));
    work::idle_loop(CpuIndex::new(index))
}

/// Number of CPUs online.
pub fn cpu_count() -> usize {
    (0..STOP.cpu_count())
        .filter(|&i| is_running(i))
        .count()
        .max(1)
}
