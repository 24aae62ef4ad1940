//! Each CPU's share of the scheduler: its ready queue, the thread it runs, its idle context,
//! and its sleepers (waits with a deadline).

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use spinning_top::Spinlock;

use super::thread::{Thread, Waiter};
use crate::arch::context::{self, Context};
use super::kick;
use crate::arch::irq;
use crate::per_cpu::{per_cpu, PerCpu};
use stop::CpuIndex;

/// A wait with a deadline on the monotonic clock.
struct Sleeper {
    deadline_ns: u64,
    waiter: Waiter,
}

/// One CPU's scheduler state. Other CPUs touch only `ready` (to wake a thread).
pub struct CpuSched {
    /// Threads ready to run, in order.
    ready: Spinlock<VecDeque<Arc<Thread>>>,
    /// The thread running; `None` while the idle loop runs.
    pub current: Spinlock<Option<Arc<Thread>>>,
    /// The idle loop's context while a thread runs.
    idle: Context,
    /// A thread that switched away for the last time, for the idle loop to finish.
    exiting: Spinlock<Option<Arc<Thread>>>,
    /// Waits with a deadline.
    sleepers: Spinlock<Vec<Sleeper>>,
    /// Whether the wake-up tick runs.
    ticking: AtomicBool,
    /// Whether a thread or a sleeper was ever queued here. Until then the idle loop takes none
    /// of the locks above: a CPU stopped inside the idle loop would otherwise keep a lock it
    /// held, and after `smp::restart_others` (which keeps memory) it would deadlock on it.
    used: AtomicBool,
}

impl CpuSched {
    const fn new() -> Self {
        Self {
            ready: Spinlock::new(VecDeque::new()),
            current: Spinlock::new(None),
            idle: Context::empty(),
            exiting: Spinlock::new(None),
            sleepers: Spinlock::new(Vec::new()),
            ticking: AtomicBool::new(false),
            used: AtomicBool::new(false),
        }
    }
}

/// Every CPU's scheduler state, by CPU index.
pub static CPUS: PerCpu<CpuSched> = per_cpu!(CpuSched::new());

/// Allocates this module's per-CPU state for `cpus` CPUs (boot, before the APs start).
pub(crate) fn allocate_per_cpu(cpus: usize) {
    CPUS.allocate(cpus);
}

/// Queues `thread` on its CPU and wakes that CPU if it is another one.
pub fn make_ready(thread: Arc<Thread>) {
    let cpu = thread.cpu;
    CPUS[cpu].used.store(true, Ordering::Release);
    CPUS[cpu].ready.lock().push_back(thread);
    if cpu != crate::arch::percpu::current_index() {
        kick::kick(cpu);
    }
}

/// Switches from the running thread `me` to this CPU's idle loop; returns when `me` runs again.
pub fn give_up_cpu(me: &Arc<Thread>) {
    let cpu = &CPUS[me.cpu];
    assert_eq!(
        me.cpu,
        crate::arch::percpu::current_index(),
        "thread {} runs on the wrong CPU",
        me.id
    );
    *cpu.current.lock() = None;
    context::switch(&me.context, &cpu.idle);
}

/// Ends the running thread: its CPU's idle loop finishes it (frees its stack, wakes joiners)
/// once nothing runs on its stack any more.
pub fn exit_current() -> ! {
    let index = crate::arch::percpu::current_index();
    let cpu = &CPUS[index];
    let me = cpu.current.lock().take().expect("exit outside a thread");
    *cpu.exiting.lock() = Some(me);
    context::switch_away(&cpu.idle)
}

/// Adds a wait with a deadline to CPU `index`.
pub fn add_sleeper(index: CpuIndex, deadline_ns: u64, waiter: Waiter) {
    CPUS[index].used.store(true, Ordering::Release);
    CPUS[index].sleepers.lock().push(Sleeper {
        deadline_ns,
        waiter,
    });
}

/// Removes `thread`'s wait `token` from CPU `index`'s sleepers (the wait ended otherwise).
pub fn remove_sleeper(index: CpuIndex, thread: &Arc<Thread>, token: u64) {
    CPUS[index]
        .sleepers
        .lock()
        .retain(|s| !s.waiter.is(thread, token));
}

/// Whether CPU `index` has a thread to run or a deadline that passed.
pub fn has_work(index: CpuIndex) -> bool {
    let cpu = &CPUS[index];
    if !cpu.used.load(Ordering::Acquire) {
        return false;
    }
    if !cpu.ready.lock().is_empty() {
        return true;
    }
    let now = crate::time::now_ns();
    cpu.sleepers.lock().iter().any(|s| s.deadline_ns <= now)
}

/// Ends the waits of CPU `index` whose deadline passed.
fn wake_sleepers(index: CpuIndex) {
    let now = crate::time::now_ns();
    let due: Vec<Sleeper> = {
        let mut sleepers = CPUS[index].sleepers.lock();
        let (due, waiting) = core::mem::take(&mut *sleepers)
            .into_iter()
            .partition(|s| s.deadline_ns <= now);
        *sleepers = waiting;
        due
    };
    for sleeper in due {
        sleeper.waiter.time_out();
    }
}

/// Runs CPU `index`'s ready threads until none is left (called by its idle loop, with
/// interrupts in any state; threads run with interrupts on). Leaves the wake-up tick running
/// while sleepers wait.
pub fn run_ready(index: CpuIndex) {
    let cpu = &CPUS[index];
    if !cpu.used.load(Ordering::Acquire) {
        return;
    }
    loop {
        wake_sleepers(index);
        let Some(next) = cpu.ready.lock().pop_front() else {
            break;
        };
        irq::enable();
        *cpu.current.lock() = Some(next.clone());
        crate::interrupted::enter_stack(next.stack.clone());
        context::switch(&cpu.idle, &next.context);
        crate::interrupted::enter_kernel_stack();
        drop(next);
        if let Some(ended) = cpu.exiting.lock().take() {
            ended.finish();
        }
    }
    let want_tick = !cpu.sleepers.lock().is_empty();
    if cpu.ticking.swap(want_tick, Ordering::Relaxed) != want_tick {
        kick::tick(want_tick);
    }
}

/// The boot CPU's life once a std app runs: run ready threads, sleep in `hlt` when there are
/// none. (The APs do the same in their idle loop, between `on_each_cpu` jobs.)
#[cfg(feature = "std-app")]
pub fn idle_loop(index: CpuIndex) -> ! {
    loop {
        irq::sleep_unless(|| has_work(index));
        run_ready(index);
    }
}
