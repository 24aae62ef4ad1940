//! The runtime's stop controller and how the runtime uses it: the interrupt entries, the stop
//! before power-off/reboot/halt, and printing the report.

use stop::CpuIndex;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use core::time::Duration;

use spinning_top::Spinlock;
use stop::x86::X86Platform;
pub use stop::{StopReason, StopStrategy, DEFAULT_VECTOR_TIMEOUT};
use stop::{CpuRecord, InitPark, RecordSnapshot, RecordTable, StopController, StopReport, Verdict};
use stop::{StopSummary, TableWords, ROW_WORDS};
use wire::frames::{Backtrace, ChainEnd, Frame, Interrupted, SamePlace};
use wire::heartbeat::HeartbeatCheck;

use crate::cmdline::{
    BootOptions, InitParkOption, StopStrategyOption, StopTable, GROUPED_ABOVE_CPUS,
};
use crate::per_cpu::{per_cpu, BootTable, PerCpu};
use crate::arch::TrapFrame;
use crate::kept_parts::{Captured, Place, Returns};
use crate::{arch, console, interrupted, time};

/// The machine's stop controller; its records are allocated at boot ([`allocate_per_cpu`]).
pub static STOP: StopController<X86Platform, Records> = StopController::with_records(
    X86Platform::new(&arch::apic::ICR, time::now_ns),
    Records(BootTable::new()),
);

/// A finished stop's report.
pub type Report = StopReport<'static, X86Platform, Records>;

/// The stop controller's records, one per CPU of the machine.
pub struct Records(BootTable<CpuRecord>);

impl RecordTable for Records {
    fn all(&self) -> &[CpuRecord] {
        self.0.all()
    }
}

/// Allocates the stop controller's records and this module's per-CPU state for `cpus` CPUs.
/// Call once at boot, before any CPU is registered.
pub fn allocate_per_cpu(cpus: usize) {
    STOP.table().0.fill(cpus, CpuRecord::new);
    AT_STOP.allocate(cpus);
}

/// `stop.verify_ms`, in ms (0: off).
static VERIFY_MS: AtomicU64 = AtomicU64::new(0);
/// `stop.report=full`: the full report ends with every stopped CPU's context.
static REPORT_CONTEXTS: AtomicBool = AtomicBool::new(true);
/// `inject.stall_stop_vector=1`: every stop-vector handler stalls before it saves or
/// acknowledges anything, so the stopper's NMI lands inside it (a CPU that reacts to the vector
/// late while its NMI is in flight, the race the stop path closes).
static STALL_VECTOR: AtomicBool = AtomicBool::new(false);
/// `stop.table=`: `StopTable` as a number (see `table_grouped`).
static TABLE: AtomicU8 = AtomicU8::new(StopTable::Auto as u8);

/// Applies the `stop.*` boot options. With `stop.strategy=adaptive` the vector timeout is
/// `stop.vector_timeout_us` until `adaptive_timeout::calibrate` has measured the machine.
pub fn configure(opts: &BootOptions) {
    VERIFY_MS.store(opts.stop_verify.as_millis() as u64, Ordering::Relaxed);
    REPORT_CONTEXTS.store(opts.stop_report_contexts, Ordering::Relaxed);
    TABLE.store(opts.stop_table as u8, Ordering::Relaxed);
    STALL_VECTOR.store(opts.inject_stall_stop_vector, Ordering::Relaxed);
    let config = STOP.config();
    let strategy = match opts.stop_strategy {
        StopStrategyOption::Nmi => StopStrategy::NmiFirst,
        StopStrategyOption::Vector | StopStrategyOption::Adaptive => StopStrategy::Vector,
    };
    config.set_strategy(strategy);
    config.set_vector_timeout(opts.stop_vector_timeout);
    config.set_nmi_timeout(opts.stop_nmi_timeout);
    let park = match opts.stop_init_park {
        InitParkOption::On => InitPark::On,
        InitParkOption::Off => InitPark::Off,
        InitParkOption::Auto if arch::cpu_has_hypervisor() => InitPark::On,
        InitParkOption::Auto => InitPark::Off,
    };
    config.set_init_park(park);
    if arch::cpu_has_hypervisor() {
        config.set_boot_cpu_grace(BOOT_CPU_GRACE);
    }
}

/// How much longer a late boot CPU (which INIT may not park) is waited for before it counts as
/// not stopped: by the stop under a hypervisor, where a vCPU the host does not schedule takes
/// its NMI late (seen: the boot CPU acked an NMI 13.9 ms into a stop with the default 10 ms NMI
/// timeout, 4 vCPUs on a loaded 2-core host), and by a warm restart that needs it stopped.
pub(crate) const BOOT_CPU_GRACE: Duration = Duration::from_secs(1);

/// Stop-vector entry (interrupt handler), which interrupted `frame`. Returns only for a
/// spurious vector.
pub fn on_stop_vector(frame: &TrapFrame) {
    if STALL_VECTOR.load(Ordering::Relaxed) {
        // `inject.stall_stop_vector=1`: wait, interrupts off, for the NMI that stops this CPU.
        loop {
            core::hint::spin_loop();
        }
    }
    let saved = interrupted::save(frame);
    STOP.on_stop_vector(arch::percpu::current_index());
    // Spurious: this CPU runs on, and a later stop saves its context then.
    if saved {
        interrupted::forget();
    }
}

/// Whether an NMI on the calling CPU belongs to the stop under way; the NMI handler asks this
/// before it serves any other NMI request (see `StopController::nmi_is_for_stop`).
pub fn nmi_is_for_stop() -> bool {
    STOP.nmi_is_for_stop(arch::percpu::current_index())
}

/// NMI entry, the NMI having interrupted `frame`. Returns when the NMI is not a stop NMI and a
/// stop is already under way (the stopper's own, or one that raced the stop); an NMI outside
/// any stop is a fault.
pub fn on_nmi(frame: &TrapFrame) {
    let cpu = arch::percpu::current_index();
    // Only this CPU's stop NMI saves: a stray NMI on a CPU that is already stopped must store
    // nothing (I1).
    let saved = STOP.nmi_is_for_stop(cpu) && interrupted::save(frame);
    STOP.on_nmi(cpu);
    // Not this CPU's stop NMI: it runs on.
    if saved {
        interrupted::forget();
    }
    if !STOP.stop_pending() {
        panic!("unexpected NMI on cpu {cpu} (no stop under way)");
    }
}

/// Stops every other CPU for `reason` and returns the report. A CPU that loses the election
/// never returns; `None` if this CPU is already the stopper (a fault inside the stop path).
pub fn stop_others(reason: StopReason<'_>) -> Option<Report> {
    let report = STOP.stop_others(arch::percpu::current_index(), reason).ok()?;
    // What every CPU's record holds the moment the stop is done, for `verify_quiet`.
    for cpu in (0..STOP.cpu_count()).map(CpuIndex::new) {
        *AT_STOP[cpu].lock() = STOP.snapshot(cpu).unwrap_or_default();
    }
    Some(report)
}

/// Every CPU's record as the last stop left it.
static AT_STOP: PerCpu<Spinlock<RecordSnapshot>> =
    per_cpu!(Spinlock::new(RecordSnapshot::EMPTY));

/// Prints the report's table (grouped as `stop.table` says) and its `stop-summary:` line, then
/// (`stop.report=full`) every stopped CPU's context, even if a stopped CPU holds the console
/// lock.
pub fn print_report(report: &Report) {
    let out: &mut dyn FnMut(fmt::Arguments<'_>) =
        &mut |args| console::write_fmt_breaking_lock(args);
    write_table(report, out);
    write_contexts(report, out);
}

/// Writes the report's table (grouped as `stop.table` says) and its `stop-summary:` line to
/// `out`: the report before its contexts.
pub(crate) fn write_table(report: &Report, out: &mut dyn FnMut(fmt::Arguments<'_>)) {
    let grouped = report.grouped();
    let table: &dyn fmt::Display = match table_grouped(report) {
        true => &grouped,
        false => report,
    };
    write_table_lines(table, report.summary(), out);
}

/// Writes a table kept as words (`kept_parts`) and its `stop-summary:` line to `out`, as
/// [`write_table`] wrote them.
pub(crate) fn write_kept_table<F: Fn(usize) -> [u64; ROW_WORDS]>(
    table: &TableWords<F>,
    out: &mut dyn FnMut(fmt::Arguments<'_>),
) {
    write_table_lines(table, table.summary(), out);
}

/// The lines of a table then of its `summary`.
fn write_table_lines(
    table: &dyn fmt::Display,
    summary: StopSummary,
    out: &mut dyn FnMut(fmt::Arguments<'_>),
) {
    out(format_args!("{table}\n"));
    out(format_args!("{summary}\n"));
}

/// Writes what a full panic report has after its message to `out`: the panicking CPU's
/// `backtrace`, the table and summary, and the stopped CPUs' contexts.
pub(crate) fn write_rest(
    report: &Report,
    backtrace: &Returns,
    out: &mut dyn FnMut(fmt::Arguments<'_>),
) {
    out(format_args!("{}", Backtrace(backtrace.addresses())));
    write_table(report, out);
    write_contexts(report, out);
}

/// Writes the contexts of the CPUs `report` stopped (`stop.report=full`) to `out`.
pub(crate) fn write_contexts(report: &Report, out: &mut dyn FnMut(fmt::Arguments<'_>)) {
    let mut writer = ContextWriter::new(folds(report));
    for context in contexts(report) {
        writer.write(&context, out);
    }
    writer.finish(out);
}

/// What the report shows of each CPU it stopped (`stop.report=full`), by index, each taken
/// when asked for: the CPU's saved context and the walk from it.
pub(crate) fn contexts(report: &Report) -> impl Iterator<Item = Context> + '_ {
    let shown = REPORT_CONTEXTS.load(Ordering::Relaxed);
    report
        .cpus()
        .filter(move |r| shown && r.verdict == Verdict::Stopped)
        .map(|r| capture(r.index))
}

/// What a stop report shows of one stopped CPU.
pub(crate) type Context = Captured<{ TrapFrame::WORDS }>;

/// Takes what the report shows of stopped CPU `cpu`, while its stack still holds its frames.
fn capture(cpu: CpuIndex) -> Context {
    let place = match interrupted::context(cpu) {
        interrupted::Context::Saved { frame, stack } => {
            let mut walk = interrupted::frames(&frame, stack);
            let mut returns = Returns::new(walk.by_ref().map(|address| address as u64));
            if let Some(arch::backtrace::WalkEnd::BadFrame(at)) = walk.end() {
                returns.bad_frame = Some(at as u64);
            }
            Place::Saved {
                frame: frame.to_words(),
                returns,
            }
        }
        interrupted::Context::Incomplete => Place::Incomplete,
        interrupted::Context::None => Place::None,
    };
    Captured {
        cpu: cpu.get() as u32,
        place,
    }
}

/// Whether the report's contexts fold CPUs interrupted alike into one line: in a grouped
/// report, unless a core dump takes every CPU's registers from the blocks.
pub(crate) fn folds(report: &Report) -> bool {
    table_grouped(report) && !crate::core_dump::enabled()
}

/// Whether the report prints its table grouped (`stop.table`; by default above
/// [`GROUPED_ABOVE_CPUS`] CPUs).
pub(crate) fn table_grouped(report: &Report) -> bool {
    match TABLE.load(Ordering::Relaxed) {
        t if t == StopTable::Full as u8 => false,
        t if t == StopTable::Grouped as u8 => true,
        _ => report.tally().cpus > GROUPED_ABOVE_CPUS,
    }
}

/// Writes where each CPU a report calls stopped was, one CPU at a time, by index: the
/// registers its stop vector or stop NMI interrupted, the interrupted instruction (`  rip
/// 0x...`) and the return addresses of the interrupted code (`  #N 0x...`), walked on that
/// CPU's stack. A walk that ended at a frame pointer outside that stack says so.
///
/// When it folds (a grouped report), consecutive CPUs interrupted where the CPU before them was
/// (same instruction, interrupt state and return addresses) share that CPU's block: one line
/// names them (`cpus 5-24 (20): interrupted where cpu 4 was`). A thousand idle CPUs then take
/// a few lines instead of thousands.
pub(crate) struct ContextWriter {
    fold: bool,
    /// The last CPU whose block was written.
    shown: Option<Context>,
    /// The CPUs folded into it so far.
    folded: Option<SamePlace>,
}

impl ContextWriter {
    /// A writer that folds (`fold`) or not, before the first CPU.
    pub(crate) const fn new(fold: bool) -> Self {
        Self {
            fold,
            shown: None,
            folded: None,
        }
    }

    /// Writes `context`'s block to `out` (or folds it), the CPUs before it written already.
    pub(crate) fn write(&mut self, context: &Context, out: &mut dyn FnMut(fmt::Arguments<'_>)) {
        let cpu = context.cpu;
        let (frame, returns) = match &context.place {
            Place::Saved { frame, returns } => (TrapFrame::from_words(*frame), returns),
            Place::Incomplete => {
                self.finish(out);
                out(format_args!("cpu {cpu}: no context (its NMI came while it saved it)\n"));
                return;
            }
            Place::None => {
                self.finish(out);
                out(format_args!("cpu {cpu}: no context (it stopped itself)\n"));
                return;
            }
        };
        if let Some(like) = &self.shown {
            let last = self.folded.map_or(u64::from(like.cpu), |f| f.last);
            if self.fold && last + 1 == u64::from(cpu) && same_place(like, context) {
                let (i, like) = (u64::from(cpu), u64::from(like.cpu));
                self.folded = Some(self.folded.map_or(
                    SamePlace {
                        first: i,
                        last: i,
                        like,
                    },
                    |f| SamePlace { last: i, ..f },
                ));
                return;
            }
        }
        self.finish(out);
        self.shown = Some(*context);
        let heading = Interrupted {
            cpu: u64::from(cpu),
            interrupts_on: frame.interrupts_enabled(),
        };
        let rip = Frame::Rip { address: frame.rip };
        out(format_args!("{heading}\n{frame}\n{rip}\n"));
        for (index, &address) in returns.addresses().iter().enumerate() {
            let frame = Frame::Return {
                index: index as u32,
                address,
            };
            out(format_args!("{frame}\n"));
        }
        if let Some(at) = returns.bad_frame {
            out(format_args!("{}\n", ChainEnd { at }));
        }
    }

    /// Writes the line of the CPUs folded so far, if any; the next CPU starts afresh.
    pub(crate) fn finish(&mut self, out: &mut dyn FnMut(fmt::Arguments<'_>)) {
        if let Some(line) = self.folded.take() {
            out(format_args!("{line}\n"));
        }
        self.shown = None;
    }
}

/// Whether two stopped CPUs' blocks would show the same place: the same interrupted
/// instruction and interrupt state, and the same return addresses, each walk ending cleanly.
fn same_place(a: &Context, b: &Context) -> bool {
    let (
        Place::Saved {
            frame: a_words,
            returns: a_returns,
        },
        Place::Saved {
            frame: b_words,
            returns: b_returns,
        },
    ) = (&a.place, &b.place)
    else {
        return false;
    };
    let (a_frame, b_frame) = (TrapFrame::from_words(*a_words), TrapFrame::from_words(*b_words));
    a_frame.rip == b_frame.rip
        && a_frame.interrupts_enabled() == b_frame.interrupts_enabled()
        && a_returns.addresses() == b_returns.addresses()
        && a_returns.bad_frame.is_none()
        && b_returns.bad_frame.is_none()
}

/// With `stop.verify_ms=M`, waits M ms, then checks that no CPU the report calls stopped has
/// changed anything in its record (heartbeat, state, NMI accounting, timestamps) since the
/// moment the stop was done, and prints `heartbeat-check: ok (...)` or
/// `heartbeat-check: FAILED: ...`: an independent check of I1. CPUs parked with INIT are not
/// checked: INIT lands asynchronously (under TCG, only when the host next runs that vCPU), so a
/// parked CPU may still finish an instruction or two after the report, which is why the report
/// calls them parked, not stopped.
pub fn verify_quiet(report: &Report) {
    let ms = VERIFY_MS.load(Ordering::Relaxed);
    if ms == 0 {
        return;
    }
    time::delay(Duration::from_millis(ms));
    let mut checked = 0;
    for r in report.cpus().filter(|r| r.verdict == Verdict::Stopped) {
        let now = STOP.snapshot(r.index).unwrap_or_default();
        let at_stop = *AT_STOP[r.index].lock();
        if now != at_stop {
            let failed = HeartbeatCheck::Failed(format_args!(
                "cpu {} wrote to its record after the stop (heartbeat or stop state): {:?} -> \
                 {now:?}",
                r.index, at_stop
            ));
            console::write_fmt_breaking_lock(format_args!("{failed}\n"));
            return;
        }
        checked += 1;
    }
    let quiet = HeartbeatCheck::<&str>::Quiet { cpus: checked, ms };
    console::write_fmt_breaking_lock(format_args!("{quiet}\n"));
}
