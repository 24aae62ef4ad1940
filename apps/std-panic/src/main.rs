//! A std app whose worker thread panics while the others are busy: one holds a `Mutex` and
//! sleeps, the rest wait for that mutex. The panic goes std's way (message on stderr, then
//! `abort`), which on allstop is `sys_abort`: the runtime's panic path stops every other CPU
//! and prints the stop report; the run ends with the panic status (101).
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
    let waiters: Vec<_> = (0..cpus.saturating_sub(2).max(1))
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
