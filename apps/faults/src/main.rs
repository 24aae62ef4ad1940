//! Fault scenarios for the stop path, one per run, chosen by the app arguments (after ` -- ` on
//! the boot command line): `scenario=NAME [cpu=N|last] [k=K] [window_us=W] [status=S]`.
//! Every CPU that works beats its heartbeat, so `stop.verify_ms=M` can check that nothing runs
//! after the stop report.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

mod args;
mod scenarios;

use args::Args;

allstop::entry!(main);

/// Status for a missing or unknown scenario or a bad argument.
const USAGE_STATUS: i32 = 2;
/// Status for a scenario that needs more CPUs than the machine has.
const TOO_FEW_CPUS_STATUS: i32 = 3;

fn main() -> i32 {
    let args = match Args::parse(allstop::app_args()) {
        Ok(args) => args,
        Err(e) => {
            allstop::println!("faults: {e}");
            usage();
            return USAGE_STATUS;
        }
    };
    let Some(scenario) = scenarios::find(args.scenario) else {
        allstop::println!("faults: unknown scenario '{}'", args.scenario);
        usage();
        return USAGE_STATUS;
    };
    let cpus = allstop::smp::cpu_count();
    if cpus < scenario.min_cpus {
        allstop::println!(
            "faults: scenario {} needs at least {} CPUs",
            scenario.name,
            scenario.min_cpus
        );
        return TOO_FEW_CPUS_STATUS;
    }
    allstop::println!("faults: scenario {} on {cpus} CPUs", scenario.name);
    (scenario.run)(&args)
}

fn usage() {
    allstop::println!(
        "faults: usage: -- scenario=NAME [cpu=N|last] [k=K] [window_us=W] [status=S]"
    );
    for s in scenarios::ALL {
        allstop::println!("  {:16} {}", s.name, s.what);
    }
}
