//! A std app that stresses the synchronization primitives across CPUs (more threads than CPUs,
//! so threads also block and wake on the same CPU): a `Mutex` counter, a producer/consumer
//! queue on a `Mutex` and `Condvar`, `mpsc` channels, and `Barrier` rounds. Every result is
//! deterministic and checked; it prints `std-sync: ok` and exits 0, or names the first
//! mismatch and exits 1.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex};
use std::thread;

/// Increments per thread of the mutex counter.
const INCREMENTS: u64 = 2_000;
/// Items each producer puts in the queue and each channel sender sends.
const ITEMS: u64 = 1_000;
/// Largest queue length producers wait for room under.
const QUEUE_CAPACITY: usize = 8;
/// Barrier rounds.
const ROUNDS: u64 = 50;

/// Sum of 0..n.
fn sum_below(n: u64) -> u64 {
    n * (n.saturating_sub(1)) / 2
}

fn mutex_counter(threads: u64) -> u64 {
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..INCREMENTS {
                    *counter.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let total = *counter.lock().unwrap();
    total
}

/// A bounded queue: items and whether producers are done, with one condvar for "changed".
struct Queue {
    state: Mutex<(VecDeque<u64>, u64)>,
    changed: Condvar,
}

fn condvar_queue(producers: u64) -> u64 {
    let queue = Arc::new(Queue {
        state: Mutex::new((VecDeque::new(), 0)),
        changed: Condvar::new(),
    });
    let producer_handles: Vec<_> = (0..producers)
        .map(|_| {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                for item in 0..ITEMS {
                    let mut state = queue.state.lock().unwrap();
                    while state.0.len() >= QUEUE_CAPACITY {
                        state = queue.changed.wait(state).unwrap();
                    }
                    state.0.push_back(item);
                    queue.changed.notify_all();
                }
                queue.state.lock().unwrap().1 += 1;
                queue.changed.notify_all();
            })
        })
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                let mut sum = 0;
                let mut state = queue.state.lock().unwrap();
                loop {
                    if let Some(item) = state.0.pop_front() {
                        sum += item;
                        queue.changed.notify_all();
                    } else if state.1 == producers {
                        return sum;
                    } else {
                        state = queue.changed.wait(state).unwrap();
                    }
                }
            })
        })
        .collect();
    producer_handles.into_iter().for_each(|h| h.join().unwrap());
    consumers.into_iter().map(|h| h.join().unwrap()).sum()
}

fn channels(senders: u64) -> u64 {
    let (tx, rx) = mpsc::channel();
    for _ in 0..senders {
        let tx = tx.clone();
        thread::spawn(move || (0..ITEMS).for_each(|i| tx.send(i).unwrap()));
    }
    drop(tx);
    rx.iter().sum()
}

fn barrier_rounds(threads: u64) -> u64 {
    let barrier = Arc::new(Barrier::new(threads as usize));
    let leaders = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (barrier, leaders) = (Arc::clone(&barrier), Arc::clone(&leaders));
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    if barrier.wait().is_leader() {
                        *leaders.lock().unwrap() += 1;
                    }
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let rounds = *leaders.lock().unwrap();
    rounds
}

fn main() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let threads = 2 * cpus.max(2);
    println!("std-sync: {cpus} CPUs, {threads} threads per test");
    let results = [
        ("mutex", mutex_counter(threads), threads * INCREMENTS),
        (
            "condvar",
            condvar_queue(threads),
            threads * sum_below(ITEMS),
        ),
        ("channel", channels(threads), threads * sum_below(ITEMS)),
        ("barrier", barrier_rounds(threads), ROUNDS),
    ];
    for (name, got, expected) in results {
        println!("std-sync: {name}: {got} (expected {expected})");
        if got != expected {
            println!("std-sync: FAILED: {name} gave {got}, expected {expected}");
            std::process::exit(1);
        }
    }
    println!("std-sync: ok");
}
