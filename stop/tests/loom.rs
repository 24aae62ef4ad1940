//! loom models of the stop protocol core (run by `cargo xtask loom`; the crate docs list them):
//! 2–3 CPUs as loom threads, exhaustive over every schedule within `LOOM_MAX_PREEMPTIONS`.
//!
//! Interrupts are modelled at store granularity: a pending NMI lands at every CPU-side store
//! (`Platform::on_cpu_store`) and in the CPU's idle loop; the stop vector lands in the idle loop
//! while interrupts are on. `halt` unwinds to the thread's top, which then keeps taking NMIs
//! (unless blocked inside the never-returning NMI handler) until the stop has returned — and
//! once more after, so an NMI still in flight then is caught. The clock ticks once per read, so
//! timeouts expire in every position relative to the CPUs' progress.
//!
//! I1 ("no CPU reported stopped enters a stop handler or makes a store after the report") is
//! asserted before every CPU-side store and at every NMI and stop-vector entry; I4 at every NMI
//! send; I2 and I5 after each execution. Negative controls run broken protocols
//! ([`LoomVariant`]) and must be caught: Linux as it is (its completion rule, no accounting
//! store) and Linux's rule with the accounting store kept violate I1 (under NMI-first too);
//! without the accounting store no NMI-stopped CPU is ever reported stopped. The NMI-first
//! models (`StopStrategy::NmiFirst`: no vector, NMIs at once) reuse the vector models'
//! machines: a late-interrupts target, the election, and a `Booting` target.
//!
//! Loom's limits: it is exhaustive only up to the preemption bound, and it models `SeqCst`
//! accesses as `AcqRel` (fences are `SeqCst`), so a bug that needs a total order of plain
//! `SeqCst` accesses could hide from it.
#![cfg(loom)]

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use loom::sync::atomic::{AtomicBool, AtomicU64};
use loom::thread;
use std::sync::Arc;
use stop::{
    ApicId, CpuIndex, CpuRecord, CpuReport, CpuState, IpiFailed, LoomVariant, Platform,
    StopController, StopPath, StopReason, StopStrategy, StopSummary, Verdict,
};

/// Most CPUs in a model.
const CPUS: usize = 3;

type Controller = StopController<ModelPlatform, [CpuRecord; CPUS]>;

/// Unwind payload: the CPU halted.
struct Halted;

/// Unwind payload: the boot CPU left the NMI handler by IRET into its halt loop (x86's
/// `halt_after_nmi` for index 0): NMIs can reach it again.
struct IretToHaltLoop;

/// Per-CPU simulated interrupt state, all loom-tracked.
struct Cpu {
    vector: AtomicBool,
    nmi: AtomicBool,
    irq_on: AtomicBool,
    nmi_blocked: AtomicBool,
    took_vector: AtomicBool,
    took_nmi: AtomicBool,
    reported_stopped: AtomicBool,
}

impl Cpu {
    fn new() -> Self {
        Self {
            vector: AtomicBool::new(false),
            nmi: AtomicBool::new(false),
            irq_on: AtomicBool::new(false),
            nmi_blocked: AtomicBool::new(false),
            took_vector: AtomicBool::new(false),
            took_nmi: AtomicBool::new(false),
            reported_stopped: AtomicBool::new(false),
        }
    }
}

/// The machine of one execution.
struct Machine {
    cpus: Vec<Cpu>,
    /// Set once the winning `stop_others` has returned and its verdicts are published.
    returned: AtomicBool,
    clock: AtomicU64,
    controller: OnceLock<&'static Controller>,
    /// Index of the CPU whose thread is running `stop_others` (for all-but-self).
    stopper_hint: std::sync::atomic::AtomicUsize,
}

struct ModelPlatform(Arc<Machine>);

impl Machine {
    fn controller(&self) -> &'static Controller {
        self.controller.get().expect("set before threads start")
    }

    /// I1 at a handler's entry: `cpu` must not run stop code once reported stopped.
    fn assert_not_reported_stopped(&self, cpu: usize, what: &str) {
        assert!(
            !(self.returned.load(SeqCst) && self.cpus[cpu].reported_stopped.load(SeqCst)),
            "I1 violated: cpu {cpu} {what} after stop_others reported it stopped"
        );
    }

    /// Takes a pending NMI unless blocked; a stop NMI never returns.
    fn poll_nmi(&self, cpu: usize) {
        let c = &self.cpus[cpu];
        if c.nmi_blocked.load(SeqCst) || !c.nmi.swap(false, SeqCst) {
            return;
        }
        self.assert_not_reported_stopped(cpu, "entered the NMI handler");
        c.nmi_blocked.store(true, SeqCst);
        c.took_nmi.store(true, SeqCst);
        self.controller().on_nmi(CpuIndex::new(cpu));
        c.nmi_blocked.store(false, SeqCst);
    }

    /// Takes a pending stop vector if interrupts are on; a stop vector never returns.
    fn poll_vector(&self, cpu: usize) {
        let c = &self.cpus[cpu];
        if !c.irq_on.load(SeqCst) || !c.vector.swap(false, SeqCst) {
            return;
        }
        self.assert_not_reported_stopped(cpu, "entered the stop-vector handler");
        c.took_vector.store(true, SeqCst);
        self.controller().on_stop_vector(CpuIndex::new(cpu));
    }
}

impl Platform for ModelPlatform {
    fn send_stop_vector(&self) -> Result<(), IpiFailed> {
        let me = self.0.stopper_hint.load(SeqCst);
        for (cpu, c) in self.0.cpus.iter().enumerate() {
            if cpu != me {
                c.vector.store(true, SeqCst);
            }
        }
        Ok(())
    }
    fn send_nmi(&self, apic_id: ApicId) -> Result<(), IpiFailed> {
        let cpu = apic_id.get() as usize;
        let state = self.0.controller().cpu_state(CpuIndex::new(cpu));
        assert!(
            !matches!(state, Some(CpuState::Offline | CpuState::Booting)),
            "I4 violated: NMI sent to cpu {cpu} in {state:?}"
        );
        self.0.cpus[cpu].nmi.store(true, SeqCst);
        Ok(())
    }
    fn send_init(&self, _: ApicId) -> Result<(), IpiFailed> {
        Ok(())
    }
    fn now_ns(&self) -> u64 {
        self.0.clock.fetch_add(1, SeqCst)
    }
    fn relax(&self) {
        thread::yield_now();
    }
    fn halt(&self) -> ! {
        resume_unwind(Box::new(Halted))
    }
    fn halt_after_nmi(&self, cpu: usize) -> ! {
        if cpu == 0 {
            resume_unwind(Box::new(IretToHaltLoop))
        }
        self.halt()
    }
    fn on_cpu_store(&self, cpu: usize) {
        self.0.assert_not_reported_stopped(cpu, "stores");
        self.0.poll_nmi(cpu);
    }
}

/// What the winner saw.
struct Report {
    stopper: usize,
    rows: Vec<CpuReport>,
    summary: StopSummary,
}

/// Builds one execution's machine with `n` CPUs, CPU `i` having APIC ID `i`, running
/// `variant` of the protocol.
fn machine(n: usize, variant: LoomVariant) -> Arc<Machine> {
    let m = Arc::new(Machine {
        cpus: (0..n).map(|_| Cpu::new()).collect(),
        returned: AtomicBool::new(false),
        clock: AtomicU64::new(0),
        controller: OnceLock::new(),
        stopper_hint: std::sync::atomic::AtomicUsize::new(usize::MAX),
    });
    let platform = ModelPlatform(m.clone());
    let controller = Controller::new_variant(platform, variant);
    // Two clock reads of vector timeout, three of NMI timeout.
    controller
        .config()
        .set_vector_timeout(Duration::from_nanos(2));
    controller.config().set_nmi_timeout(Duration::from_nanos(3));
    let controller: &'static Controller = Box::leak(Box::new(controller));
    for cpu in 0..n {
        assert_eq!(
            controller.register_cpu(ApicId::new(cpu as u32)),
            Ok(CpuIndex::new(cpu))
        );
    }
    assert!(m.controller.set(controller).is_ok());
    m
}

/// [`machine`] running the real protocol with every CPU `Running`.
fn running_machine(n: usize) -> Arc<Machine> {
    running_machine_variant(n, LoomVariant::Real)
}

/// [`machine`] running `variant` of the protocol with every CPU `Running`.
fn running_machine_variant(n: usize, variant: LoomVariant) -> Arc<Machine> {
    let m = machine(n, variant);
    for cpu in 0..n {
        m.controller().boot_cpu(CpuIndex::new(cpu)).unwrap();
        m.controller().online_cpu(CpuIndex::new(cpu)).unwrap();
    }
    m
}

/// Runs `stop_others` on `cpu`; on a win publishes the verdicts then `returned`.
fn stop_from(m: &Machine, cpu: usize, report: &Mutex<Option<Report>>) {
    m.stopper_hint.store(cpu, SeqCst);
    let message = format!("panic on cpu {cpu}");
    let r = m
        .controller()
        .stop_others(CpuIndex::new(cpu), StopReason::Panic(&message))
        .expect("a returning caller is the stopper");
    let rows: Vec<CpuReport> = r.cpus().collect();
    for row in &rows {
        if row.verdict == Verdict::Stopped {
            m.cpus[row.index.get()].reported_stopped.store(true, SeqCst);
        }
    }
    m.returned.store(true, SeqCst);
    let mut slot = report.lock().unwrap();
    assert!(slot.is_none(), "I2 violated: two stoppers returned");
    *slot = Some(Report {
        stopper: cpu,
        rows,
        summary: r.summary(),
    });
}

/// A target CPU: `idle_polls` idle-loop iterations with interrupts off, then on; after it
/// halts it keeps taking NMIs until the stop returned, then takes one last look.
fn target(m: &Machine, cpu: usize, irq_off_polls: usize, body: impl FnOnce()) {
    let run = catch_unwind(AssertUnwindSafe(|| {
        body();
        let mut polls = 0;
        while !m.returned.load(SeqCst) {
            m.poll_nmi(cpu);
            if polls >= irq_off_polls {
                m.cpus[cpu].irq_on.store(true, SeqCst);
                m.poll_vector(cpu);
            }
            polls += 1;
            thread::yield_now();
        }
    }));
    if let Err(payload) = run {
        if payload.is::<IretToHaltLoop>() {
            m.cpus[cpu].nmi_blocked.store(false, SeqCst);
        } else if !payload.is::<Halted>() {
            resume_unwind(payload);
        }
        halted(m, cpu);
    }
}

/// A halted CPU: NMIs still land (unless blocked) until the stop returned, and once after.
fn halted(m: &Machine, cpu: usize) {
    let take = || match catch_unwind(AssertUnwindSafe(|| m.poll_nmi(cpu))) {
        Err(p) if p.is::<IretToHaltLoop>() => m.cpus[cpu].nmi_blocked.store(false, SeqCst),
        Err(p) if !p.is::<Halted>() => resume_unwind(p),
        _ => {}
    };
    while !m.returned.load(SeqCst) {
        take();
        thread::yield_now();
    }
    take();
}

/// I5 and report consistency for one execution.
fn check_accounting(m: &Machine, report: &Report) {
    let mut sum = 0;
    for row in &report.rows {
        let c = &m.cpus[row.index.get()];
        assert!(
            row.nmis <= 1,
            "I5: cpu {} sent {} NMIs",
            row.index,
            row.nmis
        );
        if row.verdict == Verdict::Stopped {
            match row.path {
                Some(StopPath::Vector) => assert!(c.took_vector.load(SeqCst), "I5: vector"),
                Some(StopPath::Nmi) => {
                    assert!(c.took_nmi.load(SeqCst) && row.nmis == 1, "I5: nmi")
                }
                Some(StopPath::SelfStop) => {}
                other => panic!("I5: stopped cpu {} with path {other:?}", row.index),
            }
        }
    }
    let s = report.summary;
    sum += s.vector + s.nmi + s.self_stop + s.init + s.stuck;
    assert_eq!(sum, s.targets, "I5: summary counts {s}");
    assert_eq!(s.stopper, report.stopper as u64);
}

/// A loom builder with the run's settings; `bound` overrides `LOOM_MAX_PREEMPTIONS`.
fn builder(bound: Option<usize>) -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 1_000_000;
    if bound.is_some() {
        builder.preemption_bound = bound;
    }
    builder
}

/// Runs `model` exhaustively (within `bound`, default `LOOM_MAX_PREEMPTIONS`) and prints its
/// interleaving count.
fn explore(name: &str, bound: Option<usize>, model: impl Fn() + Sync + Send + 'static) -> usize {
    static RUNS: StdAtomicUsize = StdAtomicUsize::new(0);
    RUNS.store(0, SeqCst);
    builder(bound).check(move || {
        RUNS.fetch_add(1, SeqCst);
        model();
    });
    let n = RUNS.load(SeqCst);
    // Own line: the test harness has already printed "test <name> ... " on this one.
    println!("\nloom: {name}: {n} interleavings");
    n
}

/// Negative control: runs `model` and passes only if loom finds an I1 violation (the panic's
/// own message is checked, so a control that fails for another reason fails the test).
fn expect_i1_violation(name: &str, model: impl Fn() + Sync + Send + 'static) {
    static RUNS: StdAtomicUsize = StdAtomicUsize::new(0);
    RUNS.store(0, SeqCst);
    let found = catch_unwind(AssertUnwindSafe(|| {
        builder(None).check(move || {
            RUNS.fetch_add(1, SeqCst);
            model();
        })
    }));
    let n = RUNS.load(SeqCst);
    let Err(payload) = found else {
        panic!("loom did not find {name}'s I1 violation in {n} interleavings");
    };
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("<no message>");
    assert!(
        text.contains("I1 violated"),
        "{name}: loom failed, but not on I1: {text}"
    );
    println!("\nloom: {name}: violation of I1 found after {n} interleavings (expected): {text}");
}

/// Stopper on CPU 0, one running target whose interrupts come on late: the vector can land
/// before, during or after the NMI phase. Checks I1 (and I4, I5), and that the NMI path can
/// finish: some execution reports the target stopped by NMI.
#[test]
fn i1_late_vector() {
    let (runs, by_nmi) = count_nmi_stops("i1-late-vector", LoomVariant::Real);
    assert!(
        by_nmi > 0,
        "none of {runs} interleavings reported the target stopped by NMI"
    );
}

/// Runs the late-vector model with `variant`; returns the interleavings and how many of them
/// reported the target stopped by NMI.
fn count_nmi_stops(name: &str, variant: LoomVariant) -> (usize, usize) {
    static BY_NMI: StdAtomicUsize = StdAtomicUsize::new(0);
    BY_NMI.store(0, SeqCst);
    let runs = explore(name, None, move || {
        let (_, report) = late_vector_model(variant, 1);
        let row = &report.rows[1];
        if row.verdict == Verdict::Stopped && row.path == Some(StopPath::Nmi) {
            BY_NMI.fetch_add(1, SeqCst);
        }
    });
    (runs, BY_NMI.load(SeqCst))
}

/// The same machine with interrupts on from the start, so vector and NMI can both be
/// delivered (double delivery). Checks I5, and that double delivery happens at all.
#[test]
fn i5_double_delivery() {
    static DOUBLE: StdAtomicUsize = StdAtomicUsize::new(0);
    explore("i5-double-delivery", None, || {
        let (m, _) = late_vector_model(LoomVariant::Real, 0);
        if m.cpus[1].took_vector.load(SeqCst) && m.cpus[1].took_nmi.load(SeqCst) {
            DOUBLE.fetch_add(1, SeqCst);
        }
    });
    assert!(
        DOUBLE.load(SeqCst) > 0,
        "no execution delivered both vector and NMI"
    );
}

/// Stopper on CPU 0 and a target with its interrupts off for `irq_off_polls` idle loops.
fn late_vector_model(variant: LoomVariant, irq_off_polls: usize) -> (Arc<Machine>, Report) {
    two_cpu_model(StopStrategy::Vector, variant, irq_off_polls)
}

/// [`late_vector_model`] with the stopper using `strategy`.
fn two_cpu_model(
    strategy: StopStrategy,
    variant: LoomVariant,
    irq_off_polls: usize,
) -> (Arc<Machine>, Report) {
    let m = machine(2, variant);
    m.controller().config().set_strategy(strategy);
    let report = Arc::new(Mutex::new(None));
    let controller = m.controller();
    controller.boot_cpu(CpuIndex::new(1)).unwrap();
    controller.online_cpu(CpuIndex::new(1)).unwrap();
    let (m1, r0) = (m.clone(), report.clone());
    let t = thread::spawn(move || target(&m1, 1, irq_off_polls, || {}));
    controller.boot_cpu(CpuIndex::new(0)).unwrap();
    controller.online_cpu(CpuIndex::new(0)).unwrap();
    stop_from(&m, 0, &r0);
    t.join().unwrap();
    let report = report.lock().unwrap().take().unwrap();
    check_accounting(&m, &report);
    (m, report)
}

/// Three CPUs: the stopper and two targets whose interrupts come on late, so their vectors and
/// NMIs interleave with each other's. Checks I1, I4, I5 within one preemption (two exceed
/// loom's branch budget in minutes).
#[test]
fn i1_late_vector_three_cpus() {
    explore("i1-late-vector-3cpus", Some(0), || {
        let m = machine(3, LoomVariant::Real);
        let report = Arc::new(Mutex::new(None));
        let controller = m.controller();
        let threads: Vec<_> = (1..3)
            .map(|cpu| {
                controller.boot_cpu(CpuIndex::new(cpu)).unwrap();
                controller.online_cpu(CpuIndex::new(cpu)).unwrap();
                let m = m.clone();
                thread::spawn(move || target(&m, cpu, 1, || {}))
            })
            .collect();
        controller.boot_cpu(CpuIndex::new(0)).unwrap();
        controller.online_cpu(CpuIndex::new(0)).unwrap();
        stop_from(&m, 0, &report);
        threads.into_iter().for_each(|t| t.join().unwrap());
        check_accounting(&m, report.lock().unwrap().as_ref().unwrap());
    });
}

/// A CPU started (made `Booting` by its starter, then sent its start-up IPI) while CPU 0 stops:
/// either the starter sees the stop and starts nothing, or the stopper counts the CPU as a
/// target; a CPU that ran is never reported `NotTarget` (I4 and I1 as everywhere).
#[test]
fn i4_started_during_stop() {
    explore("i4-started-during-stop", None, || {
        let m = machine(2, LoomVariant::Real);
        let report = Arc::new(Mutex::new(None));
        m.controller().boot_cpu(CpuIndex::new(0)).unwrap();
        m.controller().online_cpu(CpuIndex::new(0)).unwrap();
        let m1 = m.clone();
        let t = thread::spawn(move || {
            // The starter's side and, once started, the CPU's own (the IPI lands at once).
            if m1.controller().start_cpu(CpuIndex::new(1)).unwrap() {
                target(&m1, 1, 0, || {
                    m1.controller().arrive(CpuIndex::new(1)).unwrap();
                    let _ = m1.controller().online_cpu(CpuIndex::new(1));
                });
                true
            } else {
                false
            }
        });
        stop_from(&m, 0, &report);
        let started = t.join().unwrap();
        let report = report.lock().unwrap().take().unwrap();
        check_accounting(&m, &report);
        if started {
            assert_ne!(
                report.rows[1].verdict,
                Verdict::NotTarget,
                "cpu 1 ran but the stop did not count it"
            );
        }
    });
}

/// The boot CPU as the target of a stop run by CPU 1, its interrupts on late: after its NMI
/// path it IRETs into its halt loop with NMIs deliverable (the x86 deviation that lets a warm
/// restart wake it). Nothing may land on it after the report, and it must not store again.
#[test]
fn i1_boot_cpu_iret() {
    static BY_NMI: StdAtomicUsize = StdAtomicUsize::new(0);
    explore("i1-boot-cpu-iret", None, || {
        let m = running_machine(2);
        let report = Arc::new(Mutex::new(None));
        let (m1, r1) = (m.clone(), report.clone());
        let t = thread::spawn(move || stop_from(&m1, 1, &r1));
        target(&m, 0, 1, || {});
        t.join().unwrap();
        let report = report.lock().unwrap();
        let report = report.as_ref().unwrap();
        check_accounting(&m, report);
        if report.rows[0].path == Some(StopPath::Nmi) {
            BY_NMI.fetch_add(1, SeqCst);
        }
    });
    assert!(
        BY_NMI.load(SeqCst) > 0,
        "no execution stopped the boot CPU by NMI (the IRET path)"
    );
}

/// A stop, the park and `rearm` of a warm restart, the AP started again, and a second stop:
/// the second round must hold I1, I4 and I5 whatever the first left in the records.
#[test]
fn i1_rearm_second_round() {
    explore("i1-rearm-second-round", None, || {
        let (m, _) = late_vector_model(LoomVariant::Real, 1);
        // The AP's thread has ended (it is parked); INIT clears its pending interrupts.
        let c = &m.cpus[1];
        for line in [
            &c.vector,
            &c.nmi,
            &c.irq_on,
            &c.nmi_blocked,
            &c.reported_stopped,
        ] {
            line.store(false, SeqCst);
        }
        m.returned.store(false, SeqCst);
        let controller = m.controller();
        controller.rearm(CpuIndex::new(0)).unwrap();
        assert!(
            controller.start_cpu(CpuIndex::new(1)).unwrap(),
            "no stop under way"
        );
        let m1 = m.clone();
        let t = thread::spawn(move || {
            target(&m1, 1, 1, || {
                m1.controller().arrive(CpuIndex::new(1)).unwrap();
                let _ = m1.controller().online_cpu(CpuIndex::new(1));
            })
        });
        let report = Mutex::new(None);
        stop_from(&m, 0, &report);
        t.join().unwrap();
        let report = report.lock().unwrap().take().unwrap();
        check_accounting(&m, &report);
        assert_ne!(report.rows[1].verdict, Verdict::NotTarget);
    });
}

/// Negative control: Linux as it is (done when the target is `Halted`, and the NMI handler
/// stores no accounting) must be caught violating I1: the NMI still in flight when the vector
/// stopped the target lands after the report.
#[test]
fn linux_is_caught() {
    expect_i1_violation("linux", || {
        late_vector_model(LoomVariant::Linux, 1);
    });
}

/// Negative control: Linux's completion rule with the accounting store kept must be caught
/// violating I1 too.
#[test]
fn linux_rule_with_accounting_is_caught() {
    expect_i1_violation("linux-rule-with-accounting", || {
        late_vector_model(LoomVariant::LinuxRuleWithAccounting, 1);
    });
}

/// Negative control: without the accounting store, the real completion rule never sees an
/// NMI'd target finish, so `i1_late_vector`'s check (some execution stops the target by NMI)
/// must fail.
#[test]
fn no_accounting_store_is_caught() {
    let (runs, by_nmi) = count_nmi_stops("no-accounting-store", LoomVariant::NoAccountingStore);
    assert_eq!(
        by_nmi, 0,
        "an NMI stop finished without its accounting store"
    );
    println!(
        "\nloom: no-accounting-store: no NMI stop finished in {runs} interleavings (expected)"
    );
}

/// Two CPUs panic at once (three exceed loom's branch budget within minutes): exactly one
/// stopper; the other stops itself (or is stopped by the NMI first), and its panic message is in
/// the report whole. Checks I2.
#[test]
fn i2_election() {
    election("i2-election", StopStrategy::Vector);
}

/// [`i2_election`] with the stopper using `strategy`.
fn election(name: &str, strategy: StopStrategy) {
    // Executions in which the stop NMI landed while the loser stored its message.
    static NMI_WHILE_RECORDING: StdAtomicUsize = StdAtomicUsize::new(0);
    NMI_WHILE_RECORDING.store(0, SeqCst);
    explore(name, None, move || {
        let m = running_machine(2);
        m.controller().config().set_strategy(strategy);
        let report = Arc::new(Mutex::new(None));
        let threads: Vec<_> = (1..2)
            .map(|cpu| {
                let (m, r) = (m.clone(), report.clone());
                thread::spawn(move || target(&m, cpu, usize::MAX, || stop_from(&m, cpu, &r)))
            })
            .collect();
        target(&m, 0, usize::MAX, || stop_from(&m, 0, &report));
        threads.into_iter().for_each(|t| t.join().unwrap());
        let report = report.lock().unwrap();
        let report = report.as_ref().expect("I2 violated: nobody won");
        // The loser always reached its message before anything could stop it, so the message
        // must be whole however it was stopped (an NMI can land between its stores).
        for row in &report.rows {
            if row.index != CpuIndex::new(report.stopper) {
                assert_eq!(
                    row.panic_message.as_str(),
                    format!("panic on cpu {}", row.index),
                    "the loser's panic message was lost (path {:?})",
                    row.path
                );
                if row.nmis == 1 && row.path == Some(StopPath::SelfStop) {
                    NMI_WHILE_RECORDING.fetch_add(1, SeqCst);
                }
            }
        }
        check_accounting(&m, report);
    });
    assert!(
        NMI_WHILE_RECORDING.load(SeqCst) > 0,
        "no execution sent the NMI while the loser stored its message"
    );
}

/// A CPU still `Booting` when the stop begins: it is never NMI'd (asserted at every send),
/// and it stops itself when it tries to go online. Checks I4 (and I1, I5).
#[test]
fn i4_booting() {
    booting("i4-booting", StopStrategy::Vector);
}

/// [`i4_booting`] with the stopper using `strategy`.
fn booting(name: &str, strategy: StopStrategy) {
    explore(name, None, move || {
        let m = machine(2, LoomVariant::Real);
        m.controller().config().set_strategy(strategy);
        let report = Arc::new(Mutex::new(None));
        m.controller().boot_cpu(CpuIndex::new(0)).unwrap();
        m.controller().online_cpu(CpuIndex::new(0)).unwrap();
        m.controller().boot_cpu(CpuIndex::new(1)).unwrap();
        let m1 = m.clone();
        let t = thread::spawn(move || {
            target(&m1, 1, 0, || {
                let _ = m1.controller().online_cpu(CpuIndex::new(1));
            })
        });
        stop_from(&m, 0, &report);
        t.join().unwrap();
        check_accounting(&m, report.lock().unwrap().as_ref().unwrap());
    });
}

/// NMI-first, a target whose interrupts come on late: no stop vector is ever sent, so the
/// target never takes one; it is stopped by its NMI, whatever it was doing (I1, I4, I5 as
/// everywhere), and some execution reports it so.
#[test]
fn nmi_first() {
    static BY_NMI: StdAtomicUsize = StdAtomicUsize::new(0);
    explore("nmi-first", None, || {
        let (m, report) = two_cpu_model(StopStrategy::NmiFirst, LoomVariant::Real, 1);
        assert!(
            !m.cpus[1].took_vector.load(SeqCst),
            "NMI-first sent the stop vector"
        );
        let row = &report.rows[1];
        assert_ne!(row.path, Some(StopPath::Vector), "NMI-first: {row:?}");
        if row.verdict == Verdict::Stopped && row.path == Some(StopPath::Nmi) {
            BY_NMI.fetch_add(1, SeqCst);
        }
    });
    assert!(
        BY_NMI.load(SeqCst) > 0,
        "no execution stopped the target by its NMI"
    );
}

/// NMI-first with two CPUs panicking at once: the NMI goes out at once, so it often meets the
/// loser storing its panic message; the message must still arrive whole (I2).
#[test]
fn nmi_first_election() {
    election("nmi-first-election", StopStrategy::NmiFirst);
}

/// NMI-first with a target still `Booting`: it gets no NMI (I4) and stops itself.
#[test]
fn nmi_first_booting() {
    booting("nmi-first-booting", StopStrategy::NmiFirst);
}

/// Negative control: Linux's completion rule under NMI-first must be caught violating I1 (the
/// target stops itself while its NMI is in flight; the NMI lands after the report).
#[test]
fn nmi_first_linux_rule_is_caught() {
    expect_i1_violation("nmi-first-linux-rule", || {
        let m = running_machine_variant(2, LoomVariant::LinuxRuleWithAccounting);
        m.controller().config().set_strategy(StopStrategy::NmiFirst);
        let report = Arc::new(Mutex::new(None));
        let (m1, r1) = (m.clone(), report.clone());
        let t = thread::spawn(move || target(&m1, 1, usize::MAX, || stop_from(&m1, 1, &r1)));
        target(&m, 0, usize::MAX, || stop_from(&m, 0, &report));
        t.join().unwrap();
    });
}
