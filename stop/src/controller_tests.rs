//! Single-threaded unit tests of every transition of the controller, legal and illegal.
//! Multi-CPU behaviour is tested by the host simulation (`tests/`) and the loom models.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::*;

/// Unwind payload standing for "this CPU halted for good".
struct Halted;

/// A platform that records IPIs and whose clock advances 1 µs per read.
#[derive(Default)]
struct Mock {
    clock: AtomicU64,
    vectors: AtomicUsize,
    nmis: Mutex<Vec<u32>>,
    inits: Mutex<Vec<u32>>,
    stores: AtomicUsize,
}

impl Platform for Mock {
    fn send_stop_vector(&self) -> Result<(), IpiFailed> {
        self.vectors.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn send_nmi(&self, apic_id: ApicId) -> Result<(), IpiFailed> {
        self.nmis.lock().unwrap().push(apic_id.get());
        Ok(())
    }
    fn send_init(&self, apic_id: ApicId) -> Result<(), IpiFailed> {
        self.inits.lock().unwrap().push(apic_id.get());
        Ok(())
    }
    fn now_ns(&self) -> u64 {
        self.clock.fetch_add(1_000, Ordering::SeqCst)
    }
    fn relax(&self) {}
    fn on_cpu_store(&self, _cpu: usize) {
        self.stores.fetch_add(1, Ordering::SeqCst);
    }
    fn halt(&self) -> ! {
        resume_unwind(Box::new(Halted))
    }
}

type Controller = StopController<Mock, [CpuRecord; 4]>;

/// Runs `f`, which must halt the CPU (diverge).
fn expect_halt(f: impl FnOnce()) {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the CPU should have halted");
    assert!(payload.is::<Halted>(), "halted by something else");
}

/// A controller with `n` CPUs (APIC IDs 10, 11, ...) all `Running`, and fast timeouts.
fn running(n: usize) -> Controller {
    let c = Controller::new(Mock::default());
    c.config().set_vector_timeout(Duration::from_micros(5));
    c.config().set_nmi_timeout(Duration::from_micros(5));
    for i in 0..n {
        assert_eq!(
            c.register_cpu(ApicId::new(10 + i as u32)),
            Ok(CpuIndex::new(i))
        );
        c.boot_cpu(CpuIndex::new(i)).unwrap();
        c.online_cpu(CpuIndex::new(i)).unwrap();
    }
    c
}

/// CPU 0 becomes the stopper by stopping with no targets yet answering; returns its report's
/// summary.
fn stop_from_0(c: &Controller) -> StopSummary {
    c.stop_others(CpuIndex::new(0), StopReason::Request)
        .unwrap()
        .summary()
}

#[test]
fn boot_path_moves_offline_booting_running() {
    let c = Controller::new(Mock::default());
    let cpu = c.register_cpu(ApicId::new(7)).unwrap();
    assert_eq!(c.cpu_state(cpu), Some(CpuState::Offline));
    c.boot_cpu(cpu).unwrap();
    assert_eq!(c.cpu_state(cpu), Some(CpuState::Booting));
    c.online_cpu(cpu).unwrap();
    assert_eq!(c.cpu_state(cpu), Some(CpuState::Running));
    assert_eq!(c.apic_id(cpu), Some(ApicId::new(7)));
}

#[test]
fn illegal_boot_steps_are_rejected() {
    let c = Controller::new(Mock::default());
    let cpu = c.register_cpu(ApicId::new(0)).unwrap();
    let not_in = |expected, actual| Err(TransitionError::NotIn { expected, actual });
    assert_eq!(
        c.online_cpu(cpu),
        not_in(CpuState::Booting, CpuState::Offline)
    );
    c.boot_cpu(cpu).unwrap();
    assert_eq!(
        c.boot_cpu(cpu),
        not_in(CpuState::Offline, CpuState::Booting)
    );
    c.online_cpu(cpu).unwrap();
    assert_eq!(
        c.online_cpu(cpu),
        not_in(CpuState::Booting, CpuState::Running)
    );
    assert_eq!(
        c.boot_cpu(cpu),
        not_in(CpuState::Offline, CpuState::Running)
    );
    assert_eq!(
        c.boot_cpu(CpuIndex::new(3)),
        Err(TransitionError::NoSuchCpu(3))
    );
    assert_eq!(c.cpu_state(cpu), Some(CpuState::Running));
}

#[test]
fn registration_is_bounded_by_capacity() {
    let c = Controller::new(Mock::default());
    for i in 0..4 {
        assert_eq!(
            c.register_cpu(ApicId::new(1000 + i)),
            Ok(CpuIndex::new(i as usize)),
            "sparse wide IDs are fine"
        );
    }
    assert_eq!(
        c.register_cpu(ApicId::new(9)),
        Err(CpusFull { capacity: 4 })
    );
    assert_eq!(c.cpu_count(), 4);
}

#[test]
fn hook_table_is_bounded() {
    let c = Controller::new(Mock::default());
    for _ in 0..MAX_STOP_HOOKS {
        c.register_stop_hook(|_| {}).unwrap();
    }
    assert_eq!(c.register_stop_hook(|_| {}), Err(HooksFull));
}

#[test]
fn signals_without_a_stop_are_spurious_and_return() {
    let c = running(2);
    c.on_stop_vector(CpuIndex::new(1));
    c.on_nmi(CpuIndex::new(1));
    c.on_nmi(CpuIndex::new(99));
    assert_eq!(c.cpu_state(CpuIndex::new(1)), Some(CpuState::Running));
    assert!(!c.stop_pending());
}

#[test]
fn stopper_ignores_signals_aimed_at_itself() {
    let c = running(1);
    stop_from_0(&c);
    c.on_stop_vector(CpuIndex::new(0));
    c.on_nmi(CpuIndex::new(0));
    assert_eq!(c.cpu_state(CpuIndex::new(0)), Some(CpuState::Running));
}

#[test]
fn vector_stops_a_running_cpu_and_runs_hooks_once() {
    static HOOK_RUNS: AtomicUsize = AtomicUsize::new(0);
    let c = running(2);
    c.register_stop_hook(|cpu| {
        assert_eq!(cpu, 1);
        HOOK_RUNS.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    stop_from_0(&c);
    expect_halt(|| c.on_stop_vector(CpuIndex::new(1)));
    assert_eq!(c.cpu_state(CpuIndex::new(1)), Some(CpuState::Halted));
    assert_eq!(HOOK_RUNS.load(Ordering::SeqCst), 1);
    // A second vector (double delivery) only halts again: no hook re-run, path unchanged.
    expect_halt(|| c.on_stop_vector(CpuIndex::new(1)));
    assert_eq!(HOOK_RUNS.load(Ordering::SeqCst), 1);
    let row = c.records()[1].word();
    assert_eq!(row.path(), Some(StopPath::Vector));
}

#[test]
fn nmi_on_a_running_cpu_stops_it_and_accounts() {
    let c = running(2);
    stop_from_0(&c);
    c.records()[1].nmi_sent.store(1, Ordering::SeqCst);
    expect_halt(|| c.on_nmi(CpuIndex::new(1)));
    let r = &c.records()[1];
    assert_eq!(r.word().state(), CpuState::Halted);
    assert_eq!(r.word().path(), Some(StopPath::Nmi));
    assert!(r.finished());
}

#[test]
fn nmi_after_the_vector_keeps_the_vector_path() {
    let c = running(2);
    stop_from_0(&c);
    expect_halt(|| c.on_stop_vector(CpuIndex::new(1)));
    c.records()[1].nmi_sent.store(1, Ordering::SeqCst);
    assert!(
        !c.records()[1].finished(),
        "an NMI in flight is not finished"
    );
    expect_halt(|| c.on_nmi(CpuIndex::new(1)));
    let r = &c.records()[1];
    assert_eq!(r.word().path(), Some(StopPath::Vector), "I5: counted once");
    assert!(r.finished());
    // A stray NMI now finds nothing owed and stores nothing (I1).
    let stores = c.platform().stores.load(Ordering::SeqCst);
    let before = c.snapshot(CpuIndex::new(1)).unwrap();
    expect_halt(|| c.on_nmi(CpuIndex::new(1)));
    assert_eq!(c.platform().stores.load(Ordering::SeqCst), stores);
    assert_eq!(c.snapshot(CpuIndex::new(1)), Some(before));
    // While a late NMI that still owes its accounting does change the record.
    c.records()[1].nmi_sent.store(2, Ordering::SeqCst);
    expect_halt(|| c.on_nmi(CpuIndex::new(1)));
    assert_ne!(c.snapshot(CpuIndex::new(1)), Some(before));
}

#[test]
fn nmi_finishes_a_cpu_interrupted_mid_stop() {
    static HOOK_RUNS: AtomicUsize = AtomicUsize::new(0);
    let c = running(2);
    c.register_stop_hook(|_| {
        HOOK_RUNS.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    stop_from_0(&c);
    // The vector handler got as far as Acked, then the NMI landed.
    let r = &c.records()[1];
    r.transition(CpuState::Running, CpuState::Acked, Some(StopPath::Vector))
        .unwrap();
    r.nmi_sent.store(1, Ordering::SeqCst);
    expect_halt(|| c.on_nmi(CpuIndex::new(1)));
    assert_eq!(r.word().state(), CpuState::Halted);
    assert_eq!(r.word().path(), Some(StopPath::Vector));
    assert_eq!(
        HOOK_RUNS.load(Ordering::SeqCst),
        1,
        "hooks re-run for the interrupted stop"
    );
    assert!(r.finished());
}

#[test]
fn nmi_to_a_booting_cpu_is_not_a_stop_nmi() {
    let c = running(1);
    let cpu = c.register_cpu(ApicId::new(11)).unwrap();
    c.boot_cpu(cpu).unwrap();
    stop_from_0(&c);
    c.on_nmi(cpu);
    assert_eq!(c.cpu_state(cpu), Some(CpuState::Booting));
}

#[test]
fn booting_cpu_that_sees_a_stop_stops_itself_on_online() {
    let c = running(1);
    let cpu = c.register_cpu(ApicId::new(11)).unwrap();
    c.boot_cpu(cpu).unwrap();
    stop_from_0(&c);
    expect_halt(|| {
        let _ = c.online_cpu(cpu);
    });
    let r = &c.records()[cpu.get()];
    assert_eq!(r.word().state(), CpuState::Halted);
    assert_eq!(r.word().path(), Some(StopPath::SelfStop));
}

#[test]
fn offline_cpu_that_boots_during_a_stop_halts_without_a_store() {
    let c = running(1);
    let cpu = c.register_cpu(ApicId::new(11)).unwrap();
    stop_from_0(&c);
    expect_halt(|| {
        let _ = c.boot_cpu(cpu);
    });
    assert_eq!(c.cpu_state(cpu), Some(CpuState::Offline));
}

#[test]
fn losing_the_election_records_the_message_and_self_stops() {
    let c = running(2);
    stop_from_0(&c);
    let message = "cpu 1 lost";
    expect_halt(|| {
        let _ = c.stop_others(CpuIndex::new(1), StopReason::Panic(&message));
    });
    let r = &c.records()[1];
    assert_eq!(r.word().path(), Some(StopPath::SelfStop));
    assert_eq!(r.panic.load().as_str(), "cpu 1 lost");
    assert_eq!(
        c.stop_others(CpuIndex::new(0), StopReason::Request).err(),
        Some(StopError::Reentered)
    );
    assert_eq!(
        c.stop_others(CpuIndex::new(9), StopReason::Request).err(),
        Some(StopError::NoSuchCpu(9))
    );
}

#[test]
fn unanswering_cpus_get_one_nmi_and_are_reported_stuck() {
    let c = running(3);
    let report = c.stop_others(CpuIndex::new(0), StopReason::Reboot).unwrap();
    assert_eq!(c.platform().vectors.load(Ordering::SeqCst), 1);
    assert_eq!(*c.platform().nmis.lock().unwrap(), [11, 12]);
    assert!(c.platform().inits.lock().unwrap().is_empty());
    let s = report.summary();
    assert_eq!((s.targets, s.stuck, s.vector, s.nmi), (2, 2, 0, 0));
    assert!(report
        .cpus()
        .skip(1)
        .all(|cpu| cpu.stuck() && cpu.nmis == 1));
}

/// NMI-first: no stop vector and no vector wait (a vector timeout of a second would show in
/// the total); every `Running` target gets its NMI at once, a `Booting` one none (I4).
#[test]
fn nmi_first_sends_no_vector_and_nmis_every_running_target() {
    let c = running(3);
    c.config().set_strategy(StopStrategy::NmiFirst);
    c.config().set_vector_timeout(Duration::from_secs(1));
    let booting = c.register_cpu(ApicId::new(13)).unwrap();
    c.boot_cpu(booting).unwrap();
    let report = c
        .stop_others(CpuIndex::new(0), StopReason::Request)
        .unwrap();
    assert_eq!(c.platform().vectors.load(Ordering::SeqCst), 0);
    assert_eq!(*c.platform().nmis.lock().unwrap(), [11, 12]);
    let tally = report.tally();
    assert_eq!((tally.targets, tally.nmis_sent), (3, 2));
    assert!(tally.total_ns < 1_000_000, "waited {} ns", tally.total_ns);
    // The same stop under `Vector` waits the vector timeout first.
    let c = running(2);
    c.config().set_vector_timeout(Duration::from_millis(1));
    let report = c
        .stop_others(CpuIndex::new(0), StopReason::Request)
        .unwrap();
    assert_eq!(c.platform().vectors.load(Ordering::SeqCst), 1);
    assert!(report.tally().total_ns >= 1_000_000);
}

#[test]
fn init_park_policy_parks_stragglers() {
    let c = running(2);
    c.config().set_init_park(InitPark::On);
    let report = c
        .stop_others(CpuIndex::new(0), StopReason::PowerOff)
        .unwrap();
    assert_eq!(*c.platform().inits.lock().unwrap(), [11]);
    let s = report.summary();
    assert_eq!((s.init, s.stuck), (1, 0));
    let row = report.cpus().nth(1).unwrap();
    assert_eq!(
        (row.path, row.verdict),
        (Some(StopPath::Init), Verdict::Parked)
    );
}

#[test]
fn booting_and_acked_targets_are_never_nmied() {
    let c = running(2);
    let booting = c.register_cpu(ApicId::new(12)).unwrap();
    c.boot_cpu(booting).unwrap();
    c.records()[1]
        .transition(CpuState::Running, CpuState::Acked, Some(StopPath::SelfStop))
        .unwrap();
    let report = c
        .stop_others(CpuIndex::new(0), StopReason::Request)
        .unwrap();
    assert!(c.platform().nmis.lock().unwrap().is_empty(), "I4");
    assert_eq!(report.summary().stuck, 2);
}

#[test]
fn offline_cpus_are_not_targets() {
    let c = running(1);
    c.register_cpu(ApicId::new(11)).unwrap();
    let report = c.stop_others(CpuIndex::new(0), StopReason::Halt).unwrap();
    assert_eq!(report.tally().targets, 0);
    assert_eq!(
        c.platform().vectors.load(Ordering::SeqCst),
        0,
        "no one to signal"
    );
    assert_eq!(report.cpus().nth(1).unwrap().verdict, Verdict::NotTarget);
}

#[test]
fn report_prints_an_aligned_table_and_the_summary_line() {
    let c = running(3);
    let report = c
        .stop_others(CpuIndex::new(0), StopReason::Request)
        .unwrap();
    let table = report.to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("stop report: stopper cpu 0, reason request, 2 targets"));
    assert_eq!(lines.len(), 2 + 3);
    let header_width = lines[1].find("panic message").unwrap();
    for row in &lines[2..] {
        assert!(row.len() >= header_width, "{row:?}");
        assert_eq!(&row[header_width - 2..header_width], "  ", "{row:?}");
    }
    assert!(lines[2].contains("stopper"));
    assert!(lines[3].contains("STUCK"));
    let want = StopSummary {
        stopper: 0,
        targets: 2,
        stuck: 2,
        total_us: report.tally().total_ns / 1000,
        ..StopSummary::default()
    };
    assert_eq!(report.summary(), want);
}

#[test]
fn rearm_needs_the_stopper_and_starts_a_clean_round() {
    let c = running(3);
    assert_eq!(
        c.rearm(CpuIndex::new(0)),
        Err(StopError::NotStopper),
        "no stop yet"
    );
    let first = stop_from_0(&c);
    assert_eq!(first.targets, 2);
    assert_eq!(c.rearm(CpuIndex::new(1)), Err(StopError::NotStopper));
    c.rearm(CpuIndex::new(0)).unwrap();
    assert!(!c.stop_pending());
    assert_eq!(c.stopper(), None);
    assert_eq!(c.cpu_state(CpuIndex::new(0)), Some(CpuState::Running));
    for cpu in 1..3 {
        assert_eq!(c.cpu_state(CpuIndex::new(cpu)), Some(CpuState::Offline));
        assert_eq!(
            c.apic_id(CpuIndex::new(cpu)),
            Some(ApicId::new(10 + cpu as u32))
        );
        c.boot_cpu(CpuIndex::new(cpu)).unwrap();
        c.online_cpu(CpuIndex::new(cpu)).unwrap();
    }
    // A second round: CPU 1 now stops the others, and the report holds no trace of round one.
    let report = c
        .stop_others(CpuIndex::new(1), StopReason::Request)
        .unwrap();
    assert_eq!(report.tally().targets, 2);
    assert!(report
        .cpus()
        .all(|r| r.nmis <= 1 && r.panic_message.is_empty()));
}

#[test]
fn init_parking_never_targets_the_boot_cpu() {
    let c = running(3);
    c.config().set_init_park(InitPark::On);
    // CPU 2 stops the others; neither CPU 0 nor CPU 1 answers.
    let summary = c
        .stop_others(CpuIndex::new(2), StopReason::Request)
        .unwrap()
        .summary();
    assert_eq!((summary.init, summary.stuck), (1, 1));
    assert_eq!(
        *c.platform().inits.lock().unwrap(),
        vec![11],
        "only CPU 1 (APIC 11) is parked"
    );
}

#[test]
fn an_nmi_belongs_to_the_stop_until_the_target_has_accounted_for_it() {
    let c = running(3);
    assert!(!c.nmi_is_for_stop(CpuIndex::new(1)), "no stop under way");
    stop_from_0(&c);
    assert!(
        !c.nmi_is_for_stop(CpuIndex::new(0)),
        "the stopper's own NMI is not a stop NMI"
    );
    assert!(
        c.nmi_is_for_stop(CpuIndex::new(1)),
        "a running target owes the stop"
    );
    expect_halt(|| c.on_nmi(CpuIndex::new(1)));
    assert_eq!(c.cpu_state(CpuIndex::new(1)), Some(CpuState::Halted));
    assert!(
        !c.nmi_is_for_stop(CpuIndex::new(1)),
        "a halted target whose NMIs are all accounted for owes nothing"
    );
    assert!(
        c.nmi_is_for_stop(CpuIndex::new(2)),
        "the other target still owes its NMI"
    );
}

#[test]
fn a_started_cpu_is_a_target_from_its_start_up_ipi_and_stops_on_arrival() {
    let c = running(2);
    let ap = c.register_cpu(ApicId::new(12)).unwrap();
    assert_eq!(c.start_cpu(ap), Ok(true), "no stop under way: start it");
    assert_eq!(c.cpu_state(ap), Some(CpuState::Booting));
    assert_eq!(
        c.start_cpu(ap),
        Err(TransitionError::NotIn {
            expected: CpuState::Offline,
            actual: CpuState::Booting
        })
    );
    let summary = stop_from_0(&c);
    assert_eq!(summary.targets, 2, "the started CPU is a target: {summary}");
    assert_eq!(
        c.platform().nmis.lock().unwrap().as_slice(),
        &[11],
        "never NMI'd"
    );
    expect_halt(|| c.arrive(ap).unwrap());
    assert_eq!(c.cpu_state(ap), Some(CpuState::Halted));
    assert!(c.cpu_finished(ap));
}

#[test]
fn no_cpu_is_started_once_a_stop_is_under_way() {
    let c = running(1);
    let ap = c.register_cpu(ApicId::new(12)).unwrap();
    stop_from_0(&c);
    assert_eq!(c.start_cpu(ap), Ok(false));
    assert_eq!(
        c.arrive(CpuIndex::new(0)),
        Err(TransitionError::NotIn {
            expected: CpuState::Booting,
            actual: CpuState::Running
        })
    );
}

#[test]
fn a_late_boot_cpu_gets_the_grace_and_no_other_cpu_does() {
    let total_us = |grace: Duration, stopper: usize| {
        let c = running(2);
        c.config().set_boot_cpu_grace(grace);
        let summary = c
            .stop_others(CpuIndex::new(stopper), StopReason::Request)
            .unwrap()
            .summary();
        assert_eq!(summary.stuck, 1, "{summary}");
        summary.total_us
    };
    let plain = total_us(Duration::ZERO, 1);
    let graced = total_us(Duration::from_millis(1), 1);
    assert!(
        graced >= plain + 1_000,
        "the boot CPU as target: {plain} us without grace, {graced} us with 1 ms"
    );
    let ap_target = total_us(Duration::from_millis(1), 0);
    assert!(
        ap_target < plain + 1_000,
        "an AP target gets no grace: {ap_target} us"
    );
}

#[test]
fn a_report_kept_as_words_prints_the_same_table_and_summary() {
    let c = running(4);
    c.config().set_init_park(InitPark::On);
    let report = c.stop_others(CpuIndex::new(0), StopReason::Reboot).unwrap();
    let rows: Vec<[u64; ROW_WORDS]> = report.cpus().map(|cpu| cpu.to_words()).collect();
    for grouped in [false, true] {
        let kept = TableWords::new(report.heading_words(), rows.len(), |i| rows[i], grouped);
        let want = match grouped {
            false => report.to_string(),
            true => report.grouped().to_string(),
        };
        assert_eq!(kept.to_string(), want);
        assert!(want.contains("reason reboot"), "{want}");
        assert_eq!(kept.summary(), report.summary());
    }
    // One row fewer is a different table: the words are what is printed.
    let short = TableWords::new(report.heading_words(), rows.len() - 1, |i| rows[i], false);
    assert_ne!(short.to_string(), report.to_string());
}
