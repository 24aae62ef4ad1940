//! Where each stopped CPU was: the context its stop vector or stop NMI interrupted, and the
//! stack that context ran on, so the stopper can report every CPU's registers and walk its
//! frames. Each CPU writes only its own slot, and saves its context before it acknowledges the
//! stop (the stop controller's Release stores then publish it to the stopper, which reads it
//! only once the CPU is stopped); nothing is written after the CPU's last stop-state store.

use stop::CpuIndex;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

use crate::arch::{self, TrapFrame};
use crate::per_cpu::{per_cpu, PerCpu};

/// `Slot::state`: nothing saved since the last [`forget`].
const EMPTY: u8 = 0;
/// `Slot::state`: a save began (a later save, such as an NMI's arriving while the stop vector's
/// handler saves, leaves the slot alone).
const CLAIMED: u8 = 1;
/// `Slot::state`: `frame` and `stack` hold a whole context.
const SAVED: u8 = 2;

/// One CPU's slot.
struct Slot {
    /// [`EMPTY`], [`CLAIMED`] or [`SAVED`].
    state: AtomicU8,
    frame: [AtomicU64; TrapFrame::WORDS],
    stack: [AtomicUsize; 2],
    /// The stack the CPU runs on now: its kernel stack, or a scheduler thread's.
    current_stack: [AtomicUsize; 2],
    /// The CPU's own kernel stack.
    kernel_stack: [AtomicUsize; 2],
}

impl Slot {
    const fn new() -> Self {
        Self {
            state: AtomicU8::new(EMPTY),
            frame: [const { AtomicU64::new(0) }; TrapFrame::WORDS],
            stack: [const { AtomicUsize::new(0) }; 2],
            current_stack: [const { AtomicUsize::new(0) }; 2],
            kernel_stack: [const { AtomicUsize::new(0) }; 2],
        }
    }
}

static SLOTS: PerCpu<Slot> = per_cpu!(Slot::new());

/// Allocates this module's per-CPU state for `cpus` CPUs (boot, before the APs start).
pub(crate) fn allocate_per_cpu(cpus: usize) {
    SLOTS.allocate(cpus);
}

fn store_range(cells: &[AtomicUsize; 2], range: &Range<usize>) {
    cells[0].store(range.start, Ordering::Relaxed);
    cells[1].store(range.end, Ordering::Relaxed);
}

fn load_range(cells: &[AtomicUsize; 2]) -> Range<usize> {
    cells[0].load(Ordering::Relaxed)..cells[1].load(Ordering::Relaxed)
}

/// What is known of where a CPU was when it stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Context {
    /// The interrupted registers, and the stack they ran on.
    Saved {
        /// The interrupted registers.
        frame: TrapFrame,
        /// The stack the interrupted code ran on (lowest address..top).
        stack: Range<usize>,
    },
    /// The CPU began saving but did not finish (an NMI stopped it during the save).
    Incomplete,
    /// Nothing saved: the CPU stopped itself, or was parked with INIT.
    None,
}

/// Records the calling CPU's kernel stack (at each start of the CPU); it runs on it from now.
pub fn set_kernel_stack(stack: Range<usize>) {
    let slot = SLOTS.current();
    store_range(&slot.kernel_stack, &stack);
    store_range(&slot.current_stack, &stack);
    forget();
}

/// The calling CPU is about to run on `stack` (a scheduler thread's).
pub fn enter_stack(stack: Range<usize>) {
    store_range(&SLOTS.current().current_stack, &stack);
}

/// The calling CPU is back on its kernel stack.
pub fn enter_kernel_stack() {
    let slot = SLOTS.current();
    store_range(&slot.current_stack, &load_range(&slot.kernel_stack));
}

/// Saves `frame`, the context the calling CPU's stop vector or stop NMI interrupted, unless it
/// saved one since the last [`forget`] (then it stores nothing at all); true if this call saved
/// it. The stack saved with it is the one that holds the interrupted stack pointer: the CPU's
/// current stack, else its kernel stack (a switch between the two may be under way).
pub fn save(frame: &TrapFrame) -> bool {
    // An NMI that interrupted the stop vector's handler (or another interrupt handler) saves
    // what that handler had interrupted: the app's context, not the handler's.
    let frame = &arch::underlying_context(frame);
    let slot = SLOTS.current();
    if slot.state.load(Ordering::Relaxed) != EMPTY
        || slot
            .state
            .compare_exchange(EMPTY, CLAIMED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
    {
        return false;
    }
    for (cell, word) in slot.frame.iter().zip(frame.to_words()) {
        cell.store(word, Ordering::Relaxed);
    }
    let rsp = frame.rsp as usize;
    let current = load_range(&slot.current_stack);
    let kernel = load_range(&slot.kernel_stack);
    let stack = if !current.contains(&rsp) && kernel.contains(&rsp) {
        kernel
    } else {
        current
    };
    store_range(&slot.stack, &stack);
    slot.state.store(SAVED, Ordering::Release);
    true
}

/// Forgets the calling CPU's saved context: its stop vector was spurious, or it starts again.
pub fn forget() {
    SLOTS.current().state.store(EMPTY, Ordering::Release);
}

/// What CPU `cpu` saved; read it only once the CPU is stopped.
pub fn context(cpu: CpuIndex) -> Context {
    let slot = &SLOTS[cpu];
    let state = slot.state.load(Ordering::Acquire);
    if state == SAVED {
        let words = core::array::from_fn(|i| slot.frame[i].load(Ordering::Relaxed));
        Context::Saved {
            frame: TrapFrame::from_words(words),
            stack: load_range(&slot.stack),
        }
    } else if state == CLAIMED {
        Context::Incomplete
    } else {
        Context::None
    }
}

/// The return addresses of `frame`'s code on `stack`, innermost first, as far as the chain of
/// frame pointers holds.
pub fn frames(frame: &TrapFrame, stack: Range<usize>) -> arch::backtrace::Walk {
    arch::backtrace::Walk::new(frame.rbp() as usize, stack)
}
