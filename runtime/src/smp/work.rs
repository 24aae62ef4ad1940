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

use super::cpu_count;
use crate::arch::vectors::WAKE_VECTOR;
use crate::arch::{ipi, irq};

/// A job for every CPU.
type Job = &'static (dyn Fn(CpuIndex) + Sync);

/// The work every CPU runs, published with a new generation number.
struct Work {
    /// Held by the one `on_each_cpu` running.
    busy: Spinlock<()>,
    /// The current job: points at a `Job` on the publishing CPU's stack.
    job: AtomicPtr<Job>,
    /// Bumped after `job` is set; APs compare it with the last one they ran.
    generation: AtomicU64,
    /// `generation << 32 | APs still running that generation's job`. Keyed by generation so that
    /// a CPU that finishes an abandoned job late (parked by INIT only when the host next ran it)
    /// cannot count against a later job.
    remaining: AtomicU64,
}

/// Low half of `remaining`: the count.
const COUNT_MASK: u64 = 0xFFFF_FFFF;

static WORK: Work = Work {
    busy: Spinlock::new(()),
    job: AtomicPtr::new(core::ptr::null_mut()),
    generation: AtomicU64::new(0),
    remaining: AtomicU64::new(0),
};

/// Runs `f(cpu_index)` on every online CPU (the caller included) and returns when all are done.
pub fn on_each_cpu(f: &(dyn Fn(CpuIndex) + Sync)) {
    let Some(_busy) = WORK.busy.try_lock() else {
        panic!("on_each_cpu called while another on_each_cpu is running");
    };
    // SAFETY: APs use the job only until `remaining` drops to 0, which this function waits for
    // before it returns, so no use outlives `f`.
    let mut job: Job = unsafe { core::mem::transmute::<&(dyn Fn(CpuIndex) + Sync), Job>(f) };
    let others = (cpu_count() - 1) as u64;
    let generation = WORK.generation.load(Ordering::Relaxed) + 1;
    WORK.job.store(&mut job, Ordering::Relaxed);
    WORK.remaining
        .store(generation << 32 | others, Ordering::Relaxed);
    WORK.generation.store(generation, Ordering::Release);
    if others > 0 {
        ipi::send(Icr::fixed_all_excluding_self(WAKE_VECTOR));
    }
    f(super::current_cpu());
    while WORK.remaining.load(Ordering::Acquire) & COUNT_MASK != 0 {
        core::hint::spin_loop();
    }
    WORK.job.store(core::ptr::null_mut(), Ordering::Relaxed);
}

/// An AP's life after bring-up: sleep in `hlt` with interrupts on; on each new generation run
/// the job once; run the scheduler's ready threads (std apps) whenever there are some.
pub fn idle_loop(index: CpuIndex, mut seen: u64) -> ! {
    loop {
        let mut generation = seen;
        let awake = irq::sleep_unless(|| {
            generation = WORK.generation.load(Ordering::Acquire);
            generation != seen || crate::sched::has_work(index)
        });
        crate::sched::run_ready(index);
        if !awake || generation == seen {
            continue;
        }
        seen = generation;
        // The job may be interrupted.
        irq::enable();
        // SAFETY: the generation we saw was published (Release) after `job`, and the publisher
        // keeps the job alive until every AP has decremented `remaining`.
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

/// The current work generation: an AP reads it before it goes `Running`, then runs every job
/// published after that.
pub fn generation() -> u64 {
    WORK.generation.load(Ordering::Acquire)
}

/// Forgets the APs' share of the current job: they were parked with INIT and will not finish it.
/// Lets an `on_each_cpu` whose caller restarted the others return.
pub fn abandon_current_job() {
    let generation = WORK.generation.load(Ordering::Acquire);
    WORK.remaining.store(generation << 32, Ordering::Release);
}
