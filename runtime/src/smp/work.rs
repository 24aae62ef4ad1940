//! Running work on every CPU: the APs' idle loop and `on_each_cpu`.
//!
//! The one `unsafe` outside the hardware layer and the Hermit ABI: `on_each_cpu` lends the
//! other CPUs a job borrowed from its caller's stack (as `std::thread::scope` does), erasing its
//! lifetime, and waits until every CPU is done with it before it returns.
#![allow(unsafe_code)]

use stop::CpuIndex;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use spinning_top::Spinlock;
use stop::x86::icr::Icr;

use stop::CpuState;

use crate::arch::vectors::WAKE_VECTOR;
use crate::arch::{ipi, irq};
use crate::per_cpu::{per_cpu, PerCpu};
use crate::stopping::STOP;

/// A job for every CPU.
type Job = &'static (dyn Fn(CpuIndex) + Sync);

/// The work every CPU runs, published with a new generation number.
struct Work {
    /// Held by the one `on_each_cpu` running.
    busy: Spinlock<()>,
    /// The current job: points at a `Job` on the publishing CPU's stack.
    job: AtomicPtr<Job>,
    /// Bumped after `job` and `assigned` are set.
    generation: AtomicU64,
    /// The generation each AP must run: set by the publisher, before it bumps `generation`, for
    /// exactly the APs it counts in `remaining` (those `Running` at that moment). An AP runs a
    /// job only if it was assigned it, so one that came online while the job was being published
    /// never touches a job whose publisher does not wait for it.
    assigned: PerCpu<AtomicU64>,
    /// `generation << 32 | APs still running that generation's job`. Keyed by generation so that
    /// a CPU that finishes an abandoned job late (parked by INIT only when the host next ran it)
    /// cannot count against a later job.
    remaining: AtomicU64,
}

/// Low half of `remaining`: the count.
const COUNT_MASK: u64 = 0xFFFF_FFFF;
/// `assigned` of an AP with nothing to run (generations start at 1).
const NOTHING: u64 = 0;

static WORK: Work = Work {
    busy: Spinlock::new(()),
    job: AtomicPtr::new(core::ptr::null_mut()),
    generation: AtomicU64::new(0),
    assigned: per_cpu!(AtomicU64::new(NOTHING)),
    remaining: AtomicU64::new(0),
};

/// Allocates this module's per-CPU state for `cpus` CPUs (boot, before the APs start).
pub(crate) fn allocate_per_cpu(cpus: usize) {
    WORK.assigned.allocate(cpus);
}

/// Runs `f(cpu_index)` on every online CPU (the caller included) and returns when all are done.
pub fn on_each_cpu(f: &(dyn Fn(CpuIndex) + Sync)) {
    let Some(_busy) = WORK.busy.try_lock() else {
        panic!("on_each_cpu called while another on_each_cpu is running");
    };
    // SAFETY: only the APs assigned this generation below use the job, each until it has
    // decremented `remaining`, and this function waits for `remaining` to drop to 0 before it
    // returns, so no use outlives `f`.
    let mut job: Job = unsafe { core::mem::transmute::<&(dyn Fn(CpuIndex) + Sync), Job>(f) };
    let me = super::current_cpu();
    let generation = WORK.generation.load(Ordering::Relaxed) + 1;
    WORK.job.store(&mut job, Ordering::Relaxed);
    let mut others = 0;
    for cpu in (0..STOP.cpu_count()).map(CpuIndex::new) {
        if cpu != me && STOP.cpu_state(cpu) == Some(CpuState::Running) {
            WORK.assigned[cpu].store(generation, Ordering::Relaxed);
            others += 1;
        }
    }
    WORK.remaining
        .store(generation << 32 | others, Ordering::Relaxed);
    WORK.generation.store(generation, Ordering::Release);
    if others > 0 {
        ipi::send(Icr::fixed_all_excluding_self(WAKE_VECTOR));
    }
    f(me);
    while WORK.remaining.load(Ordering::Acquire) & COUNT_MASK != 0 {
        core::hint::spin_loop();
    }
    WORK.job.store(core::ptr::null_mut(), Ordering::Relaxed);
}

/// Called by a starting AP before it goes `Running`: nothing published before is its to run
/// (an assignment left from before a restart is forgotten).
pub fn prepare_ap(index: CpuIndex) {
    WORK.assigned[index].store(NOTHING, Ordering::Relaxed);
}

/// The generation AP `index` was assigned and has not run yet, if the current one is.
fn assigned_job(index: CpuIndex, last_run: u64) -> Option<u64> {
    let generation = WORK.generation.load(Ordering::Acquire);
    let assigned = WORK.assigned[index].load(Ordering::Relaxed);
    (assigned == generation && generation != last_run).then_some(generation)
}

/// An AP's life after bring-up: sleep in `hlt` with interrupts on; run each job it is assigned
/// once; run the scheduler's ready threads (std apps) whenever there are some; print the
/// report a warm restart kept when it is handed this AP.
pub fn idle_loop(index: CpuIndex) -> ! {
    let mut last_run = NOTHING;
    loop {
        let mut job_generation = None;
        irq::sleep_unless(|| {
            job_generation = assigned_job(index, last_run);
            job_generation.is_some()
                || crate::sched::has_work(index)
                || crate::kept_report::is_printer(index)
        });
        crate::kept_report::print_if_mine(index);
        crate::sched::run_ready(index);
        let Some(generation) = job_generation else {
            continue;
        };
        last_run = generation;
        // The job may be interrupted.
        irq::enable();
        // SAFETY: this AP was assigned the generation it saw, and `assigned` and `job` were
        // stored before that generation was published (Release, read with Acquire); the
        // publisher keeps the job alive until this AP has decremented `remaining`.
        let job = unsafe { *WORK.job.load(Ordering::Relaxed) };
        job(index);
        // Count this CPU done, unless the job was abandoned (or a later one published) meanwhile.
        let _ = WORK
            .remaining
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| {
                (r >> 32 == generation && r & COUNT_MASK != 0).then(|| r - 1)
            });
    }
}

/// Forgets the APs' share of the current job: they were parked with INIT and will not finish it.
/// Lets an `on_each_cpu` whose caller restarted the others return.
pub fn abandon_current_job() {
    let generation = WORK.generation.load(Ordering::Acquire);
    WORK.remaining.store(generation << 32, Ordering::Release);
}
