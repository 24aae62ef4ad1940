//! Panics on a different CPU in every run, while some APs spin with interrupts off. Boot it with
//! `panic=restart`: each warm restart runs it again and it shows the count going up, and where
//! each other CPU was at the last crash (`crashloop: cpu N was at 0x... (frames ...)`), until
//! the crash-loop guard powers the machine off (status 103).
//!
//! With the app argument `cycles=N` it is a soak test: it keeps going until N warm restarts have
//! happened (boot with a `restart.max` above N), checking on every run that
//! - the restart count went up by exactly one,
//! - the last crash names the CPU and message of the previous run's panic,
//! - the heap's allocated bytes are back at the first run's value,
//! - `.data` and `.bss` globals are back at their initial values,
//!
//! and then powers off with status 0 (any failed check: status 1). Heartbeats of stopped CPUs
//! are checked by the runtime with `stop.verify_ms=M`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use allstop::{heap, irq, println, restart, smp};
use wire::place::Place;
use wire::split::words;

allstop::entry!(main);

/// App words kept across restarts.
const WORD_EXPECTED_COUNT: usize = 0;
const WORD_HEAP_BYTES: usize = 1;
const WORD_VICTIM: usize = 2;
/// Status of a failed soak check.
const FAILED: u32 = 1;

/// A `.data` global (non-zero initial value) and a `.bss` one: both must be back every run.
static DATA_CANARY: AtomicU64 = AtomicU64::new(0x5EED_CAFE);
static BSS_CANARY: AtomicU64 = AtomicU64::new(0);
/// APs set up for this run.
static READY: AtomicUsize = AtomicUsize::new(0);

fn main() -> i32 {
    let run = restart::restart_count();
    let cpus = smp::cpu_count();
    let cycles = words(allstop::app_args())
        .find_map(|word| word.value.filter(|_| word.key == "cycles"))
        .and_then(|n| n.parse::<u64>().ok());
    match restart::last_crash() {
        Some(crash) => {
            println!(
                "crashloop: run #{run} on {cpus} CPUs ({} us after the crash); last crash on cpu {}: {}",
                restart::last_restart_latency().map_or(0, |d| d.as_micros()),
                crash.cpu(),
                crash.message()
            );
            for place in crash.places() {
                let place = Place {
                    cpu: u64::from(place.cpu),
                    rip: place.rip,
                    frames: place.frames.iter().copied(),
                };
                println!("crashloop: {place}");
            }
        }
        None => println!("crashloop: run #{run} on {cpus} CPUs (cold boot)"),
    }
    if let Some(cycles) = cycles {
        check(run);
        if run >= cycles {
            println!("crashloop: soak passed: {run} warm restarts, every check held");
            allstop::poweroff(0);
        }
    }
    crash(run, cpus)
}

/// The soak checks for run number `run`.
fn check(run: u64) {
    let fail = |what: core::fmt::Arguments<'_>| -> ! {
        println!("crashloop: FAILED in run #{run}: {what}");
        allstop::poweroff(FAILED)
    };
    if DATA_CANARY.load(Ordering::SeqCst) != 0x5EED_CAFE || BSS_CANARY.load(Ordering::SeqCst) != 0 {
        fail(format_args!(
            ".data or .bss global not back at its initial value"
        ));
    }
    let heap_bytes = heap::allocated_bytes() as u64;
    if run == 0 {
        restart::set_app_word(WORD_HEAP_BYTES, heap_bytes);
    } else {
        if run != restart::app_word(WORD_EXPECTED_COUNT) {
            fail(format_args!(
                "restart count {run}, expected {}",
                restart::app_word(0)
            ));
        }
        if heap_bytes != restart::app_word(WORD_HEAP_BYTES) {
            fail(format_args!(
                "heap holds {heap_bytes} bytes, the first run held {}",
                restart::app_word(WORD_HEAP_BYTES)
            ));
        }
        let victim = restart::app_word(WORD_VICTIM);
        match restart::last_crash() {
            Some(c) if u64::from(c.cpu()) == victim && c.message().contains("crashloop: cpu") => {}
            _ => fail(format_args!(
                "last crash does not name cpu {victim}'s panic"
            )),
        }
    }
    // Dirty the globals: the next run must find them restored.
    DATA_CANARY.store(run, Ordering::SeqCst);
    BSS_CANARY.store(run + 1, Ordering::SeqCst);
    restart::set_app_word(WORD_EXPECTED_COUNT, run + 1);
}

/// A small deterministic mix of the run number, so every run picks a different layout.
fn mix(run: u64) -> u64 {
    let mut x = run.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 29;
    x.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 17
}

/// Picks this run's victim (any CPU, the boot CPU included) and interrupts-off spinners (APs
/// only: the boot CPU must stay reachable by the stop vector so a restart can wake it), then
/// the victim panics.
fn crash(run: u64, cpus: usize) -> ! {
    let bits = mix(run);
    let victim = (bits % cpus as u64) as usize;
    restart::set_app_word(WORD_VICTIM, victim as u64);
    let spins = |cpu: usize| cpu != 0 && cpu != victim && (bits >> (8 + cpu)) & 1 == 1;
    let helpers = cpus - 1;
    smp::on_each_cpu(|cpu| {
        let cpu = cpu.get();
        if cpu == victim {
            while READY.load(Ordering::SeqCst) < helpers {
                smp::beat();
            }
            panic!("crashloop: cpu {cpu} panics in run #{run}");
        }
        wait_for_stop(spins(cpu))
    });
    unreachable!("the victim panics");
}

/// What every CPU but the victim runs until the victim's stop stops it: it counts itself
/// ready, then beats, spinning with interrupts off (`spinner`) or waiting for interrupts. Never
/// inlined: the next run's places name it (qemu-test checks that they do).
#[inline(never)]
fn wait_for_stop(spinner: bool) -> ! {
    if spinner {
        irq::disable();
    }
    READY.fetch_add(1, Ordering::SeqCst);
    loop {
        smp::beat();
        if spinner {
            core::hint::spin_loop();
        } else {
            irq::wait();
        }
    }
}
