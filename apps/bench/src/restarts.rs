//! Restart-latency mode (`restarts=N`). Every run panics again, so with `panic=restart` (and a
//! `restart.max` above N) each run after the first is one warm-restart sample; after N of them
//! the app powers off with status 0. With `panic=reboot` and QEMU allowed to reset, the same mode
//! makes every panic a full VM reboot: each boot is cold (it counts no restart), so the run goes
//! on until xtask kills QEMU; xtask times those from outside.
//!
//! Lines, after main's `bench: app-entry` (each printed with its type from `wire::bench`, with
//! which xtask reads it back):
//! - `bench: restart_sample latency_ns=X entry_print_ns=Y`, in every run after a warm restart:
//!   the runtime's own measure of that restart (from the panic to every CPU online again), and
//!   how long this run took to print its app-entry line, followed by
//!   `bench: restart_sample_print ns=Z`, how long that sample line took: two line lengths, from
//!   which xtask works out the serial console's cost per line and per byte;
//! - `bench: restarts_done n=N`, then power-off with status 0, once N samples are printed;
//! - `bench: trigger restart`, right before the panic, once the report the last panic kept
//!   (`panic=restart`) is printed.

use core::time::Duration;

use allstop::{println, restart, time};
use wire::bench::{Failed, RestartSample, RestartSamplePrint, RestartsDone, Trigger};

use crate::measure::ns;

/// How long a run waits for the previous panic's kept report to be printed.
const KEPT_REPORT_WAIT: Duration = Duration::from_secs(1);
/// Status when the runtime has no latency for a warm restart that happened.
const NO_LATENCY_STATUS: u32 = 1;

/// One run of the restart-latency mode; `entry_print` is how long the app-entry line took.
pub fn run(samples: u64, entry_print: Duration) -> ! {
    let run = restart::restart_count();
    if run > 0 {
        let Some(latency) = restart::last_restart_latency() else {
            let why = format_args!("restart #{run} has no recorded latency");
            println!("{}", Failed(why));
            allstop::poweroff(NO_LATENCY_STATUS);
        };
        let started = time::now();
        let sample = RestartSample {
            latency_ns: ns(latency),
            entry_print_ns: ns(entry_print),
        };
        println!("{sample}");
        let sample_print = time::now() - started;
        println!(
            "{}",
            RestartSamplePrint {
                ns: ns(sample_print)
            }
        );
    }
    if run >= samples {
        println!("{}", RestartsDone { n: run });
        allstop::poweroff(0);
    }
    // The last panic's report goes out while this run goes on; the next sample's panic would
    // print what is left of it first. A sample is one restart, not a restart plus a report.
    let waited = time::now();
    while restart::kept_report_pending() && time::now() - waited < KEPT_REPORT_WAIT {
        core::hint::spin_loop();
    }
    println!("{}", Trigger::Restart);
    panic!("the benchmark's timed panic #{run} (restart latency)");
}
