//! What a run produced, and the checks of invariants I1–I5 and of the report.

use std::fmt;
use std::time::Duration;

use stop::{
    CpuReport, InitPark, StopPath, StopStrategy, StopSummary, StopTally, Verdict, INIT_SETTLE,
};

use crate::scenario::{Behaviour, Scenario};

/// Scheduling slack allowed on top of the protocol's bound for I3: the host runs many CPU
/// threads on few cores, so the stopper thread may be descheduled.
pub const SCHEDULING_SLACK: Duration = Duration::from_millis(200);

/// The shortest NMI timeout with which the checks require every CPU that can be stopped to be
/// reported stopped: a simulated CPU takes its NMI only when its thread runs, and on a loaded
/// 2-core host a thread can wait milliseconds for a core.
pub const STOPPABLE_NMI_TIMEOUT: Duration = Duration::from_millis(20);

/// I1 as the simulation sees it: no stop-path store, beat or stop-handler entry after the stop
/// returned.
fn quiet_after_return(seen: &CpuObservation) -> bool {
    seen.stores_after_return == 0
        && seen.entries_after_return == 0
        && seen.heartbeat_at_return == seen.heartbeat_at_end
}

/// How many CPUs a grouped table names: a `cpus A-B (N): ...` line N, any other row one.
fn grouped_cpus(grouped: &str) -> usize {
    grouped
        .lines()
        .skip(2)
        .map(|line| {
            line.strip_prefix("cpus ")
                .and_then(|rest| rest.split_once('(')?.1.split_once(')'))
                .and_then(|(n, _)| n.parse().ok())
                .unwrap_or(1)
        })
        .sum()
}

/// Lines (and group lines among them) a grouped table of `rows` has: each run of two or more
/// consecutive CPUs stopped by the strategy's first signal alone (the vector with no NMI, or
/// the one NMI of NMI-first), with no panic message, is one line.
struct GroupedShape {
    lines: usize,
    groups: usize,
}

fn group_lines(rows: &[CpuReport], strategy: StopStrategy) -> GroupedShape {
    let (path, nmis) = match strategy {
        StopStrategy::Vector => (StopPath::Vector, 0),
        StopStrategy::NmiFirst => (StopPath::Nmi, 1),
    };
    let plain = |r: &CpuReport| {
        r.verdict == Verdict::Stopped
            && r.path == Some(path)
            && r.nmis == nmis
            && r.panic_message.as_str().is_empty()
    };
    let mut shape = GroupedShape {
        lines: 0,
        groups: 0,
    };
    let mut run = 0;
    for row in rows.iter().map(Some).chain([None]) {
        if row.is_some_and(plain) {
            run += 1;
            continue;
        }
        match run {
            0 => {}
            1 => shape.lines += 1,
            _ => {
                shape.lines += 1;
                shape.groups += 1;
            }
        }
        run = 0;
        shape.lines += usize::from(row.is_some());
    }
    shape
}

/// What the winning `stop_others` returned.
#[derive(Clone, Debug)]
pub struct StopResult {
    /// The CPU that called it.
    pub stopper: usize,
    /// How long the call took.
    pub duration: Duration,
    /// The report's rows.
    pub rows: Vec<CpuReport>,
    /// The report's summary.
    pub summary: StopSummary,
    /// The report's tally.
    pub tally: StopTally,
    /// The report's table, as printed.
    pub table: String,
    /// The same report with its plain rows grouped (`StopReport::grouped`).
    pub grouped: String,
}

/// What the simulation saw one CPU do.
#[derive(Clone, Copy, Debug)]
pub struct CpuObservation {
    /// How it was told to behave.
    pub behaviour: Behaviour,
    /// Stop-path stores it made after the stop returned.
    pub stores_after_return: usize,
    /// NMIs sent to it while `Offline` or `Booting`.
    pub nmis_to_unready: usize,
    /// It entered the stop-vector handler during the stop.
    pub took_vector: bool,
    /// It entered the NMI handler during the stop.
    pub took_nmi: bool,
    /// It called `stop_others`.
    pub called_stop: bool,
    /// Stop-vector or NMI handler entries after the stop returned.
    pub entries_after_return: usize,
    /// It took the stop vector while an NMI to it was in flight (the race window).
    pub vector_during_nmi: bool,
    /// The stopper sent it INIT.
    pub init_sent: bool,
    /// Its heartbeat when the stop returned.
    pub heartbeat_at_return: Option<u64>,
    /// Its heartbeat at the end of the run.
    pub heartbeat_at_end: Option<u64>,
}

/// A run's results.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The scenario played.
    pub scenario: Scenario,
    /// Every `stop_others` call that returned.
    pub results: Vec<Result<StopResult, String>>,
    /// Per-CPU observations, by index.
    pub cpus: Vec<CpuObservation>,
}

/// A broken invariant or an inconsistent report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// I1: a CPU reported stopped (or not a target) stored, beat or entered a stop handler
    /// after the stop returned.
    StoreAfterDone {
        /// The CPU.
        cpu: usize,
    },
    /// I2: not exactly one `stop_others` returned a report.
    Election {
        /// How many returned.
        returned: usize,
    },
    /// I2: a CPU lost the election but its panic message is not in the report.
    LostMessage {
        /// The CPU.
        cpu: usize,
    },
    /// I3: the stop took longer than its bound.
    TooSlow {
        /// How long it took.
        took: Duration,
        /// The bound (with slack).
        bound: Duration,
    },
    /// I3: a CPU that could not be stopped is reported stopped.
    UnnamedStraggler {
        /// The CPU.
        cpu: usize,
    },
    /// I4: an NMI was sent to an `Offline` or `Booting` CPU.
    NmiToUnready {
        /// The CPU.
        cpu: usize,
    },
    /// I5: the recorded path disagrees with what the CPU took, or counts do not add up.
    Accounting {
        /// What is wrong.
        what: String,
    },
    /// The report does not describe the machine.
    Report {
        /// What is wrong.
        what: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl Outcome {
    /// The winning stop's result, if exactly one stop returned a report.
    pub fn stop(&self) -> Option<&StopResult> {
        match self.results.as_slice() {
            [Ok(result)] => Some(result),
            _ => None,
        }
    }

    /// Checks I1–I5 and the report; returns every violation found.
    pub fn check(&self) -> Result<(), Vec<Violation>> {
        let mut found = Vec::new();
        match self.stop() {
            None => found.push(Violation::Election {
                returned: self.results.len(),
            }),
            Some(stop) => self.check_stop(stop, &mut found),
        }
        for (cpu, seen) in self.cpus.iter().enumerate() {
            if seen.nmis_to_unready > 0 {
                found.push(Violation::NmiToUnready { cpu });
            }
        }
        if found.is_empty() {
            Ok(())
        } else {
            Err(found)
        }
    }

    /// The checks that need the report.
    fn check_stop(&self, stop: &StopResult, found: &mut Vec<Violation>) {
        // NMI-first never waits for the vector.
        let vector_wait = match self.scenario.strategy {
            StopStrategy::Vector => self.scenario.vector_timeout,
            StopStrategy::NmiFirst => Duration::ZERO,
        };
        let bound = vector_wait
            + self.scenario.nmi_timeout
            + match self.scenario.init_park {
                InitPark::On => INIT_SETTLE,
                InitPark::Off => Duration::ZERO,
            }
            + SCHEDULING_SLACK;
        if stop.duration > bound {
            found.push(Violation::TooSlow {
                took: stop.duration,
                bound,
            });
        }
        let report = |what: String| Violation::Report { what };
        if stop.rows.len() != self.cpus.len() {
            found.push(report(format!(
                "{} rows for {} CPUs",
                stop.rows.len(),
                self.cpus.len()
            )));
        }
        if stop.table.lines().count() != self.cpus.len() + 2 {
            found.push(report(format!(
                "table has wrong line count:\n{}",
                stop.table
            )));
        }
        if grouped_cpus(&stop.grouped) != self.cpus.len() {
            found.push(report(format!(
                "the grouped table does not name every CPU once:\n{}",
                stop.grouped
            )));
        }
        let groups = group_lines(&stop.rows, self.scenario.strategy);
        let lines: Vec<&str> = stop.grouped.lines().skip(2).collect();
        let first_path = match self.scenario.strategy {
            StopStrategy::Vector => ": vector stopped, apic ",
            StopStrategy::NmiFirst => ": nmi stopped, apic ",
        };
        let group_lines = lines.iter().filter(|l| l.starts_with("cpus ")).count();
        if lines.len() != groups.lines
            || group_lines != groups.groups
            || lines
                .iter()
                .any(|l| l.starts_with("cpus ") && !l.contains(first_path))
        {
            found.push(report(format!(
                "the grouped table should have {} lines, {} of them groups of CPUs stopped by \
                 the strategy's first signal ('{first_path}'):\n{}",
                groups.lines, groups.groups, stop.grouped
            )));
        }
        let mut counted = StopSummary {
            stopper: stop.stopper as u64,
            targets: 0,
            total_us: stop.summary.total_us,
            ..StopSummary::default()
        };
        for (row, seen) in stop.rows.iter().zip(&self.cpus) {
            let cpu = row.index.get();
            if row.apic_id.get() != Scenario::apic_id(cpu) {
                found.push(report(format!("cpu {cpu}: apic id {}", row.apic_id)));
            }
            // A CPU that can be stopped (it takes the vector or an NMI, or stops itself) must
            // be: Stuck or Parked is allowed only for one that never answers, or when the
            // scenario's NMI timeout is too short for the host to be sure to run every CPU
            // thread in time.
            let stoppable = self.scenario.nmi_timeout >= STOPPABLE_NMI_TIMEOUT;
            let expected_verdict_ok = match (cpu == stop.stopper, seen.behaviour) {
                (true, _) => row.verdict == Verdict::Stopper,
                (false, Behaviour::Offline) => row.verdict == Verdict::NotTarget,
                (false, Behaviour::NeverAnswers) => {
                    matches!(row.verdict, Verdict::Stuck | Verdict::Parked)
                }
                (false, _) if stoppable => row.verdict == Verdict::Stopped,
                (false, _) => matches!(
                    row.verdict,
                    Verdict::Stopped | Verdict::Stuck | Verdict::Parked
                ),
            };
            if !expected_verdict_ok {
                found.push(Violation::UnnamedStraggler { cpu });
            }
            if !matches!(row.verdict, Verdict::Stopper | Verdict::NotTarget) {
                counted.targets += 1;
            }
            if self.scenario.strategy == StopStrategy::NmiFirst && seen.took_vector {
                found.push(report(format!(
                    "cpu {cpu} took the stop vector under NMI-first"
                )));
            }
            if row.nmis > 1 {
                found.push(Violation::Accounting {
                    what: format!("cpu {cpu} was sent {} NMIs", row.nmis),
                });
            }
            match row.verdict {
                Verdict::NotTarget if !quiet_after_return(seen) => {
                    found.push(Violation::StoreAfterDone { cpu });
                }
                Verdict::Parked if !seen.init_sent => found.push(Violation::Report {
                    what: format!("cpu {cpu} reported parked but was sent no INIT"),
                }),
                Verdict::Stopped => {
                    self.check_stopped(row, seen, found);
                    match row.path {
                        Some(StopPath::Vector) => counted.vector += 1,
                        Some(StopPath::Nmi) => counted.nmi += 1,
                        _ => counted.self_stop += 1,
                    }
                }
                Verdict::Parked => counted.init += 1,
                Verdict::Stuck => counted.stuck += 1,
                _ => {}
            }
            if seen.called_stop && cpu != stop.stopper && row.path == Some(StopPath::SelfStop) {
                let expected = format!("panic on cpu {cpu}");
                if row.panic_message.as_str() != expected || !stop.table.contains(&expected) {
                    found.push(Violation::LostMessage { cpu });
                }
            }
        }
        if counted != stop.summary || counted.targets != stop.tally.targets as u64 {
            found.push(Violation::Accounting {
                what: format!("summary {} but rows say {counted}", stop.summary),
            });
        }
        let line = stop.summary.to_string();
        if StopSummary::parse(&line) != Ok(counted) {
            found.push(report(format!("summary line {line:?}")));
        }
    }

    /// I1 and I5 for a CPU the report calls stopped.
    fn check_stopped(&self, row: &CpuReport, seen: &CpuObservation, found: &mut Vec<Violation>) {
        let cpu = row.index.get();
        if !quiet_after_return(seen) {
            found.push(Violation::StoreAfterDone { cpu });
        }
        let path_ok = match row.path {
            Some(StopPath::Vector) => seen.took_vector,
            Some(StopPath::Nmi) => seen.took_nmi && row.nmis == 1,
            Some(StopPath::SelfStop) => {
                seen.called_stop || matches!(seen.behaviour, Behaviour::Booting { .. })
            }
            Some(StopPath::Init) | None => false,
        };
        if !path_ok {
            found.push(Violation::Accounting {
                what: format!("cpu {cpu}: path {:?} but saw {seen:?}", row.path),
            });
        }
        if row.ack_latency.is_none() || row.halt_latency.is_none() {
            found.push(Violation::Report {
                what: format!("cpu {cpu} stopped without ack/halt times"),
            });
        }
    }
}
