//! Cases where the host's data is missing or malformed: no ACPI at all, CPUs that are possible
//! but absent, and malformed ACPI tables that QEMU adds to the guest's (`-acpitable`). Each
//! must end with the runtime's warning and the boot CPU-only fallback, never a hang.

use crate::cases::summary::Field;
use crate::cases::table::{Case, Expect, BOOT_TIMEOUT, GREETING};
use crate::qemu::exit_status::PANIC;
use crate::qemu::Machine;

/// The runtime's fallback when it finds no ACPI tables.
const NO_ACPI: &str = "WARN  ACPI: no RSDP found; running on the boot CPU only";
/// The start of the runtime's warning for a rejected table.
const REJECTED: &str = "WARN  ACPI tables rejected: ";
/// Its end.
const FALLBACK: &str = "; running on the boot CPU only";

/// A system description table: a 36-byte header (signature, length, revision, checksum, OEM
/// fields) followed by `body`, with length and checksum right.
fn table(signature: &[u8; 4], revision: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(36 + body.len()).expect("a small table");
    let mut t = Vec::with_capacity(36 + body.len());
    t.extend_from_slice(signature);
    t.extend_from_slice(&len.to_le_bytes());
    t.extend_from_slice(&[revision, 0]);
    t.extend_from_slice(b"ALLSTPHOSTILE!");
    t.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    t.extend_from_slice(body);
    t[9] = t
        .iter()
        .fold(0u8, |sum, &b| sum.wrapping_add(b))
        .wrapping_neg();
    t
}

/// A MADT: the local APIC address and flags, then `entries`.
fn madt(entries: &[u8]) -> Vec<u8> {
    let mut body = vec![0x00, 0x00, 0xE0, 0xFE, 1, 0, 0, 0];
    body.extend_from_slice(entries);
    table(b"APIC", 3, &body)
}

/// A case adding `acpi_table`: the runtime must reject it with `problem` and run on the boot
/// CPU only.
fn rejected(name: &str, table: &[u8; 4], acpi_table: Vec<u8>, problem: &str) -> Case {
    let name = format!("hostile-host-acpitable-{name}");
    let table = match table {
        b"APIC" => "MADT",
        b"FACP" => "FADT",
        _ => unreachable!("a table the runtime names"),
    };
    Case::new(&name, "hello")
        .on(Machine::Pc, 2)
        .acpi_table(acpi_table)
        .require(&[
            format!("{REJECTED}{table} at 0x"),
            format!(": {problem}{FALLBACK}"),
            GREETING.to_string(),
            "1/1 CPUs online".to_string(),
        ])
}

/// The host-data cases.
pub fn all() -> Vec<Case> {
    vec![
        // No ACPI at all: the boot CPU runs the app, and a panic still stops cleanly.
        Case::new("hostile-host-acpi-off-pc-smp2", "hello")
            .on(Machine::Pc, 2)
            .qemu_args(&["-machine", "acpi=off"])
            .require(&[NO_ACPI, "1/1 CPUs online", GREETING])
            .field(Field::Targets, 0)
            .field(Field::Stuck, 0)
            .quick(),
        Case::new("hostile-host-acpi-off-pc-panic-smp2", "panic")
            .on(Machine::Pc, 2)
            .qemu_args(&["-machine", "acpi=off"])
            .expect(Expect::Status(PANIC), BOOT_TIMEOUT)
            .require(&[NO_ACPI, "PANIC on cpu 0", "allstop panic test"])
            .forbid_only(&["never checked in"])
            .field(Field::Targets, 0)
            .field(Field::Stuck, 0),
        Case::new("hostile-host-acpi-off-microvm", "hello")
            .on(Machine::Microvm, 1)
            .qemu_args(&["-machine", "acpi=off"])
            .require(&[NO_ACPI, "1/1 CPUs online", GREETING]),
        // QEMU lists the 4 absent CPUs as disabled MADT entries: not started, not waited for.
        Case::new("hostile-host-smp4-maxcpus8", "smp-hello")
            .on(Machine::Pc, 4)
            .qemu_args(&["-smp", "maxcpus=8"])
            .require(&[
                "INFO  MADT: 4 disabled CPU(s) (0 online-capable) not started",
                "cpus online: 4/4",
            ])
            .forbid_only(&["PANIC", "never checked in"])
            .quick(),
        // QEMU recomputes an added table's length and checksum, so the bad shapes it lets
        // through are in the body: host unit tests (acpi_check) cover the others.
        rejected(
            "madt-zero-length-entry",
            b"APIC",
            madt(&[4, 0, 0, 0, 0, 0]),
            "entry at offset 44 has length 0 (below 2)",
        )
        .quick(),
        rejected(
            "madt-entry-past-end",
            b"APIC",
            madt(&[0, 8, 1, 1, 1, 0]),
            "entry at offset 44 with length 8 runs past the table's end",
        ),
        rejected(
            "madt-header-only",
            b"APIC",
            table(b"APIC", 3, &[]),
            "length 36 is below 44",
        ),
        rejected(
            "short-fadt",
            b"FACP",
            table(b"FACP", 1, &[0; 8]),
            "length 44 is below 116",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_sum_to_zero_and_state_their_length() {
        let t = madt(&[4, 0]);
        assert_eq!(t.iter().fold(0u8, |s, &b| s.wrapping_add(b)), 0);
        assert_eq!(u32::from_le_bytes(t[4..8].try_into().unwrap()), 46);
        assert_eq!(&t[..4], b"APIC");
    }

    #[test]
    fn every_case_is_a_hostile_host_case_with_a_warning() {
        for case in all() {
            assert!(case.name.starts_with("hostile-host-"), "{}", case.name);
            assert!(
                case.required
                    .iter()
                    .any(|r| r.starts_with("WARN") || r.starts_with("INFO  MADT")),
                "{}",
                case.name
            );
        }
    }
}
