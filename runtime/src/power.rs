//! Ending the run: power off with a status, reboot, or halt.

use crate::arch;

/// Powers the machine off; under QEMU the runner sees `status` (keep it in 0..=127).
pub fn poweroff(status: u32) -> ! {
    arch::power::poweroff(status)
}

/// Resets the machine.
pub fn reboot() -> ! {
    arch::power::reset()
}

/// Halts the calling CPU for good.
pub fn halt() -> ! {
    arch::power::halt_forever()
}
