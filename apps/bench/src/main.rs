//! The benchmark app, booted by `cargo xtask bench` (which documents how to read the figures).
//! Every run first prints `bench: app-entry run=K` (K: warm restarts so far), the line the host
//! times restarts and boots to. With `boot` it prints `bench: booted pvh_to_main_ns=T` (the
//! time from the kernel's first instruction to `main`) and powers off with status 0. With
//! `restarts=N` it measures restart latency (see `restarts.rs`);
//! otherwise, in one boot per CPU count, it measures, `iters=N` times each (default 1000):
//! the raw fixed-IPI round trip to all other CPUs, the raw NMI round trip to one interrupts-off
//! CPU (also right after a restart of the APs), stop latency per path under the vector strategy
//! (all idle: vector; all interrupts-off: NMI after the default and after a short vector
//! timeout; mixed), stop latency per strategy (NMI-first and adaptive, all idle and all
//! interrupts-off; the boot's own strategy, all interrupts-off), switched at run time through
//! `STOP.config()`, and the restart after each stop; plus the boot's AP bring-up time. Then it prints the trigger line and panics, so that the host can time
//! panic-to-exit.
//!
//! Output, one line per metric, each printed with its type from `wire::bench`, with which
//! xtask reads it back:
//! - `bench: start cpus=C iters=N vector_timeout_ns=T short_vector_timeout_ns=S
//!   adaptive_vector_timeout_ns=A nmi_timeout_ns=M`
//! - `bench: <metric> n=.. min_ns=.. median_ns=.. p99_ns=.. max_ns=..` followed, for stops, by
//!   `vector=.. nmi=.. self=.. init=.. stuck=..` (targets by path, summed over the samples) and,
//!   for probes that went unanswered, `lost=..`
//! - `bench: <metric> skipped: <why>` for what does not apply to this machine
//! - `bench: error: <why>` (then exit status 1) when a measurement could not go on
//! - `bench: trigger panic-to-exit`, right before the panic.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod args;
mod measure;
mod restarts;

use core::time::Duration;

use alloc::vec::Vec;
use allstop::stopping::{StopStrategy, DEFAULT_VECTOR_TIMEOUT, STOP};
use allstop::{adaptive_timeout, println, restart, smp, time};

use args::Args;
use measure::{ns, Restarts, Role};
use wire::bench::{
    AppEntry, BadArgument, Booted, Failed, Measured, Metric, Skipped, Start, Trigger,
};
use wire::paths::Paths;
use wire::stats::Stats;

allstop::entry!(main);

/// Status for a bad argument.
const USAGE_STATUS: i32 = 2;
/// Status when a measurement could not go on.
const FAILED_STATUS: i32 = 1;
/// The short vector timeout the NMI path is also measured with.
const SHORT_VECTOR_TIMEOUT: Duration = Duration::from_micros(50);

fn main() -> i32 {
    let entered = time::now();
    let run = restart::restart_count();
    println!("{}", AppEntry { run });
    let entry_print = time::now() - entered;
    let args = match Args::parse(allstop::app_args()) {
        Ok(args) => args,
        Err(word) => {
            println!("{}", BadArgument(word));
            return USAGE_STATUS;
        }
    };
    if args.boot {
        boot_time(entered);
    }
    if let Some(samples) = args.restarts {
        restarts::run(samples, entry_print);
    }
    let config = STOP.config();
    let cpus = smp::cpu_count();
    let adaptive = adaptive_timeout::vector_timeout();
    let start = Start {
        cpus: cpus as u64,
        iters: args.iters as u64,
        vector_timeout_ns: ns(DEFAULT_VECTOR_TIMEOUT),
        short_vector_timeout_ns: ns(SHORT_VECTOR_TIMEOUT),
        adaptive_vector_timeout_ns: adaptive.map_or(0, ns),
        nmi_timeout_ns: ns(config.nmi_timeout()),
    };
    println!("{start}");
    if cpus < 2 {
        for metric in Metric::ALL {
            let why = "needs a second CPU";
            println!("{}", Skipped { metric, why });
        }
    } else if let Err(why) = measure_all(&args, adaptive.unwrap_or(DEFAULT_VECTOR_TIMEOUT)) {
        println!("{}", Failed(why));
        return FAILED_STATUS;
    }
    println!("{}", Trigger::PanicToExit);
    panic!("the benchmark's timed panic (the host measures panic-to-exit)");
}

/// Boot-time mode: the time from the PVH entry to `entered` (the start of `main`), then
/// power-off with status 0.
fn boot_time(entered: Duration) -> ! {
    let Some(pvh_entry) = allstop::bench::pvh_entry() else {
        println!("{}", Failed("no PVH-entry time (not a cold boot)"));
        allstop::poweroff(FAILED_STATUS as u32);
    };
    let booted = Booted {
        pvh_to_main_ns: ns(entered.saturating_sub(pvh_entry)),
    };
    println!("{booted}");
    allstop::poweroff(0)
}

/// Every metric that needs at least two CPUs, printed as it is done; `adaptive` is the adaptive
/// strategy's vector timeout on this machine.
fn measure_all(args: &Args, adaptive: Duration) -> Result<(), measure::Failure> {
    let n = args.iters;
    let bringup = ns(smp::info().bringup.duration);
    print_metric(Metric::BringupBoot, vec_of(bringup), None, 0);
    let (samples, lost) = measure::raw_ipi(n);
    print_metric(Metric::RawIpi, samples, None, lost);
    let (samples, lost) = measure::raw_nmi(n);
    print_metric(Metric::RawNmi, samples, None, lost);
    let (samples, lost) = measure::raw_nmi_after_restart(n)?;
    print_metric(Metric::RawNmiRestarted, samples, None, lost);

    let mut restarts = Restarts::default();
    let idle = |_| Role::Idle;
    let irq_off = |_| Role::IrqOff;
    let vector = Some((StopStrategy::Vector, DEFAULT_VECTOR_TIMEOUT));
    // Each series of stops; with `before`, also the round trips taken right before its stops.
    let mut series = |metric, strategy, role: &(dyn Fn(usize) -> Role + Sync), before| {
        let stop = under(strategy, || measure::stops(n, role, &mut restarts))?;
        print_metric(metric, stop.stop, Some(stop.paths), 0);
        if let Some(before) = before {
            let lost = n - stop.before.len();
            print_metric(before, stop.before, None, lost);
        }
        Ok(())
    };
    series(Metric::StopVector, vector, &idle, None)?;
    series(Metric::StopNmi, vector, &irq_off, None)?;
    let short = Some((StopStrategy::Vector, SHORT_VECTOR_TIMEOUT));
    series(Metric::StopNmiShort, short, &irq_off, None)?;
    let nmi_first = Some((StopStrategy::NmiFirst, DEFAULT_VECTOR_TIMEOUT));
    let ipi_before = Some(Metric::RawIpiBeforeStop);
    series(Metric::StopNmiFirstIdle, nmi_first, &idle, ipi_before)?;
    let nmi_before = Some(Metric::RawNmiBeforeStop);
    series(Metric::StopNmiFirstIrqOff, nmi_first, &irq_off, nmi_before)?;
    let adaptive = Some((StopStrategy::Vector, adaptive));
    series(Metric::StopAdaptiveIdle, adaptive, &idle, None)?;
    series(Metric::StopAdaptiveIrqOff, adaptive, &irq_off, None)?;
    series(Metric::StopDefaultIrqOff, None, &irq_off, None)?;
    if smp::cpu_count() < 3 {
        let metric = Metric::StopMixed;
        let why = "needs two APs (one idle, one interrupts-off)";
        println!("{}", Skipped { metric, why });
    } else {
        let odd_irq_off = |cpu: usize| {
            if cpu % 2 == 1 {
                Role::IrqOff
            } else {
                Role::Idle
            }
        };
        let stop = under(vector, || measure::stops(n, odd_irq_off, &mut restarts))?;
        print_metric(Metric::StopMixed, stop.stop, Some(stop.paths), 0);
    }
    print_metric(Metric::Restart, restarts.total, None, 0);
    print_metric(Metric::RestartBringup, restarts.bringup, None, 0);
    Ok(())
}

/// Runs `measure` with the stop's strategy and vector timeout set to `config` (`None`: the
/// boot's own), then puts the boot's back.
fn under<T>(config: Option<(StopStrategy, Duration)>, measure: impl FnOnce() -> T) -> T {
    let stop = STOP.config();
    let boot = (stop.strategy(), stop.vector_timeout());
    let (strategy, timeout) = config.unwrap_or(boot);
    stop.set_strategy(strategy);
    stop.set_vector_timeout(timeout);
    let result = measure();
    stop.set_strategy(boot.0);
    stop.set_vector_timeout(boot.1);
    result
}

/// A one-sample set.
fn vec_of(sample: u64) -> Vec<u64> {
    alloc::vec![sample]
}

/// Prints `metric`'s line (see the crate docs).
fn print_metric(metric: Metric, mut samples: Vec<u64>, paths: Option<Paths>, lost: usize) {
    let Some(stats) = Stats::of(&mut samples) else {
        let why = format_args!("no sample (lost={lost})");
        println!("{}", Skipped { metric, why });
        return;
    };
    let lost = lost as u64;
    println!(
        "{}",
        Measured {
            metric,
            stats,
            paths,
            lost
        }
    );
}
