//! How a run ends. The runtime announces each ending on the console right before it happens
//! (`allstop: exit status N` before it writes the status to QEMU's `isa-debug-exit`), so that a
//! runner can tell its endings from QEMU's own failures and from a triple fault; and the statuses
//! the runtime itself ends with.

use core::fmt;

use crate::fields::number;
use crate::Error;

/// The app returned normally.
pub const SUCCESS: u32 = 0;
/// A panic.
pub const PANIC: u32 = 101;
/// A panic inside the panic path.
pub const DOUBLE_PANIC: u32 = 102;
/// Warm restarts came too fast (`restart.max` within `restart.window_ms`).
pub const CRASH_LOOP: u32 = 103;
/// A warm restart could not run (the boot CPU could not be confirmed stopped, or woken).
pub const RESTART_IMPOSSIBLE: u32 = 104;
/// The loader's boot information is unusable: not booted by a PVH loader, or overwritten (a
/// boot command line longer than the loader's room for it).
pub const BAD_BOOT_INFO: u32 = 105;
/// The app's statuses are `0..=APP_STATUS_MAX`; the runtime's own start above it.
pub const APP_STATUS_MAX: u32 = 100;
/// The app ended with a status outside `0..=APP_STATUS_MAX` (which would read as one of the
/// runtime's); the runtime says which before it ends with this one.
pub const APP_STATUS_OUT_OF_RANGE: u32 = 106;

/// The status a run ends with when the app ends with `status`: the same within
/// `0..=APP_STATUS_MAX`, else [`APP_STATUS_OUT_OF_RANGE`].
pub fn app_status(status: u32) -> u32 {
    if status <= APP_STATUS_MAX {
        status
    } else {
        APP_STATUS_OUT_OF_RANGE
    }
}

/// The longest boot command line the kernel takes, in bytes: it keeps this much and warns about
/// the rest, and the runner refuses a longer one (QEMU's PVH loader itself overwrites the boot
/// information with a line of about 4 KiB).
pub const CMDLINE_MAX: usize = 1024;

/// The most CPUs the kernel runs (it leaves any more off with a warning); the runner refuses a
/// larger `--smp`.
pub const MAX_CPUS: usize = 1024;

/// What the status announcement starts with; the status follows.
pub const STATUS_PREFIX: &str = "allstop: exit status ";
/// The announcement of a reset.
pub const RESET: &str = "allstop: resetting the machine";
/// The announcement of a power-off through ACPI (no `isa-debug-exit` took the status).
pub const ACPI_POWEROFF: &str = "allstop: powering off through ACPI";

/// An announced ending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The runtime writes this status to `isa-debug-exit`.
    Status(u32),
    /// The runtime resets the machine.
    Reset,
    /// The runtime powers off through ACPI.
    AcpiPoweroff,
}

impl Ending {
    /// Reads an announcement line (without its line end).
    pub fn parse(line: &str) -> Result<Self, Error<'_>> {
        match line {
            RESET => Ok(Ending::Reset),
            ACPI_POWEROFF => Ok(Ending::AcpiPoweroff),
            _ => {
                let status = line.strip_prefix(STATUS_PREFIX).ok_or(Error::Malformed {
                    text: line,
                    form: "an announcement of how the run ends",
                })?;
                let status =
                    u32::try_from(number(status)?).map_err(|_| Error::NotANumber(status))?;
                Ok(Ending::Status(status))
            }
        }
    }
}

/// The whole line, without a line end.
impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::Status(status) => write!(f, "{STATUS_PREFIX}{status}"),
            Ending::Reset => f.write_str(RESET),
            Ending::AcpiPoweroff => f.write_str(ACPI_POWEROFF),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_statuses_never_read_as_the_runtimes() {
        assert_eq!(app_status(0), 0);
        assert_eq!(app_status(APP_STATUS_MAX), APP_STATUS_MAX);
        for status in [APP_STATUS_MAX + 1, PANIC, RESTART_IMPOSSIBLE, 255, u32::MAX] {
            assert_eq!(app_status(status), APP_STATUS_OUT_OF_RANGE, "{status}");
        }
        let runtime = [
            PANIC,
            DOUBLE_PANIC,
            CRASH_LOOP,
            RESTART_IMPOSSIBLE,
            BAD_BOOT_INFO,
        ];
        assert!(runtime.iter().all(|&s| s > APP_STATUS_MAX));
        assert!(!runtime.contains(&APP_STATUS_OUT_OF_RANGE));
    }

    #[test]
    fn every_ending_round_trips() {
        for (ending, line) in [
            (Ending::Status(0), "allstop: exit status 0"),
            (Ending::Status(PANIC), "allstop: exit status 101"),
            (Ending::Status(u32::MAX), "allstop: exit status 4294967295"),
            (Ending::Reset, "allstop: resetting the machine"),
            (Ending::AcpiPoweroff, "allstop: powering off through ACPI"),
        ] {
            assert_eq!(ending.to_string(), line);
            assert_eq!(Ending::parse(line), Ok(ending));
        }
    }

    #[test]
    fn bad_announcements_say_what_is_wrong() {
        for (line, why) in [
            (
                "allstop: exit status",
                "'allstop: exit status' is not an announcement of how the run ends",
            ),
            ("allstop: exit status -1", "'-1': the value is not a number"),
            (
                "allstop: exit status 7 and more",
                "'7 and more': the value is not a number",
            ),
            (
                "allstop: exit status 4294967296",
                "'4294967296': the value is not a number",
            ),
            (
                "allstop: resetting",
                "'allstop: resetting' is not an announcement of how the run ends",
            ),
        ] {
            assert_eq!(Ending::parse(line).unwrap_err().to_string(), why, "{line}");
        }
    }
}
