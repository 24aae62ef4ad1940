//! An ordinary std program whose thread overflows its stack: spawned with
//! `std::thread::Builder::stack_size(64 KiB)`, it recurses without bound. On allstop its guard
//! page stops it: the runtime panics with `stack overflow on cpu N, thread T` and stops the
//! other CPUs (status 101). Should the recursion ever return, or the join report anything, it
//! prints `std-overflow: FAILED: …` and exits with status 1.
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::thread;

/// The thread's stack size.
const STACK: usize = 64 * 1024;

/// Recurses without bound; `black_box` keeps the frames from being optimised away.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 32]);
    recurse(depth + 1) + frame[31]
}

fn main() {
    let spawned = thread::Builder::new().stack_size(STACK).spawn(|| {
        println!(
            "std-overflow: recursing on a {} KiB std thread",
            STACK / 1024
        );
        recurse(0)
    });
    let outcome = match spawned {
        Ok(handle) => format!("the thread ended: {:?}", handle.join()),
        Err(e) => format!("spawning failed: {e}"),
    };
    println!("std-overflow: FAILED: {outcome}");
    std::process::exit(1);
}
