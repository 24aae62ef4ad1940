//! An ordinary std Rust program, unchanged from what it would be on Linux: it greets, builds a
//! `HashMap`, spawns one thread per CPU to sum a slice of numbers each, joins them and checks
//! the total. On allstop every thread runs on its own CPU.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::thread;

/// Numbers summed: 1..=N.
const N: u64 = 1_000_000;

fn main() {
    println!(
        "std-hello: Hello from std on allstop! args {:?}",
        std::env::args().collect::<Vec<_>>()
    );
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let mut words: HashMap<&str, usize> = HashMap::new();
    for word in "the quick brown fox jumps over the lazy dog the end".split(' ') {
        *words.entry(word).or_default() += 1;
    }
    println!(
        "std-hello: {cpus} CPUs; 'the' appears {} times",
        words["the"]
    );
    let chunk = N / cpus as u64;
    let handles: Vec<_> = (0..cpus as u64)
        .map(|i| {
            let (from, to) = (
                i * chunk + 1,
                if i + 1 == cpus as u64 {
                    N
                } else {
                    (i + 1) * chunk
                },
            );
            thread::spawn(move || {
                let sum: u64 = (from..=to).sum();
                println!("std-hello: thread {i} summed {from}..={to} = {sum}");
                sum
            })
        })
        .collect();
    let total: u64 = handles
        .into_iter()
        .map(|h| h.join().expect("worker panicked"))
        .sum();
    let expected = N * (N + 1) / 2;
    println!("std-hello: total {total} (expected {expected})");
    assert_eq!(total, expected);
    println!("std-hello: done");
}
