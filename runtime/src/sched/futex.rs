//! Futexes: wait while a 32-bit word holds an expected value, wake waiters of a word. One wait
//! queue per word address, in one table under one lock; the check of the word and the queueing
//! happen under that lock, so a wake that follows a change of the word is never lost.

use alloc::collections::{BTreeMap, VecDeque};
use core::sync::atomic::{AtomicU32, Ordering};

use spinning_top::Spinlock;

use super::thread::Waiter;
use super::{block, current, Woken};

/// Waiters by word address.
static FUTEXES: Spinlock<BTreeMap<usize, VecDeque<Waiter>>> = Spinlock::new(BTreeMap::new());

/// Why [`futex_wait`] returned without being woken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FutexError {
    /// The word did not hold the expected value.
    ValueChanged,
    /// The deadline passed.
    TimedOut,
}

/// If `word` holds `expected`, blocks until [`futex_wake`] on it or until the monotonic clock
/// reaches `deadline_ns`. Outside a scheduler thread it returns at once (a spurious wake-up,
/// which callers must expect anyway).
pub fn futex_wait(
    word: &AtomicU32,
    expected: u32,
    deadline_ns: Option<u64>,
) -> Result<(), FutexError> {
    let key = word.as_ptr() as usize;
    let Some(me) = current() else {
        return if word.load(Ordering::SeqCst) == expected {
            Ok(())
        } else {
            Err(FutexError::ValueChanged)
        };
    };
    let token = me.prepare_wait();
    {
        let mut table = FUTEXES.lock();
        if word.load(Ordering::SeqCst) != expected {
            me.cancel_wait();
            return Err(FutexError::ValueChanged);
        }
        table
            .entry(key)
            .or_default()
            .push_back(Waiter::new(me.clone(), token));
    }
    match block(&me, token, deadline_ns) {
        Woken::Wake => Ok(()),
        Woken::Timeout => {
            let mut table = FUTEXES.lock();
            if let Some(queue) = table.get_mut(&key) {
                queue.retain(|w| !w.is(&me, token));
                if queue.is_empty() {
                    table.remove(&key);
                }
            }
            Err(FutexError::TimedOut)
        }
    }
}

/// Wakes up to `count` threads waiting on `word`, oldest first; returns how many.
pub fn futex_wake(word: &AtomicU32, count: usize) -> usize {
    let key = word.as_ptr() as usize;
    let mut table = FUTEXES.lock();
    let Some(queue) = table.get_mut(&key) else {
        return 0;
    };
    let mut woken = 0;
    while woken < count {
        let Some(waiter) = queue.pop_front() else {
            break;
        };
        // A waiter whose deadline passed meanwhile is gone already: it does not count.
        if waiter.wake() {
            woken += 1;
        }
    }
    if queue.is_empty() {
        table.remove(&key);
    }
    woken
}
