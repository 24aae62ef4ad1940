//! Stop hooks: functions every CPU runs on itself while it stops (quiesce a device, flush a
//! per-CPU log). They must be idempotent: an NMI can interrupt one mid-way and run it again.
#![forbid(unsafe_code)]

use spin::Once;

use crate::sync::{AtomicUsize, Ordering};

/// A stop hook; called with the stopping CPU's index.
pub type StopHook = fn(cpu: usize);

/// How many stop hooks can be registered.
pub const MAX_STOP_HOOKS: usize = 8;

/// The hook table is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HooksFull;

impl core::fmt::Display for HooksFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "all {MAX_STOP_HOOKS} stop hook slots are taken")
    }
}

/// A fixed table of hooks, filled at boot and read lock-free from interrupt and NMI context.
pub(crate) struct StopHooks {
    /// Slots claimed in order.
    slots: [Once<StopHook>; MAX_STOP_HOOKS],
    /// Slots claimed so far (may exceed the capacity after failed claims).
    claimed: AtomicUsize,
}

impl StopHooks {
    const_unless_loom! {
        /// An empty table.
        pub(crate) fn new() -> Self {
            Self {
                slots: [const { Once::new() }; MAX_STOP_HOOKS],
                claimed: AtomicUsize::new(0),
            }
        }
    }

    /// Adds `hook`.
    pub(crate) fn register(&self, hook: StopHook) -> Result<(), HooksFull> {
        let slot = self.claimed.fetch_add(1, Ordering::SeqCst);
        self.slots
            .get(slot)
            .map(|once| {
                once.call_once(|| hook);
            })
            .ok_or(HooksFull)
    }

    /// Runs every registered hook for `cpu`, in registration order.
    pub(crate) fn run(&self, cpu: usize) {
        self.slots
            .iter()
            .filter_map(Once::get)
            .for_each(|hook| hook(cpu));
    }
}
