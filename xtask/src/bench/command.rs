//! `cargo xtask bench`: boots the `bench` app once per CPU count, reads its figures, times
//! panic-to-exit from outside, measures restart latency (warm restart with the full and the
//! brief report against a full VM reboot, three more boots per CPU count, `restart.rs`) and
//! boot time (cold boots on `pc` and `microvm`, `boot_time.rs`), and prints a table (plus
//! `--json` and `--svg` files).
//!
//! # How to read the output
//!
//! While it runs, the guest's console is shown live (stdout) and xtask's progress goes to
//! stderr; the tables come last. Each metric is timed in the guest with the TSC, the same clock
//! the stop report uses, and summarised as min / median / p99 / max over `n` samples (nearest
//! rank, in µs):
//!
//! - `raw_ipi`: a fixed IPI to all other CPUs until each one's handler answered by a store:
//!   the floor for anything that stops idle CPUs.
//! - `raw_nmi`: an NMI to cpu 1, which spins with interrupts off, until its NMI handler answered
//!   by a store: the floor for the NMI path. `raw_nmi_restarted`: the same, each right after
//!   the APs were stopped and restarted, as a stop sample's NMI meets them (under TCG a
//!   restarted vCPU starts with its emulated TLB and translation-lookup cache empty).
//! - `stop_vector`: a stop (request to every other CPU `Halted`, all NMIs accounted) while all
//!   others idle in `hlt`.
//! - `stop_nmi`: a stop while all others spin with interrupts off: the vector cannot land, so
//!   it costs the vector timeout (default 1 ms; Linux waits 1 s) plus the NMI path.
//!   `stop_nmi_short`: the same with a 50 µs vector timeout.
//! - `stop_mixed`: odd CPUs interrupts-off, even ones idle (needs 3 CPUs).
//! - `restart`: after each stop sample, parking the others with INIT and starting them again
//!   with SIPI; `restart_bringup` is its bring-up part, comparable with `bringup_boot` (the AP
//!   bring-up at boot, one sample).
//! - `panic_to_exit` (host-side, one sample per boot): from the guest's trigger line reaching
//!   xtask to QEMU's exit; it includes the panic's stop, printing the stop report over the
//!   serial port and the exit through the debug-exit port.
//! - `restart_warm_host` (host-side): with `panic=restart`, from the trigger line the app
//!   prints right before it panics to the app-entry line it prints first thing in `main` after
//!   the warm restart (`--restarts` samples in one VM). `restart_warm_guest`: the runtime's own
//!   measure of the same restarts (TSC), from the panic to every CPU online again, just before
//!   `main`. Nothing of the panic's report goes out before the restart: it is kept in memory
//!   and printed by an AP after it, while the app runs (by the boot CPU before `main` at one
//!   CPU), and the app waits for it to be out before its next trigger line (so a sample is one
//!   restart). The notes of `restart_warm_guest` estimate what the console costs the
//!   restart (the lines and bytes between the two lines times the cost of a line and of a
//!   byte, which the app works out by timing two of its own lines of different lengths) and its
//!   share of the median. `restart_brief_host` / `restart_brief_guest`: the same with
//!   `restart.report=brief`, which keeps only the panic message and the summary: what is left
//!   between them and the full report's rows is formatting the rest of the report into memory. `reboot_vm_host`: the
//!   same app with `panic=reboot` and QEMU allowed to reset, timed like `restart_warm_host`:
//!   firmware, boot and bring-up again; as many samples as fit in `--reboot-secs` (QEMU is
//!   killed at its end). Host-side samples are the times xtask read the two lines: when the
//!   reader falls behind, both arrive in one read and the sample comes out near zero (a min of
//!   a few µs), so compare medians.
//! - `boot_pvh_<machine>` / `boot_qemu_<machine>` (`boot_time.rs`), for `pc` and `microvm`:
//!   `--boot-samples` cold boots each of the app in its boot-time mode; the guest times the
//!   PVH entry (a TSC read as the kernel's first instructions) to `main`, the host the spawning
//!   of QEMU to the app-entry line (QEMU's start-up, firmware and loading the kernel too).
//!
//! The notes column says how the stops' targets stopped, summed over the samples (`vector=`,
//! `nmi=`, `init=` parked after the NMI timeout, `stuck=`), and `lost=` probes that got no
//! answer within a second. Idle CPUs that needed an NMI, or `init=`, mean a vCPU was not
//! scheduled in time.
//!
//! The ratios use medians: `stop_vector/raw_ipi` (the stop's cost over one IPI round trip;
//! target ≤ 1.5 at 2 CPUs), `stop_nmi-timeout` (the NMI path's cost beyond the vector timeout)
//! and its multiple of `raw_nmi` (target ≤ 2), the same for the short timeout, `reboot/warm`
//! (`reboot_vm_host` over `restart_warm_host`: target ≥ 150, and a warm restart ≤ 1 ms at 2
//! CPUs under TCG), and bring-up at the largest CPU count over bring-up at 2 CPUs
//! (target ≤ 2 for 8 CPUs).
//!
//! This host has 2 cores: beyond 2 vCPUs, QEMU's vCPU threads are time-sliced by the host
//! scheduler (slices of milliseconds), so figures above `--smp 2` measure the host scheduler as
//! much as the guest; under TCG every figure is emulated time, not a bare-metal one. Other work
//! on the host (builds, other QEMU runs) moves every figure by milliseconds: each boot's
//! progress line says how busy the host was just before it (also `host_busy` in the JSON), and
//! xtask warns above 20 %.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::bench::boot_noting;
use crate::bench::boot_time;
use crate::bench::output::{self, Mark};
use crate::bench::plot;
use crate::bench::report::{BenchReport, BootResult};
use crate::bench::restart::{self, Plan};
use crate::build::apps;
use crate::host::setup;
use crate::qemu::accel::{self, AccelArg};
use crate::qemu::exit_status;
use crate::qemu::{Boot, Machine, MemSize, Outcome};

/// The benchmark app.
const APP: &str = "bench";
/// Samples per metric with `--quick` (unless `--iters` is given).
const QUICK_ITERS: u32 = 50;
/// Samples per metric otherwise.
const DEFAULT_ITERS: u32 = 1000;
/// Boot command line before the app's arguments: warnings only, so the console stays short.
const KERNEL_OPTIONS: &str = "log=warn";
/// A boot's hard limit: this much ...
const TIMEOUT_BASE: Duration = Duration::from_secs(60);
/// ... plus this much per sample and CPU. Measured under TCG on this 2-core host: 57 s for
/// 1000 samples at 8 CPUs (7 ms per sample and CPU, all metrics together), 3 s at 2 CPUs,
/// before the five per-strategy stop series came (about twice the stops now);
/// a loaded host needs more, and the limit is there to end a hang, not to judge speed.
const TIMEOUT_PER_SAMPLE_AND_CPU: Duration = Duration::from_millis(30);

/// How long the VM-reboot run goes on at each CPU count, unless `--reboot-secs` says.
const REBOOT_WINDOW_SECS: u64 = 3;

/// Host CPU use above this fraction just before a boot means other work competes with the
/// vCPUs (the bench's own QEMU is not running yet).
const BUSY_HOST: f64 = 0.2;

/// Flags of `cargo xtask bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// CPU counts to boot with, one boot each (`pc`; `q35` above 255 CPUs).
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_values_t = [1, 2, 4, 8],
          value_parser = clap::value_parser!(u32).range(1..=wire::exit::MAX_CPUS as i64))]
    smp: Vec<u32>,
    /// Samples per metric (default 1000, or 50 with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    iters: Option<u32>,
    /// Warm restarts to sample per CPU count (default: as many as samples per metric; 0: no
    /// restart-latency runs).
    #[arg(long, value_name = "N")]
    restarts: Option<u64>,
    /// How long the full-VM-reboot run goes on per CPU count, in seconds (each reboot is one
    /// sample; QEMU is killed at the end).
    #[arg(long, value_name = "SECS", default_value_t = REBOOT_WINDOW_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    reboot_secs: u64,
    /// Cold boots per machine type (pc, microvm) and CPU count for the boot-time rows (0: none).
    #[arg(long, value_name = "N", default_value_t = boot_time::DEFAULT_SAMPLES)]
    boot_samples: u32,
    /// Few samples: a smoke run, not a measurement.
    #[arg(long)]
    quick: bool,
    /// Do not show the guest's console (stdout then carries only the table; progress stays on
    /// stderr).
    #[arg(long)]
    quiet: bool,
    /// Write every figure to this JSON file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Plot median latency against CPU count, one line per metric, to this SVG file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Accelerator.
    #[arg(long, value_enum, default_value_t)]
    accel: AccelArg,
    /// Hard limit per boot in seconds (default: 60 + 20 ms per sample and CPU).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: Option<u64>,
}

/// Builds the bench app (release), boots it once per CPU count, and reports.
pub fn bench(args: &BenchArgs) -> Result<ExitCode> {
    let iters = args.iters.unwrap_or(if args.quick {
        QUICK_ITERS
    } else {
        DEFAULT_ITERS
    });
    setup::kernel_target()?;
    setup::qemu()?;
    let elves = apps::build(&[APP], true)?;
    let decision = accel::detect(args.accel);
    eprintln!("xtask: {decision}");
    let mut boots = Vec::new();
    for (i, &smp) in args.smp.iter().enumerate() {
        let timeout = args.timeout.map_or_else(
            || TIMEOUT_BASE + TIMEOUT_PER_SAMPLE_AND_CPU * iters * smp,
            Duration::from_secs,
        );
        eprintln!(
            "xtask: bench [{}/{}]: smp {smp}, {iters} samples per metric (timeout {}s)",
            i + 1,
            args.smp.len(),
            timeout.as_secs()
        );
        let boot = Boot {
            kernel: &elves[APP],
            append: &format!("{KERNEL_OPTIONS} -- iters={iters}"),
            machine: Machine::pc_or_q35(smp),
            smp,
            mem: MemSize::DEFAULT,
            accel: decision.accel,
            cpu: None,
            gdb: false,
            core: None,
            extra: &[],
        };
        let mut result = boot_once(&boot, timeout, !args.quiet)
            .with_context(|| format!("bench at smp {smp}"))?;
        eprintln!(
            "xtask: bench [{}/{}]: smp {smp} done in {:.1}s (host CPU busy before: {})",
            i + 1,
            args.smp.len(),
            result.wall_s,
            result
                .host_busy
                .map_or("unknown".to_string(), |b| format!("{:.0}%", b * 100.0))
        );
        if result.host_busy.is_some_and(|b| b > BUSY_HOST) {
            eprintln!(
                "xtask: warning: other work was running on the host; these figures are noisy"
            );
        }
        let restarts = args.restarts.unwrap_or(iters.into());
        if restarts > 0 {
            let plan = Plan {
                warm_samples: restarts,
                warm_timeout: args.timeout.map_or_else(
                    || TIMEOUT_BASE + TIMEOUT_PER_SAMPLE_AND_CPU * smp * restarts as u32,
                    Duration::from_secs,
                ),
                reboot_window: Duration::from_secs(args.reboot_secs),
                console_shown: !args.quiet,
            };
            eprintln!(
                "xtask: bench [{}/{}]: smp {smp}, {restarts} warm restarts, then VM reboots for {}s",
                i + 1,
                args.smp.len(),
                args.reboot_secs
            );
            let restart = restart::measure(&boot, plan)
                .with_context(|| format!("restart latency at smp {smp}"))?;
            result.restart = Some(restart);
        }
        if args.boot_samples > 0 {
            eprintln!(
                "xtask: bench [{}/{}]: smp {smp}, {} cold boots each on {}",
                i + 1,
                args.smp.len(),
                args.boot_samples,
                boot_time::MACHINES.map(|m| m.to_string()).join(" and ")
            );
            result.boot_times = boot_time::measure(&boot, args.boot_samples, !args.quiet)
                .with_context(|| format!("boot time at smp {smp}"))?;
        }
        boots.push(result);
    }
    let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = BenchReport::new(decision.accel.to_string(), host_cpus, iters, boots);
    println!("\n{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("xtask: wrote {}", path.display());
    }
    if let Some(path) = &args.svg {
        plot::write_svg(path, &report.boots)
            .with_context(|| format!("cannot plot to {}", path.display()))?;
        eprintln!("xtask: wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// One boot: the guest's figures, and panic-to-exit timed from the trigger line's arrival; its
/// console shown if `shown`.
fn boot_once(boot: &Boot, timeout: Duration, shown: bool) -> Result<BootResult> {
    let host_busy = host_busy();
    let (run, spawned, triggered_at) = boot_noting(boot, timeout, shown, Mark::PanicToExit)?;
    // QEMU's exit is `spawned + elapsed`.
    let exited = spawned + run.elapsed;
    let exit = match run.outcome {
        Outcome::TimedOut(limit) => bail!(
            "timed out after {}s (use --timeout)\n{}",
            limit.as_secs(),
            run.report(None)
        ),
        Outcome::Exited(exit) => exit,
    };
    let guest =
        output::parse(&run.serial).with_context(|| format!("{exit}\n{}", run.report(None)))?;
    match exit.status() {
        Some(exit_status::PANIC) => {}
        _ => bail!("{exit}, not the bench's panic\n{}", run.report(None)),
    }
    Ok(BootResult {
        smp: boot.smp,
        wall_s: run.elapsed.as_secs_f64(),
        host_busy,
        panic_to_exit_ns: triggered_at.map(|t| {
            u64::try_from(exited.saturating_duration_since(t).as_nanos()).unwrap_or(u64::MAX)
        }),
        guest,
        restart: None,
        boot_times: Vec::new(),
    })
}

/// How long the host's CPU use is sampled before each boot.
const BUSY_SAMPLE: Duration = Duration::from_millis(300);

/// The fraction of the host's CPU time that was busy during [`BUSY_SAMPLE`] (from the `cpu`
/// line of `/proc/stat`), if it can be read.
fn host_busy() -> Option<f64> {
    let sample = || -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let times: Vec<u64> = stat
            .lines()
            .next()?
            .strip_prefix("cpu ")?
            .split_whitespace()
            .map(|t| t.parse().ok())
            .collect::<Option<_>>()?;
        // user nice system idle iowait ...: idle and iowait are the idle time.
        let idle = times.get(3)? + times.get(4).unwrap_or(&0);
        Some((idle, times.iter().sum()))
    };
    let (idle0, total0) = sample()?;
    std::thread::sleep(BUSY_SAMPLE);
    let (idle1, total1) = sample()?;
    let total = total1.checked_sub(total0).filter(|&t| t > 0)?;
    Some(1.0 - idle1.saturating_sub(idle0) as f64 / total as f64)
}
