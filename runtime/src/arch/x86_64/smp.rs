//! Bringing the APs up (INIT-SIPI-SIPI to all of them at once), the APs' idle loop, and running
//! work on every CPU.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use core::time::Duration;

use raw_cpuid::CpuId;
use spin::Once;
use spinning_top::Spinlock;
use stop::x86::icr::{Icr, Shorthand};

use super::apic;
use super::percpu::PerCpu;
use super::trampoline::{self, TrampolineData, TRAMPOLINE_ADDR};
use super::vectors::WAKE_VECTOR;
use super::{idt, irq, tsc};
use crate::stopping::STOP;
use crate::time;
use stop::CpuState;

/// INIT to STARTUP wait the SDM asks of older CPUs (Vol. 3A §8.4.4.1); CPUs of family 6 and later
/// (and every hypervisor's vCPUs) do not need it, as Linux also concludes.
const INIT_TO_SIPI_DELAY_LEGACY: Duration = Duration::from_millis(10);
/// Wait between the first and the second STARTUP IPI.
const SIPI_RETRY_DELAY: Duration = Duration::from_micros(200);
/// How long the boot CPU waits for all APs to check in before it goes on without the missing.
const CHECK_IN_TIMEOUT: Duration = Duration::from_secs(2);

/// Bring-up handshake of one AP: the AP moves it WAITING → ARRIVED when it reaches Rust, the
/// boot CPU moves it WAITING → ABANDONED at its time-out; whoever is first decides. Whether a
/// CPU is up is its stop-protocol state (`Running`), kept by the stop controller.
const WAITING: u8 = 0;
const ARRIVED: u8 = 1;
const ABANDONED: u8 = 2;

/// Every CPU's block, by index, plus its bring-up handshake.
struct Cpu {
    block: &'static PerCpu,
    handshake: AtomicU8,
}

/// Whether CPU `index` is up (the stop protocol's `Running`).
fn is_running(index: usize) -> bool {
    STOP.cpu_state(index) == Some(CpuState::Running)
}

static CPUS: Once<Vec<Cpu>> = Once::new();

/// What bring-up achieved.
#[derive(Clone, Debug)]
pub struct BringUp {
    /// CPUs running (the boot CPU included).
    pub online: usize,
    /// CPUs the runtime tried to run (the boot CPU included).
    pub wanted: usize,
    /// APIC IDs of the APs that never checked in.
    pub missing: Vec<u32>,
    /// Time from the first INIT to the last check-in.
    pub duration: Duration,
}

unsafe extern "C" {
    /// Lowest byte of the boot CPU's stack (boot.rs); its first page becomes the guard page.
    static boot_stack_bottom: u8;
    static boot_stack_top: u8;
}

/// Registers every CPU with the stop controller (index = position in `apic_ids`, the boot CPU
/// first) and sets up the boot CPU's own block (GDT, TSS, IST stacks, stack guard); the boot CPU
/// enters `Running`.
pub fn init_boot_cpu(apic_ids: &[u32]) -> &'static PerCpu {
    for &apic_id in apic_ids {
        STOP.register_cpu(apic_id)
            .expect("topology holds at most MAX_CPUS CPUs");
    }
    super::paging::unmap_guard_page(&raw const boot_stack_bottom as usize);
    let block = PerCpu::new(0, apic_ids[0], Some(&raw const boot_stack_top as usize));
    block.activate();
    STOP.boot_cpu(0).expect("boot CPU registered as Offline");
    STOP.online_cpu(0).expect("boot CPU is Booting");
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
    boot: &'static PerCpu,
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
            block: PerCpu::new(index, apic_id, None),
            handshake: AtomicU8::new(WAITING),
        });
    }
    let stack_tops: Vec<u64> = cpus.iter().map(|c| c.block.stack_top() as u64).collect();
    let cpus = CPUS.call_once(|| cpus);
    let wanted = cpus.len();
    if wanted == 1 {
        return BringUp {
            online: 1,
            wanted,
            missing: Vec::new(),
            duration: Duration::ZERO,
        };
    }

    // SAFETY: 1. the trampoline page is low RAM the heap never owns (it starts above the kernel
    // image) and that no loader data still needed lives in (start info was copied out). 2. no AP
    // runs yet. The tables it points at outlive bring-up: `apic_ids` is borrowed for this whole
    // function, `stack_tops` lives until its end, and APs read both before checking in.
    unsafe {
        trampoline::install(TrampolineData {
            cr3: x86::controlregs::cr3(),
            apic_ids: apic_ids.as_ptr() as u64,
            stack_tops: stack_tops.as_ptr() as u64,
            count: apic_ids.len() as u64,
            entry: ap_entry as *const () as u64,
        });
    }

    let start = tsc::read();
    let aps = &cpus[1..];
    let page = (TRAMPOLINE_ADDR >> 12) as u8;
    let waiting = || {
        aps.iter()
            .filter(|c| c.handshake.load(Ordering::Acquire) == WAITING)
    };
    let send_to = |icr_for: &dyn Fn(u32) -> Icr, targets: &mut dyn Iterator<Item = &Cpu>| {
        if all_cpus {
            send(Icr {
                shorthand: Shorthand::AllExcludingSelf,
                destination: 0,
                ..icr_for(0)
            });
        } else {
            targets.for_each(|cpu| send(icr_for(cpu.block.apic_id())));
        }
    };
    send_to(&Icr::init_assert, &mut aps.iter());
    if needs_init_delay() {
        time::delay(INIT_TO_SIPI_DELAY_LEGACY);
    }
    send_to(&|id| Icr::startup(id, page), &mut aps.iter());
    if stop_during_bringup {
        panic!("stop requested during bring-up (inject.stop_during_bringup)");
    }
    time::delay(SIPI_RETRY_DELAY);
    if waiting().next().is_some() {
        // A STARTUP IPI reaches only CPUs still waiting for one; the others ignore it.
        send_to(&|id| Icr::startup(id, page), &mut waiting());
    }

    let deadline = start + time::ns_to_ticks(CHECK_IN_TIMEOUT.as_nanos() as u64, time::tsc_khz());
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
    let missing: Vec<u32> = (1..wanted)
        .filter(|&i| !is_running(i))
        .map(|i| cpus[i].block.apic_id())
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

fn needs_init_delay() -> bool {
    let cpuid = CpuId::new();
    let hypervisor = cpuid.get_feature_info().is_some_and(|f| f.has_hypervisor());
    let modern = cpuid.get_feature_info().is_some_and(|f| f.family_id() >= 6);
    !(hypervisor || modern)
}

fn send(icr: Icr) {
    if let Err(e) = apic::icr().send(icr) {
        panic!("bring-up IPI {icr:?} failed: {e}");
    }
}

/// First Rust code on an AP, on its own stack, called by the trampoline with its CPU index.
extern "C" fn ap_entry(index: usize) -> ! {
    let cpu = &CPUS.get().expect("APs start after the CPU table exists")[index];
    if cpu
        .handshake
        .compare_exchange(WAITING, ARRIVED, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // The boot CPU gave up on us: stay out of everything.
        super::power::halt_forever();
    }
    // Offline → Booting; halts here if a stop is already under way.
    STOP.boot_cpu(index).expect("a starting AP is Offline");
    cpu.block.activate();
    idt::load();
    apic::init_this_ap();
    let apic_id = apic::id();
    assert_eq!(
        apic_id,
        cpu.block.apic_id(),
        "AP {index} started with the wrong APIC ID"
    );
    let seen = WORK.generation.load(Ordering::Acquire);
    // Booting → Running now that the IDT and the NMI stack are live; stops itself instead if a
    // stop began meanwhile.
    STOP.online_cpu(index).expect("a starting AP is Booting");
    // Wake the boot CPU, which sleeps until every AP is online.
    send(Icr::fixed(
        WAKE_VECTOR,
        CPUS.get().map_or(0, |c| c[0].block.apic_id()),
    ));
    idle_loop(index, seen)
}

/// Number of CPUs online.
pub fn cpu_count() -> usize {
    (0..STOP.cpu_count())
        .filter(|&i| is_running(i))
        .count()
        .max(1)
}

/// APIC ID of CPU `index`, if it exists.
pub fn apic_id_of(index: usize) -> Option<u32> {
    CPUS.get()?.get(index).map(|c| c.block.apic_id())
}

/// A job for every CPU.
type Job = &'static (dyn Fn(usize) + Sync);

/// The work every CPU runs, published with a new generation number.
struct Work {
    /// Held by the one `on_each_cpu` running.
    busy: Spinlock<()>,
    /// The current job: points at a `Job` on the publishing CPU's stack.
    job: AtomicPtr<Job>,
    /// Bumped after `job` is set; APs compare it with the last one they ran.
    generation: AtomicU64,
    /// APs still running the current job.
    remaining: AtomicUsize,
}

static WORK: Work = Work {
    busy: Spinlock::new(()),
    job: AtomicPtr::new(core::ptr::null_mut()),
    generation: AtomicU64::new(0),
    remaining: AtomicUsize::new(0),
};

/// Runs `f(cpu_index)` on every online CPU (the caller included) and returns when all are done.
pub fn on_each_cpu(f: &(dyn Fn(usize) + Sync)) {
    let Some(_busy) = WORK.busy.try_lock() else {
        panic!("on_each_cpu called while another on_each_cpu is running");
    };
    // SAFETY: APs use the job only until `remaining` drops to 0, which this function waits for
    // before it returns, so no use outlives `f`.
    let mut job: Job = unsafe { core::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(f) };
    let others = cpu_count() - 1;
    WORK.job.store(&mut job, Ordering::Relaxed);
    WORK.remaining.store(others, Ordering::Relaxed);
    WORK.generation.fetch_add(1, Ordering::Release);
    if others > 0 {
        send(Icr::fixed_all_excluding_self(WAKE_VECTOR));
    }
    f(super::percpu::current_index());
    while WORK.remaining.load(Ordering::Acquire) != 0 {
        core::hint::spin_loop();
    }
    WORK.job.store(core::ptr::null_mut(), Ordering::Relaxed);
}

/// An AP's life after bring-up: sleep in `hlt` with interrupts on; on each new generation run
/// the job once.
fn idle_loop(index: usize, mut seen: u64) -> ! {
    loop {
        let mut generation = seen;
        if !irq::sleep_unless(|| {
            generation = WORK.generation.load(Ordering::Acquire);
            generation != seen
        }) {
            continue;
        }
        seen = generation;
        // The job may be interrupted.
        irq::enable();
        // SAFETY: the generation we saw was published (Release) after `job`, and the publisher
        // keeps the job alive until every AP has decremented `remaining`.
        let job = unsafe { *WORK.job.load(Ordering::Relaxed) };
        job(index);
        WORK.remaining.fetch_sub(1, Ordering::AcqRel);
    }
}
