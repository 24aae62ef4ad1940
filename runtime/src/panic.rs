//! The panic handler: prints CPU, location, message and a backtrace, stops every other CPU
//! through the stop controller's election, prints the stop report, then does what `panic=`
//! says (power off with [`PANIC_EXIT_STATUS`] by default).

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use stop::StopReason;
use wire::frames::{Frame, BACKTRACE};

use crate::cmdline::PanicAction;
use crate::per_cpu::{per_cpu, PerCpu};
use crate::stopping;
use crate::{arch, console};

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
    // `restart.report=brief`: a warm restart's console output is its largest cost under QEMU
    // (each byte is a write on the host), so only the summary line follows the message.
    let brief = ACTION.load(Ordering::Relaxed) == PanicAction::Restart as u8
        && crate::restart::brief_report();
    if !brief {
        console::write_fmt_breaking_lock(format_args!("{BACKTRACE}\n"));
        for (index, address) in arch::backtrace::return_addresses().enumerate() {
            let frame = Frame::Return {
                index: index as u32,
                address: address as u64,
            };
            console::write_fmt_breaking_lock(format_args!("{frame}\n"));
        }
    }
    match &report {
        Some(report) if brief => {
            console::write_fmt_breaking_lock(format_args!("{}\n", report.summary()));
            stopping::verify_quiet(report);
        }
        Some(report) => {
            stopping::print_report(report);
            stopping::verify_quiet(report);
        }
        None => console::write_fmt_breaking_lock(format_args!(
            "cpu {cpu} panicked while stopping the others; they may still run\n"
        )),
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
