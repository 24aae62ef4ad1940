//! What a case expects of the stop: bounds on the `stop-summary:` fields and the post-stop
//! heartbeat check.

use std::fmt;

use wire::heartbeat::{self, HeartbeatCheck};

use crate::cases::summary::{self, Field, Found, StopSummary};

/// How a value compares with the bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// Exactly the bound.
    Eq,
    /// At least the bound.
    AtLeast,
}

impl fmt::Display for Cmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cmp::Eq => "==",
            Cmp::AtLeast => ">=",
        })
    }
}

/// A bound on one summary field, or on the sum of several (e.g. `vector+nmi == n-1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    fields: Vec<Field>,
    cmp: Cmp,
    bound: u64,
}

impl Check {
    /// `field == value`.
    pub fn eq(field: Field, value: u64) -> Check {
        Check::sum(&[field], Cmp::Eq, value)
    }

    /// `field >= value`.
    pub fn at_least(field: Field, value: u64) -> Check {
        Check::sum(&[field], Cmp::AtLeast, value)
    }

    /// `fields[0] + fields[1] + ... <cmp> bound`.
    pub fn sum(fields: &[Field], cmp: Cmp, bound: u64) -> Check {
        assert!(!fields.is_empty(), "a check needs a field");
        Check {
            fields: fields.to_vec(),
            cmp,
            bound,
        }
    }

    /// The fields the check adds up (for the case table's tests).
    #[cfg(test)]
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// `None` if `summary` satisfies the check, else what it got instead.
    fn violation(&self, summary: &StopSummary) -> Option<String> {
        let value: u64 = self.fields.iter().map(|&f| summary.get(f)).sum();
        let holds = match self.cmp {
            Cmp::Eq => value == self.bound,
            Cmp::AtLeast => value >= self.bound,
        };
        if holds {
            return None;
        }
        let got = match self.fields.as_slice() {
            [field] => format!("{field}={value}"),
            fields => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|&f| format!("{f}={}", summary.get(f)))
                    .collect();
                format!("{value} ({})", parts.join(" "))
            }
        };
        Some(format!("expected {self}, got {got}"))
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.fields.iter().map(|f| f.key()).collect();
        write!(f, "{} {} {}", names.join("+"), self.cmp, self.bound)
    }
}

/// A case's expectations of the stop. Any of them makes the summary line mandatory, exactly once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StopExpect {
    /// Bounds on the summary's fields.
    pub checks: Vec<Check>,
    /// Whether `heartbeat-check: ok` must be printed (and no failed check).
    pub heartbeat: bool,
}

impl StopExpect {
    /// Adds `check`, replacing any check of the same fields.
    pub fn set(&mut self, check: Check) {
        self.checks.retain(|c| c.fields != check.fields);
        self.checks.push(check);
    }

    /// Every way `serial` falls short of the expectations (empty: it meets them all).
    pub fn problems(&self, serial: &str) -> Vec<String> {
        let mut problems = Vec::new();
        match summary::find(serial) {
            Found::One(summary) => {
                problems.extend(self.checks.iter().filter_map(|c| c.violation(&summary)));
            }
            Found::Missing => problems.push(format!("no {:?} line", summary::PREFIX)),
            Found::Malformed(why, line) => {
                problems.push(format!("malformed summary ({why}): {line:?}"));
            }
            Found::Several(count, _) => {
                problems.push(format!("{:?} printed {count} times", summary::PREFIX));
            }
        }
        if self.heartbeat {
            problems.extend(heartbeat_problem(serial));
        }
        problems
    }
}

/// Why `serial` does not show one passed heartbeat check, if it does not.
fn heartbeat_problem(serial: &str) -> Option<String> {
    let lines: Vec<&str> = serial
        .lines()
        .filter_map(|line| {
            let at = line.find(heartbeat::PREFIX)?;
            Some(line[at..].trim_end_matches('\r'))
        })
        .collect();
    match lines.as_slice() {
        [] => Some(format!("no \"{} ok\" line", heartbeat::PREFIX)),
        [line] => match HeartbeatCheck::parse(line) {
            Ok(HeartbeatCheck::Quiet { .. }) => None,
            Ok(HeartbeatCheck::Failed(_)) => {
                Some(format!("heartbeat check did not pass: {line:?}"))
            }
            Err(why) => Some(format!("malformed heartbeat check ({why}): {line:?}")),
        },
        _ => Some(format!(
            "{:?} printed {} times: {lines:?}",
            heartbeat::PREFIX,
            lines.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A summary line with these values, as the kernel prints it.
    fn line(stopper: u64, vector: u64, nmi: u64, stuck: u64) -> String {
        let summary = StopSummary {
            stopper,
            targets: 3,
            vector,
            nmi,
            stuck,
            total_us: 77,
            ..StopSummary::default()
        };
        format!("{summary}\n")
    }

    fn smp4_irqoff() -> StopExpect {
        StopExpect {
            checks: vec![
                Check::eq(Field::Nmi, 1),
                Check::at_least(Field::Vector, 1),
                Check::eq(Field::Stuck, 0),
                Check::sum(&[Field::Vector, Field::Nmi], Cmp::Eq, 3),
                Check::eq(Field::Stopper, 0),
            ],
            heartbeat: true,
        }
    }

    const OK: &str = "heartbeat-check: ok (3 cpus quiet for 10 ms)\n";

    #[test]
    fn a_matching_summary_and_heartbeat_pass() {
        let serial = format!("PANIC on cpu 0\r\n{}\r{OK}", line(0, 2, 1, 0));
        assert_eq!(smp4_irqoff().problems(&serial), Vec::<String>::new());
    }

    #[test]
    fn each_violated_bound_is_named_with_what_came() {
        let serial = format!("{}{OK}", line(2, 0, 2, 1));
        assert_eq!(
            smp4_irqoff().problems(&serial),
            vec![
                "expected nmi == 1, got nmi=2",
                "expected vector >= 1, got vector=0",
                "expected stuck == 0, got stuck=1",
                "expected vector+nmi == 3, got 2 (vector=0 nmi=2)",
                "expected stopper == 0, got stopper=2",
            ]
        );
    }

    #[test]
    fn the_summary_must_be_there_exactly_once_and_well_formed() {
        let any = StopExpect::default();
        assert_eq!(any.problems(&line(0, 3, 0, 0)), Vec::<String>::new());
        assert_eq!(any.problems("PANIC\n"), vec!["no \"stop-summary:\" line"]);
        let twice = line(0, 3, 0, 0).repeat(2);
        assert_eq!(
            any.problems(&twice),
            vec!["\"stop-summary:\" printed 2 times"]
        );
        let bad = any.problems("stop-summary: stopper=0\n");
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0].starts_with("malformed summary (missing targets,"),
            "{bad:?}"
        );
    }

    #[test]
    fn the_heartbeat_check_must_pass_once() {
        let expect = StopExpect {
            checks: Vec::new(),
            heartbeat: true,
        };
        let summary = line(0, 3, 0, 0);
        assert_eq!(
            expect.problems(&summary),
            vec!["no \"heartbeat-check: ok\" line"]
        );
        let failed = "heartbeat-check: FAILED: cpu 1 moved 5 -> 9\n";
        assert_eq!(
            expect.problems(&(summary.clone() + failed)),
            vec!["heartbeat check did not pass: \"heartbeat-check: FAILED: cpu 1 moved 5 -> 9\""]
        );
        let malformed = "heartbeat-check: ok (x cpus quiet for 10 ms)\n";
        assert_eq!(
            expect.problems(&(summary.clone() + malformed)),
            vec![
                "malformed heartbeat check ('x': the value is not a number): \
                 \"heartbeat-check: ok (x cpus quiet for 10 ms)\""
            ]
        );
        let both = expect.problems(&(summary.clone() + OK + failed));
        assert_eq!(both.len(), 1);
        assert!(
            both[0].starts_with("\"heartbeat-check:\" printed 2 times"),
            "{both:?}"
        );
        // Not asked for: not checked.
        let mut bounds = StopExpect::default();
        bounds.set(Check::eq(Field::Stuck, 0));
        bounds.set(Check::at_least(Field::Nmi, 1));
        bounds.set(Check::eq(Field::Stuck, 1));
        assert_eq!(
            bounds.checks,
            [Check::at_least(Field::Nmi, 1), Check::eq(Field::Stuck, 1)],
            "set replaces a check of the same field"
        );
        assert!(StopExpect::default()
            .problems(&(summary + failed))
            .is_empty());
    }
}
