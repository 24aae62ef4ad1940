//! The panic handler: stops every other CPU through the stop controller's election, prints CPU,
//! location, message, a backtrace and the stop report, then does what `panic=` says (power off
//! with [`PANIC_EXIT_STATUS`] by default). With `panic=restart` nothing is printed at once: the
//! whole report is kept for the restarted run to print (`kept_report`), unless a core dump is
//! to be taken, which reads the report first.

use core::fmt;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use stop::StopReason;

use crate::cmdline::PanicAction;
use crate::kept_parts::Returns;
use crate::per_cpu::{per_cpu, PerCpu};
use crate::stopping;
use crate::{arch, console, kept_report};
use stop::CpuIndex;

pub use wire::exit::{DOUBLE_PANIC as DOUBLE_PANIC_EXIT_STATUS, PANIC as PANIC_EXIT_STATUS};

/// Which CPUs are inside the panic handler.
static PANICKING: PerCpu<AtomicBool> = per_cpu!(AtomicBool::new(false));
/// Allocates this module's per-CPU state for `cpus` CPUs (boot, before the APs start).
pub(crate) fn allocate_per_cpu(cpus: usize) {
    PANICKING.allocate(cpus);
}

/// The `panic=` action, as `PanicAction as u8`.
static ACTION: AtomicU8 = AtomicU8::new(PanicAction::Poweroff as u8);

/// Sets what happens after a panic's stop (boot option `panic=`).
pub fn set_action(action: PanicAction) {
    ACTION.store(action as u8, Ordering::Relaxed);
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    // Nothing maskable may interrupt the panic path: a stop vector arriving now must not stop
    // this CPU before its message is recorded.
    arch::irq::disable();
    let panicked_ns = crate::time::now_ns();
    let cpu = crate::smp::current_cpu();
    if PANICKING[cpu].swap(true, Ordering::SeqCst) {
        console::write_fmt_breaking_lock(format_args!(
            "PANIC on cpu {cpu} inside the panic path: {}\n",
            info.message()
        ));
        crate::power::exit(DOUBLE_PANIC_EXIT_STATUS);
    }
    // Elect first: a CPU that loses records its message for the winner's report and stops here
    // for good; the winner stops the others before it spends time printing.
    let report = stopping::stop_others(StopReason::Panic(&info.message()));
    // What the warm restart before this run kept and did not get to print comes first.
    kept_report::flush();
    // `restart.report=brief`: the message and the summary only.
    let brief = crate::restart::brief_report() && restarts();
    let head = |out: &mut dyn FnMut(fmt::Arguments<'_>)| {
        write_message(cpu, info, out);
        match &report {
            Some(report) if brief => out(format_args!("{}\n", report.summary())),
            Some(_) => {}
            None => out(format_args!("{}\n", Unstopped(cpu))),
        }
    };
    // The report's rest: backtrace, table and summary, contexts. The panicking CPU's return
    // addresses are taken here (what lies above is the panic's own), and only for it.
    let backtrace = if report.is_some() && !brief {
        Some(Returns::new(arch::backtrace::return_addresses().map(|a| a as u64)))
    } else {
        None
    };
    let full = report.as_ref().zip(backtrace.as_ref());
    let to_console: &mut dyn FnMut(fmt::Arguments<'_>) =
        &mut |args| console::write_fmt_breaking_lock(args);
    if restarts() {
        // The check that the stopped CPUs stay quiet comes before they are parked (parking
        // would quiet a CPU the stop missed).
        if let Some(report) = &report {
            stopping::verify_quiet(report);
        }
        crate::restart::park_early(report.as_ref());
        // Nothing goes out now: each console byte is a write on the host under QEMU (~87 us at
        // 115200 baud on a real UART), so the whole report waits in memory for the restarted
        // run, and the restart takes no longer for a long message or report. A core dump,
        // though, takes the stopped CPUs' registers from the report's context blocks: with
        // one to take, the report goes out now, before the dump.
        let kept = !crate::core_dump::enabled() && kept_report::keep(cpu, full, head);
        if !kept {
            head(to_console);
            if let Some((report, backtrace)) = full {
                stopping::write_rest(report, backtrace, to_console);
            }
        }
        crate::core_dump::wait_for_dump();
        let message = match info.location() {
            Some(loc) => format_args!("{}:{}: {}", loc.file(), loc.line(), info.message()),
            None => format_args!("{}", info.message()),
        };
        crate::restart::after_panic(panicked_ns, cpu, message, report.as_ref())
    }
    head(to_console);
    if let Some((report, backtrace)) = full {
        stopping::write_rest(report, backtrace, to_console);
    }
    if let Some(report) = &report {
        stopping::verify_quiet(report);
    }
    crate::core_dump::wait_for_dump();
    match ACTION.load(Ordering::Relaxed) {
        a if a == PanicAction::Reboot as u8 => crate::power::reset_machine(),
        a if a == PanicAction::Halt as u8 => arch::power::halt_forever(),
        _ => crate::power::exit(PANIC_EXIT_STATUS),
    }
}

/// Whether a panic restarts the app (`panic=restart`).
fn restarts() -> bool {
    ACTION.load(Ordering::Relaxed) == PanicAction::Restart as u8
}

/// Writes the panic's first lines to `out`: the CPU, the location and the message.
fn write_message(cpu: CpuIndex, info: &PanicInfo<'_>, out: &mut dyn FnMut(fmt::Arguments<'_>)) {
    match info.location() {
        Some(loc) => out(format_args!(
            "PANIC on cpu {cpu}: panicked at {}:{}:{}:\n{}\n",
            loc.file(),
            loc.line(),
            loc.column(),
            info.message()
        )),
        None => out(format_args!("PANIC on cpu {cpu}: panicked:\n{}\n", info.message())),
    }
}

/// What a panic that found a stop already under way says instead of a stop report.
struct Unstopped(CpuIndex);

impl fmt::Display for Unstopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cpu {} panicked while stopping the others; they may still run",
            self.0
        )
    }
}
