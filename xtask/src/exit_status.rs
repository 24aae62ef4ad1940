//! Decoding QEMU's exit code into the guest's exit status (README, "Exit statuses").
//!
//! The guest writes a `u32` status to the `isa-debug-exit` port and QEMU exits with
//! `(status << 1) | 1`; QEMU exit 0 means the guest ended without a status: it powered off
//! through ACPI, or the machine reset (which `-no-reboot` turns into QEMU's exit). The runtime
//! announces both on the console first ([`RESET_LINE`], [`ACPI_POWEROFF_LINE`]); a reset it did
//! not announce is a triple fault, which must not read as success.

use std::fmt;

/// The guest's status when the app returned normally.
pub const SUCCESS: u32 = 0;
/// The guest's status after a panic (the runtime's `PANIC_EXIT_STATUS`).
pub const PANIC: u32 = 101;
/// The guest's status after a panic inside the panic path.
pub const DOUBLE_PANIC: u32 = 102;
/// The guest's status when warm restarts came too fast (`restart.max` within `restart.window_ms`).
pub const CRASH_LOOP: u32 = 103;
/// The guest's status when a warm restart could not wake the boot CPU.
pub const RESTART_IMPOSSIBLE: u32 = 104;

/// What the runtime prints right before it resets the machine (runtime/src/power.rs).
pub const RESET_LINE: &str = "allstop: resetting the machine";
/// What the runtime prints right before it powers off through ACPI, when no `isa-debug-exit`
/// took its status (runtime/src/arch/x86_64/power.rs).
pub const ACPI_POWEROFF_LINE: &str = "allstop: powering off through ACPI";

/// How a QEMU process ended, in the guest's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestExit {
    /// The guest wrote this status to `isa-debug-exit`.
    Status(u32),
    /// The guest powered off through ACPI or reset the machine, as it announced, without a
    /// status (counts as status 0).
    NoStatus,
    /// The machine reset (or powered off) without the runtime announcing it: a triple fault,
    /// most likely. No status.
    Unannounced,
    /// QEMU itself failed (bad option, missing kernel, ...) with this exit code.
    QemuFailed(i32),
    /// QEMU was killed by a signal (not by us: our own kills are timeouts).
    QemuKilled,
}

impl GuestExit {
    /// The guest status this exit stands for, if the guest chose one.
    pub fn status(self) -> Option<u32> {
        match self {
            GuestExit::Status(status) => Some(status),
            GuestExit::NoStatus => Some(SUCCESS),
            GuestExit::Unannounced | GuestExit::QemuFailed(_) | GuestExit::QemuKilled => None,
        }
    }
}

/// Decodes QEMU's exit `code` (`None`: killed by a signal) given what QEMU wrote to stderr and
/// what the guest wrote to its serial console.
///
/// QEMU's own errors also exit with code 1, which reads as guest status 0. They are told apart by
/// QEMU's stderr: an error (not a warning) is a line starting with the program name, e.g.
/// `qemu-system-x86_64: could not load kernel '...'`; a guest exit prints nothing there.
pub fn decode(code: Option<i32>, qemu_stderr: &str, serial: &str) -> GuestExit {
    match code {
        None => GuestExit::QemuKilled,
        Some(0) if announced_end(serial) => GuestExit::NoStatus,
        Some(0) => GuestExit::Unannounced,
        Some(1) if has_qemu_error(qemu_stderr) => GuestExit::QemuFailed(1),
        Some(c) if c > 0 && c % 2 == 1 => GuestExit::Status((c >> 1) as u32),
        Some(c) => GuestExit::QemuFailed(c),
    }
}

/// Whether the runtime announced a reset or an ACPI power-off on its console.
fn announced_end(serial: &str) -> bool {
    serial.lines().any(|line| {
        let line = line.trim_end_matches('\r');
        line == RESET_LINE || line == ACPI_POWEROFF_LINE
    })
}

/// Whether QEMU reported an error (not just a warning) on stderr. A warning may name the option
/// it is about first: `qemu-system-x86_64: -accel kvm: warning: Number of SMP cpus requested (4)
/// exceeds the recommended cpus supported by KVM (2)` (an overcommitted KVM host).
fn has_qemu_error(stderr: &str) -> bool {
    stderr.lines().any(|line| {
        line.strip_prefix(crate::qemu::QEMU)
            .and_then(|rest| rest.strip_prefix(": "))
            .is_some_and(|msg| !msg.starts_with("warning:") && !msg.contains(": warning: "))
    })
}

/// What a guest status means, for humans.
pub fn meaning(status: u32) -> &'static str {
    match status {
        SUCCESS => "success",
        PANIC => "panic",
        DOUBLE_PANIC => "double panic",
        CRASH_LOOP => "crash loop: too many warm restarts",
        RESTART_IMPOSSIBLE => "warm restart impossible",
        1..=100 => "chosen by the app",
        _ => "undocumented status",
    }
}

impl fmt::Display for GuestExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GuestExit::Status(status) => write!(f, "guest status {status} ({})", meaning(status)),
            GuestExit::NoStatus => f.write_str(
                "guest ended without a status (announced reset or ACPI power-off; counts as 0)",
            ),
            GuestExit::Unannounced => f.write_str(
                "guest ended without a status and without announcing a reset or power-off \
                 (a triple fault?)",
            ),
            GuestExit::QemuFailed(code) => write!(f, "QEMU itself failed (exit code {code})"),
            GuestExit::QemuKilled => f.write_str("QEMU was killed by a signal"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_codes_carry_the_guest_status() {
        assert_eq!(decode(Some(1), "", ""), GuestExit::Status(0));
        assert_eq!(decode(Some(3), "", ""), GuestExit::Status(1));
        assert_eq!(decode(Some(203), "", ""), GuestExit::Status(PANIC));
        assert_eq!(decode(Some(205), "", ""), GuestExit::Status(DOUBLE_PANIC));
        assert_eq!(decode(Some(255), "", ""), GuestExit::Status(127));
    }

    #[test]
    fn zero_is_success_only_after_an_announced_reset_or_power_off() {
        let reset = format!("stop-summary: ...\r\n{RESET_LINE}\r\n");
        assert_eq!(decode(Some(0), "", &reset), GuestExit::NoStatus);
        let acpi = format!("{ACPI_POWEROFF_LINE}\n");
        assert_eq!(decode(Some(0), "", &acpi), GuestExit::NoStatus);
        assert_eq!(GuestExit::NoStatus.status(), Some(SUCCESS));
        // A triple fault ends the run the same way, unannounced: no status, not success.
        assert_eq!(decode(Some(0), "", "INFO boot\n"), GuestExit::Unannounced);
        assert_eq!(GuestExit::Unannounced.status(), None);
    }

    #[test]
    fn even_codes_and_signals_are_qemu_failures() {
        assert_eq!(decode(Some(2), "", ""), GuestExit::QemuFailed(2));
        assert_eq!(decode(Some(-1), "", ""), GuestExit::QemuFailed(-1));
        assert_eq!(decode(None, "", ""), GuestExit::QemuKilled);
        assert_eq!(GuestExit::QemuFailed(2).status(), None);
        assert_eq!(GuestExit::QemuKilled.status(), None);
    }

    #[test]
    fn exit_one_with_a_qemu_error_is_a_qemu_failure_not_success() {
        let err = "qemu-system-x86_64: could not load kernel '/x': No such file or directory\n";
        assert_eq!(decode(Some(1), err, ""), GuestExit::QemuFailed(1));
        let warning = "qemu-system-x86_64: warning: TCG doesn't support requested feature\n";
        assert_eq!(decode(Some(1), warning, ""), GuestExit::Status(0));
        let kvm = "qemu-system-x86_64: -accel kvm: warning: Number of SMP cpus requested (4) \
                   exceeds the recommended cpus supported by KVM (2)\n";
        assert_eq!(decode(Some(1), kvm, ""), GuestExit::Status(0));
        let option_error = "qemu-system-x86_64: -device nope: 'nope' is not a valid device model\n";
        assert_eq!(decode(Some(1), option_error, ""), GuestExit::QemuFailed(1));
        // The error check only applies to code 1: other odd codes cannot be QEMU's own.
        assert_eq!(decode(Some(203), err, ""), GuestExit::Status(PANIC));
    }

    #[test]
    fn statuses_are_named() {
        assert_eq!(meaning(0), "success");
        assert_eq!(meaning(42), "chosen by the app");
        assert_eq!(meaning(101), "panic");
        assert_eq!(meaning(102), "double panic");
        assert_eq!(meaning(127), "undocumented status");
        assert_eq!(
            GuestExit::Status(101).to_string(),
            "guest status 101 (panic)"
        );
    }
}
