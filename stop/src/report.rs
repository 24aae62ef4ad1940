//! What a stop did: per-CPU rows, an aligned table, and the counts of the one-line
//! machine-readable summary (whose line `wire::summary` defines).
#![forbid(unsafe_code)]

use core::fmt;
use core::time::Duration;

use wire::summary::StopSummary;

use crate::cpu::{ApicId, CpuIndex};
use crate::message::PanicText;
use crate::platform::Platform;
use crate::record::{CpuRecord, Verdict, NO_TIME};
use crate::state::StopPath;
use crate::strategy::StopStrategy;
use crate::sync::Ordering;
use crate::table::RecordTable;
use crate::StopController;

/// Counts gathered by the stopper while it ran the stop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StopTally {
    /// CPUs registered when the stop began (rows of the report).
    pub cpus: usize,
    /// CPUs other than the stopper that were not `Offline`.
    pub targets: usize,
    /// NMIs sent.
    pub nmis_sent: usize,
    /// IPIs (vector, NMI or INIT) the platform failed to send.
    pub ipi_failures: usize,
    /// Time from election to the end of the stop, in ns.
    pub total_ns: u64,
}

/// One CPU's line in a [`StopReport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuReport {
    /// CPU index.
    pub index: CpuIndex,
    /// Local APIC ID.
    pub apic_id: ApicId,
    /// The stopper's verdict on it.
    pub verdict: Verdict,
    /// How it stopped (the first path it took; [`StopPath::Init`] if parked).
    pub path: Option<StopPath>,
    /// Time from the start of the stop to its ack.
    pub ack_latency: Option<Duration>,
    /// Time from the start of the stop to its halt.
    pub halt_latency: Option<Duration>,
    /// NMIs sent to it.
    pub nmis: u32,
    /// The panic message it recorded after losing the election, if any.
    pub panic_message: PanicText,
}

impl CpuReport {
    /// Whether the stopper could not confirm it stopped (it may still be running).
    pub fn stuck(&self) -> bool {
        self.verdict == Verdict::Stuck
    }
}

/// The result of [`StopController::stop_others`]: reads the (now frozen) CPU records.
///
/// `Display` prints an aligned table; [`StopReport::summary`] the `stop-summary:` line.
pub struct StopReport<'a, P, T> {
    /// The controller whose records this reports.
    controller: &'a StopController<P, T>,
    /// What the table's heading says.
    heading: Heading,
}

/// What a report's table says above its rows, and what its summary counts besides them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Heading {
    /// The stopper's index.
    pub(crate) stopper: usize,
    /// Why the stop happened.
    pub(crate) reason: &'static str,
    /// How the stopper first signalled the targets.
    pub(crate) strategy: StopStrategy,
    /// Counts from the stop.
    pub(crate) tally: StopTally,
}

impl<'a, P: Platform, T: RecordTable> StopReport<'a, P, T> {
    /// A report over `controller`'s records.
    pub(crate) fn new(
        controller: &'a StopController<P, T>,
        stopper: usize,
        reason: &'static str,
        strategy: StopStrategy,
        tally: StopTally,
    ) -> Self {
        let heading = Heading {
            stopper,
            reason,
            strategy,
            tally,
        };
        Self {
            controller,
            heading,
        }
    }

    /// The stopper's index.
    pub fn stopper(&self) -> CpuIndex {
        CpuIndex::new(self.heading.stopper)
    }

    /// Why the stop happened (`panic`, `reboot`, `poweroff`, `halt`, `request`).
    pub fn reason(&self) -> &'static str {
        self.heading.reason
    }

    /// Counts gathered during the stop.
    pub fn tally(&self) -> StopTally {
        self.heading.tally
    }

    /// What the table says above its rows.
    pub(crate) fn heading(&self) -> Heading {
        self.heading
    }

    /// One row per CPU registered when the stop began, by index.
    pub fn cpus(&self) -> impl Iterator<Item = CpuReport> + '_ {
        let started = self.controller.started_at();
        self.controller.records()[..self.heading.tally.cpus]
            .iter()
            .enumerate()
            .map(move |(index, record)| cpu_report(index, record, started))
    }

    /// Outcome counts (what the `stop-summary:` line prints).
    pub fn summary(&self) -> StopSummary {
        summarize(&self.heading, self.cpus())
    }
}

/// The summary of a report with `heading` over `rows`.
pub(crate) fn summarize(heading: &Heading, rows: impl Iterator<Item = CpuReport>) -> StopSummary {
    let mut summary = StopSummary {
        stopper: heading.stopper as u64,
        targets: heading.tally.targets as u64,
        total_us: heading.tally.total_ns / 1_000,
        ..StopSummary::default()
    };
    for cpu in rows {
        match (cpu.verdict, cpu.path) {
            (Verdict::Stopped, Some(StopPath::Vector)) => summary.vector += 1,
            (Verdict::Stopped, Some(StopPath::Nmi)) => summary.nmi += 1,
            (Verdict::Stopped, _) => summary.self_stop += 1,
            (Verdict::Parked, _) => summary.init += 1,
            (Verdict::Stuck, _) => summary.stuck += 1,
            _ => {}
        }
    }
    summary
}

/// Reads one record into a row.
fn cpu_report(index: usize, record: &CpuRecord, started: u64) -> CpuReport {
    let latency =
        |at: u64| (at != NO_TIME).then(|| Duration::from_nanos(at.saturating_sub(started)));
    let verdict = record.verdict();
    CpuReport {
        index: CpuIndex::new(index),
        apic_id: ApicId::new(record.apic_id.load(Ordering::SeqCst)),
        verdict,
        path: match verdict {
            Verdict::Parked => Some(StopPath::Init),
            _ => record.word().path(),
        },
        ack_latency: latency(record.acked_at.load(Ordering::SeqCst)),
        halt_latency: latency(record.halted_at.load(Ordering::SeqCst)),
        nmis: record.nmi_sent.load(Ordering::SeqCst),
        panic_message: record.panic.load(),
    }
}

/// A latency in µs with one decimal, or `-`.
struct Micros(Option<Duration>);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(d) = self.0 else {
            return f.pad("-");
        };
        let tenths = d.as_nanos() / 100;
        // Format into a small stack buffer so the column width applies to the whole number.
        let mut text = PanicText::EMPTY;
        fmt::write(&mut text, format_args!("{}.{}", tenths / 10, tenths % 10))?;
        f.pad(text.as_str())
    }
}

impl Verdict {
    /// Short name used in the table.
    fn name(self) -> &'static str {
        match self {
            Verdict::Pending => "pending",
            Verdict::NotTarget => "offline",
            Verdict::Stopper => "stopper",
            Verdict::Stopped => "stopped",
            Verdict::Parked => "parked",
            Verdict::Stuck => "STUCK",
        }
    }
}

impl<P: Platform, T: RecordTable> StopReport<'_, P, T> {
    /// The report with consecutive plain rows grouped ([`GroupedReport`]): for machines with
    /// many CPUs, where one row per CPU is too long for a serial console.
    pub fn grouped(&self) -> GroupedReport<'_, '_, P, T> {
        GroupedReport(self)
    }
}

/// The first line and the column heads.
fn write_heading(f: &mut fmt::Formatter<'_>, heading: &Heading) -> fmt::Result {
    writeln!(
        f,
        "stop report: stopper cpu {}, reason {}, {} targets, {} NMIs sent, {} IPI failures",
        heading.stopper,
        heading.reason,
        heading.tally.targets,
        heading.tally.nmis_sent,
        heading.tally.ipi_failures
    )?;
    writeln!(
        f,
        "{:>4} {:>8} {:<7} {:<8} {:>9} {:>9} {:>4}  panic message",
        "cpu", "apic", "path", "status", "ack_us", "halt_us", "nmis"
    )
}

/// The whole table: the heading, then one row per CPU of `rows`, or with `grouped` each run of
/// consecutive plain rows as one line ([`GroupedReport`]).
pub(crate) fn write_table(
    f: &mut fmt::Formatter<'_>,
    heading: &Heading,
    rows: impl Iterator<Item = CpuReport>,
    grouped: bool,
) -> fmt::Result {
    write_heading(f, heading)?;
    if !grouped {
        for cpu in rows {
            write_row(f, &cpu)?;
        }
        return Ok(());
    }
    let mut group: Option<Group> = None;
    for cpu in rows {
        if let Some(path) = plain(&cpu, heading.strategy) {
            match group.as_mut() {
                Some(g) => g.push(cpu),
                None => group = Some(Group::new(cpu, path)),
            }
            continue;
        }
        if let Some(g) = group.take() {
            g.write(f)?;
        }
        write_row(f, &cpu)?;
    }
    if let Some(g) = group {
        g.write(f)?;
    }
    Ok(())
}

/// One CPU's row of the table.
fn write_row(f: &mut fmt::Formatter<'_>, cpu: &CpuReport) -> fmt::Result {
    writeln!(
        f,
        "{:>4} {:>8} {:<7} {:<8} {:>9} {:>9} {:>4}  {}",
        cpu.index,
        cpu.apic_id,
        cpu.path.map_or("-", StopPath::name),
        cpu.verdict.name(),
        Micros(cpu.ack_latency),
        Micros(cpu.halt_latency),
        cpu.nmis,
        cpu.panic_message
    )
}

impl<P: Platform, T: RecordTable> fmt::Display for StopReport<'_, P, T> {
    /// The heading and one row per CPU.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_table(f, &self.heading, self.cpus(), false)
    }
}

/// A [`StopReport`] printed with each run of consecutive plain rows (stopped by the path the
/// strategy signals first, no panic message: by the vector alone under
/// [`StopStrategy::Vector`], by its one NMI under [`StopStrategy::NmiFirst`]) as one line,
/// `cpus 1-1023 (1023): vector stopped, apic 1..1023, ack_us 12.0..480.3, halt_us
/// 12.9..481.0`; every other row (the stopper, an NMI after the vector timeout, INIT,
/// self-stopped, stuck, offline CPUs, or one with a panic message) as in the full table.
pub struct GroupedReport<'r, 'a, P, T>(&'r StopReport<'a, P, T>);

/// A run of consecutive plain rows being gathered.
struct Group {
    first: CpuReport,
    last: CpuReport,
    count: usize,
    path: StopPath,
    apic: (u32, u32),
    ack: (Option<Duration>, Option<Duration>),
    halt: (Option<Duration>, Option<Duration>),
}

impl Group {
    fn new(cpu: CpuReport, path: StopPath) -> Self {
        let apic = cpu.apic_id.get();
        Self {
            first: cpu,
            last: cpu,
            count: 1,
            path,
            apic: (apic, apic),
            ack: (cpu.ack_latency, cpu.ack_latency),
            halt: (cpu.halt_latency, cpu.halt_latency),
        }
    }

    /// Adds `cpu`, the next by index.
    fn push(&mut self, cpu: CpuReport) {
        let apic = cpu.apic_id.get();
        self.apic = (self.apic.0.min(apic), self.apic.1.max(apic));
        self.ack = widen(self.ack, cpu.ack_latency);
        self.halt = widen(self.halt, cpu.halt_latency);
        self.last = cpu;
        self.count += 1;
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 1 {
            return write_row(f, &self.first);
        }
        writeln!(
            f,
            "cpus {}-{} ({}): {} stopped, apic {}..{}, ack_us {}..{}, halt_us {}..{}",
            self.first.index,
            self.last.index,
            self.count,
            self.path.name(),
            self.apic.0,
            self.apic.1,
            Micros(self.ack.0),
            Micros(self.ack.1),
            Micros(self.halt.0),
            Micros(self.halt.1)
        )
    }
}

/// `(min, max)` widened to take `value` (a missing value stays out).
fn widen(
    (min, max): (Option<Duration>, Option<Duration>),
    value: Option<Duration>,
) -> (Option<Duration>, Option<Duration>) {
    let pick = |a: Option<Duration>, f: fn(Duration, Duration) -> Duration| match (a, value) {
        (Some(a), Some(v)) => Some(f(a, v)),
        (a, v) => a.or(v),
    };
    (pick(min, Duration::min), pick(max, Duration::max))
}

/// The path a row may be grouped under: stopped the way `strategy` stops a CPU that answers
/// its first signal (the vector alone, or the one NMI sent at once), nothing else to say.
fn plain(cpu: &CpuReport, strategy: StopStrategy) -> Option<StopPath> {
    let (path, nmis) = match strategy {
        StopStrategy::Vector => (StopPath::Vector, 0),
        StopStrategy::NmiFirst => (StopPath::Nmi, 1),
    };
    (cpu.verdict == Verdict::Stopped
        && cpu.path == Some(path)
        && cpu.nmis == nmis
        && cpu.panic_message.as_str().is_empty())
    .then_some(path)
}

impl<P: Platform, T: RecordTable> fmt::Display for GroupedReport<'_, '_, P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_table(f, &self.0.heading, self.0.cpus(), true)
    }
}
