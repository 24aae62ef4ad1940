//! Warm-restart cases, guarding that a panic restarts the app in place: the crash-loop guard
//! (which also checks that each run knows where the other CPUs were at the last crash, and that
//! every panic's kept report comes out after it, by an AP or, alone, by the boot CPU), the ways
//! a restart gives up (each prints the kept report before it says why), and soaks of many restarts in one VM, each run checked by the crashloop app (restart count, last
//! crash, heap bytes, `.data`/`.bss` globals) and by the runtime's post-stop check.

use std::time::Duration;

use crate::cases::places::PlacesExpect;
use crate::cases::table::{Case, Expect};
use crate::qemu::exit_status::{CRASH_LOOP, RESTART_IMPOSSIBLE, SUCCESS};
use crate::qemu::Machine;

/// Where the crashloop's CPUs other than the victim wait for the stop: the places it prints
/// after a restart must be there (or on the first instruction of the heartbeat or the wait for
/// an interrupt that it calls).
const CRASHLOOP_PLACES: PlacesExpect = PlacesExpect {
    prefix: "crashloop: ",
    function: "crashloop::wait_for_stop",
    callees: &[
        "allstop::smp::beat",
        "allstop::arch::x86_64::cpu::irq::wait",
    ],
};

/// A soak of `cycles` warm restarts at `smp` CPUs; `limit` bounds the whole run.
fn soak(cycles: u32, smp: u32, limit: Duration) -> Case {
    Case::new(&format!("restart-soak-{cycles}-smp{smp}"), "crashloop")
        .on(Machine::Q35, smp)
        .append(&format!(
            "panic=restart restart.max=1000000 log=warn stop.verify_ms=1 -- cycles={cycles}"
        ))
        .expect(Expect::Status(SUCCESS), limit)
        .require(&[format!("crashloop: soak passed: {cycles} warm restarts")])
        .forbid_only(&["FAILED", "restart: impossible"])
        .kept_reports()
}

/// The warm-restart cases: the guard and the 1,000-restart soak in every run, the 10,000-restart
/// soak only with `--soak`.
pub fn all() -> Vec<Case> {
    vec![
        Case::new("restart-crash-loop-guard-smp4", "crashloop")
            .on(Machine::Q35, 4)
            // A window far longer than 6 restarts take even on a loaded host.
            .append("panic=restart restart.window_ms=60000")
            .expect(Expect::Status(CRASH_LOOP), Duration::from_secs(60))
            .require(&[
                "crashloop: run #5",
                "restart: crash loop: 6 restarts within 60000 ms",
            ])
            .forbid_only(&["FAILED", "restart: impossible"])
            .places(CRASHLOOP_PLACES)
            .kept_reports()
            .quick(),
        // One CPU: no AP to print the kept report while the app runs, so the boot CPU prints
        // it before `main`.
        Case::new("restart-kept-report-alone-smp1", "crashloop")
            .on(Machine::Pc, 1)
            .append("panic=restart restart.max=2 restart.window_ms=60000")
            .expect(Expect::Status(CRASH_LOOP), Duration::from_secs(60))
            .require(&[
                "crashloop: run #2",
                "restart: crash loop: 3 restarts within 60000 ms",
            ])
            .forbid_only(&["FAILED", "restart: impossible"])
            .kept_reports()
            .quick(),
        // The boot CPU stops itself inside an NMI handler (NMIs blocked, reported stopped)
        // while AP 1 runs the stop: the revive NMI cannot reach it, and the restart must say
        // so within its bound instead of hanging.
        Case::new("restart-boot-cpu-nmi-blocked-smp2", "faults")
            .on(Machine::Pc, 2)
            .append(
                "panic=restart stop.strategy=vector stop.vector_timeout_us=500000 \
                 -- scenario=boot-nmi-panic",
            )
            .expect(Expect::Status(RESTART_IMPOSSIBLE), Duration::from_secs(60))
            .require(&[
                "stop-summary: stopper=1 targets=1 vector=0 nmi=0 self=1",
                "restart: impossible: cpu 0 did not take the restart NMI within 1000 ms",
            ])
            // Both CPUs panic on purpose.
            .forbid_only(&["inside the panic path"])
            .kept_reports()
            .quick(),
        // AP 1 spins with NMIs blocked (reported stuck) and INIT parking is off, as on bare
        // metal: the warm restart must not run over it; it resets the machine instead.
        Case::new("restart-stuck-ap-init-park-off-smp2", "faults")
            .on(Machine::Pc, 2)
            .append("panic=restart stop.init_park=off -- scenario=nmi-blocked")
            .expect(Expect::NoStatus, Duration::from_secs(60))
            .require(&[
                "stop-summary: stopper=0 targets=1 vector=0 nmi=0 self=0 init=0 stuck=1",
                "restart: 1 AP(s) not confirmed stopped, and stop.init_park is off",
            ])
            .forbid_only(&["inside the panic path", "crashloop"])
            .kept_reports()
            .quick(),
        // Parking expects one acknowledgement too many, as if one AP's INIT never landed: the
        // restart must not restore memory; it resets the machine, saying why.
        Case::new("restart-park-unproven-smp2", "crashloop")
            .on(Machine::Pc, 2)
            .append("panic=restart inject.park_missing_ack=1")
            .expect(Expect::NoStatus, Duration::from_secs(60))
            .require(&[
                "restart: only 1 of 2 APs proved parked by INIT within 1010 ms",
                wire::exit::RESET,
            ])
            .forbid_only(&["inside the panic path", "crashloop: run #1"])
            .kept_reports()
            .quick(),
        // The AP writing the kept report's contexts after each restart stops in the middle of
        // the second one (it stalls there on purpose, interrupts off): the next panic's stop
        // must write them from where they were cut, and the power-off the last report's. Every
        // report must come out whole, each stopped CPU's context in it once.
        Case::new("restart-kept-contexts-cut-smp4", "bench")
            .on(Machine::Q35, 4)
            .append("panic=restart restart.max=3 inject.stall_kept_contexts=1 -- restarts=3")
            .expect(Expect::Status(SUCCESS), Duration::from_secs(60))
            .require(&[
                "bench: restarts_done n=3",
                // The printer (the first AP) in the next report: stopped where it stalled, the
                // only place an AP of this app waits with interrupts off.
                "cpu 1 was interrupted (interrupts off):",
            ])
            .forbid_only(&["FAILED", "restart: impossible"])
            .kept_reports()
            .quick(),
        soak(1_000, 2, Duration::from_secs(300)).quick(),
        soak(1_000, 4, Duration::from_secs(600)),
        soak(10_000, 4, Duration::from_secs(1800)).soak(),
    ]
}
