//! Restart-latency mode (`restarts=N`). Every run panics again, so with `panic=restart` (and a
//! `restart.max` above N) each run after the first is one warm-restart sample; after N of them
//! the app powers off with status 0. With `panic=reboot` and QEMU allowed to reset, the same mode
//! makes every panic a full VM reboot: each boot is cold (it counts no restart), so the run goes
//! on until xtask kills QEMU; xtask times those from outside.
//!
//! Lines, after main's `bench: app-entry` (the contract with `xtask/src/bench/output.rs`):
//! - `bench: restart_sample latency_ns=X entry_print_ns=Y`, in every run after a warm restart:
//!   the runtime's own measure of that restart (from the panic to every CPU online again), and
//!   how long this run took to print its app-entry line, followed by
//!   `bench: restart_sample_print ns=Z`, how long that sample line took: two line lengths, from
//!   which xtask works out the serial console's cost per line and per byte;
//! - `bench: restarts_done n=N`, then power-off with status 0, once N samples are printed;
//! - `bench: trigger restart`, right before the panic.

use core::time::Duration;

use allstop::{println, restart, time};

/// The line the host times a restart from (to the next app-entry line).
const TRIGGER: &str = "bench: trigger restart";

/// Status when the runtime has no latency for a warm restart that happened.
const NO_LATENCY_STATUS: u32 = 1;

/// One run of the restart-latency mode; `entry_print` is how long the app-entry line took.
pub fn run(samples: u64, entry_print: Duration) -> ! {
    let run = restart::restart_count();
    if run > 0 {
        let Some(latency) = restart::last_restart_latency() else {
            println!("bench: error: restart #{run} has no recorded latency");
            allstop::poweroff(NO_LATENCY_STATUS);
        };
        let started = time::now();
        println!(
            "bench: restart_sample latency_ns={} entry_print_ns={}",
            latency.as_nanos(),
            entry_print.as_nanos()
        );
        let sample_print = time::now() - started;
        println!("bench: restart_sample_print ns={}", sample_print.as_nanos());
    }
    if run >= samples {
        println!("bench: restarts_done n={run}");
        allstop::poweroff(0);
    }
    println!("{TRIGGER}");
    panic!("the benchmark's timed panic #{run} (restart latency)");
}
