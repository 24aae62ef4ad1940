//! Hostile uses of Hermit-ABI threads, one per run, chosen by the app argument (after ` -- `):
//! - `recurse`: a thread with a 64 KiB stack recurses without bound. Its guard page must stop
//!   it: the runtime panics with `stack overflow on cpu N, thread T` (status 101). Should the
//!   overflow go unnoticed, the app prints `abi-threads: FAILED: …` and exits with status 1.
//! - `stop-near-guard`: a thread with a 64 KiB stack recurses until it is less than
//!   [`NEAR_GUARD`] bytes above its guard page and spins there; then `main` (on the boot CPU)
//!   aborts. The stop vector that reaches the thread's CPU must not run on the thread's nearly
//!   exhausted stack (it has a per-CPU stack of its own): the run ends as a plain panic of CPU
//!   0 with CPU 1 stopped, not with a stack overflow inside the stop.
//! - `write-from-guard`: a thread with a 64 KiB stack asks `sys_write` to print 16 bytes of its
//!   own guard page. The page is RAM by the memory map but unmapped: the ABI's pointer check
//!   must refuse it (`-EFAULT`, printed as `abi-threads: write from the guard page: -14`, status
//!   0), not let the kernel fault on the app's behalf.
//! - `unjoined=N`: N threads that nobody joins, spawned in batches, must leave the heap as it
//!   was: `allstop::heap::allocated_bytes` after them equals the baseline before them. Prints
//!   `abi-threads: ok …` and exits 0, or `abi-threads: FAILED: …` and exits 1.
//!
//! All run their threads on CPU 1 (so it needs 2 CPUs): the boot CPU runs `main`, which is no
//! scheduler thread and runs none. The batches are driven by a thread on CPU 1 too: threads
//! switch only when they block, yield or end, and a CPU's ready queue is first come, first
//! served, so when the driver yields after spawning a batch there, it runs again only after every
//! thread of the batch has ended and been cleaned up. No timing is involved.
//!
//! Like abi-hello, it calls `hermit_abi` functions, which are `extern "C"` declarations and so
//! `unsafe` to call: `unsafe` appears only around those calls, each with a `// SAFETY:` comment.
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

allstop::entry!(main);

/// Status when a check failed or the arguments are wrong.
const FAILURE_STATUS: i32 = 1;
/// Stack size asked for the recursing thread (the runtime's smallest).
const SMALL_STACK: usize = 64 * 1024;
/// The CPU the threads run on.
const THREAD_CPU: isize = 1;
/// How far above its guard page `stop-near-guard`'s thread stops descending, at most: less
/// than an interrupt's frame (22 words pushed by the entry stub and the CPU) and its handler
/// need.
const NEAR_GUARD: usize = 256;
/// Page size: the runtime page-aligns each thread stack's top.
const PAGE: usize = 4096;
/// Threads per batch of `unjoined`.
const BATCH: usize = 100;
/// How long `main` waits for a scenario's thread to be done (or, for `recurse`, for the
/// runtime's panic).
const WAIT_US: u64 = 60_000_000;
/// `main`'s polling interval.
const POLL_US: u64 = 1_000;

/// Prints one `abi-threads: ` line.
macro_rules! say {
    ($($arg:tt)*) => { allstop::println!("abi-threads: {}", format_args!($($arg)*)) };
}

/// The driver's verdict for `main`: -1 while it runs, then the exit status.
static STATUS: AtomicI32 = AtomicI32::new(-1);
/// Threads of `unjoined` asked for.
static WANTED: AtomicUsize = AtomicUsize::new(0);
/// Threads of `unjoined` that ran.
static RAN: AtomicUsize = AtomicUsize::new(0);
/// Set once `main`'s spawn of the driver returned: until then the boot CPU may still hold
/// memory of its own from the spawn, which the driver's heap baseline must not count.
static DRIVER_SPAWNED: AtomicBool = AtomicBool::new(false);

fn main() -> i32 {
    let args = allstop::app_args();
    let (driver, stack): (extern "C" fn(usize), usize) = match args.trim() {
        "recurse" => (recurse_driver, SMALL_STACK),
        "stop-near-guard" => (near_guard_driver, SMALL_STACK),
        "write-from-guard" => (guard_write_driver, SMALL_STACK),
        other => match other.strip_prefix("unjoined=").and_then(|n| n.parse().ok()) {
            Some(n) => {
                WANTED.store(n, Ordering::Relaxed);
                (unjoined_driver, 0)
            }
            None => {
                say!("FAILED: unknown arguments '{args}' (recurse | stop-near-guard | write-from-guard | unjoined=N)");
                return FAILURE_STATUS;
            }
        },
    };
    if spawn(driver, stack) == 0 {
        say!("FAILED: could not spawn the driver thread");
        return FAILURE_STATUS;
    }
    DRIVER_SPAWNED.store(true, Ordering::Release);
    let mut waited = 0;
    while STATUS.load(Ordering::Acquire) < 0 && waited < WAIT_US {
        if NEAR_GUARD_REACHED.load(Ordering::Acquire) {
            say!("the thread spins just above its guard page; aborting");
            // SAFETY: takes the runtime's panic path, which stops the thread's CPU; never
            // returns.
            unsafe { hermit_abi::abort() }
        }
        // SAFETY: takes a plain number; outside a thread it busy-waits with interrupts on.
        unsafe { hermit_abi::usleep(POLL_US) };
        waited += POLL_US;
    }
    match STATUS.load(Ordering::Acquire) {
        s if s >= 0 => s,
        _ => {
            say!("FAILED: no verdict after {} s", WAIT_US / 1_000_000);
            FAILURE_STATUS
        }
    }
}

/// Spawns `entry` on [`THREAD_CPU`] with a stack of at least `stack` bytes; its ID, 0 on failure.
fn spawn(entry: extern "C" fn(usize), stack: usize) -> u32 {
    // SAFETY: `entry` is a plain `extern "C" fn(usize)` that lives for the whole run.
    unsafe { hermit_abi::spawn2(entry, 0, hermit_abi::NORMAL_PRIO.into(), stack, THREAD_CPU) }
}

/// `recurse`: runs on a 64 KiB stack and recurses until the guard page stops it.
extern "C" fn recurse_driver(_: usize) {
    say!("recursing on a {} KiB thread stack", SMALL_STACK / 1024);
    let depth = recurse(0);
    say!("FAILED: the recursion returned ({depth})");
    STATUS.store(FAILURE_STATUS, Ordering::Release);
}

/// Recurses without bound; `black_box` keeps the frames from being optimised away.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 32]);
    recurse(depth + 1) + frame[31]
}

/// Set once `stop-near-guard`'s thread spins near its guard page.
static NEAR_GUARD_REACHED: AtomicBool = AtomicBool::new(false);

/// `stop-near-guard`: descends to just above the guard page and spins there.
extern "C" fn near_guard_driver(_: usize) {
    // The runtime's thread stacks are whole pages over the guard page, so the stack's top is
    // the page boundary above this first frame, and the guard page ends `SMALL_STACK` below it.
    let marker = core::hint::black_box(0u8);
    let top = (&raw const marker as usize).next_multiple_of(PAGE);
    say!(
        "descending to {NEAR_GUARD} bytes above the guard page of a {} KiB thread stack",
        SMALL_STACK / 1024
    );
    let never = descend(top - SMALL_STACK + NEAR_GUARD);
    say!("FAILED: the descent returned ({never})");
    STATUS.store(FAILURE_STATUS, Ordering::Release);
}

/// `write-from-guard`: hands the runtime a pointer into this thread's own guard page.
extern "C" fn guard_write_driver(_: usize) {
    // As in `near_guard_driver`: the guard page is the page below the stack's lowest one.
    let marker = core::hint::black_box(0u8);
    let top = (&raw const marker as usize).next_multiple_of(PAGE);
    let guard = top - SMALL_STACK - PAGE;
    // SAFETY: the runtime must check the pointer before it reads through it: that check is
    // what this scenario tests; the call itself takes plain values.
    let result = unsafe { hermit_abi::write(1, guard as *const u8, 16) };
    say!("write from the guard page: {result}");
    let status = if result == -(hermit_abi::errno::EFAULT as isize) {
        0
    } else {
        FAILURE_STATUS
    };
    STATUS.store(status, Ordering::Release);
}

/// Recurses until its frame is below `floor`, then signals and spins with interrupts on.
fn descend(floor: usize) -> u64 {
    let frame = core::hint::black_box([floor as u64; 8]);
    if (&raw const frame as usize) < floor {
        NEAR_GUARD_REACHED.store(true, Ordering::Release);
        loop {
            core::hint::spin_loop();
        }
    }
    descend(floor) + frame[7]
}

/// A thread of `unjoined`: counts itself and ends.
extern "C" fn short_thread(_: usize) {
    RAN.fetch_add(1, Ordering::Relaxed);
}

/// Spawns `count` short threads on this CPU and lets them all run and end; false if a spawn
/// failed.
fn run_batch(count: usize) -> bool {
    let spawned = (0..count).all(|_| spawn(short_thread, 0) != 0);
    // SAFETY: takes no arguments. The threads just spawned are ahead in this CPU's queue.
    unsafe { hermit_abi::yield_now() };
    spawned
}

/// `unjoined=N`: a warm-up batch (the scheduler's queues and maps reach their size), the
/// baseline, then N threads in batches, then the heap again.
extern "C" fn unjoined_driver(_: usize) {
    let wanted = WANTED.load(Ordering::Relaxed);
    // The heap counts every CPU's allocations: seen, under load, a baseline 32 bytes high that
    // the boot CPU freed later on its way out of the spawn (failing 5 of 40 runs beside a busy
    // loop on the host).
    while !DRIVER_SPAWNED.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    let status = if !run_batch(BATCH) {
        say!("FAILED: spawning the warm-up batch failed");
        FAILURE_STATUS
    } else {
        RAN.store(0, Ordering::Relaxed);
        let baseline = allstop::heap::allocated_bytes();
        let mut left = wanted;
        let mut spawned = true;
        while left > 0 && spawned {
            spawned = run_batch(left.min(BATCH));
            left -= left.min(BATCH);
        }
        let after = allstop::heap::allocated_bytes();
        let ran = RAN.load(Ordering::Relaxed);
        if !spawned || ran != wanted {
            say!(
                "FAILED: {ran} of {wanted} threads ran (a spawn failed: {})",
                !spawned
            );
            FAILURE_STATUS
        } else if after != baseline {
            say!(
                "FAILED: {wanted} unjoined threads ended, heap allocated {after} bytes, \
                 baseline {baseline} ({:+} bytes)",
                after as isize - baseline as isize
            );
            FAILURE_STATUS
        } else {
            say!("ok: {wanted} unjoined threads ended, heap allocated {after} bytes = baseline");
            0
        }
    };
    STATUS.store(status, Ordering::Release);
}
