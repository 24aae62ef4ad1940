//! Holding still for a core dump: with `panic.wait_for_core=1`, once a panic's stop is reported
//! the panicking CPU prints `core-dump: ready` and waits for a byte on the console's input,
//! which the runner (`cargo xtask run --core`) sends once it has dumped the machine's memory.
//! Every other CPU is stopped by then, and this one only polls the UART, so memory holds still.

use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use wire::core_dump::CoreDump;

use crate::{arch, console, time};

/// How long the panicking CPU waits for the runner before it goes on without a dump.
const WAIT: Duration = Duration::from_secs(60);

/// Whether to wait (boot option `panic.wait_for_core`).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Sets whether a panic waits for a core dump.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether a panic waits for a core dump (`panic.wait_for_core=1`).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// If enabled: announces that memory holds still and waits (at most [`WAIT`]) for the runner
/// to say it has taken the dump.
pub fn wait_for_dump() {
    if !enabled() {
        return;
    }
    console::write_fmt_breaking_lock(format_args!("{}\n", CoreDump::Ready));
    let answered = time::spin_until(WAIT, || arch::serial::try_read().is_some());
    let outcome = match answered {
        true => CoreDump::Taken,
        false => CoreDump::NoAnswer(WAIT.as_secs()),
    };
    console::write_fmt_breaking_lock(format_args!("{outcome}\n"));
}
