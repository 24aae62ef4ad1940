//! The panic reports a warm restart carries (`wire::kept_report`): with `panic=restart` each
//! panic prints its `PANIC on cpu N` lines and the summary at once and the rest after the
//! restart. A case that asks for this check must show, for every panic, one kept report of that
//! CPU's panic, after the panic and before the next one, whole (heading, backtrace, stop table,
//! end line). The app's lines may come between a report's lines.

use wire::frames::BACKTRACE;
use wire::kept_report::{Heading, END};

/// What a panic's first line starts with; then the CPU.
const PANIC: &str = "PANIC on cpu ";
/// The stop table's first line starts with it.
const STOP_REPORT: &str = "stop report:";

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
            match line {
                BACKTRACE => Some(Mark::Backtrace),
                END => Some(Mark::End),
                _ if line.starts_with(STOP_REPORT) => Some(Mark::StopTable),
                _ => None,
            }
        })
        .collect()
}

/// What is wrong with the kept reports in `serial` (empty: nothing).
pub fn problems(serial: &str) -> Vec<String> {
    let marks = marks(serial);
    let panics = marks.iter().filter(|m| matches!(m, Mark::Panic(_))).count();
    if panics == 0 {
        return vec!["no panic to keep a report of".to_string()];
    }
    let mut problems = Vec::new();
    // Each panic's stretch: from its PANIC line to the next one.
    let starts: Vec<usize> = (0..marks.len())
        .filter(|&i| matches!(marks[i], Mark::Panic(_)))
        .collect();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(marks.len());
        let Mark::Panic(cpu) = marks[start] else {
            unreachable!("starts are panics")
        };
        let stretch = &marks[start + 1..end];
        let want = [
            Mark::Heading(cpu),
            Mark::Backtrace,
            Mark::StopTable,
            Mark::End,
        ];
        if stretch != want {
            problems.push(format!(
                "panic #{} (cpu {cpu}): expected its kept report (heading, backtrace, stop \
                 table, end) before the next panic, found {stretch:?}",
                n + 1
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic on `cpu` and, if `kept`, its kept report with an app line in the middle.
    fn panic(cpu: u64, kept: bool) -> String {
        let mut out = format!(
            "PANIC on cpu {cpu}: panicked at src/main.rs:1:1:\nboom\nstop-summary: stopper={cpu}\n"
        );
        if kept {
            out += &format!(
                "{}\nbacktrace:\n  #0 0x0000000000100000\napp: run #1\n\
                 stop report: stopper cpu {cpu}, reason panic\n{END}\n",
                Heading { cpu }
            );
        }
        out
    }

    #[test]
    fn every_panic_with_its_kept_report_passes() {
        let serial = panic(1, true) + &panic(0, true);
        assert_eq!(problems(&serial), Vec::<String>::new());
    }

    #[test]
    fn a_report_not_carried_is_named() {
        let serial = panic(1, true) + &panic(0, false) + &panic(1, true);
        let problems = problems(&serial);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("panic #2 (cpu 0): expected its kept report"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_report_of_the_wrong_cpu_or_cut_short_fails() {
        let wrong = panic(1, true).replace("cpu 1's panic", "cpu 2's panic");
        assert_eq!(problems(&wrong).len(), 1);
        let cut = panic(1, true).replace(END, "");
        assert_eq!(problems(&cut).len(), 1);
        assert_eq!(problems("no panic\n"), ["no panic to keep a report of"]);
    }
}
