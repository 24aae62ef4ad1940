//! The simulated machine: a [`Platform`] over simulated APICs, and the CPU threads.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use stop::{
    ApicId, CpuIndex, CpuRecord, CpuState, IpiFailed, Platform, StopController, StopReason,
};

use crate::apic::{Lines, NO_NMI};
use crate::check::{CpuObservation, Outcome, StopResult};
use crate::scenario::{Behaviour, Scenario, MAX_SIM_CPUS};

/// The controller under simulation.
type SimController = StopController<SimPlatform, [CpuRecord; MAX_SIM_CPUS]>;

/// Unwind payload: the CPU halted for good (`Platform::halt`).
struct Halted;
/// Unwind payload: the CPU was reset by INIT.
struct Parked;

thread_local! {
    /// Index of the simulated CPU this thread is.
    static CURRENT_CPU: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// State shared by the platform, the CPU threads and the checks.
struct Shared {
    /// Interrupt lines by CPU index.
    lines: Vec<Lines>,
    /// Start of the run.
    start: Instant,
    /// Set as soon as the winning `stop_others` returns (I1 watch begins).
    returned: AtomicBool,
    /// Set when the run is over; every CPU thread then exits.
    shutdown: AtomicBool,
    /// The controller (leaked per run so the platform can read CPU states for I4).
    controller: OnceLock<&'static SimController>,
    /// Delay between sending an NMI and its landing.
    nmi_latency: Duration,
    /// What each `stop_others` that returned gave back (exactly one is expected: I2).
    results: Mutex<Vec<Result<StopResult, String>>>,
}

impl Shared {
    /// The controller.
    fn controller(&self) -> &'static SimController {
        self.controller
            .get()
            .expect("controller set before CPUs start")
    }

    /// Time since the start of the run.
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// [`Shared::elapsed`] in ns.
    fn now_ns(&self) -> u64 {
        self.elapsed().as_nanos() as u64
    }

    /// Takes a pending NMI if NMIs are not blocked; an NMI for a stop never returns.
    fn poll_nmi(&self, cpu: usize) {
        let lines = &self.lines[cpu];
        let lands_at = lines.nmi_at.load(Ordering::SeqCst);
        if lines.wedged.load(Ordering::SeqCst)
            || lines.nmi_blocked.load(Ordering::SeqCst)
            || lands_at == NO_NMI
            || self.now_ns() < lands_at
            || lines
                .nmi_at
                .compare_exchange(lands_at, NO_NMI, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
        {
            return;
        }
        lines.nmi_blocked.store(true, Ordering::SeqCst);
        self.count_entry(cpu);
        if self.controller().stop_pending() {
            lines.took_nmi.store(true, Ordering::SeqCst);
        }
        self.controller().on_nmi(CpuIndex::new(cpu));
        // Returned: not a stop NMI; IRET unblocks NMIs.
        lines.nmi_blocked.store(false, Ordering::SeqCst);
    }

    /// Takes a pending stop vector if interrupts are on; a vector for a stop never returns.
    fn poll_vector(&self, cpu: usize) {
        let lines = &self.lines[cpu];
        if lines.wedged.load(Ordering::SeqCst)
            || !lines.irq_on.load(Ordering::SeqCst)
            || !lines.vector.swap(false, Ordering::SeqCst)
        {
            return;
        }
        lines.irq_on.store(false, Ordering::SeqCst);
        self.count_entry(cpu);
        if lines.nmi_at.load(Ordering::SeqCst) != NO_NMI {
            lines.vector_during_nmi.store(true, Ordering::SeqCst);
        }
        lines.took_vector.store(true, Ordering::SeqCst);
        self.controller().on_stop_vector(CpuIndex::new(cpu));
        lines.irq_on.store(true, Ordering::SeqCst);
    }

    /// Counts a stop-handler entry made after the stop returned (I1).
    fn count_entry(&self, cpu: usize) {
        if self.returned.load(Ordering::SeqCst) {
            self.lines[cpu]
                .entries_after_return
                .fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Unwinds with [`Parked`] if INIT reached this CPU.
    fn check_parked(&self, cpu: usize) {
        if self.lines[cpu].parked.load(Ordering::SeqCst) {
            resume_unwind(Box::new(Parked));
        }
    }
}

/// The simulated platform.
struct SimPlatform {
    /// The machine.
    shared: Arc<Shared>,
}

/// CPU index of a simulated APIC ID (inverse of [`Scenario::apic_id`]).
fn cpu_of(apic_id: u32) -> usize {
    (apic_id as usize - 1) / 2
}

impl Platform for SimPlatform {
    fn send_stop_vector(&self) -> Result<(), IpiFailed> {
        let me = CURRENT_CPU.get();
        for (cpu, lines) in self.shared.lines.iter().enumerate() {
            if cpu != me {
                lines.vector.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    fn send_nmi(&self, apic_id: ApicId) -> Result<(), IpiFailed> {
        let cpu = cpu_of(apic_id.get());
        let lines = self.shared.lines.get(cpu).ok_or(IpiFailed)?;
        let state = self.shared.controller().cpu_state(CpuIndex::new(cpu));
        if matches!(state, Some(CpuState::Offline | CpuState::Booting)) {
            lines.nmis_to_unready.fetch_add(1, Ordering::SeqCst);
        }
        let lands_at = self.shared.now_ns() + self.shared.nmi_latency.as_nanos() as u64;
        lines.nmi_at.fetch_min(lands_at, Ordering::SeqCst);
        Ok(())
    }

    fn send_init(&self, apic_id: ApicId) -> Result<(), IpiFailed> {
        let lines = self
            .shared
            .lines
            .get(cpu_of(apic_id.get()))
            .ok_or(IpiFailed)?;
        lines.parked.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn now_ns(&self) -> u64 {
        self.shared.now_ns()
    }

    fn relax(&self) {
        thread::yield_now();
    }

    fn halt(&self) -> ! {
        resume_unwind(Box::new(Halted))
    }

    fn on_cpu_store(&self, cpu: usize) {
        self.shared.check_parked(cpu);
        if self.shared.returned.load(Ordering::SeqCst) {
            self.shared.lines[cpu]
                .stores_after_return
                .fetch_add(1, Ordering::SeqCst);
        }
        // Every store is an instruction boundary where a pending NMI lands.
        self.shared.poll_nmi(cpu);
    }
}

/// Plays `scenario` and gathers what the checks need.
///
/// # Panics
/// If the scenario has no CPU that calls `stop_others`, or more CPUs than [`MAX_SIM_CPUS`].
pub fn run(scenario: &Scenario) -> Outcome {
    let n = scenario.cpus.len();
    assert!((1..=MAX_SIM_CPUS).contains(&n), "1..={MAX_SIM_CPUS} CPUs");
    assert!(
        scenario
            .cpus
            .iter()
            .any(|b| matches!(b, Behaviour::Stopper { .. })),
        "a scenario needs a CPU that calls stop_others"
    );
    let shared = Arc::new(Shared {
        lines: (0..n).map(|_| Lines::default()).collect(),
        start: Instant::now(),
        nmi_latency: scenario.nmi_latency,
        returned: AtomicBool::new(false),
        shutdown: AtomicBool::new(false),
        controller: OnceLock::new(),
        results: Mutex::new(Vec::new()),
    });
    let controller: &'static SimController = Box::leak(Box::new(SimController::new(SimPlatform {
        shared: Arc::clone(&shared),
    })));
    controller.config().set_strategy(scenario.strategy);
    controller
        .config()
        .set_vector_timeout(scenario.vector_timeout);
    controller.config().set_nmi_timeout(scenario.nmi_timeout);
    controller.config().set_init_park(scenario.init_park);
    assert!(shared.controller.set(controller).is_ok());
    for index in 0..n {
        assert_eq!(
            controller.register_cpu(ApicId::new(Scenario::apic_id(index))),
            Ok(CpuIndex::new(index))
        );
    }

    let heartbeats_at_return = Mutex::new(Vec::new());
    let live = scenario
        .cpus
        .iter()
        .filter(|&&b| b != Behaviour::Offline)
        .count();
    let started = Barrier::new(live);
    thread::scope(|s| {
        for (cpu, &behaviour) in scenario.cpus.iter().enumerate() {
            if behaviour == Behaviour::Offline {
                continue;
            }
            let shared = &shared;
            let heartbeats_at_return = &heartbeats_at_return;
            let started = &started;
            s.spawn(move || {
                CURRENT_CPU.set(cpu);
                shared
                    .controller()
                    .boot_cpu(CpuIndex::new(cpu))
                    .expect("fresh CPU boots");
                if !matches!(behaviour, Behaviour::Booting { .. }) {
                    shared
                        .controller()
                        .online_cpu(CpuIndex::new(cpu))
                        .expect("CPU goes online");
                }
                // Every CPU is up (or booting) before the scenario's clock matters.
                started.wait();
                let body = catch_unwind(AssertUnwindSafe(|| {
                    cpu_body(shared, cpu, behaviour, scenario, heartbeats_at_return)
                }));
                if let Err(payload) = body {
                    after_unwind(shared, cpu, payload);
                }
            });
        }
    });

    let results = std::mem::take(&mut *shared.results.lock().unwrap());
    let heartbeats_at_return = heartbeats_at_return.into_inner().unwrap();
    let cpus = (0..n)
        .map(|cpu| {
            let lines = &shared.lines[cpu];
            CpuObservation {
                behaviour: scenario.cpus[cpu],
                stores_after_return: lines.stores_after_return.load(Ordering::SeqCst),
                nmis_to_unready: lines.nmis_to_unready.load(Ordering::SeqCst),
                took_vector: lines.took_vector.load(Ordering::SeqCst),
                took_nmi: lines.took_nmi.load(Ordering::SeqCst),
                called_stop: lines.called_stop.load(Ordering::SeqCst),
                entries_after_return: lines.entries_after_return.load(Ordering::SeqCst),
                vector_during_nmi: lines.vector_during_nmi.load(Ordering::SeqCst),
                init_sent: lines.parked.load(Ordering::SeqCst),
                heartbeat_at_return: heartbeats_at_return.get(cpu).copied().flatten(),
                heartbeat_at_end: controller.heartbeat(CpuIndex::new(cpu)),
            }
        })
        .collect();
    Outcome {
        scenario: scenario.clone(),
        results,
        cpus,
    }
}

/// A CPU thread that unwound: halted CPUs keep taking NMIs (unless blocked) until shutdown;
/// parked CPUs are done; anything else is a real failure and is re-raised.
fn after_unwind(shared: &Shared, cpu: usize, payload: Box<dyn Any + Send>) {
    if payload.is::<Parked>() {
        return;
    }
    if !payload.is::<Halted>() {
        resume_unwind(payload);
    }
    while !shared.shutdown.load(Ordering::SeqCst) {
        if shared.lines[cpu].parked.load(Ordering::SeqCst) {
            return;
        }
        match catch_unwind(AssertUnwindSafe(|| shared.poll_nmi(cpu))) {
            Ok(()) => {}
            Err(p) if p.is::<Halted>() || p.is::<Parked>() => {}
            Err(p) => resume_unwind(p),
        }
        thread::yield_now();
    }
}

/// A CPU's life from the start barrier until shutdown (or until it halts, which unwinds out
/// of here).
fn cpu_body(
    shared: &Shared,
    cpu: usize,
    behaviour: Behaviour,
    scenario: &Scenario,
    heartbeats_at_return: &Mutex<Vec<Option<u64>>>,
) {
    let controller = shared.controller();
    let lines = &shared.lines[cpu];
    if let Behaviour::Booting { after } = behaviour {
        while shared.elapsed() < after && !shared.shutdown.load(Ordering::SeqCst) {
            shared.poll_nmi(cpu);
            thread::yield_now();
        }
        controller
            .online_cpu(CpuIndex::new(cpu))
            .expect("booting CPU goes online");
    }
    lines.irq_on.store(true, Ordering::SeqCst);
    if behaviour == Behaviour::NeverAnswers {
        lines.wedged.store(true, Ordering::SeqCst);
    }
    while !shared.shutdown.load(Ordering::SeqCst) {
        shared.check_parked(cpu);
        let now = shared.elapsed();
        match behaviour {
            Behaviour::IrqOff { start, len } => {
                let off = now >= start && now < start + len;
                lines.irq_on.store(!off, Ordering::SeqCst);
            }
            Behaviour::Stopper { after } if now >= after => {
                lines.irq_on.store(false, Ordering::SeqCst);
                lines.called_stop.store(true, Ordering::SeqCst);
                stop_from(shared, cpu, scenario, heartbeats_at_return);
                return;
            }
            _ => {}
        }
        shared.poll_nmi(cpu);
        shared.poll_vector(cpu);
        controller.beat(CpuIndex::new(cpu));
        thread::yield_now();
    }
}

/// Calls `stop_others` as a panicking CPU; the winner records the result, watches for late
/// stores for `after_stop`, then shuts the machine down.
fn stop_from(
    shared: &Shared,
    cpu: usize,
    scenario: &Scenario,
    heartbeats_at_return: &Mutex<Vec<Option<u64>>>,
) {
    let controller = shared.controller();
    let message = format!("panic on cpu {cpu}");
    let began = Instant::now();
    let stopped = controller.stop_others(CpuIndex::new(cpu), StopReason::Panic(&message));
    let duration = began.elapsed();
    shared.returned.store(true, Ordering::SeqCst);
    *heartbeats_at_return.lock().unwrap() = (0..scenario.cpus.len())
        .map(|c| controller.heartbeat(CpuIndex::new(c)))
        .collect();
    let result = stopped.map(|report| StopResult {
        stopper: cpu,
        duration,
        rows: report.cpus().collect(),
        summary: report.summary(),
        tally: report.tally(),
        table: report.to_string(),
        grouped: report.grouped().to_string(),
    });
    shared
        .results
        .lock()
        .unwrap()
        .push(result.map_err(|e| e.to_string()));
    let watch_until = Instant::now() + scenario.after_stop;
    while Instant::now() < watch_until {
        thread::yield_now();
    }
    shared.shutdown.store(true, Ordering::SeqCst);
}
