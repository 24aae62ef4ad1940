//! The panic handler: prints CPU, location and message, then exits with [`PANIC_EXIT_STATUS`].

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::{arch, console};

/// Exit status of a run that panicked.
pub const PANIC_EXIT_STATUS: u32 = 101;
/// Exit status when the panic path itself panicked.
pub const DOUBLE_PANIC_EXIT_STATUS: u32 = 102;

static PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let cpu = crate::cpu::current_index();
    if PANICKING.swap(true, Ordering::SeqCst) {
        console::write_fmt_breaking_lock(format_args!(
            "PANIC on cpu {cpu} while panicking: {}\n",
            info.message()
        ));
        arch::power::poweroff(DOUBLE_PANIC_EXIT_STATUS);
    }
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
    arch::power::poweroff(PANIC_EXIT_STATUS)
}
