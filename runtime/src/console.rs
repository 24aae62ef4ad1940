//! The serial console: whole lines under one lock, `print!`/`println!` for apps, the `log` facade
//! for the runtime, and a lock-breaking writer for the panic path.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use spinning_top::Spinlock;
use uart_16550::SerialPort;

use crate::arch::serial;

static CONSOLE: Spinlock<Option<SerialPort>> = Spinlock::new(None);

/// How many times the panic path retries the console lock before it writes around it.
const PANIC_LOCK_ATTEMPTS: u32 = 1 << 20;

/// Programs the UART and installs the logger. Call once, first thing on the boot CPU.
pub fn init(level: log::LevelFilter) {
    let mut port = serial::com1();
    port.init();
    *CONSOLE.lock() = Some(port);
    // A second call fails harmlessly: the logger is already ours.
    let _ = log::set_logger(&Logger);
    set_level(level);
}

/// Changes the most verbose level printed.
pub fn set_level(level: log::LevelFilter) {
    log::set_max_level(level);
}

/// Writers waiting for the lock or holding it (through [`write_fmt`]): background output lets
/// them go first ([`try_write_behind_others`]).
static WRITERS: AtomicUsize = AtomicUsize::new(0);

/// Pieces [`write_fmt`] has written.
static WRITTEN: AtomicU64 = AtomicU64::new(0);

/// Writes `args` as one unbroken piece of console output.
pub fn write_fmt(args: fmt::Arguments<'_>) {
    WRITERS.fetch_add(1, Ordering::Relaxed);
    if let Some(port) = CONSOLE.lock().as_mut() {
        // The UART never reports errors.
        let _ = port.write_fmt(args);
    }
    WRITTEN.fetch_add(1, Ordering::Relaxed);
    WRITERS.fetch_sub(1, Ordering::Release);
}

/// How many pieces [`write_fmt`] has written so far (background output waits for a change).
pub fn written() -> u64 {
    WRITTEN.load(Ordering::Acquire)
}

/// Waits until no [`write_fmt`] writer is waiting for the console or writing: output that can
/// wait calls it before [`try_write_behind_others`]. The lock is not fair, so a CPU that
/// writes line after line would otherwise keep everyone else off the console until it is done.
pub fn wait_for_other_writers() {
    while WRITERS.load(Ordering::Acquire) != 0 {
        core::hint::spin_loop();
    }
}

/// Runs `write` with the console held, giving it a function that sends one byte, if no
/// [`write_fmt`] writer is waiting or writing and the lock is free at once; false if `write`
/// did not run.
pub fn try_write_behind_others(write: impl FnOnce(&mut dyn FnMut(u8))) -> bool {
    if WRITERS.load(Ordering::Acquire) != 0 {
        return false;
    }
    let Some(mut guard) = CONSOLE.try_lock() else {
        return false;
    };
    if let Some(port) = guard.as_mut() {
        write(&mut |byte| port.send(byte));
    }
    true
}

/// Set once the panic path gave up waiting for the lock: later panic-path writes go straight
/// around it instead of waiting again.
static LOCK_BROKEN: AtomicBool = AtomicBool::new(false);

/// Writes `args` even if the lock is held by a CPU that will never release it (it was stopped,
/// or this CPU panicked while holding it): retries for a while, then writes around the lock,
/// and from then on at once.
pub fn write_fmt_breaking_lock(args: fmt::Arguments<'_>) {
    let attempts = if LOCK_BROKEN.load(Ordering::Relaxed) {
        0
    } else {
        PANIC_LOCK_ATTEMPTS
    };
    for _ in 0..attempts {
        if let Some(mut guard) = CONSOLE.try_lock() {
            let _ = guard.get_or_insert_with(serial::com1).write_fmt(args);
            return;
        }
        core::hint::spin_loop();
    }
    LOCK_BROKEN.store(true, Ordering::Relaxed);
    let _ = serial::com1().write_fmt(args);
}

/// Takes the console lock and never gives it back (a test of the panic path's lock breaking).
pub fn hold_lock_forever() {
    core::mem::forget(CONSOLE.lock());
}

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            write_fmt(format_args!("{:<5} {}\n", record.level(), record.args()));
        }
    }

    fn flush(&self) {}
}

/// Prints to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::console::write_fmt(format_args!($($arg)*)));
}

/// Prints a whole line to the console.
#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::console::write_fmt(format_args!("{}\n", format_args!($($arg)*))));
}
