//! std-app cases, guarding that ordinary std programs (threads, locks, channels, panics) run
//! on the runtime: built for Hermit (soft-float) and linked with the runtime. Skipped, with the reason printed, where the nightly toolchain they need
//! is missing and cannot be installed.

use anyhow::Result;

use crate::build::std_app;
use crate::cases::crash::{CrashExpect, Running};
use crate::cases::summary::Field;
use crate::cases::table::{Case, Expect};
use crate::qemu::exit_status::PANIC;
use crate::qemu::Machine;

/// CPU counts std-sync runs with.
const SYNC_SMP: [u32; 4] = [1, 2, 3, 8];

/// Where std-panic's spinning thread is when the worker panics: in its spin loop, on its own
/// stack, which the stop report must walk down to the runtime's thread entry.
const STD_SPINNER: Running = Running {
    function: "std_panic::spin",
    bottom: "allstop::sched::thread::thread_main",
};

/// The std-app cases: std-hello and std-panic at 4 CPUs and std-sync at 4 in the quick subset,
/// std-sync at 1, 2, 3 and 8 CPUs in the full run.
pub fn all() -> Vec<Case> {
    let sync = |smp: u32| {
        Case::new(&format!("std-sync-smp{smp}"), "std-sync")
            .on(Machine::Q35, smp)
            .require(&[format!("std-sync: {smp} CPUs"), "std-sync: ok".to_string()])
            .field(Field::Stuck, 0)
    };
    let mut cases = vec![
        Case::new("std-hello-smp4", "std-hello")
            .on(Machine::Q35, 4)
            .require(&[
                "std-hello: 4 CPUs",
                "std-hello: total 500000500000 (expected 500000500000)",
                "std-hello: done",
            ])
            .field(Field::Stuck, 0)
            .quick(),
        std_panic_smp4(),
        sync(4).quick(),
        // Every thread asks for a stack no allocation can have: spawning must fail cleanly (std
        // then panics its own way), not overflow the runtime's size arithmetic.
        Case::new("hostile-std-spawn-huge-stack-smp2", "std-hello")
            .on(Machine::Q35, 2)
            .append("-- env:RUST_MIN_STACK=18446744073709551000")
            .expect(Expect::Status(PANIC), crate::cases::table::BOOT_TIMEOUT)
            .require(&["failed to spawn thread", "sys_abort called"])
            .forbid_only(&["overflow", "std-hello: done"])
            .field(Field::Targets, 1)
            .field(Field::Stuck, 0),
    ];
    cases.extend(SYNC_SMP.map(sync));
    cases
}

/// std-panic at 4 CPUs: the worker's panic stops the others (the thread holding the lock, a
/// waiter, the spinner), and the spinner's CPU shows the spinning thread's frames. The NMIs get
/// half a second, as in the fault matrix: what is checked is the report's content, and on a
/// loaded 2-core host a vCPU can take its stop NMI after the default 10 ms (seen: 2–6 ms on a
/// quiet host, beyond 10 ms during `test --full`), and an INIT-parked CPU has no context.
fn std_panic_smp4() -> Case {
    let mut case = Case::new("std-panic-smp4", "std-panic")
        .on(Machine::Q35, 4)
        .append("stop.nmi_timeout_us=500000")
        .expect(Expect::Status(PANIC), crate::cases::table::BOOT_TIMEOUT)
        .require(&[
            "std-panic: holder has the lock and sleeps",
            "panicked at apps/std-panic/src/main.rs",
            "std-panic: worker gives up",
            "PANIC on cpu",
            "sys_abort called",
        ])
        .forbid_only(&["std-panic: FAILED", "inside the panic path"])
        .field(Field::Targets, 3)
        .field(Field::Stuck, 0)
        .quick();
    case.crash = Some(CrashExpect {
        running: Some(STD_SPINNER),
        ..CrashExpect::default()
    });
    case
}

/// Drops the cases that boot std apps when std apps cannot be built here, saying why.
pub fn drop_unbuildable(cases: &mut Vec<Case>) -> Result<()> {
    let apps: Vec<&str> = cases.iter().map(|c| c.app).collect();
    let (std_apps, _) = std_app::partition(&apps)?;
    if std_apps.is_empty() {
        return Ok(());
    }
    if let Some(why) = std_app::toolchain_missing() {
        let before = cases.len();
        cases.retain(|c| !std_apps.contains(&c.app));
        println!("skipped {} std-app case(s): {why}", before - cases.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_std_case_boots_a_std_app_with_a_unique_name() {
        let cases = all();
        let (std_apps, kernel_apps) =
            std_app::partition(&cases.iter().map(|c| c.app).collect::<Vec<_>>()).unwrap();
        assert!(kernel_apps.is_empty(), "{kernel_apps:?}");
        assert_eq!(std_apps.len(), cases.len());
        let mut names: Vec<_> = cases.iter().map(|c| c.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), cases.len());
    }
}
