//! allstop in one run. The odd-numbered APs spin with interrupts off, so only an NMI can stop
//! them; the even-numbered ones go idle (`hlt`, interrupts on), as idle CPUs do. Then the last
//! CPU panics, and the stop report shows who was stopped by the vector and who by an NMI,
//! before the machine powers off with the panic status.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::time::Duration;

use allstop::stopping::{StopStrategy, STOP};
use allstop::{irq, println, smp, time};

allstop::entry!(main);

/// How long everyone works before the panic.
const WORK_TIME: Duration = Duration::from_millis(20);
/// The demo's stop-vector timeout. The default (1 ms) is right for hardware, but under QEMU on a
/// host with fewer cores than busy vCPUs an idle vCPU can wait several milliseconds for a host
/// core, and the demo wants to show both paths every time.
const DEMO_VECTOR_TIMEOUT: Duration = Duration::from_millis(20);

/// Set by the boot CPU when it is time for the last CPU to panic.
static PANIC_NOW: AtomicBool = AtomicBool::new(false);
/// CPUs that have started their work.
static WORKING: AtomicUsize = AtomicUsize::new(0);

fn main() -> i32 {
    let cpus = smp::cpu_count();
    println!("demo: {cpus} CPUs up");
    // The demo shows both paths: the stop vector first (not the default NMI-first).
    if !allstop::cmdline().contains("stop.strategy=") {
        STOP.config().set_strategy(StopStrategy::Vector);
        println!("demo: stop strategy vector (stop.strategy= overrides): both paths show");
    }
    if !allstop::cmdline().contains("stop.vector_timeout_us=") {
        STOP.config().set_vector_timeout(DEMO_VECTOR_TIMEOUT);
        println!(
            "demo: stop vector timeout {} ms (stop.vector_timeout_us= overrides): enough for idle \
             vCPUs on a time-sliced host; interrupts-off CPUs still need the NMI",
            DEMO_VECTOR_TIMEOUT.as_millis()
        );
    }
    smp::on_each_cpu(|cpu| work(cpu, cpus));
    println!("demo: every CPU returned, which the demo never expects");
    1
}

fn work(index: smp::CpuIndex, cpus: usize) {
    let (cpu, last) = (index.get(), cpus - 1);
    let apic = smp::apic_id(index).map_or(u32::MAX, smp::ApicId::get);
    WORKING.fetch_add(1, Ordering::SeqCst);
    if cpu == 0 {
        println!("demo: cpu 0 (apic {apic}) coordinates, then idles with interrupts on");
        while WORKING.load(Ordering::SeqCst) < cpus {
            smp::beat();
        }
        time::delay(WORK_TIME);
        if last == 0 {
            panic!("demo: cpu 0, the only CPU, panics on purpose");
        }
        println!("demo: telling cpu {last} to panic");
        PANIC_NOW.store(true, Ordering::SeqCst);
        loop {
            smp::beat();
            irq::wait();
        }
    } else if cpu == last {
        println!("demo: cpu {cpu} (apic {apic}) works, then panics");
        loop {
            smp::beat();
            if PANIC_NOW.load(Ordering::SeqCst) {
                panic!("demo: cpu {cpu} panics on purpose");
            }
            core::hint::spin_loop();
        }
    } else if cpu % 2 == 1 {
        irq::disable();
        println!("demo: cpu {cpu} (apic {apic}) spins with interrupts off");
        loop {
            smp::beat();
            core::hint::spin_loop();
        }
    } else {
        println!("demo: cpu {cpu} (apic {apic}) goes idle (hlt, interrupts on)");
    }
}
