//! The panic handler: stops every other CPU through the stop controller's election, prints CPU,
//! location, message, a backtrace and the stop report, then does what `panic=` says (power off
//! with [`PANIC_EXIT_STATUS`] by default). With `panic=restart` only the message and the
//! `stop-summary:` line are printed at once; the rest is kept for the restarted run
//! (`kept_report`).

use core::fmt;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use stop::StopReason;
use wire::frames::{Frame, BACKTRACE};

use crate::cmdline::PanicAction;
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
    match info.location() {
        Some(loc) => console::write_fmt_breaking_lock(format_args!(
            "PANIC on cpu {cpu}: panicked at {}:{}:{}:\n{}\n",
            loc.file(),
            loc.line(),
            loc.column(),
            info.message()
        )),
        None => console::write_fmt_breaking_lock(format_args!(
            "PANIC on cpu {cpu}: panicked:\n{}\n",
            info.message()
        )),
    }
    let mut console_out = |args: fmt::Arguments<'_>| console::write_fmt_breaking_lock(args);
    if ACTION.load(Ordering::Relaxed) == PanicAction::Restart as u8 {
        // Only the message and the summary go out now. Each console byte is a write on the
        // host under QEMU (and ~87 us at 115200 baud on a real UART), so the rest of the report
        // waits in memory for the restarted run, and the restart takes no longer for it.
        match &report {
            Some(report) => console_out(format_args!("{}\n", report.summary())),
            None => console_out(format_args!("{}\n", Unstopped(cpu))),
        }
        // `restart.report=brief`: nothing more.
        if !crate::restart::brief_report()
            && !kept_report::keep(cpu, |out| write_rest(report.as_ref(), out))
        {
            write_rest(report.as_ref(), &mut console_out);
        }
    } else {
        write_backtrace(&mut console_out);
        match &report {
            Some(report) => stopping::print_report(report),
            None => console_out(format_args!("{}\n", Unstopped(cpu))),
        }
    }
    if let Some(report) = &report {
        stopping::verify_quiet(report);
    }
    crate::core_dump::wait_for_dump();
    match ACTION.load(Ordering::Relaxed) {
        a if a == PanicAction::Restart as u8 => {
            let message = match info.location() {
                Some(loc) => format_args!("{}:{}: {}", loc.file(), loc.line(), info.message()),
                None => format_args!("{}", info.message()),
            };
            crate::restart::after_panic(panicked_ns, cpu, message, report.as_ref())
        }
        a if a == PanicAction::Reboot as u8 => crate::power::reset_machine(),
        a if a == PanicAction::Halt as u8 => arch::power::halt_forever(),
        _ => crate::power::exit(PANIC_EXIT_STATUS),
    }
}

/// The panic report after the message and the summary, for a warm restart to keep: the
/// backtrace, then the stop's table and contexts.
fn write_rest(report: Option<&stopping::Report>, out: &mut dyn FnMut(fmt::Arguments<'_>)) {
    write_backtrace(out);
    if let Some(report) = report {
        stopping::write_report(report, false, out);
    }
}

/// Writes the panicking CPU's backtrace to `out`.
fn write_backtrace(out: &mut dyn FnMut(fmt::Arguments<'_>)) {
    out(format_args!("{BACKTRACE}\n"));
    for (index, address) in arch::backtrace::return_addresses().enumerate() {
        let frame = Frame::Return {
            index: index as u32,
            address: address as u64,
        };
        out(format_args!("{frame}\n"));
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
