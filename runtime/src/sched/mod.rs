//! Threads for std apps: a small cooperative scheduler per CPU.
//!
//! Each thread lives on one CPU, chosen when it is spawned (round-robin over the online CPUs,
//! or the CPU asked for) and never migrates. A CPU runs its ready threads one after the other;
//! a thread keeps its CPU until it blocks (join, futex wait, sleep), yields or exits, and then
//! switches to the CPU's idle loop, which picks the next ready thread or sleeps in `hlt` (with
//! a periodic wake-up tick while sleep deadlines are pending). Waking a thread queues it on its
//! CPU and sends that CPU a wake IPI, so waits across CPUs block instead of spinning.
//!
//! Every wait carries a token: a waker (futex wake, a joined thread's exit, a timer) ends the
//! wait only if the token still matches, so a late wake-up never ends a later wait.

mod cpu;
mod kick;
pub(crate) use self::kick::kick;
mod futex;
mod thread;

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use spinning_top::Spinlock;

use self::cpu::{give_up_cpu, CPUS};
pub use self::futex::{futex_wait, futex_wake, FutexError};
use self::thread::{Thread, Waiter};
use crate::arch::context::Stack;
use crate::arch::tls::TlsBlock;
use crate::stopping::STOP;
use stop::CpuIndex;

#[cfg(feature = "std-app")]
pub use self::cpu::idle_loop;
pub(crate) use self::cpu::allocate_per_cpu;
pub use self::cpu::{has_work, run_ready};

/// A thread's ID (Hermit's `Tid`); 0 is never used.
pub type Tid = u32;

/// Smallest stack a thread gets, whatever it asked for.
const MIN_STACK_SIZE: usize = 64 * 1024;

/// Every thread that has not ended yet, by ID.
static THREADS: Spinlock<BTreeMap<Tid, Arc<Thread>>> = Spinlock::new(BTreeMap::new());
/// The next thread ID.
static NEXT_TID: AtomicU32 = AtomicU32::new(1);
/// Round-robin position for threads that name no CPU (starts at 1: the first thread spawned
/// by the main thread goes to the next CPU).
static NEXT_CPU: AtomicUsize = AtomicUsize::new(1);

/// Why a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woken {
    /// A waker ended it (futex wake, thread exit).
    Wake,
    /// Its deadline passed.
    Timeout,
}

/// Why [`join`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinError {
    /// No such thread, or it was joined already.
    NoSuchThread,
    /// A thread cannot join itself.
    Itself,
    /// Not called from a scheduler thread.
    NotAThread,
}

/// The online CPUs' indices.
fn online_cpus() -> Vec<CpuIndex> {
    (0..STOP.cpu_count())
        .map(CpuIndex::new)
        .filter(|&i| STOP.cpu_state(i) == Some(stop::CpuState::Running))
        .collect()
}

/// Starts a thread running `entry(arg)` on a stack of at least `stack_size` bytes, on CPU
/// `core` (taken modulo the online CPUs) or, with `None`, on the next CPU round-robin. Returns
/// its ID; `None` when memory for its stack or TLS ran out, when no stack can be that large,
/// or when thread IDs ran out.
pub fn spawn(
    entry: extern "C" fn(usize),
    arg: usize,
    stack_size: usize,
    core: Option<usize>,
) -> Option<Tid> {
    let cpus = online_cpus();
    let slot = core.unwrap_or_else(|| NEXT_CPU.fetch_add(1, Ordering::Relaxed));
    let cpu = cpus[slot % cpus.len()];
    let stack = Stack::new(stack_size.max(MIN_STACK_SIZE))?;
    let tls = TlsBlock::new()?;
    // IDs are never reused: after the last one, spawning fails instead of wrapping to 0 (which
    // the ABI reads as failure) or to an ID a live thread may still have.
    let id = NEXT_TID
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |id| id.checked_add(1))
        .ok()?;
    let thread = Arc::new(Thread::new(id, cpu, stack, tls, entry, arg));
    THREADS.lock().insert(id, thread.clone());
    cpu::make_ready(thread);
    Some(id)
}

/// Waits until thread `id` has ended; at once when it has ended already (joined or not: an
/// ended thread is forgotten, as Hermit does).
pub fn join(id: Tid) -> Result<(), JoinError> {
    let me = current().ok_or(JoinError::NotAThread)?;
    if me.id == id {
        return Err(JoinError::Itself);
    }
    let target = THREADS.lock().get(&id).cloned();
    let Some(target) = target else {
        // IDs count up from 1 and are never reused: one below the next was handed out.
        let issued = id != 0 && id < NEXT_TID.load(Ordering::Relaxed);
        return if issued {
            Ok(())
        } else {
            Err(JoinError::NoSuchThread)
        };
    };
    loop {
        let token = me.prepare_wait();
        if !target.add_joiner(Waiter::new(me.clone(), token)) {
            me.cancel_wait();
            break;
        }
        block(&me, token, None);
    }
    Ok(())
}

/// Lets the other ready threads of this CPU run first. Outside a scheduler thread, a pause.
pub fn yield_now() {
    match current() {
        Some(me) => {
            cpu::make_ready(me.clone());
            give_up_cpu(&me);
        }
        None => core::hint::spin_loop(),
    }
}

/// Blocks the calling thread until the monotonic clock reaches `deadline_ns`. Returns false
/// (without waiting) outside a scheduler thread.
pub fn sleep_until(deadline_ns: u64) -> bool {
    let Some(me) = current() else {
        return false;
    };
    let token = me.prepare_wait();
    block(&me, token, Some(deadline_ns));
    true
}

/// The ID of the thread whose stack's guard page holds `address`, if one does. For a fault
/// report: it only tries the locks (the faulting CPU may hold one), looking at this CPU's
/// running thread first.
pub fn thread_with_guard_at(address: usize) -> Option<Tid> {
    let running = CPUS.current().current.try_lock().and_then(|t| t.clone());
    if let Some(thread) = running.filter(|t| t.guard.contains(&address)) {
        return Some(thread.id);
    }
    THREADS.try_lock().and_then(|threads| {
        threads
            .values()
            .find(|t| t.guard.contains(&address))
            .map(|t| t.id)
    })
}

/// The thread running on this CPU, if a scheduler thread runs.
fn current() -> Option<Arc<Thread>> {
    CPUS.current().current.lock().clone()
}

/// Blocks `me` (the running thread, which registered a [`Waiter`] with `token`, or relies on
/// the deadline alone) until the wait ends; returns why.
fn block(me: &Arc<Thread>, token: u64, deadline_ns: Option<u64>) -> Woken {
    if let Some(deadline) = deadline_ns {
        cpu::add_sleeper(me.cpu, deadline, Waiter::new(me.clone(), token));
    }
    give_up_cpu(me);
    if deadline_ns.is_some() {
        cpu::remove_sleeper(me.cpu, me, token);
    }
    me.woken_by()
}
