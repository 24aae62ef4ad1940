//! The stop controller: election, the stopper's phases, and the CPU-side entry points.
#![forbid(unsafe_code)]

use core::fmt;
use core::time::Duration;

use crate::config::{StopConfig, INIT_SETTLE};
use crate::cpu::{ApicId, CpuIndex};
use crate::hooks::{HooksFull, StopHook, StopHooks};
use crate::message::PanicText;
use crate::platform::Platform;
use crate::record::{CpuRecord, Verdict};
use crate::report::{StopReport, StopTally};
use crate::state::{CpuState, StopPath, TransitionError};
use crate::strategy::StopStrategy;
use crate::sync::{fence, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use crate::table::RecordTable;

/// The owner-written fields of a CPU's record at one moment ([`StopController::snapshot`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordSnapshot {
    /// State and path, packed.
    word: u8,
    /// NMIs accounted for.
    nmi_done: u32,
    /// Ack time.
    acked_at: u64,
    /// Halt time.
    halted_at: u64,
    /// Heartbeat.
    heartbeat: u64,
}

impl RecordSnapshot {
    /// An all-zero snapshot (a placeholder).
    pub const EMPTY: Self = Self {
        word: 0,
        nmi_done: 0,
        acked_at: 0,
        halted_at: 0,
        heartbeat: 0,
    };
}

/// `stopper` value while nobody is stopping.
const NO_STOPPER: usize = usize::MAX;

/// Why a CPU calls [`StopController::stop_others`].
#[derive(Clone, Copy)]
pub enum StopReason<'a> {
    /// A panic; the message is recorded if this CPU loses the election.
    Panic(&'a dyn fmt::Display),
    /// The app asked to reboot.
    Reboot,
    /// The app asked to power off.
    PowerOff,
    /// The app asked to halt.
    Halt,
    /// A caller that only wants the other CPUs stopped and a report.
    Request,
}

impl StopReason<'_> {
    /// Short name used in the report.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Panic(_) => "panic",
            Self::Reboot => "reboot",
            Self::PowerOff => "poweroff",
            Self::Halt => "halt",
            Self::Request => "request",
        }
    }
}

/// Why [`StopController::stop_others`] did not run a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopError {
    /// The caller is already the stopper (for example it panicked inside the stop path).
    Reentered,
    /// No CPU is registered at this index.
    NoSuchCpu(usize),
    /// Only the stopper of a finished stop may rearm the controller.
    NotStopper,
}

impl fmt::Display for StopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reentered => f.write_str("this CPU is already stopping the others"),
            Self::NoSuchCpu(cpu) => write!(f, "no CPU registered at index {cpu}"),
            Self::NotStopper => f.write_str("only the CPU that ran the stop may rearm"),
        }
    }
}

/// [`StopController::register_cpu`] found every record taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpusFull {
    /// The controller's capacity.
    pub capacity: usize,
}

impl fmt::Display for CpusFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "all {} CPU records are taken", self.capacity)
    }
}

/// Stops every other CPU, provably, and reports how (the protocol: crate docs).
///
/// `T` holds one record per CPU ([`RecordTable`]): an array `[CpuRecord; N]` for a fixed
/// maximum (models use 2–3), or memory the runtime sizes at boot from the machine's CPU count.
/// CPUs are addressed by index `0..capacity`; each record stores its CPU's APIC ID, which may be
/// sparse and above 255 under x2APIC. No allocation, no locks, no unbounded wait.
///
/// ```
/// use stop::{ApicId, CpuRecord, IpiFailed, Platform, StopController, StopReason};
///
/// struct Uniprocessor;
/// impl Platform for Uniprocessor {
///     fn send_stop_vector(&self) -> Result<(), IpiFailed> { Ok(()) }
///     fn send_nmi(&self, _: ApicId) -> Result<(), IpiFailed> { Ok(()) }
///     fn send_init(&self, _: ApicId) -> Result<(), IpiFailed> { Ok(()) }
///     fn now_ns(&self) -> u64 { 0 }
///     fn relax(&self) {}
///     fn halt(&self) -> ! { loop {} }
/// }
///
/// static STOP: StopController<Uniprocessor, [CpuRecord; 8]> = StopController::new(Uniprocessor);
///
/// let cpu = STOP.register_cpu(ApicId::new(0)).unwrap();
/// STOP.boot_cpu(cpu).unwrap();
/// STOP.online_cpu(cpu).unwrap();
/// let report = STOP.stop_others(cpu, StopReason::PowerOff).unwrap();
/// assert_eq!(report.tally().targets, 0);
/// assert!(report.summary().to_string().starts_with("stop-summary: stopper=0 targets=0"));
/// ```
pub struct StopController<P, T> {
    /// The machine.
    platform: P,
    /// One record per CPU index.
    records: T,
    /// How many records are registered (indices `0..registered`).
    registered: AtomicUsize,
    /// Index of the elected stopper, or [`NO_STOPPER`].
    stopper: AtomicUsize,
    /// 1 once a stopper has been elected.
    stop_pending: AtomicU8,
    /// When the stop began (ns), for the report's latencies.
    started_at: AtomicU64,
    /// Timeouts and INIT policy.
    config: StopConfig,
    /// Hooks every stopping CPU runs.
    hooks: StopHooks,
    /// Loom negative controls only: which broken protocol to run instead of the real one.
    #[cfg(loom)]
    variant: LoomVariant,
}

/// The protocols the loom models run: the real one, and broken ones that the models must catch
/// (negative controls). Exists only under `--cfg loom`.
#[cfg(loom)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoomVariant {
    /// The protocol as built.
    Real,
    /// Linux's completion rule (a target is done once `Halted`, NMIs in flight ignored), with
    /// the NMI handler's accounting store kept.
    LinuxRuleWithAccounting,
    /// Linux as it is: its completion rule and no accounting store at all.
    Linux,
    /// The real completion rule without the accounting store: no NMI-stopped CPU can ever be
    /// reported stopped.
    NoAccountingStore,
}

impl<P, const N: usize> StopController<P, [CpuRecord; N]> {
    const_unless_loom! {
        /// A controller for at most `N` CPUs, its records inline, with no CPUs registered and
        /// default [`StopConfig`].
        pub fn new(platform: P) -> Self {
            Self::with_records(platform, array_of![CpuRecord::new(); N])
        }
    }

    /// Loom models: the same controller running `variant` of the protocol. Exists only under
    /// `--cfg loom`.
    #[cfg(loom)]
    pub fn new_variant(platform: P, variant: LoomVariant) -> Self {
        Self {
            variant,
            ..Self::new(platform)
        }
    }
}

impl<P, T> StopController<P, T> {
    const_unless_loom! {
        /// A controller keeping its records in `records` (see [`RecordTable`]), with no CPUs
        /// registered and default [`StopConfig`].
        pub fn with_records(platform: P, records: T) -> Self {
            Self {
                platform,
                records,
                registered: AtomicUsize::new(0),
                stopper: AtomicUsize::new(NO_STOPPER),
                stop_pending: AtomicU8::new(0),
                started_at: AtomicU64::new(0),
                config: StopConfig::new(),
                hooks: StopHooks::new(),
                #[cfg(loom)]
                variant: LoomVariant::Real,
            }
        }
    }
}

impl<P: Platform, T: RecordTable> StopController<P, T> {
    /// The platform this controller drives.
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// Where the records live (a runtime that sizes them at boot fills it through this).
    pub fn table(&self) -> &T {
        &self.records
    }

    /// Timeouts and INIT policy, settable at run time.
    pub fn config(&self) -> &StopConfig {
        &self.config
    }

    /// Registers the next CPU (index = number registered before) with its APIC ID, `Offline`.
    /// Call at boot, on one CPU, before that CPU starts.
    pub fn register_cpu(&self, apic_id: ApicId) -> Result<CpuIndex, CpusFull> {
        let index = self.registered.load(Ordering::SeqCst);
        let records = self.records.all();
        let record = records.get(index).ok_or(CpusFull {
            capacity: records.len(),
        })?;
        record.apic_id.store(apic_id.get(), Ordering::SeqCst);
        self.registered.store(index + 1, Ordering::SeqCst);
        Ok(CpuIndex::new(index))
    }

    /// How many CPUs are registered.
    pub fn cpu_count(&self) -> usize {
        self.registered
            .load(Ordering::SeqCst)
            .min(self.records.all().len())
    }

    /// The record of a registered CPU.
    fn record(&self, cpu: usize) -> Option<&CpuRecord> {
        self.records.all()[..self.cpu_count()].get(cpu)
    }

    /// The record of a registered CPU, or the transition error for an unknown one.
    fn record_or_err(&self, cpu: usize) -> Result<&CpuRecord, TransitionError> {
        self.record(cpu).ok_or(TransitionError::NoSuchCpu(cpu))
    }

    /// A registered CPU's state.
    pub fn cpu_state(&self, cpu: CpuIndex) -> Option<CpuState> {
        let cpu = cpu.get();
        self.record(cpu).map(CpuRecord::state)
    }

    /// Whether a registered CPU is `Halted` with every NMI sent to it accounted for (what the
    /// stopper waits for). A runtime may keep waiting for a CPU reported stuck this way.
    pub fn cpu_finished(&self, cpu: CpuIndex) -> bool {
        let cpu = cpu.get();
        self.record(cpu).is_some_and(CpuRecord::finished)
    }

    /// A registered CPU's APIC ID.
    pub fn apic_id(&self, cpu: CpuIndex) -> Option<ApicId> {
        let cpu = cpu.get();
        self.record(cpu)
            .map(|r| ApicId::new(r.apic_id.load(Ordering::SeqCst)))
    }

    /// Adds a hook that every CPU runs on itself while it stops.
    pub fn register_stop_hook(&self, hook: StopHook) -> Result<(), HooksFull> {
        self.hooks.register(hook)
    }

    /// Bumps `cpu`'s heartbeat (call from the CPU itself, in its normal work loop).
    pub fn beat(&self, cpu: CpuIndex) {
        let cpu = cpu.get();
        if let Some(r) = self.record(cpu) {
            r.heartbeat.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `cpu`'s heartbeat; a stopped CPU's never moves again.
    pub fn heartbeat(&self, cpu: CpuIndex) -> Option<u64> {
        let cpu = cpu.get();
        self.record(cpu)
            .map(|r| r.heartbeat.load(Ordering::Relaxed))
    }

    /// Everything `cpu` itself writes to its record, for checking after a stop that a CPU
    /// reported stopped writes nothing more (I1): two equal snapshots mean no store changed it.
    pub fn snapshot(&self, cpu: CpuIndex) -> Option<RecordSnapshot> {
        let cpu = cpu.get();
        self.record(cpu).map(|r| RecordSnapshot {
            word: r.word().0,
            nmi_done: r.nmi_done.load(Ordering::SeqCst),
            acked_at: r.acked_at.load(Ordering::SeqCst),
            halted_at: r.halted_at.load(Ordering::SeqCst),
            heartbeat: r.heartbeat.load(Ordering::SeqCst),
        })
    }

    /// Whether a stop has begun (a stopper was elected).
    pub fn stop_pending(&self) -> bool {
        self.stop_pending.load(Ordering::SeqCst) != 0
    }

    /// The elected stopper, if any.
    pub fn stopper(&self) -> Option<CpuIndex> {
        Some(self.stopper.load(Ordering::SeqCst))
            .filter(|&s| s != NO_STOPPER)
            .map(CpuIndex::new)
    }

    /// Called by the CPU that starts `cpu`, before it sends `cpu` its start-up IPI:
    /// `Offline → Booting` on `cpu`'s behalf (it cannot write yet), so that a stop from then on
    /// counts `cpu` as a target and waits for it: a CPU that has its start-up IPI runs code.
    /// Returns whether `cpu` may be started: false when a stop is already under way (then send
    /// no start-up IPI; the stop may still count `cpu` and report it not stopped, a safe false
    /// alarm). `cpu` then calls [`arrive`](Self::arrive), not [`boot_cpu`](Self::boot_cpu).
    pub fn start_cpu(&self, cpu: CpuIndex) -> Result<bool, TransitionError> {
        let cpu = cpu.get();
        let record = self.record_or_err(cpu)?;
        record.transition(CpuState::Offline, CpuState::Booting, None)?;
        // Pairs with the stopper's fence between raising `stop_pending` and scanning states:
        // either it sees `Booting`, or this sees the stop.
        fence(Ordering::SeqCst);
        Ok(!self.stop_pending())
    }

    /// First call of a CPU started through [`start_cpu`](Self::start_cpu), on that CPU: stops
    /// it if a stop is under way (it is `Booting`, so the stopper is waiting for it).
    pub fn arrive(&self, cpu: CpuIndex) -> Result<(), TransitionError> {
        let cpu = cpu.get();
        let record = self.record_or_err(cpu)?;
        let state = record.state();
        if state != CpuState::Booting {
            return Err(TransitionError::NotIn {
                expected: CpuState::Booting,
                actual: state,
            });
        }
        if self.stop_pending() {
            self.stop_this_cpu(cpu, StopPath::SelfStop);
        }
        Ok(())
    }

    /// Boot path, first step (`Offline → Booting`), on the booting CPU itself (one that no
    /// other CPU announced with [`start_cpu`](Self::start_cpu)). If a stop is
    /// already pending when it looks, the CPU halts at once without a store (it stays `Offline`,
    /// which no stopper targets). If the stop begins between that look and the transition, the
    /// stopper may have counted it as a `Booting` target, so it stops itself (`SelfStop`) and
    /// never returns: the stopper then sees it `Halted` instead of waiting it out as stuck.
    pub fn boot_cpu(&self, cpu: CpuIndex) -> Result<(), TransitionError> {
        let cpu = cpu.get();
        let record = self.record_or_err(cpu)?;
        if self.stop_pending() {
            self.platform.halt();
        }
        record.transition(CpuState::Offline, CpuState::Booting, None)?;
        // Pairs with the stopper's fence between raising `stop_pending` and scanning states.
        fence(Ordering::SeqCst);
        if self.stop_pending() {
            self.stop_this_cpu(cpu, StopPath::SelfStop);
        }
        Ok(())
    }

    /// Boot path, last step (`Booting → Running`), once the CPU's IDT and NMI stack are live.
    /// If a stop is pending, the CPU stops itself (`SelfStop`) instead and never returns.
    pub fn online_cpu(&self, cpu: CpuIndex) -> Result<(), TransitionError> {
        let cpu = cpu.get();
        let record = self.record_or_err(cpu)?;
        record.transition(CpuState::Booting, CpuState::Running, None)?;
        // Pairs with the stopper's fence between raising `stop_pending` and scanning states:
        // either it sees us `Running` (a target), or we see the flag.
        fence(Ordering::SeqCst);
        if self.stop_pending() {
            self.stop_this_cpu(cpu, StopPath::SelfStop);
        }
        Ok(())
    }

    /// Whether a stop signal on `cpu` belongs to a stop under way (not spurious, not the
    /// stopper's own).
    fn is_stop_signal(&self, cpu: usize) -> bool {
        self.stop_pending()
            && self.stopper() != Some(CpuIndex::new(cpu))
            && self.record(cpu).is_some()
    }

    /// Stop-vector handler entry. Returns only if the vector is spurious (no stop under way, or
    /// this CPU is the stopper); otherwise stops this CPU (`Vector`) and never returns.
    pub fn on_stop_vector(&self, cpu: CpuIndex) {
        let cpu = cpu.get();
        if self.is_stop_signal(cpu) {
            self.stop_this_cpu(cpu, StopPath::Vector);
        }
    }

    /// Whether an NMI on `cpu` belongs to the stop under way: `cpu` is a target still `Running`
    /// or `Acked`, or `Halted` with an NMI not yet accounted for. Two NMIs latched together are
    /// delivered once, so a platform that also sends NMIs for other purposes must ask this
    /// first and, when it is true, call [`on_nmi`](Self::on_nmi) before serving anything else.
    pub fn nmi_is_for_stop(&self, cpu: CpuIndex) -> bool {
        let cpu = cpu.get();
        self.is_stop_signal(cpu)
            && match self.records.all()[cpu].state() {
                CpuState::Running | CpuState::Acked => true,
                CpuState::Halted => !self.records.all()[cpu].finished(),
                CpuState::Offline | CpuState::Booting => false,
            }
    }

    /// NMI handler entry. Returns if the NMI is not a stop NMI (no stop under way, this CPU is
    /// the stopper, or it is not yet `Running`), and after accounting for it if this CPU lost the
    /// election and is storing its panic message (it stops itself right after). Otherwise
    /// finishes this CPU's stop whatever state it was in, stores `nmi_done = nmi_sent` as its
    /// last store, and never returns.
    pub fn on_nmi(&self, cpu: CpuIndex) {
        let cpu = cpu.get();
        if !self.is_stop_signal(cpu) {
            return;
        }
        let record = &self.records.all()[cpu];
        match record.state() {
            CpuState::Offline | CpuState::Booting => return,
            CpuState::Running if record.recording_panic.load(Ordering::SeqCst) != 0 => {
                // This CPU lost the election and is storing its panic message, after which it
                // stops itself: account for the NMI and return, or the message is lost. It is
                // not `Halted` yet, so the stopper cannot have reported it stopped (I1 holds).
                self.account_nmis(cpu);
                return;
            }
            CpuState::Running => {
                // Running→Acked cannot fail: only this CPU moves its state, and the code the
                // NMI interrupted is never resumed.
                let _ = self.enter_acked(cpu, CpuState::Running, StopPath::Nmi);
                self.hooks.run(cpu);
            }
            // The interrupted stop may not have finished its hooks; they are idempotent.
            CpuState::Acked => self.hooks.run(cpu),
            CpuState::Halted => {}
        }
        self.finish_halted(cpu);
        self.account_nmis(cpu);
        self.platform.halt_after_nmi(cpu)
    }

    /// The NMI path's accounting: `nmi_done = nmi_sent`, stored only if it changes (a stray
    /// NMI to a CPU that owes nothing stores nothing).
    fn account_nmis(&self, cpu: usize) {
        let record = &self.records.all()[cpu];
        let sent = record.nmi_sent.load(Ordering::SeqCst);
        #[cfg(loom)]
        let accounts = !matches!(
            self.variant,
            LoomVariant::Linux | LoomVariant::NoAccountingStore
        );
        #[cfg(not(loom))]
        let accounts = true;
        if accounts && record.nmi_done.load(Ordering::SeqCst) != sent {
            self.platform.on_cpu_store(cpu);
            record.nmi_done.store(sent, Ordering::SeqCst);
        }
    }

    /// Moves `from → Acked` with `path`, timestamp first. False if the CPU was not in `from`.
    fn enter_acked(&self, cpu: usize, from: CpuState, path: StopPath) -> bool {
        let record = &self.records.all()[cpu];
        let now = self.platform.now_ns();
        self.platform.on_cpu_store(cpu);
        record.acked_at.store(now, Ordering::SeqCst);
        self.platform.on_cpu_store(cpu);
        record.transition(from, CpuState::Acked, Some(path)).is_ok()
    }

    /// `Acked → Halted`, timestamp first; nothing if the CPU is not `Acked`.
    fn finish_halted(&self, cpu: usize) {
        let record = &self.records.all()[cpu];
        if record.state() != CpuState::Acked {
            return;
        }
        let now = self.platform.now_ns();
        self.platform.on_cpu_store(cpu);
        record.halted_at.store(now, Ordering::SeqCst);
        self.platform.on_cpu_store(cpu);
        let _ = record.transition(CpuState::Acked, CpuState::Halted, None);
    }

    /// Stops the calling CPU (vector or self-stop): ack, hooks (only if this call acked),
    /// halted, halt. A CPU already stopping just finishes.
    fn stop_this_cpu(&self, cpu: usize, path: StopPath) -> ! {
        let state = self.records.all()[cpu].state();
        let acked_now = matches!(state, CpuState::Booting | CpuState::Running)
            && self.enter_acked(cpu, state, path);
        if acked_now {
            self.hooks.run(cpu);
        }
        self.finish_halted(cpu);
        self.platform.halt()
    }

    /// Stops every other CPU and reports how: election, stop vector (under
    /// [`StopStrategy::Vector`]), NMIs with accounting, INIT park by policy (crate docs).
    ///
    /// The first caller wins the election and gets the report; a later caller on another CPU
    /// records its panic message (if `reason` is a panic), stops itself and never returns.
    /// Returns within vector timeout (under [`StopStrategy::Vector`]) + NMI timeout (+
    /// [`StopConfig::boot_cpu_grace`] if the boot CPU is a late target, + [`INIT_SETTLE`] if INIT
    /// parking is on), plus the time of the IPI writes, whatever the other CPUs do.
    pub fn stop_others(
        &self,
        cpu: CpuIndex,
        reason: StopReason<'_>,
    ) -> Result<StopReport<'_, P, T>, StopError> {
        let cpu = cpu.get();
        let record = self.record(cpu).ok_or(StopError::NoSuchCpu(cpu))?;
        if let StopReason::Panic(_) = reason {
            // Set before the election, so that a stop NMI landing while a loser stores its
            // message lets it finish (see `on_nmi`). The first store of a panicking CPU's stop
            // path: an NMI before it stops the CPU as if it had not panicked yet.
            record.recording_panic.store(1, Ordering::SeqCst);
        }
        if let Err(winner) =
            self.stopper
                .compare_exchange(NO_STOPPER, cpu, Ordering::SeqCst, Ordering::SeqCst)
        {
            if winner == cpu {
                return Err(StopError::Reentered);
            }
            if let StopReason::Panic(message) = reason {
                let mut text = PanicText::EMPTY;
                // PanicText's writer never fails (it cuts); a failing Display impl just
                // leaves a shorter message.
                let _ = fmt::write(&mut text, format_args!("{message}"));
                record
                    .panic
                    .store(&text, || self.platform.on_cpu_store(cpu));
            }
            self.stop_this_cpu(cpu, StopPath::SelfStop);
        }
        self.stop_pending.store(1, Ordering::SeqCst);
        // Pairs with `online_cpu`'s fence (see there).
        fence(Ordering::SeqCst);
        let started = self.platform.now_ns();
        self.started_at.store(started, Ordering::SeqCst);
        record.set_verdict(Verdict::Stopper);

        let mut tally = StopTally {
            cpus: self.cpu_count(),
            ..StopTally::default()
        };
        for (index, target) in self.records.all()[..tally.cpus].iter().enumerate() {
            if index == cpu {
                continue;
            }
            if target.state() == CpuState::Offline {
                target.set_verdict(Verdict::NotTarget);
            } else {
                tally.targets += 1;
            }
        }

        let strategy = self.config.strategy();
        if tally.targets > 0 {
            if strategy == StopStrategy::Vector {
                if self.platform.send_stop_vector().is_err() {
                    tally.ipi_failures += 1;
                }
                self.wait_for_targets(cpu, tally.cpus, self.config.vector_timeout());
            }
            self.send_nmis(cpu, &mut tally);
            self.wait_for_targets(cpu, tally.cpus, self.config.nmi_timeout());
            self.settle_stragglers(cpu, &mut tally);
        }
        tally.total_ns = self.platform.now_ns().saturating_sub(started);
        Ok(StopReport::new(self, cpu, reason.name(), strategy, tally))
    }

    /// The targets of the stop run by `stopper` over the first `cpus` records (those registered
    /// when it began): records with no verdict yet.
    fn targets(&self, stopper: usize, cpus: usize) -> impl Iterator<Item = &CpuRecord> {
        self.records.all()[..cpus]
            .iter()
            .enumerate()
            .filter(move |&(index, r)| index != stopper && r.verdict() == Verdict::Pending)
            .map(|(_, r)| r)
    }

    /// Whether a target is done: `Halted` and every NMI accounted for (or, in the loom
    /// negative controls with Linux's rule, merely `Halted`).
    fn target_done(&self, record: &CpuRecord) -> bool {
        #[cfg(loom)]
        if matches!(
            self.variant,
            LoomVariant::Linux | LoomVariant::LinuxRuleWithAccounting
        ) {
            return record.state() == CpuState::Halted;
        }
        record.finished()
    }

    /// Waits until every target is done or `timeout` passes.
    fn wait_for_targets(&self, stopper: usize, cpus: usize, timeout: Duration) {
        let timeout_ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        let deadline = self.platform.now_ns().saturating_add(timeout_ns);
        while !self.targets(stopper, cpus).all(|r| self.target_done(r)) {
            if self.platform.now_ns() >= deadline {
                return;
            }
            self.platform.relax();
        }
    }

    /// NMIs every target still `Running` (never `Booting`/`Offline`: I4; never `Acked`: it is
    /// already stopping). `nmi_sent` is raised before the NMI, and the platform makes that
    /// store visible before the NMI lands.
    fn send_nmis(&self, stopper: usize, tally: &mut StopTally) {
        for target in self.targets(stopper, tally.cpus) {
            if target.state() != CpuState::Running {
                continue;
            }
            target.nmi_sent.fetch_add(1, Ordering::SeqCst);
            tally.nmis_sent += 1;
            if self
                .platform
                .send_nmi(ApicId::new(target.apic_id.load(Ordering::SeqCst)))
                .is_err()
            {
                tally.ipi_failures += 1;
            }
        }
    }

    /// Gives every target its verdict: stopped, parked with INIT (policy on; never the boot CPU,
    /// index 0), or stuck.
    fn settle_stragglers(&self, stopper: usize, tally: &mut StopTally) {
        self.wait_for_late_boot_cpu(stopper);
        let park = self.config.init_park() == crate::InitPark::On;
        let mut parked_any = false;
        // Index 0 is the boot CPU: INIT to it resets real machines, so it is never parked.
        let boot_cpu = self.records.all().first().map(|r| r as *const CpuRecord);
        for target in self.targets(stopper, tally.cpus) {
            let is_boot_cpu = Some(target as *const CpuRecord) == boot_cpu;
            let verdict = if self.target_done(target) {
                Verdict::Stopped
            } else if park && !is_boot_cpu {
                if self
                    .platform
                    .send_init(ApicId::new(target.apic_id.load(Ordering::SeqCst)))
                    .is_err()
                {
                    tally.ipi_failures += 1;
                }
                parked_any = true;
                Verdict::Parked
            } else {
                Verdict::Stuck
            };
            target.set_verdict(verdict);
        }
        if parked_any {
            let settle_ns = INIT_SETTLE.as_nanos() as u64;
            let deadline = self.platform.now_ns().saturating_add(settle_ns);
            while self.platform.now_ns() < deadline {
                self.platform.relax();
            }
        }
    }

    /// Gives a boot CPU that is a target and not yet done [`StopConfig::boot_cpu_grace`] more:
    /// INIT may not park it, so the wait is all there is between "late" and "stuck".
    fn wait_for_late_boot_cpu(&self, stopper: usize) {
        let Some(boot_cpu) = self.records.all().first() else {
            return;
        };
        let grace_ns = u64::try_from(self.config.boot_cpu_grace().as_nanos()).unwrap_or(u64::MAX);
        if stopper == 0 || boot_cpu.verdict() != Verdict::Pending || grace_ns == 0 {
            return;
        }
        let deadline = self.platform.now_ns().saturating_add(grace_ns);
        while !self.target_done(boot_cpu) && self.platform.now_ns() < deadline {
            self.platform.relax();
        }
    }

    /// Starts a new stop round after a finished stop, for a runtime that parks every other CPU
    /// and starts it again (warm restart, benchmarks). Only the stopper may call it, and only
    /// once every other CPU is parked (INIT: waiting for a STARTUP IPI) or never started, so
    /// that no other CPU touches the records meanwhile. The caller stays `Running`; every other
    /// CPU is `Offline` again and must go through [`boot_cpu`](Self::boot_cpu) and
    /// [`online_cpu`](Self::online_cpu). Heartbeats and APIC IDs are kept.
    pub fn rearm(&self, cpu: CpuIndex) -> Result<(), StopError> {
        let cpu = cpu.get();
        if self.stopper() != Some(CpuIndex::new(cpu)) {
            return Err(StopError::NotStopper);
        }
        for (index, record) in self.records().iter().enumerate() {
            let state = if index == cpu {
                CpuState::Running
            } else {
                CpuState::Offline
            };
            record.rearm(state);
        }
        self.started_at.store(0, Ordering::SeqCst);
        self.stop_pending.store(0, Ordering::SeqCst);
        // Last: a new election can only begin once everything above is visible.
        self.stopper.store(NO_STOPPER, Ordering::SeqCst);
        Ok(())
    }

    /// Read access to a record for the report.
    pub(crate) fn records(&self) -> &[CpuRecord] {
        &self.records.all()[..self.cpu_count()]
    }

    /// When the stop began.
    pub(crate) fn started_at(&self) -> u64 {
        self.started_at.load(Ordering::SeqCst)
    }
}
