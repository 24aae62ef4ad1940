//! Ending the run: stop every other CPU, then power off with a status, reboot, or halt.

use stop::StopReason;
use wire::exit::Ending;

use crate::{arch, console, kept_report, stopping};

/// Stops every other CPU, then powers the machine off; under QEMU the runner sees `status`. An
/// app's status is `0..=100` (README, Exit statuses): any other ends the run with status 106,
/// after a line saying which it was, since 101 and up are the runtime's own.
pub fn poweroff(status: u32) -> ! {
    stop_everything_else(StopReason::PowerOff);
    let ending = wire::exit::app_status(status);
    if ending != status {
        console::write_fmt_breaking_lock(format_args!(
            "allstop: the app's exit status {status} is outside 0..={} (the runtime's own \
             statuses are above it); ending with {ending}\n",
            wire::exit::APP_STATUS_MAX
        ));
    }
    exit(ending)
}

/// Powers the machine off with `status`, stopping nothing first (every other CPU is stopped or
/// parked already), after what is left of a kept panic report.
pub(crate) fn exit(status: u32) -> ! {
    kept_report::flush();
    // The runner takes QEMU's exit code as the status only with this line: QEMU's own errors
    // exit with the code of status 0.
    console::write_fmt_breaking_lock(format_args!("{}\n", Ending::Status(status)));
    arch::power::poweroff(status, || {
        // No debug-exit device took the status: say so before the power goes, so a runner can
        // tell this from a triple fault.
        console::write_fmt_breaking_lock(format_args!("{}\n", Ending::AcpiPoweroff))
    })
}

/// Stops every other CPU, then resets the machine.
pub fn reboot() -> ! {
    stop_everything_else(StopReason::Reboot);
    reset_machine()
}

/// Prints what is left of a kept panic report, announces the reset on the console (a runner can
/// then tell it from a triple fault, which ends the run the same way), then resets the machine.
/// Other CPUs must be stopped or parked.
pub fn reset_machine() -> ! {
    kept_report::flush();
    console::write_fmt_breaking_lock(format_args!("{}\n", Ending::Reset));
    arch::power::reset()
}

/// Stops every other CPU, then halts this one for good.
pub fn halt() -> ! {
    stop_everything_else(StopReason::Halt);
    arch::power::halt_forever()
}

/// Runs the stop and prints its `stop-summary:` line (and the table when a CPU is stuck). If
/// this CPU already stopped the others, there is nothing left to do.
fn stop_everything_else(reason: StopReason<'_>) {
    if let Some(report) = stopping::stop_others(reason) {
        // What the last warm restart kept and did not get to print comes first.
        kept_report::flush();
        if report.summary().stuck > 0 {
            stopping::print_report(&report);
        } else {
            console::write_fmt_breaking_lock(format_args!("{}\n", report.summary()));
        }
        stopping::verify_quiet(&report);
    }
}
