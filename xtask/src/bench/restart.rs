//! Restart latency for `cargo xtask bench`: per CPU count, two runs of the bench app in its
//! restart-latency mode with `panic=restart` (N warm restarts in one VM), one with the full
//! report (the default: the rest of it is printed after the restart) and one with
//! `restart.report=brief`, and one run with `panic=reboot` and QEMU allowed to reset (a full VM
//! reboot after every panic), all timed from outside the same way: from the trigger line,
//! printed right before the panic, to the next app-entry line, printed first thing in the app's
//! `main`. The warm runs also yield the runtime's own measure of each restart, and the full
//! one the serial console's share of it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;

use crate::bench::console;
use crate::bench::output::{self, Figures, Mark, RestartOutput};
use crate::qemu::{Boot, OnReset, Outcome, QemuRun};

/// Kernel options of the warm run, before `restart.max=` (set to the sample count, so the
/// crash-loop guard cannot end the run).
const WARM_OPTIONS: &str = "panic=restart log=warn";
/// Kernel options of the warm run that keeps only the panic message and the summary.
const BRIEF_OPTIONS: &str = "panic=restart restart.report=brief log=warn";
/// Kernel options of the VM-reboot run.
const REBOOT_OPTIONS: &str = "panic=reboot log=warn";

/// How many samples each run takes, and whether it is shown.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Warm restarts to sample.
    pub warm_samples: u64,
    /// The warm run's hard limit.
    pub warm_timeout: Duration,
    /// How long the VM-reboot run goes on: it never ends by itself (each boot is cold, so the
    /// app panics again), and is killed at the end of this window, which is its hard limit too.
    pub reboot_window: Duration,
    /// Whether the guest's console is shown as it runs.
    pub console_shown: bool,
}

/// The restart figures at one CPU count.
#[derive(Clone, Debug, Serialize)]
pub struct RestartFigures {
    /// Warm restart timed from outside: trigger line to the next app-entry line.
    pub warm_host: Figures,
    /// Warm restart as the runtime measures it: from the panic to every CPU online again.
    pub warm_guest: Figures,
    /// `warm_host` with `restart.report=brief` (only the message and the summary kept).
    pub warm_brief_host: Figures,
    /// `warm_guest` with `restart.report=brief`.
    pub warm_brief_guest: Figures,
    /// Full VM reboot (`panic=reboot`, QEMU resets), timed from outside like `warm_host`.
    pub reboot_host: Figures,
    /// How long the VM-reboot run went on, in seconds.
    pub reboot_window_s: f64,
    /// The serial console's part in a warm restart.
    pub serial: SerialShare,
}

/// What printing the panic's output over the serial console costs a warm restart (what goes
/// out between the panic and the app's next start: nothing with an AP to print the kept
/// report after the app-entry line; all of it, before `main`, at one CPU).
/// The app times two of its own lines of different lengths in every run: their difference gives
/// the cost of a byte, the rest of the shorter one the cost of a line beyond its bytes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SerialShare {
    /// Median lines received from the trigger line to the next app-entry line.
    pub lines: u64,
    /// Median bytes received from the trigger line to the next app-entry line.
    pub bytes: u64,
    /// Median cost of a byte (ns).
    pub ns_per_byte: f64,
    /// Median cost of a line beyond its bytes (ns).
    pub ns_per_line: f64,
    /// `lines * ns_per_line + bytes * ns_per_byte` (ns).
    pub estimate_ns: u64,
    /// That over the runtime's median warm-restart latency.
    pub of_guest_median: f64,
}

/// The three runs at `base`'s CPU count (`base.append` is replaced).
pub fn measure(base: &Boot, plan: Plan) -> Result<RestartFigures> {
    let samples = plan.warm_samples;
    let (warm_host, warm_guest, out) =
        warm_run(base, plan, WARM_OPTIONS).context("warm-restart run")?;
    let serial = serial_share(&out, warm_guest.median_ns)?;
    let (warm_brief_host, warm_brief_guest, _) = warm_run(base, plan, BRIEF_OPTIONS)
        .context("warm-restart run with restart.report=brief")?;

    let reboot_append = format!("{REBOOT_OPTIONS} -- restarts={samples}");
    let reboot = timed_run(
        base,
        &reboot_append,
        plan.reboot_window,
        OnReset::Reboot,
        plan.console_shown,
    )
    .context("VM-reboot run")?;
    if let Outcome::Exited(exit) = reboot.run.outcome {
        bail!(
            "VM-reboot run: {exit} before its window ended (it should reboot until killed)\n{}",
            reboot.run.report(None)
        );
    }
    output::parse_restarts(&reboot.run.serial)
        .with_context(|| format!("VM-reboot run\n{}", reboot.run.report(None)))?;
    let Some(reboot_host) = Figures::of(&mut reboot.host_ns.clone()) else {
        bail!(
            "no VM reboot completed within {}s (use --reboot-secs)\n{}",
            plan.reboot_window.as_secs(),
            reboot.run.report(None)
        );
    };
    Ok(RestartFigures {
        warm_host,
        warm_guest,
        warm_brief_host,
        warm_brief_guest,
        reboot_host,
        reboot_window_s: reboot.run.elapsed.as_secs_f64(),
        serial,
    })
}

/// One warm-restart run with the kernel options `options`: its host-timed and runtime-timed
/// figures, and what it printed.
fn warm_run(base: &Boot, plan: Plan, options: &str) -> Result<(Figures, Figures, RestartOutput)> {
    let samples = plan.warm_samples;
    let append = format!("{options} restart.max={samples} -- restarts={samples}");
    let warm = timed_run(
        base,
        &append,
        plan.warm_timeout,
        OnReset::Exit,
        plan.console_shown,
    )?;
    let exit = match warm.run.outcome {
        Outcome::Exited(exit) => exit,
        Outcome::TimedOut(limit) => bail!(
            "timed out after {}s (use --timeout)\n{}",
            limit.as_secs(),
            warm.run.report(None)
        ),
    };
    let out = output::parse_restarts(&warm.run.serial)
        .with_context(|| format!("{exit}\n{}", warm.run.report(None)))?;
    ensure!(
        exit.status() == Some(0) && out.done == Some(samples),
        "{exit} before all {samples} restarts were done\n{}",
        warm.run.report(None)
    );
    let host = figures(warm.host_ns, samples, "host-timed warm restarts")?;
    let guest = figures(
        out.latency_ns.clone(),
        samples,
        "runtime-timed warm restarts",
    )?;
    Ok((host, guest, out))
}

/// A finished run and its host-timed samples (trigger line to the next app-entry line, in ns).
struct TimedRun {
    run: QemuRun,
    host_ns: Vec<u64>,
}

/// Boots `base` with the command line `append`, timestamping trigger and app-entry lines as
/// they arrive (and showing the console if `shown`).
fn timed_run(
    base: &Boot,
    append: &str,
    timeout: Duration,
    on_reset: OnReset,
    shown: bool,
) -> Result<TimedRun> {
    let boot = Boot {
        append,
        ..base.clone()
    };
    let marks = Mutex::new(Vec::new());
    let watch = |line: &str| {
        if let Some(mark) = Mark::of(line) {
            let mut marks = marks.lock().unwrap_or_else(|e| e.into_inner());
            marks.push((Instant::now(), mark));
        }
        None
    };
    let run = boot.boot_on_reset(timeout, console(shown, &watch), on_reset)?;
    let marks = marks.into_inner().unwrap_or_else(|e| e.into_inner());
    let host_ns = output::trigger_to_entry(&marks, |from, to| {
        u64::try_from(to.saturating_duration_since(*from).as_nanos()).unwrap_or(u64::MAX)
    });
    Ok(TimedRun { run, host_ns })
}

/// The figures of `samples`, which must be `want` many.
fn figures(mut samples: Vec<u64>, want: u64, what: &str) -> Result<Figures> {
    ensure!(
        samples.len() as u64 == want,
        "{} {what} for {want} restarts",
        samples.len()
    );
    Figures::of(&mut samples).with_context(|| format!("no {what}"))
}

/// The serial console's share of the runtime's median warm restart `guest_median_ns`.
fn serial_share(out: &RestartOutput, guest_median_ns: u64) -> Result<SerialShare> {
    let median = |mut values: Vec<u64>| Figures::of(&mut values).map(|f| f.median_ns);
    // Per byte in picoseconds, so that the median is taken over whole numbers.
    let ps_per_byte = median(
        out.printed
            .iter()
            .filter(|[short, long]| long.bytes > short.bytes && long.ns > short.ns)
            .map(|[short, long]| (long.ns - short.ns) * 1000 / (long.bytes - short.bytes))
            .collect(),
    );
    let ps_per_line = ps_per_byte.and_then(|per_byte| {
        median(
            out.printed
                .iter()
                .map(|[short, _]| (short.ns * 1000).saturating_sub(short.bytes * per_byte))
                .collect(),
        )
    });
    let lines = median(out.restart_output.iter().map(|o| o.lines).collect());
    let bytes = median(out.restart_output.iter().map(|o| o.bytes).collect());
    let (Some(ps_per_byte), Some(ps_per_line), Some(lines), Some(bytes)) =
        (ps_per_byte, ps_per_line, lines, bytes)
    else {
        bail!("no restart output or line timings to estimate the serial console's share");
    };
    let estimate_ns = (lines * ps_per_line + bytes * ps_per_byte) / 1000;
    Ok(SerialShare {
        lines,
        bytes,
        ns_per_byte: ps_per_byte as f64 / 1e3,
        ns_per_line: ps_per_line as f64 / 1e3,
        estimate_ns,
        of_guest_median: estimate_ns as f64 / guest_median_ns.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::output::{Output, TimedLine};

    #[test]
    fn the_serial_share_comes_from_two_line_lengths() {
        let line = |ns, bytes| TimedLine { ns, bytes };
        let out = RestartOutput {
            latency_ns: vec![2_000_000; 3],
            // 1, 2 and 3 µs per byte of the 40-byte difference; the median of 2 leaves 10 µs
            // per line of a 20-byte line taking 50 µs (and a slower one).
            printed: vec![
                [line(50_000, 20), line(90_000, 60)],
                [line(50_000, 20), line(130_000, 60)],
                [line(70_000, 20), line(190_000, 60)],
            ],
            restart_output: vec![
                Output {
                    lines: 17,
                    bytes: 640,
                },
                Output {
                    lines: 16,
                    bytes: 600,
                },
                Output {
                    lines: 25,
                    bytes: 840,
                },
            ],
            done: Some(3),
        };
        let share = serial_share(&out, 2_000_000).unwrap();
        assert_eq!(
            share,
            SerialShare {
                lines: 17,
                bytes: 640,
                ns_per_byte: 2_000.0,
                ns_per_line: 10_000.0,
                estimate_ns: 17 * 10_000 + 640 * 2_000,
                of_guest_median: 0.725,
            }
        );
        assert!(serial_share(&RestartOutput::default(), 1).is_err());
    }

    #[test]
    fn a_missing_sample_is_an_error_not_a_smaller_set() {
        let err = figures(vec![5, 6], 3, "host-timed warm restarts").unwrap_err();
        assert_eq!(err.to_string(), "2 host-timed warm restarts for 3 restarts");
        assert_eq!(figures(vec![6, 5], 2, "x").unwrap().median_ns, 5);
    }
}
