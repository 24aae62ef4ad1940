//! Decoding QEMU's exit code into the guest's exit status (README, "Exit statuses").
//!
//! The guest writes a `u32` status to the `isa-debug-exit` port and QEMU exits with
//! `(status << 1) | 1`; QEMU exit 0 means the guest ended without a status: it powered off
//! through ACPI, or the machine reset (which `-no-reboot` turns into QEMU's exit). The runtime
//! announces each ending on the console first (`wire::exit::Ending`: the status, a reset, an
//! ACPI power-off). An ending it did not announce is not the guest's: QEMU's own errors also exit
//! with code 1 (guest status 0), and a triple fault ends the run like a reset, so neither can
//! read as success.

use std::fmt;

use wire::exit::{Ending, STATUS_PREFIX};
/// The statuses the runtime ends with.
pub use wire::exit::{
    APP_STATUS_OUT_OF_RANGE, BAD_BOOT_INFO, CRASH_LOOP, DOUBLE_PANIC, PANIC, RESTART_IMPOSSIBLE,
    SUCCESS,
};

/// What QEMU prints when KVM stops a vCPU it cannot run (e.g. an instruction its emulator lacks);
/// QEMU then waits with the VM paused instead of exiting.
pub const KVM_INTERNAL_ERROR: &str = "KVM internal error";

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
    /// QEMU exited with an odd code other than 1, but the runtime did not announce that status:
    /// not a status the runtime chose.
    StatusUnannounced {
        /// QEMU's exit code.
        code: i32,
        /// The status the runtime announced last, if any.
        announced: Option<u32>,
    },
    /// KVM stopped a vCPU it could not run ([`KVM_INTERNAL_ERROR`]); xtask killed QEMU.
    KvmInternalError,
    /// QEMU itself failed (bad option, missing kernel, ...) with this exit code.
    QemuFailed(i32),
    /// QEMU was killed by a signal (not by us: our own kills are timeouts), or ended on one it
    /// caught (`terminating on signal`).
    QemuKilled,
}

impl GuestExit {
    /// The guest status this exit stands for, if the guest chose one.
    pub fn status(self) -> Option<u32> {
        match self {
            GuestExit::Status(status) => Some(status),
            GuestExit::NoStatus => Some(SUCCESS),
            GuestExit::Unannounced
            | GuestExit::StatusUnannounced { .. }
            | GuestExit::KvmInternalError
            | GuestExit::QemuFailed(_)
            | GuestExit::QemuKilled => None,
        }
    }
}

/// Decodes QEMU's exit `code` (`None`: killed by a signal) given what QEMU wrote to stderr and
/// what the guest wrote to its serial console.
///
/// An odd code is the guest's status only if the runtime announced that status; exit code 1
/// without `allstop: exit status 0` is QEMU's own failure (whatever it printed: an error, only a
/// warning, or nothing). QEMU ends with code 0 when a signal stops it (`terminating on
/// signal`), which is not the guest's doing either.
pub fn decode(code: Option<i32>, qemu_stderr: &str, serial: &str) -> GuestExit {
    if qemu_stderr.contains(": terminating on signal") {
        return GuestExit::QemuKilled;
    }
    match code {
        None => GuestExit::QemuKilled,
        Some(0) if announced_end(serial) => GuestExit::NoStatus,
        Some(0) => GuestExit::Unannounced,
        Some(c) if c > 0 && c % 2 == 1 => {
            let status = (c >> 1) as u32;
            match announced_status(serial) {
                Some(announced) if announced == status => GuestExit::Status(status),
                _ if c == 1 => GuestExit::QemuFailed(1),
                announced => GuestExit::StatusUnannounced { code: c, announced },
            }
        }
        Some(c) => GuestExit::QemuFailed(c),
    }
}

/// Whether the runtime announced a reset or an ACPI power-off on its console.
fn announced_end(serial: &str) -> bool {
    serial.lines().any(|line| {
        let line = line.trim_end_matches('\r');
        matches!(
            Ending::parse(line),
            Ok(Ending::Reset | Ending::AcpiPoweroff)
        )
    })
}

/// The status in the runtime's last `allstop: exit status N` line (it may follow a cut line).
fn announced_status(serial: &str) -> Option<u32> {
    let at = serial.rfind(STATUS_PREFIX)?;
    let line = serial[at..].lines().next()?.trim_end_matches('\r');
    match Ending::parse(line) {
        Ok(Ending::Status(status)) => Some(status),
        _ => None,
    }
}

/// What a guest status means, for humans.
pub fn meaning(status: u32) -> &'static str {
    match status {
        SUCCESS => "success",
        PANIC => "panic",
        DOUBLE_PANIC => "double panic",
        CRASH_LOOP => "crash loop: too many warm restarts",
        RESTART_IMPOSSIBLE => "warm restart impossible",
        BAD_BOOT_INFO => "boot information unusable",
        APP_STATUS_OUT_OF_RANGE => "the app's status was out of its range",
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
            GuestExit::StatusUnannounced { code, announced } => {
                write!(
                    f,
                    "QEMU exit code {code} reads as guest status {}, but the runtime announced ",
                    code >> 1
                )?;
                match announced {
                    Some(status) => write!(f, "status {status}"),
                    None => f.write_str("no status"),
                }
            }
            GuestExit::KvmInternalError => f.write_str(
                "KVM stopped the VM (KVM internal error: with `emulation failure`, an \
                 instruction KVM's emulator lacks; the registers are in QEMU's stderr)",
            ),
            GuestExit::QemuFailed(code) => write!(f, "QEMU itself failed (exit code {code})"),
            GuestExit::QemuKilled => f.write_str("QEMU was killed by a signal"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serial output ending with the runtime's announcement of `status`.
    fn announced(status: u32) -> String {
        format!("INFO boot\r\n{}\r\n", Ending::Status(status))
    }

    #[test]
    fn odd_codes_carry_the_announced_guest_status() {
        assert_eq!(decode(Some(1), "", &announced(0)), GuestExit::Status(0));
        assert_eq!(decode(Some(3), "", &announced(1)), GuestExit::Status(1));
        assert_eq!(
            decode(Some(203), "", &announced(101)),
            GuestExit::Status(PANIC)
        );
        assert_eq!(
            decode(Some(205), "", &announced(102)),
            GuestExit::Status(DOUBLE_PANIC)
        );
        assert_eq!(
            decode(Some(255), "", &announced(127)),
            GuestExit::Status(127)
        );
        // The announcement may follow a line another CPU left unfinished.
        let cut = format!("half a li{}\n", Ending::Status(7));
        assert_eq!(decode(Some(15), "", &cut), GuestExit::Status(7));
        // Only the last announcement counts, and only whole.
        let garbled = format!("{}\r\n{STATUS_PREFIX}7x\r\n", Ending::Status(7));
        assert_eq!(
            decode(Some(15), "", &garbled),
            GuestExit::StatusUnannounced {
                code: 15,
                announced: None
            }
        );
    }

    #[test]
    fn a_status_the_runtime_did_not_announce_is_not_the_guests() {
        let unannounced = GuestExit::StatusUnannounced {
            code: 203,
            announced: None,
        };
        assert_eq!(decode(Some(203), "", "INFO boot\n"), unannounced);
        assert_eq!(unannounced.status(), None);
        assert_eq!(
            decode(Some(203), "", &announced(0)),
            GuestExit::StatusUnannounced {
                code: 203,
                announced: Some(0)
            }
        );
        assert_eq!(
            unannounced.to_string(),
            "QEMU exit code 203 reads as guest status 101, but the runtime announced no status"
        );
    }

    #[test]
    fn zero_is_success_only_after_an_announced_reset_or_power_off() {
        let reset = format!("stop-summary: ...\r\n{}\r\n", Ending::Reset);
        assert_eq!(decode(Some(0), "", &reset), GuestExit::NoStatus);
        let acpi = format!("{}\n", Ending::AcpiPoweroff);
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
    fn exit_one_is_status_zero_only_when_announced() {
        let err = "qemu-system-x86_64: could not load kernel '/x': No such file or directory\n";
        assert_eq!(decode(Some(1), err, ""), GuestExit::QemuFailed(1));
        // Whatever QEMU printed, or nothing: without the announcement, exit 1 is QEMU's.
        let kvm = "qemu-system-x86_64: -accel kvm: warning: Number of SMP cpus requested (4) \
                   exceeds the recommended cpus supported by KVM (2)\n";
        assert_eq!(decode(Some(1), kvm, ""), GuestExit::QemuFailed(1));
        assert_eq!(decode(Some(1), "", "INFO boot\n"), GuestExit::QemuFailed(1));
        assert_eq!(decode(Some(1), kvm, &announced(0)), GuestExit::Status(0));
    }

    #[test]
    fn a_signal_qemu_caught_is_not_a_guest_ending() {
        // SIGINT or SIGTERM from outside: QEMU says so and exits 0.
        let stderr = "qemu-system-x86_64: terminating on signal 2\n";
        assert_eq!(decode(Some(0), stderr, ""), GuestExit::QemuKilled);
        let reset = format!("{}\n", Ending::Reset);
        assert_eq!(decode(Some(0), stderr, &reset), GuestExit::QemuKilled);
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
