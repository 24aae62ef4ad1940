//! The panic reports a warm restart carries (`wire::kept_report`): with `panic=restart` a panic
//! prints nothing at once, and its whole report comes out after the restart. A case that asks
//! for this check must show every panic inside a kept report of that CPU's panic, whole
//! (heading, `PANIC on cpu N` line, backtrace, stop table, end line) before the next report,
//! and no panic printed outside one. The app's lines may come between a report's lines. A
//! restart that gives up (a `restart:` line, then reset or power-off) prints the kept report
//! first: its line must come last, right after a whole report.

use wire::frames::{Interrupted, SamePlace, BACKTRACE};
use wire::kept_report::{Heading, END};
use wire::summary::StopSummary;

/// What a panic's first line starts with; then the CPU.
const PANIC: &str = "PANIC on cpu ";
/// The stop table's first line starts with it.
const STOP_REPORT: &str = "stop report:";
/// Why a warm restart gives up starts with it.
const GAVE_UP: &str = "restart: ";
/// What a stopped CPU without a saved context says after its CPU.
const NO_CONTEXT: &str = ": no context (";

/// One line of interest, in the order printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// A panic on this CPU.
    Panic(u64),
    /// A kept report's heading, of this CPU's panic.
    Heading(u64),
    Backtrace,
    StopTable,
    End,
    /// A warm restart gave up.
    GaveUp,
    /// The stop's summary: how many targets it stopped (by vector, NMI or themselves).
    Stopped(u64),
    /// Where this many stopped CPUs were: a context block, a CPU without one, or a folded line.
    Contexts(u64),
}

/// Reads the marks off `serial`, in order.
fn marks(serial: &str) -> Vec<Mark> {
    serial
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter_map(|line| {
            if let Some(rest) = line.strip_prefix(PANIC) {
                let cpu = rest.split(|c: char| !c.is_ascii_digit()).next()?;
                return cpu.parse().ok().map(Mark::Panic);
            }
            if let Ok(heading) = Heading::parse(line) {
                return Some(Mark::Heading(heading.cpu));
            }
            if let Ok(summary) = StopSummary::parse(line) {
                return Some(Mark::Stopped(
                    summary.vector + summary.nmi + summary.self_stop,
                ));
            }
            if Interrupted::parse(line).is_ok()
                || line.starts_with("cpu ") && line.contains(NO_CONTEXT)
            {
                return Some(Mark::Contexts(1));
            }
            if let Ok(folded) = SamePlace::parse(line) {
                return Some(Mark::Contexts(folded.cpus()));
            }
            match line {
                BACKTRACE => Some(Mark::Backtrace),
                END => Some(Mark::End),
                _ if line.starts_with(STOP_REPORT) => Some(Mark::StopTable),
                _ if line.starts_with(GAVE_UP) => Some(Mark::GaveUp),
                _ => None,
            }
        })
        .collect()
}

/// What is wrong with the kept reports in `serial` (empty: nothing).
pub fn problems(serial: &str) -> Vec<String> {
    let mut marks = marks(serial);
    if !marks.iter().any(|m| matches!(m, Mark::Panic(_))) {
        return vec!["no panic to keep a report of".to_string()];
    }
    let mut problems = Vec::new();
    if marks.ends_with(&[Mark::End, Mark::GaveUp]) {
        marks.pop();
    }
    if marks.contains(&Mark::GaveUp) {
        problems.push(
            "a `restart:` line came before the kept report it should follow, or in the middle \
             of one"
                .to_string(),
        );
        marks.retain(|&m| m != Mark::GaveUp);
    }
    let headings: Vec<usize> = (0..marks.len())
        .filter(|&i| matches!(marks[i], Mark::Heading(_)))
        .collect();
    let first = headings.first().copied().unwrap_or(marks.len());
    if let Some(Mark::Panic(cpu)) = marks[..first].iter().find(|m| matches!(m, Mark::Panic(_))) {
        problems.push(format!(
            "cpu {cpu}'s panic was printed at once, before any kept report"
        ));
    }
    // Each kept report's stretch: from its heading to the next one.
    for (n, &start) in headings.iter().enumerate() {
        let end = headings.get(n + 1).copied().unwrap_or(marks.len());
        let Mark::Heading(cpu) = marks[start] else {
            unreachable!("headings are headings")
        };
        let stretch = &marks[start + 1..end];
        // Every CPU the stop stopped has its place in the report (`stop.report=full`); what
        // comes after its end line (a later stop's summary) is not the report's.
        let report = stretch
            .split(|&m| m == Mark::End)
            .next()
            .unwrap_or_default();
        let count = |of: fn(&Mark) -> Option<u64>| report.iter().filter_map(of).sum::<u64>();
        let stopped = count(|m| {
            if let Mark::Stopped(n) = m {
                Some(*n)
            } else {
                None
            }
        });
        let placed = count(|m| {
            if let Mark::Contexts(n) = m {
                Some(*n)
            } else {
                None
            }
        });
        if placed != stopped {
            problems.push(format!(
                "kept report #{} (cpu {cpu}): the summary counts {stopped} stopped CPU(s), the \
                 contexts place {placed}",
                n + 1
            ));
        }
        let stretch: Vec<Mark> = stretch
            .iter()
            .copied()
            .filter(|m| !matches!(m, Mark::Stopped(_) | Mark::Contexts(_)))
            .collect();
        let want = [
            Mark::Panic(cpu),
            Mark::Backtrace,
            Mark::StopTable,
            Mark::End,
        ];
        if stretch != want {
            problems.push(format!(
                "kept report #{} (cpu {cpu}): expected cpu {cpu}'s panic, backtrace, stop table \
                 and end before the next report, found {stretch:?}",
                n + 1
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kept report of a panic on `cpu`, with an app line in the middle; without its
    /// backtrace unless `whole`.
    fn kept(cpu: u64, whole: bool) -> String {
        let backtrace = if whole {
            "backtrace:\n  #0 0x0000000000100000\n"
        } else {
            ""
        };
        // Three CPUs stopped: one block, one without a context, one folded.
        format!(
            "{}\nPANIC on cpu {cpu}: panicked at src/main.rs:1:1:\nboom\n{backtrace}app: run #1\n\
             stop report: stopper cpu {cpu}, reason panic\n{SUMMARY}\n\
             cpu 5 was interrupted (interrupts on):\nrip=0x1\ncpu 6: no context (it stopped \
             itself)\ncpu 7: interrupted where cpu 5 was\n{END}\n",
            Heading { cpu }
        )
    }

    /// A summary of three CPUs stopped, one each way.
    const SUMMARY: &str = "stop-summary: stopper=0 targets=3 vector=1 nmi=1 self=1 init=0 \
                           stuck=0 total_us=9";

    #[test]
    fn every_panic_in_its_whole_kept_report_passes() {
        // The second report is followed by the power-off's own stop summary.
        let serial = kept(1, true) + "app: run #2\n" + &kept(0, true) + SUMMARY + "\n";
        assert_eq!(problems(&serial), Vec::<String>::new());
    }

    #[test]
    fn a_report_cut_short_is_named() {
        let serial = kept(1, true) + &kept(0, false) + &kept(1, true);
        let problems = problems(&serial);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("kept report #2 (cpu 0): expected cpu 0's panic, backtrace"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_panic_printed_at_once_fails() {
        // As before the whole report was kept: the message and summary first, the rest kept.
        let at_once = "PANIC on cpu 1: panicked at src/main.rs:1:1:\nboom\nstop-summary: x\n";
        let serial = at_once.to_string() + &kept(1, true).replace("PANIC on cpu 1", "was");
        let problems = problems(&serial);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(
            problems[0],
            "cpu 1's panic was printed at once, before any kept report"
        );
        assert!(
            problems[1].contains("found [Backtrace, StopTable, End]"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_report_of_the_wrong_cpu_or_without_its_end_fails() {
        let wrong = kept(1, true).replace("cpu 1's panic", "cpu 2's panic");
        assert_eq!(problems(&wrong).len(), 1);
        let cut = kept(1, true).replace(END, "");
        assert_eq!(problems(&cut).len(), 1);
        assert_eq!(problems("no panic\n"), ["no panic to keep a report of"]);
    }

    #[test]
    fn a_restart_that_gives_up_must_print_the_report_first() {
        let gave_up = "restart: only 1 of 2 APs proved parked by INIT within 1010 ms\n";
        let serial = kept(1, true) + gave_up + "stop-summary: stopper=0\n";
        assert_eq!(problems(&serial), Vec::<String>::new());
        // As when the restart said why before it printed the report (reset printed it after).
        let late = gave_up.to_string() + &kept(1, true);
        assert_eq!(
            problems(&late),
            [
                "a `restart:` line came before the kept report it should follow, or in the middle \
              of one"
            ]
        );
    }

    #[test]
    fn a_report_missing_a_stopped_cpus_context_fails() {
        // As if the printer had never written the captured contexts, or lost one.
        let none = kept(1, true).replace("cpu 5 was interrupted (interrupts on):\n", "");
        assert_eq!(
            problems(&none),
            ["kept report #1 (cpu 1): the summary counts 3 stopped CPU(s), the contexts place 2"]
        );
        let twice = kept(1, true).replace("cpu 7:", "cpus 7-8 (2):");
        assert_eq!(
            problems(&twice),
            ["kept report #1 (cpu 1): the summary counts 3 stopped CPU(s), the contexts place 4"]
        );
    }
}
