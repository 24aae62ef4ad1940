//! The table of QEMU test cases: what to boot and what must come out.

use std::time::Duration;

use crate::cases::crash::CrashExpect;
use crate::cases::matrix::Row;
use crate::cases::places::PlacesExpect;
use crate::cases::stop_expect::{Check, StopExpect};
use crate::cases::summary::Field;
use crate::cases::{
    crash, hostile_abi, hostile_boot_line, hostile_host, hostile_stack, restart, scale, std_apps,
    stop,
};
use crate::qemu::accel::Accel;
use crate::qemu::exit_status::{APP_STATUS_OUT_OF_RANGE, PANIC, SUCCESS};
use crate::qemu::Machine;

/// Hard limit for a boot that is expected to exit by itself.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(30);
/// Limit for the `hang` app: long enough to boot and print under load, short enough to be cheap.
const HANG_TIMEOUT: Duration = Duration::from_secs(4);

/// The hello app's greeting.
pub const GREETING: &str = "Hello from allstop!";
/// Text that no clean boot prints: a panic or a boot-option warning.
const CLEAN_BOOT: &[&str] = &["PANIC", "unknown boot option", "invalid value"];

/// How a case must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The guest exits with this status (QEMU exit 0, no status, counts as 0).
    Status(u32),
    /// QEMU exits 0: the guest reset the machine (or powered off through ACPI) without a status.
    NoStatus,
    /// The guest is still running at the case's timeout.
    Timeout,
}

/// One QEMU boot and its expectations.
#[derive(Clone, Debug)]
pub struct Case {
    /// Unique name (what `--filter` matches).
    pub name: String,
    /// The app to boot.
    pub app: &'static str,
    /// QEMU machine type.
    pub machine: Machine,
    /// Number of CPUs.
    pub smp: u32,
    /// Whether the CPU model offers x2APIC (the accelerator's default model does).
    pub x2apic: bool,
    /// Boot command line.
    pub append: String,
    /// Hard limit on the boot.
    pub timeout: Duration,
    /// How it must end.
    pub expect: Expect,
    /// Substrings the serial output must contain.
    pub required: Vec<String>,
    /// Substrings the serial output must not contain.
    pub forbidden: Vec<String>,
    /// What the `stop-summary:` line and the heartbeat check must say (`None`: not checked).
    pub stop: Option<StopExpect>,
    /// The case's row in the scenario matrix, if it is a matrix case.
    pub row: Option<Row>,
    /// Whether `--quick` (and so `cargo xtask test` without `--full`) runs it.
    pub quick: bool,
    /// Whether only `--soak` runs it (long endurance runs).
    pub soak: bool,
    /// The accelerator, when the case needs one (`None`: the run's).
    pub accel: Option<Accel>,
    /// What the report's per-CPU blocks (and the core) must show (`None`: not checked).
    pub crash: Option<CrashExpect>,
    /// What the place lines an app prints after a warm restart must show (`None`: not
    /// checked).
    pub places: Option<PlacesExpect>,
    /// Whether every panic's kept report must come out after its warm restart (`kept.rs`).
    pub kept_reports: bool,
    /// Further QEMU arguments (e.g. `-machine acpi=off`).
    pub qemu_args: Vec<String>,
    /// An ACPI table QEMU adds to the guest's (`-acpitable file=`), as bytes.
    pub acpi_table: Option<Vec<u8>>,
    /// The boot command line as raw bytes (one that is not UTF-8), replacing `append`.
    pub append_bytes: Option<Vec<u8>>,
}

impl Case {
    /// A case booting `app` on `pc` with one CPU, expected to exit 0 cleanly within the default
    /// limit; the builder methods below change that.
    pub fn new(name: &str, app: &'static str) -> Case {
        Case {
            name: name.to_string(),
            app,
            machine: Machine::Pc,
            smp: 1,
            x2apic: true,
            append: String::new(),
            timeout: BOOT_TIMEOUT,
            expect: Expect::Status(SUCCESS),
            required: Vec::new(),
            forbidden: strings(CLEAN_BOOT),
            stop: None,
            row: None,
            quick: false,
            soak: false,
            accel: None,
            crash: None,
            places: None,
            kept_reports: false,
            qemu_args: Vec::new(),
            acpi_table: None,
            append_bytes: None,
        }
    }

    /// Boots on `machine` with `smp` CPUs.
    pub fn on(mut self, machine: Machine, smp: u32) -> Case {
        self.machine = machine;
        self.smp = smp;
        self
    }

    /// Boots with the accelerator's CPU model minus x2APIC: the xAPIC (MMIO) path.
    pub fn without_x2apic(mut self) -> Case {
        self.x2apic = false;
        self
    }

    /// Boots with this command line.
    pub fn append(mut self, append: &str) -> Case {
        self.append = append.to_string();
        self
    }

    /// Must end as `expect` within `timeout`.
    pub fn expect(mut self, expect: Expect, timeout: Duration) -> Case {
        self.expect = expect;
        self.timeout = timeout;
        self
    }

    /// The output must contain each of `texts`.
    pub fn require<S: AsRef<str>>(mut self, texts: &[S]) -> Case {
        self.required
            .extend(texts.iter().map(|t| t.as_ref().to_string()));
        self
    }

    /// The output must contain none of `texts` (and nothing else is forbidden).
    pub fn forbid_only(mut self, texts: &[&str]) -> Case {
        self.forbidden = strings(texts);
        self
    }

    /// The output must also contain none of `texts`.
    pub fn forbid(mut self, texts: &[&str]) -> Case {
        self.forbidden.extend(strings(texts));
        self
    }

    /// The stop summary must satisfy `check` (replacing a check of the same fields).
    pub fn check(mut self, check: Check) -> Case {
        self.stop.get_or_insert_default().set(check);
        self
    }

    /// `field == value` on the stop summary.
    pub fn field(self, field: Field, value: u64) -> Case {
        self.check(Check::eq(field, value))
    }

    /// The heartbeat check must pass (which needs `stop.verify_ms=` on the command line).
    pub fn heartbeat(mut self) -> Case {
        self.stop.get_or_insert_default().heartbeat = true;
        self
    }

    /// Places the case in the scenario matrix.
    pub fn row(mut self, row: Row) -> Case {
        self.row = Some(row);
        self
    }

    /// Puts the case in the `--quick` subset.
    pub fn quick(mut self) -> Case {
        self.quick = true;
        self
    }

    /// The app's place lines after a warm restart must satisfy `expect`.
    pub fn places(mut self, expect: PlacesExpect) -> Case {
        self.places = Some(expect);
        self
    }

    /// Every panic's kept report must come out, whole, after the panic (`panic=restart`).
    pub fn kept_reports(mut self) -> Case {
        self.kept_reports = true;
        self
    }

    /// Passes `args` to QEMU after the usual ones.
    pub fn qemu_args(mut self, args: &[&str]) -> Case {
        self.qemu_args.extend(strings(args));
        self
    }

    /// Boots with `line` (any bytes but NUL) as the command line instead of `append`.
    pub fn append_bytes(mut self, line: &[u8]) -> Case {
        self.append_bytes = Some(line.to_vec());
        self
    }

    /// Has QEMU add `table` (a whole ACPI table) to the guest's tables.
    pub fn acpi_table(mut self, table: Vec<u8>) -> Case {
        self.acpi_table = Some(table);
        self
    }

    /// Runs it only with `--soak`.
    pub fn soak(mut self) -> Case {
        self.soak = true;
        self
    }
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

/// CPU counts the SMP bring-up is tried with.
const SMP_COUNTS: [u32; 5] = [1, 2, 3, 4, 8];

/// smp-hello on `machine` with `smp` CPUs: all of them online, in the expected APIC mode.
fn smp_hello(machine: Machine, smp: u32, apic: &str) -> Case {
    let online = format!("cpus online: {smp}/{smp}");
    let mode = format!("apic: {apic}");
    Case::new(&format!("smp-hello-{machine}-{apic}-smp{smp}"), "smp-hello")
        .on(machine, smp)
        .require(&[&online, &mode, "bringup_us: "])
}

/// Every case, in the order they are reported: the boot and SMP cases, then the stop-path
/// cases (the demo and the fault-scenario matrix).
pub fn all() -> Vec<Case> {
    let hello = |machine: Machine, smp: u32| {
        Case::new(&format!("hello-{machine}-smp{smp}"), "hello")
            .on(machine, smp)
            .require(&[GREETING, "cmdline: \"\""])
            .quick()
    };
    let smp_matrix = [Machine::Pc, Machine::Q35].into_iter().flat_map(|machine| {
        SMP_COUNTS.map(|smp| {
            let case = smp_hello(machine, smp, "x2apic");
            if machine == Machine::Pc && [1, 4].contains(&smp) {
                case.quick()
            } else {
                case
            }
        })
    });
    let xapic = [2, 4].map(|smp| smp_hello(Machine::Pc, smp, "xapic").without_x2apic());
    let mut cases = vec![
        hello(Machine::Pc, 1),
        hello(Machine::Pc, 4),
        hello(Machine::Q35, 2),
        hello(Machine::Microvm, 1),
        Case::new("hello-boot-option-warnings", "hello")
            .append("log=nonsense foo")
            .require(&[
                GREETING,
                "cmdline: \"log=nonsense foo\"",
                "boot option 'log=nonsense': invalid value",
                "unknown boot option 'foo'",
            ])
            .forbid_only(&["PANIC"])
            .quick(),
        // Above 32 CPUs the stop table groups the CPUs the vector stopped (stop.table=auto);
        // the long vector timeout makes every idle CPU answer the vector even on a loaded host,
        // so the one group is certain (the format is under test, not the timing).
        Case::new("stop-table-grouped-smp40", "panic")
            .on(Machine::Pc, 40)
            .append("stop.strategy=vector stop.vector_timeout_us=1000000")
            .expect(Expect::Status(PANIC), BOOT_TIMEOUT)
            .require(&[
                "40/40 CPUs online",
                "cpus 1-39 (39): vector stopped, apic 1..39, ack_us ",
            ])
            .forbid_only(&[])
            .field(Field::Targets, 39)
            .field(Field::Stuck, 0),
        Case::new("panic-status-101", "panic")
            .on(Machine::Pc, 2)
            .expect(Expect::Status(PANIC), BOOT_TIMEOUT)
            .require(&["PANIC on cpu", "panicked at", "allstop panic test"])
            .forbid_only(&[])
            .field(Field::Targets, 1)
            .field(Field::Stuck, 0)
            .quick(),
        // An app status that would read as one of the runtime's (101 and up) ends the run with
        // 106 instead, after a line naming it: through `poweroff` and through `sys_exit`.
        Case::new("hostile-app-status-101", "faults")
            .on(Machine::Pc, 2)
            .append("-- scenario=poweroff status=101")
            .expect(Expect::Status(APP_STATUS_OUT_OF_RANGE), BOOT_TIMEOUT)
            .require(&["allstop: the app's exit status 101 is outside 0..=100"])
            .quick(),
        Case::new("hostile-sys-exit-250", "abi-hello")
            .append("-- exit=250")
            .expect(Expect::Status(APP_STATUS_OUT_OF_RANGE), BOOT_TIMEOUT)
            .require(&["allstop: the app's exit status 250 is outside 0..=100"]),
        Case::new("hang-times-out", "hang")
            .expect(Expect::Timeout, HANG_TIMEOUT)
            .require(&["hang: spinning forever"])
            .quick(),
    ];
    cases.extend(smp_matrix);
    let [xapic2, xapic4] = xapic;
    cases.extend([xapic2.quick(), xapic4]);
    cases.extend(stop::all());
    cases.extend(restart::all());
    cases.extend(std_apps::all());
    cases.extend(crash::all());
    cases.extend(hostile_abi::all());
    cases.extend(hostile_boot_line::all());
    cases.extend(hostile_host::all());
    cases.extend(hostile_stack::all());
    cases.extend(scale::all());
    cases
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique_and_filterable() {
        let cases = all();
        let names: HashSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), cases.len(), "duplicate case names");
        for name in names {
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{name}"
            );
        }
    }

    #[test]
    fn every_case_boots_an_existing_app() {
        let known = crate::build::apps::known().unwrap();
        for case in all() {
            assert!(
                known.iter().any(|k| k == case.app),
                "case {} needs app '{}' (known: {known:?})",
                case.name,
                case.app
            );
        }
    }

    #[test]
    fn expectations_are_checkable() {
        for case in all() {
            assert!(case.smp >= 1, "{}", case.name);
            assert!(!case.required.is_empty(), "{} checks no output", case.name);
            for text in &case.required {
                assert!(
                    !case.forbidden.contains(text),
                    "{} both requires and forbids {text:?}",
                    case.name
                );
            }
            if case.expect == Expect::Timeout {
                assert!(case.timeout < BOOT_TIMEOUT, "{} waits too long", case.name);
            }
        }
    }

    #[test]
    fn the_initial_cases_are_all_there() {
        let cases = all();
        let find = |name: &str| cases.iter().find(|c| c.name == name).unwrap();
        assert_eq!(find("hello-pc-smp4").smp, 4);
        assert_eq!(find("hello-q35-smp2").machine, Machine::Q35);
        assert_eq!(find("hello-microvm-smp1").machine, Machine::Microvm);
        assert_eq!(find("panic-status-101").expect, Expect::Status(101));
        assert_eq!(find("hang-times-out").expect, Expect::Timeout);
        assert_eq!(
            find("hello-boot-option-warnings").append,
            "log=nonsense foo"
        );
        let xapic = find("smp-hello-pc-xapic-smp4");
        assert!(!xapic.x2apic);
        assert!(xapic.required.contains(&"cpus online: 4/4".to_string()));
        for machine in ["pc", "q35"] {
            for smp in SMP_COUNTS {
                let case = find(&format!("smp-hello-{machine}-x2apic-smp{smp}"));
                assert_eq!(case.smp, smp);
                assert!(case.required.contains(&format!("cpus online: {smp}/{smp}")));
            }
        }
    }
}
