//! The stop-path cases, guarding that every stop ends with each CPU stopped or reported: the
//! demo and the fault-scenario matrix (app
//! `faults` with `-- scenario=NAME ...`, plus the hermit-abi app), each scenario at several CPU
//! counts, on q35 and in xAPIC mode for a subset.

use crate::cases::matrix::Row;
use crate::cases::stop_expect::{Check, Cmp};
use crate::cases::summary::Field;
use crate::cases::table::{Case, Expect, BOOT_TIMEOUT};
use crate::qemu::exit_status::PANIC;
use crate::qemu::Machine;

/// Every fault case checks for 10 ms after the report that no stopped CPU still runs, and gives
/// NMIs half a second: with 8 or more busy vCPUs on 2 host cores a vCPU thread can wait tens of
/// ms for a core, so under the default 10 ms NMI timeout a loaded host INIT-parks CPUs whose
/// NMI was merely late. An NMI that never completes is still reported (init or stuck).
const VERIFY: &str = "stop.verify_ms=10 stop.nmi_timeout_us=500000";
/// The only kernel option of the default-timeout cases: the post-stop check. Every timeout and
/// the INIT policy are what a user gets.
const DEFAULTS_ONLY: &str = "stop.verify_ms=10";
/// Name prefix of the default-timeout cases.
pub const DEFAULTS_PREFIX: &str = "defaults-";
/// The scenarios (with their arguments) that the default-timeout cases run, by matrix row.
const AT_DEFAULTS: [(Row, &str); 12] = [
    (Row::Idle, "panic cpu=0"),
    (Row::IrqOff, "irqoff k=1"),
    (Row::IrqOff, "merged-ping"),
    (Row::Race, "race window_us=1000"),
    (Row::Concurrent, "concurrent"),
    (Row::PanicCpu, "panic cpu=last"),
    (Row::ConsoleLock, "console-lock"),
    (Row::HandlerPanic, "nmi-panic"),
    (Row::HandlerPanic, "page-fault"),
    (Row::NmiBlocked, "nmi-blocked"),
    (Row::ApicOff, "apic-off"),
    (Row::StackOverflow, "stack-overflow"),
];
/// The stop vector first (not the default NMI-first), with a vector timeout long enough that
/// idle CPUs always answer the vector (cases expecting nmi=0).
const LONG_VECTOR: &str = "stop.strategy=vector stop.vector_timeout_us=500000";
/// The stop vector first, with a vector timeout that idle CPUs always meet, short enough to
/// keep NMI cases quick.
const NMI_VECTOR: &str = "stop.strategy=vector stop.vector_timeout_us=200000";
/// The stop vector first, with the default 1 ms vector timeout.
const DEFAULT_VECTOR: &str = "stop.strategy=vector";
/// CPU counts of the matrix.
const SMPS: [u32; 5] = [1, 2, 3, 4, 8];
/// CPU counts of scenarios that need an AP.
const AP_SMPS: [u32; 4] = [2, 3, 4, 8];
/// The interrupts-off windows of the race scenario, around the default 1000 µs vector timeout.
const RACE_WINDOWS_US: [u32; 6] = [500, 900, 1000, 1100, 1500, 3000];
/// The status the power-off and exit scenarios ask for.
const APP_STATUS: u32 = 42;
/// The status apps/abi-hello passes to `sys_exit`.
const ABI_HELLO_STATUS: u32 = 7;
/// No stop-path case may print these.
const FORBIDDEN: &[&str] = &[
    "unknown boot option",
    "invalid value",
    wire::heartbeat::FAILED,
    "inside the panic path",
];

/// What a case boots on besides its CPU count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavour {
    /// `pc`, the accelerator's default CPU (x2APIC).
    Pc,
    /// `q35`.
    Q35,
    /// `pc` with `-cpu qemu64`: no x2APIC, the xAPIC (MMIO) path.
    Xapic,
}

use Flavour::{Pc, Xapic, Q35};

/// A stop-path case named `<label>[-q35|-xapic]-smp<smp>` booting `app` with `kernel` options
/// (after `stop.verify_ms=10`) and `app_args`: it must end in a panic, print one summary with
/// `targets` = n-1 and `stuck=0`, and pass the heartbeat check.
fn case(
    row: Row,
    label: &str,
    app: &'static str,
    (smp, flavour): (u32, Flavour),
    kernel: &str,
    app_args: &str,
) -> Case {
    let (suffix, machine) = match flavour {
        Pc => ("", Machine::Pc),
        Q35 => ("-q35", Machine::Q35),
        Xapic => ("-xapic", Machine::Pc),
    };
    let mut append = format!("{VERIFY} {kernel}").trim_end().to_string();
    if !app_args.is_empty() {
        append += &format!(" -- {app_args}");
    }
    let case = Case::new(&format!("{label}{suffix}-smp{smp}"), app)
        .on(machine, smp)
        .append(&append)
        .expect(Expect::Status(PANIC), BOOT_TIMEOUT)
        .forbid_only(FORBIDDEN)
        .row(row)
        .field(Field::Targets, u64::from(smp) - 1)
        .field(Field::Stuck, 0)
        .heartbeat();
    if flavour == Xapic {
        case.without_x2apic()
    } else {
        case
    }
}

/// A case of the faults app: `scenario` (with its arguments) after the kernel options.
fn fault(row: Row, label: &str, at: (u32, Flavour), kernel: &str, scenario: &str) -> Case {
    case(row, label, "faults", at, kernel, scenario).require(&["faults: "])
}

/// The case must report a panic on `cpu`, which must be the stopper.
fn panics_on(case: Case, cpu: u32) -> Case {
    case.require(&[format!("PANIC on cpu {cpu}")])
        .field(Field::Stopper, u64::from(cpu))
}

/// `cases` with the one called `name` put in the `--quick` subset.
fn quick(mut cases: Vec<Case>, name: &str) -> Vec<Case> {
    let case = cases.iter_mut().find(|c| c.name == name);
    case.unwrap_or_else(|| panic!("no case {name} to put in --quick"))
        .quick = true;
    cases
}

/// `smp` with the default flavour.
fn pc(smp: u32) -> (u32, Flavour) {
    (smp, Pc)
}

/// The demo at 1, 2 and 4 CPUs: at 4, with a timeout idle CPUs meet, both paths appear.
fn demo() -> Vec<Case> {
    let demo = |smp: u32, kernel: &str| {
        panics_on(
            case(Row::Demo, "demo", "demo", pc(smp), kernel, ""),
            smp - 1,
        )
        .require(&["demo: "])
    };
    vec![
        demo(1, ""),
        demo(2, ""),
        demo(4, NMI_VECTOR)
            .check(Check::at_least(Field::Vector, 1))
            .check(Check::at_least(Field::Nmi, 1))
            .quick(),
    ]
}

/// 1: cpu 0 panics, every AP idle: all stopped by the vector.
fn idle() -> Vec<Case> {
    let idle = |at: (u32, Flavour)| {
        let n = u64::from(at.0);
        panics_on(
            fault(
                Row::Idle,
                "s1-idle",
                at,
                LONG_VECTOR,
                "scenario=panic cpu=0",
            ),
            0,
        )
        .field(Field::Vector, n - 1)
        .field(Field::Nmi, 0)
    };
    let mut cases: Vec<Case> = SMPS.map(|smp| idle(pc(smp))).into();
    cases.extend([idle((4, Q35)).quick(), idle((4, Xapic))]);
    cases
}

/// 2: k APs spin with interrupts off: exactly they need the NMI.
fn irqoff() -> Vec<Case> {
    let irqoff = |at: (u32, Flavour), k: u32, label: &str| {
        let n = u64::from(at.0);
        let scenario = format!("scenario=irqoff k={k}");
        panics_on(fault(Row::IrqOff, label, at, NMI_VECTOR, &scenario), 0)
            .field(Field::Nmi, u64::from(k))
            .field(Field::Vector, n - 1 - u64::from(k))
    };
    let mut cases: Vec<Case> = AP_SMPS.map(|smp| irqoff(pc(smp), 1, "s2-irqoff-k1")).into();
    cases.extend([3, 4, 8].map(|smp| irqoff(pc(smp), smp - 1, "s2-irqoff-kall")));
    cases.extend([
        irqoff((2, Xapic), 1, "s2-irqoff-k1"),
        irqoff((4, Q35), 3, "s2-irqoff-kall"),
    ]);
    // The stop NMI meets a pending ping request (its own NMI merged with the stop's): the
    // stop must win, or the AP answers the ping, returns and is reported stuck.
    let merged = |smp: u32| {
        panics_on(
            fault(
                Row::IrqOff,
                "s2-irqoff-merged-ping",
                pc(smp),
                NMI_VECTOR,
                "scenario=merged-ping",
            ),
            0,
        )
        .field(Field::Nmi, 1)
        .field(Field::Vector, u64::from(smp) - 2)
    };
    cases.extend([2, 4].map(merged));
    let cases = quick(cases, "s2-irqoff-merged-ping-smp2");
    quick(cases, "s2-irqoff-kall-smp4")
}

/// 3: AP 1's interrupts-off window ends around the default vector timeout: whichever path
/// stops it, it is counted once.
fn race() -> Vec<Case> {
    let race = |at: (u32, Flavour), window: u32| {
        let n = u64::from(at.0);
        let scenario = format!("scenario=race window_us={window}");
        panics_on(
            fault(
                Row::Race,
                &format!("s3-race-w{window}"),
                at,
                DEFAULT_VECTOR,
                &scenario,
            ),
            0,
        )
        .check(Check::sum(&[Field::Vector, Field::Nmi], Cmp::Eq, n - 1))
    };
    let mut cases: Vec<Case> = RACE_WINDOWS_US.map(|w| race(pc(2), w)).into();
    cases.extend([3, 4, 8].map(|smp| race(pc(smp), 1000)));
    cases.push(race((2, Xapic), 1000));
    quick(cases, "s3-race-w1000-smp2")
}

/// 4: every CPU panics at once: one stopper, the others stop themselves, every message printed.
fn concurrent() -> Vec<Case> {
    let concurrent = |at: (u32, Flavour)| {
        let messages: Vec<String> = (0..at.0)
            .map(|cpu| format!("faults: concurrent panic on cpu {cpu}"))
            .collect();
        fault(
            Row::Concurrent,
            "s4-concurrent",
            at,
            LONG_VECTOR,
            "scenario=concurrent",
        )
        .require(&messages)
        .require(&["PANIC on cpu"])
        .field(Field::SelfStop, u64::from(at.0) - 1)
    };
    let mut cases: Vec<Case> = SMPS.map(|smp| concurrent(pc(smp))).into();
    cases.push(concurrent((4, Q35)));
    quick(cases, "s4-concurrent-smp4")
}

/// 5: the highest CPU panics (the boot CPU's panic is scenario 1), every other CPU idle.
fn panic_last() -> Vec<Case> {
    let cases = AP_SMPS
        .map(|smp| {
            panics_on(
                fault(
                    Row::PanicCpu,
                    "s5-panic-last",
                    pc(smp),
                    LONG_VECTOR,
                    "scenario=panic cpu=last",
                ),
                smp - 1,
            )
            .field(Field::Vector, u64::from(smp) - 1)
        })
        .into();
    quick(cases, "s5-panic-last-smp4")
}

/// 6: AP 1 holds the console lock with interrupts off when cpu 0 panics: the panic output
/// still comes, and AP 1 needs the NMI.
fn console_lock() -> Vec<Case> {
    let console = |at: (u32, Flavour)| {
        panics_on(
            fault(
                Row::ConsoleLock,
                "s6-console-lock",
                at,
                NMI_VECTOR,
                "scenario=console-lock",
            ),
            0,
        )
        .require(&["stop report"])
        .field(Field::Nmi, 1)
    };
    let mut cases: Vec<Case> = AP_SMPS.map(|smp| console(pc(smp))).into();
    cases.push(console((2, Xapic)));
    quick(cases, "s6-console-lock-smp2")
}

/// 7: a panic inside the NMI handler (an NMI outside any stop) or the #PF handler, on `cpu=`.
fn handler_panic() -> Vec<Case> {
    let faulting = |scenario: &str, message: &str, at: (u32, Flavour), last: bool| {
        let (cpu, which) = if last { (at.0 - 1, "last") } else { (0, "0") };
        let message = message.replace("{cpu}", &cpu.to_string());
        let short = scenario.trim_start_matches("scenario=");
        let label = format!("s7-{short}-{}", if last { "last" } else { "cpu0" });
        panics_on(
            fault(
                Row::HandlerPanic,
                &label,
                at,
                "",
                &format!("{scenario} cpu={which}"),
            ),
            cpu,
        )
        .require(&[message])
    };
    let nmi = |at, last| {
        faulting(
            "scenario=nmi-panic",
            "unexpected NMI on cpu {cpu}",
            at,
            last,
        )
    };
    let pf = |at, last| {
        faulting(
            "scenario=page-fault",
            "exception page fault (#PF)",
            at,
            last,
        )
    };
    let mut cases: Vec<Case> = [1, 2, 4, 8].map(|smp| nmi(pc(smp), true)).into();
    cases.push(nmi(pc(2), false));
    cases.extend([1, 2, 4, 8].map(|smp| pf(pc(smp), true)));
    cases.push(pf(pc(4), false));
    let cases = quick(cases, "s7-nmi-panic-last-smp2");
    quick(cases, "s7-page-fault-last-smp2")
}

/// 8: AP 1 spins in its NMI handler: nothing reaches it but INIT. Without INIT parking it is
/// reported stuck; with it, parked.
fn nmi_blocked() -> Vec<Case> {
    let blocked = |at: (u32, Flavour), park: bool| {
        let (kernel, label) = if park {
            ("stop.init_park=on", "s8-nmi-blocked-park-on")
        } else {
            ("stop.init_park=off", "s8-nmi-blocked-park-off")
        };
        let case = panics_on(
            fault(Row::NmiBlocked, label, at, kernel, "scenario=nmi-blocked"),
            0,
        );
        if park {
            case.field(Field::Init, 1)
        } else {
            case.field(Field::Stuck, 1)
        }
    };
    let mut cases: Vec<Case> = [2, 4].map(|smp| blocked(pc(smp), false)).into();
    cases.extend([2, 4, 8].map(|smp| blocked(pc(smp), true)));
    cases.push(blocked((2, Xapic), true));
    let cases = quick(cases, "s8-nmi-blocked-park-off-smp2");
    quick(cases, "s8-nmi-blocked-park-on-smp2")
}

/// 9: AP 1 software-disabled its local APIC: the vector cannot reach it, the NMI can.
fn apic_off() -> Vec<Case> {
    let off = |at: (u32, Flavour)| {
        panics_on(
            fault(
                Row::ApicOff,
                "s9-apic-off",
                at,
                NMI_VECTOR,
                "scenario=apic-off",
            ),
            0,
        )
        .field(Field::Nmi, 1)
    };
    let mut cases: Vec<Case> = AP_SMPS.map(|smp| off(pc(smp))).into();
    cases.push(off((2, Xapic)));
    quick(cases, "s9-apic-off-smp2")
}

/// 10: the boot CPU panics right after the STARTUP IPIs: no NMI goes to a booting CPU. Every AP
/// is a target (`Booting` from before its STARTUP IPI, so the stopper waits for it): one still
/// booting stops itself when it comes online, one already `Running` takes the vector, given a
/// vector timeout long enough for a slow vCPU.
fn booting() -> Vec<Case> {
    let booting = |at: (u32, Flavour)| {
        panics_on(
            case(
                Row::Booting,
                "s10-booting",
                "faults",
                at,
                "inject.stop_during_bringup=1 stop.strategy=vector stop.vector_timeout_us=500000",
                "scenario=booting",
            ),
            0,
        )
        .require(&["stop requested during bring-up"])
        .field(Field::Nmi, 0)
    };
    let mut cases: Vec<Case> = AP_SMPS.map(|smp| booting(pc(smp))).into();
    cases.push(booting((4, Q35)));
    // AP 1 faults as its start-up work begins: its per-CPU block, IDT and local APIC are
    // already live, so the fault is reported and stops everyone (it was a silent triple fault).
    let ap_fault = |smp: u32| {
        panics_on(
            case(
                Row::Booting,
                "s10-ap-entry-fault",
                "faults",
                pc(smp),
                "inject.ap_entry_fault=1",
                "scenario=booting",
            ),
            1,
        )
        .require(&["exception invalid opcode (#UD)"])
    };
    cases.extend([2, 4].map(ap_fault));
    let cases = quick(cases, "s10-ap-entry-fault-smp2");
    quick(cases, "s10-booting-smp4")
}

/// 11: the app ends the run: reboot, power-off with a status, and hermit-abi's exit and abort.
fn app_exit() -> Vec<Case> {
    let reboot = |at: (u32, Flavour)| {
        fault(Row::AppExit, "s11-reboot", at, "", "scenario=reboot")
            .expect(Expect::NoStatus, BOOT_TIMEOUT)
            .require(&["faults: rebooting"])
            .field(Field::Stopper, 0)
    };
    let poweroff = |at: (u32, Flavour)| {
        fault(
            Row::AppExit,
            "s11-poweroff",
            at,
            "",
            &format!("scenario=poweroff status={APP_STATUS}"),
        )
        .expect(Expect::Status(APP_STATUS), BOOT_TIMEOUT)
    };
    let abi_hello = |at: (u32, Flavour)| {
        case(Row::AppExit, "s11-abi-hello", "abi-hello", at, "", "")
            .expect(Expect::Status(ABI_HELLO_STATUS), BOOT_TIMEOUT)
            .require(&["abi-hello:"])
    };
    // hermit-abi's abort and exit come from abi-hello's `abort` and `exit=S` arguments.
    let abort = |at: (u32, Flavour)| {
        case(Row::AppExit, "s11-abort", "abi-hello", at, "", "abort").require(&[
            "abi-hello: calling abort",
            "PANIC",
            "sys_abort",
        ])
    };
    let exit = |at: (u32, Flavour)| {
        case(
            Row::AppExit,
            "s11-exit",
            "abi-hello",
            at,
            "",
            &format!("exit={APP_STATUS}"),
        )
        .expect(Expect::Status(APP_STATUS), BOOT_TIMEOUT)
        .require(&["abi-hello:"])
    };
    vec![
        reboot(pc(1)),
        reboot(pc(4)).quick(),
        reboot((2, Q35)),
        poweroff(pc(1)).quick(),
        poweroff(pc(4)),
        poweroff((4, Q35)),
        abi_hello(pc(1)),
        abi_hello(pc(4)).quick(),
        abort(pc(1)).quick(),
        abort(pc(4)),
        exit(pc(1)).quick(),
        exit(pc(4)),
    ]
}

/// 12: a CPU recurses into its stack guard page: the #DF handler reports it and stops the rest.
fn stack_overflow() -> Vec<Case> {
    let overflow = |smp: u32, last: bool| {
        let (cpu, which, label) = if last {
            (smp - 1, "last", "s12-stack-overflow-last")
        } else {
            (0, "0", "s12-stack-overflow-cpu0")
        };
        panics_on(
            fault(
                Row::StackOverflow,
                label,
                pc(smp),
                "",
                &format!("scenario=stack-overflow cpu={which}"),
            ),
            cpu,
        )
        .require(&["double fault (#DF)"])
    };
    let mut cases: Vec<Case> = [1, 2, 4, 8].map(|smp| overflow(smp, true)).into();
    cases.push(overflow(2, false));
    // The NMI stack has its own guard page: an overflow in NMI context is caught there (without
    // it, it ran on through the kernel stack below and was caught at that one's guard).
    let nmi_overflow = |smp: u32| {
        panics_on(
            fault(
                Row::StackOverflow,
                "s12-nmi-stack-overflow-last",
                pc(smp),
                "",
                "scenario=nmi-stack-overflow",
            ),
            smp - 1,
        )
        .require(&["the NMI stack of this CPU overflowed into its guard page"])
    };
    cases.extend([2, 4].map(nmi_overflow));
    let cases = quick(cases, "s12-nmi-stack-overflow-last-smp2");
    quick(cases, "s12-stack-overflow-last-smp2")
}

/// Each fault scenario with the default timeouts and INIT policy (what a user gets) at 2 and 4
/// CPUs. Which paths stop the CPUs then depends on the host's timing, so only the outcome is
/// checked: a panic, `targets=n-1`, every CPU accounted (`stuck=0`), the post-stop check
/// passed. `--json` adds up the paths these cases took.
fn at_defaults() -> Vec<Case> {
    let mut cases = Vec::new();
    for (row, scenario) in AT_DEFAULTS {
        let label = format!(
            "{DEFAULTS_PREFIX}{}",
            scenario.replace('=', "").replace([' ', '_'], "-")
        );
        for smp in [2, 4] {
            let case = fault(row, &label, pc(smp), "", &format!("scenario={scenario}"));
            let append = format!("{DEFAULTS_ONLY} -- scenario={scenario}");
            cases.push(case.append(&append));
        }
    }
    quick(cases, "defaults-irqoff-k1-smp2")
}

/// Name prefix of the strategy cases.
pub const STRATEGY_PREFIX: &str = "strategy-";
/// What the info log says once the adaptive vector timeout is set.
const ADAPTIVE_LOG: &str = "adaptive vector timeout";

/// The scenarios of [`at_defaults`] under `stop.strategy=nmi` and `=adaptive` at 2 and 4 CPUs,
/// every timeout and the INIT policy at their defaults: a panic, `targets=n-1`, `stuck=0`, the
/// post-stop check passed. NMI-first sends no vector, so its path counts do not depend on
/// timing: `vector=0`, and every target the scenario leaves running (idle or interrupts-off)
/// stopped by NMI. Adaptive must have measured its timeout (the info line).
fn strategies() -> Vec<Case> {
    let mut cases = Vec::new();
    for strategy in ["nmi", "adaptive"] {
        for (row, scenario) in AT_DEFAULTS {
            let label = format!(
                "{STRATEGY_PREFIX}{strategy}-{}",
                scenario.replace('=', "").replace([' ', '_'], "-")
            );
            for smp in [2, 4] {
                let case = fault(row, &label, pc(smp), "", &format!("scenario={scenario}"));
                let append =
                    format!("{DEFAULTS_ONLY} stop.strategy={strategy} -- scenario={scenario}");
                let case = case.append(&append);
                cases.push(if strategy == "nmi" {
                    nmi_first_paths(case, scenario, u64::from(smp))
                } else {
                    case.require(&[ADAPTIVE_LOG])
                });
            }
        }
    }
    let cases = quick(cases, "strategy-nmi-irqoff-k1-smp2");
    let cases = quick(cases, "strategy-nmi-panic-cpu0-smp4");
    let cases = quick(cases, "strategy-nmi-concurrent-smp2");
    quick(cases, "strategy-adaptive-irqoff-k1-smp2")
}

/// NMI-first's path counts for `scenario` at `n` CPUs: no vector; every target stopped by NMI,
/// but for those that stop themselves (concurrent panics; one stopped by NMI before it panicked
/// counts as NMI) and one that spins in its NMI handler (parked by INIT: the default policy
/// under a hypervisor). At the default 10 ms NMI timeout a loaded host may not run a vCPU in
/// time (seen at 4 CPUs on 2 busy cores): INIT then parks it, so INIT counts with the NMIs.
fn nmi_first_paths(case: Case, scenario: &str, n: u64) -> Case {
    let case = case.forbid(&[ADAPTIVE_LOG]).field(Field::Vector, 0);
    let nmi_or_init = [Field::Nmi, Field::Init];
    match scenario {
        "concurrent" => case.check(Check::sum(
            &[Field::Nmi, Field::Init, Field::SelfStop],
            Cmp::Eq,
            n - 1,
        )),
        "nmi-blocked" => case
            .check(Check::at_least(Field::Init, 1))
            .check(Check::sum(&nmi_or_init, Cmp::Eq, n - 1)),
        _ => case.check(Check::sum(&nmi_or_init, Cmp::Eq, n - 1)),
    }
}

/// Every stop-path case, scenario by scenario.
pub fn all() -> Vec<Case> {
    [
        demo(),
        idle(),
        irqoff(),
        race(),
        concurrent(),
        panic_last(),
        console_lock(),
        handler_panic(),
        nmi_blocked(),
        apic_off(),
        booting(),
        app_exit(),
        stack_overflow(),
        at_defaults(),
        strategies(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every row of the matrix: the demo and the twelve scenarios.
    const ROWS: [Row; 13] = [
        Row::Demo,
        Row::Idle,
        Row::IrqOff,
        Row::Race,
        Row::Concurrent,
        Row::PanicCpu,
        Row::ConsoleLock,
        Row::HandlerPanic,
        Row::NmiBlocked,
        Row::ApicOff,
        Row::Booting,
        Row::AppExit,
        Row::StackOverflow,
    ];

    #[test]
    fn the_matrix_covers_every_scenario_at_several_cpu_counts() {
        let cases = all();
        assert!(cases.len() >= 40, "{} cases", cases.len());
        for row in ROWS {
            let smps: BTreeSet<u32> = cases
                .iter()
                .filter(|c| c.row == Some(row))
                .map(|c| c.smp)
                .collect();
            assert!(smps.len() >= 3, "{row:?} runs only at {smps:?}");
            assert!(
                smps.iter().all(|smp| SMPS.contains(smp)),
                "{row:?}: {smps:?}"
            );
        }
        let q35 = cases.iter().filter(|c| c.machine == Machine::Q35).count();
        let xapic = cases.iter().filter(|c| !c.x2apic).count();
        assert!(q35 >= 3 && xapic >= 3, "q35 {q35}, xapic {xapic}");
    }

    #[test]
    fn quick_has_every_scenario() {
        let cases = all();
        for row in ROWS {
            assert!(
                cases.iter().any(|c| c.row == Some(row) && c.quick),
                "--quick lacks {row:?}"
            );
        }
        let quick = cases.iter().filter(|c| c.quick).count();
        assert!(quick * 3 < cases.len(), "--quick is no subset: {quick}");
    }

    #[test]
    fn every_case_verifies_the_stop_and_pins_timing_dependent_counts() {
        for case in all() {
            let stop = case.stop.as_ref().expect("stop expectations");
            assert!(stop.heartbeat, "{}", case.name);
            let defaults =
                case.name.starts_with(DEFAULTS_PREFIX) || case.name.starts_with(STRATEGY_PREFIX);
            let verify = if defaults { DEFAULTS_ONLY } else { VERIFY };
            assert!(case.append.starts_with(verify), "{}", case.name);
            assert!(case.row.is_some(), "{}", case.name);
            // A bound on the vector or NMI count alone depends on how fast CPUs answer the
            // vector.
            let timing = stop
                .checks
                .iter()
                .any(|check| matches!(check.fields(), [Field::Vector] | [Field::Nmi]));
            // NMI-first sends no vector: its counts do not depend on a vector timeout.
            let nmi_first = case.append.contains("stop.strategy=nmi ");
            if timing && !nmi_first {
                assert!(!defaults, "{} pins a path count at the defaults", case.name);
                assert!(
                    case.append
                        .contains("stop.strategy=vector stop.vector_timeout_us="),
                    "{} depends on the vector timeout but does not set it (and the \
                     vector strategy)",
                    case.name
                );
            }
        }
    }

    #[test]
    fn default_timeout_cases_set_no_timeout_and_no_policy() {
        let defaults: Vec<Case> = all()
            .into_iter()
            .filter(|c| c.name.starts_with(DEFAULTS_PREFIX))
            .collect();
        assert_eq!(defaults.len(), 2 * AT_DEFAULTS.len());
        for case in &defaults {
            let kernel = case.append.split(" -- ").next().unwrap();
            assert_eq!(kernel, DEFAULTS_ONLY, "{}", case.name);
        }
    }

    #[test]
    fn strategy_cases_set_only_the_strategy_and_pin_nmi_first_paths() {
        let cases = all();
        let strategy: Vec<&Case> = cases
            .iter()
            .filter(|c| c.name.starts_with(STRATEGY_PREFIX))
            .collect();
        assert_eq!(strategy.len(), 2 * 2 * AT_DEFAULTS.len());
        for case in &strategy {
            let kernel = case.append.split(" -- ").next().unwrap();
            let nmi = case.name.starts_with("strategy-nmi-");
            let option = if nmi { "nmi" } else { "adaptive" };
            assert_eq!(
                kernel,
                format!("{DEFAULTS_ONLY} stop.strategy={option}"),
                "{}",
                case.name
            );
            let checks = &case.stop.as_ref().unwrap().checks;
            assert!(
                checks.contains(&Check::eq(Field::Stuck, 0)),
                "{}",
                case.name
            );
            assert_eq!(
                checks.contains(&Check::eq(Field::Vector, 0)),
                nmi,
                "{}",
                case.name
            );
        }
        let find = |name: &str| strategy.iter().find(|c| c.name == name).unwrap();
        let nmi_or_init = Check::sum(&[Field::Nmi, Field::Init], Cmp::Eq, 3);
        let checks = |name: &str| find(name).stop.clone().unwrap().checks;
        let irqoff = checks("strategy-nmi-irqoff-k1-smp4");
        assert!(irqoff.contains(&nmi_or_init), "{irqoff:?}");
        let blocked = checks("strategy-nmi-nmi-blocked-smp4");
        assert!(blocked.contains(&nmi_or_init), "{blocked:?}");
        assert!(
            blocked.contains(&Check::at_least(Field::Init, 1)),
            "{blocked:?}"
        );
        assert!(find("strategy-adaptive-panic-cpu0-smp2")
            .required
            .contains(&ADAPTIVE_LOG.to_string()));
    }

    #[test]
    fn scenario_cases_spell_out_the_contract() {
        let cases = all();
        let find = |name: &str| cases.iter().find(|c| c.name == name).unwrap();
        let irqoff = find("s2-irqoff-kall-smp8");
        assert_eq!(
            irqoff.append,
            "stop.verify_ms=10 stop.nmi_timeout_us=500000 stop.strategy=vector \
             stop.vector_timeout_us=200000 -- scenario=irqoff k=7"
        );
        let checks = &irqoff.stop.as_ref().unwrap().checks;
        for check in [
            Check::eq(Field::Nmi, 7),
            Check::eq(Field::Vector, 0),
            Check::eq(Field::Stuck, 0),
            Check::eq(Field::Targets, 7),
            Check::eq(Field::Stopper, 0),
        ] {
            assert!(checks.contains(&check), "{check} missing: {checks:?}");
        }
        let concurrent = find("s4-concurrent-smp3");
        for cpu in 0..3 {
            let message = format!("faults: concurrent panic on cpu {cpu}");
            assert!(concurrent.required.contains(&message), "{message}");
        }
        let parked = find("s8-nmi-blocked-park-off-smp4").stop.clone().unwrap();
        assert!(parked.checks.contains(&Check::eq(Field::Stuck, 1)));
        assert!(!parked.checks.contains(&Check::eq(Field::Stuck, 0)));
        assert_eq!(find("s11-reboot-smp1").expect, Expect::NoStatus);
        assert_eq!(
            find("s11-abi-hello-smp4").append,
            "stop.verify_ms=10 stop.nmi_timeout_us=500000"
        );
        assert!(!find("s9-apic-off-xapic-smp2").x2apic);
        let demo1 = find("demo-smp1").stop.clone().unwrap();
        assert!(demo1.checks.contains(&Check::eq(Field::Targets, 0)));
    }
}
