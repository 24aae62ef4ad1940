//! One scheduler thread: its context, stack and TLS, its current wait, and who joins it.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use spinning_top::Spinlock;

use super::{cpu, Tid, Woken};
use stop::CpuIndex;
use crate::arch::context::{Context, Stack};
use crate::arch::tls::TlsBlock;

/// A thread.
pub struct Thread {
    /// Its ID.
    pub id: Tid,
    /// The CPU it runs on, for good.
    pub cpu: CpuIndex,
    /// Its saved context while it does not run.
    pub context: Context,
    /// Its stack's bytes (for reports of where a stopped CPU was).
    pub stack: core::ops::Range<usize>,
    /// The guard page under its stack (for the report of an overflow).
    pub guard: core::ops::Range<usize>,
    /// Its stack and TLS block, freed once it has switched away for the last time.
    memory: Spinlock<Option<(Stack, TlsBlock)>>,
    /// What it runs, taken when it starts.
    start: Spinlock<Option<(extern "C" fn(usize), usize)>>,
    /// Token of the wait in progress; 0 when not waiting.
    wait: AtomicU64,
    /// The last token handed out.
    tokens: AtomicU64,
    /// Whether the last wait ended by its deadline.
    timed_out: AtomicBool,
    /// Whether it has ended, and the threads waiting for that.
    exit: Spinlock<(bool, Vec<Waiter>)>,
}

/// First code of every thread, on its own stack: runs its entry, then exits.
extern "C" fn thread_main() -> ! {
    let start = super::current().and_then(|me| me.start.lock().take());
    if let Some((entry, arg)) = start {
        entry(arg);
    }
    cpu::exit_current()
}

impl Thread {
    /// A thread that will run `entry(arg)` on `stack` with `tls`, on CPU `cpu`.
    pub fn new(
        id: Tid,
        cpu: CpuIndex,
        stack: Stack,
        tls: TlsBlock,
        entry: extern "C" fn(usize),
        arg: usize,
    ) -> Self {
        Self {
            id,
            cpu,
            context: Context::new(&stack, thread_main, tls.thread_pointer()),
            stack: stack.range(),
            guard: stack.guard_range(),
            memory: Spinlock::new(Some((stack, tls))),
            start: Spinlock::new(Some((entry, arg))),
            wait: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
            timed_out: AtomicBool::new(false),
            exit: Spinlock::new((false, Vec::new())),
        }
    }

    /// Starts a wait: returns its token, which wakers must present. Call before registering
    /// the waiter, so a wake-up that comes before the thread blocks is not lost.
    pub fn prepare_wait(&self) -> u64 {
        let token = self.tokens.fetch_add(1, Ordering::Relaxed) + 1;
        self.timed_out.store(false, Ordering::Relaxed);
        self.wait.store(token, Ordering::SeqCst);
        token
    }

    /// Abandons the wait just prepared (the condition was already met).
    pub fn cancel_wait(&self) {
        self.wait.store(0, Ordering::SeqCst);
    }

    /// Why the last wait ended.
    pub fn woken_by(&self) -> Woken {
        if self.timed_out.load(Ordering::Acquire) {
            Woken::Timeout
        } else {
            Woken::Wake
        }
    }

    /// Registers `waiter` to be woken when this thread ends; false (nothing registered) if it
    /// has ended already.
    pub fn add_joiner(&self, waiter: Waiter) -> bool {
        let mut exit = self.exit.lock();
        if exit.0 {
            return false;
        }
        exit.1.push(waiter);
        true
    }

    /// After its last switch away: frees its stack and TLS, forgets it (a thread nobody joins
    /// leaves nothing behind; a later join finds it ended), marks it ended, wakes its joiners.
    pub fn finish(&self) {
        drop(self.memory.lock().take());
        super::THREADS.lock().remove(&self.id);
        let joiners = {
            let mut exit = self.exit.lock();
            exit.0 = true;
            core::mem::take(&mut exit.1)
        };
        for waiter in joiners {
            waiter.wake();
        }
    }
}

/// A thread waiting, with the token of its wait.
pub struct Waiter {
    thread: Arc<Thread>,
    token: u64,
}

impl Waiter {
    /// `thread` waiting with `token`.
    pub fn new(thread: Arc<Thread>, token: u64) -> Self {
        Self { thread, token }
    }

    /// Whether this is `thread`'s wait with `token`.
    pub fn is(&self, thread: &Arc<Thread>, token: u64) -> bool {
        Arc::ptr_eq(&self.thread, thread) && self.token == token
    }

    /// Ends the wait and makes the thread ready, unless the wait already ended (then false).
    pub fn wake(self) -> bool {
        self.end(false)
    }

    /// [`Waiter::wake`] for a deadline that passed.
    pub fn time_out(self) -> bool {
        self.end(true)
    }

    fn end(self, timed_out: bool) -> bool {
        let ended = self
            .thread
            .wait
            .compare_exchange(self.token, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if ended {
            self.thread.timed_out.store(timed_out, Ordering::Release);
            cpu::make_ready(self.thread);
        }
        ended
    }
}
