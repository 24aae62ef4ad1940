//! A std app whose worker thread panics while the others are busy: one holds a `Mutex` and
//! sleeps, the rest wait for that mutex, and with 3 CPUs or more one more spins in [`spin`] on
//! a CPU of its own, so that the stop report shows a std thread's frames. The panic goes std's
//! way (message on stderr, then `abort`), which on allstop is `sys_abort`: the runtime's panic
//! path stops every other CPU and prints the stop report; the run ends with the panic status
//! (101).
//!
//! Threads are placed round-robin from CPU 1 and never migrate, and a CPU runs its next thread
//! only once the current one blocks, so the order of the spawns is the layout: with n >= 3
//! CPUs the spinner (CPU 1), the holder (CPU 2), n - 3 waiters (CPUs 3..n-1) and the worker
//! (CPU 0, with the main thread): no thread shares the spinner's CPU.
#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How long the lock holder sleeps with the lock held (far longer than the run lasts).
const HOLD: Duration = Duration::from_secs(30);
/// How long the panicking worker waits first, so the others are holding and waiting.
const BEFORE_PANIC: Duration = Duration::from_millis(50);

fn main() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let spinner = (cpus >= 3).then(|| thread::spawn(spin));
    let lock = Arc::new(Mutex::new(0u64));
    let holder = {
        let lock = Arc::clone(&lock);
        thread::spawn(move || {
            let mut guard = lock.lock().expect("lock");
            println!("std-panic: holder has the lock and sleeps");
            thread::sleep(HOLD);
            *guard += 1;
        })
    };
    thread::sleep(Duration::from_millis(10));
    let waiter_count = match spinner {
        Some(_) => cpus - 3,
        None => cpus.saturating_sub(2).max(1),
    };
    let waiters: Vec<_> = (0..waiter_count)
        .map(|i| {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                println!("std-panic: waiter {i} waits for the lock");
                *lock.lock().expect("lock") += 1;
            })
        })
        .collect();
    let worker = thread::spawn(|| {
        thread::sleep(BEFORE_PANIC);
        println!("std-panic: worker panics now");
        panic!("std-panic: worker gives up");
    });
    let _ = worker.join();
    let _ = holder.join();
    for w in waiters {
        let _ = w.join();
    }
    println!("std-panic: FAILED: the run went on after the panic");
    std::process::exit(1);
}

/// Keeps its CPU busy for good, never blocking: a std thread that is running when the worker
/// panics (qemu-test finds it in the stop report's block for its CPU).
#[inline(never)]
fn spin() {
    loop {
        std::hint::spin_loop();
    }
}
