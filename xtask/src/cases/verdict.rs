//! Judging one boot against its case's expectations.

use crate::cases::table::{Case, Expect};
use crate::qemu::exit_status::{meaning, GuestExit};
use crate::qemu::{Outcome, QemuRun};

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every expectation held.
    Pass,
    /// The guest ended, but not as expected; the reasons.
    Fail(String),
    /// The guest did not end within its limit although it should have.
    Timeout(String),
}

impl Verdict {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        *self == Verdict::Pass
    }

    /// The word the progress line starts with.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail(_) => "FAIL",
            Verdict::Timeout(_) => "TIMEOUT",
        }
    }

    /// This verdict with `problems` added (a pass with problems fails).
    pub fn with(self, problems: Vec<String>) -> Verdict {
        if problems.is_empty() {
            return self;
        }
        let problems = joined(&problems);
        match self {
            Verdict::Pass => Verdict::Fail(problems),
            Verdict::Fail(reason) => Verdict::Fail(format!("{reason}; {problems}")),
            Verdict::Timeout(reason) => Verdict::Timeout(format!("{reason}; {problems}")),
        }
    }

    /// Why it did not pass.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Pass => None,
            Verdict::Fail(reason) | Verdict::Timeout(reason) => Some(reason),
        }
    }
}

/// Compares what happened in `run` with what `case` expects.
pub fn judge(case: &Case, run: &QemuRun) -> Verdict {
    let mut problems = Vec::new();
    match (case.expect, run.outcome) {
        (Expect::Status(_) | Expect::NoStatus, Outcome::TimedOut(limit)) => {
            return Verdict::Timeout(format!("no exit within {}s", limit.as_secs()));
        }
        (Expect::NoStatus, Outcome::Exited(exit)) => {
            if exit != GuestExit::NoStatus {
                problems.push(format!("expected QEMU exit 0 (no status), got {exit}"));
            }
        }
        (Expect::Timeout, Outcome::TimedOut(_)) => {}
        (Expect::Timeout, Outcome::Exited(exit)) => {
            problems.push(format!("expected a timeout, got {exit}"));
        }
        (Expect::Status(want), Outcome::Exited(exit)) => {
            if exit.status() != Some(want) {
                problems.push(format!(
                    "expected guest status {want} ({}), got {exit}",
                    meaning(want)
                ));
            }
        }
    }
    for text in &case.required {
        if !run.serial.contains(text.as_str()) {
            problems.push(format!("missing {text:?}"));
        }
    }
    for text in &case.forbidden {
        if run.serial.contains(text.as_str()) {
            problems.push(format!("forbidden {text:?} present"));
        }
    }
    if let Some(stop) = &case.stop {
        problems.extend(stop.problems(&run.serial));
    }
    if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(joined(&problems))
    }
}

/// Problems shown in a verdict; the rest are counted (a soak can fail the same way 1,000 times).
const SHOWN_PROBLEMS: usize = 5;

/// `problems` in one line: the first [`SHOWN_PROBLEMS`], then how many more.
fn joined(problems: &[String]) -> String {
    let mut line = problems[..problems.len().min(SHOWN_PROBLEMS)].join("; ");
    if problems.len() > SHOWN_PROBLEMS {
        line += &format!("; and {} more", problems.len() - SHOWN_PROBLEMS);
    }
    line
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn case(expect: Expect) -> Case {
        crate::cases::table::all()
            .into_iter()
            .find(|c| c.expect == expect)
            .expect("the table has a case of each kind")
    }

    fn run(outcome: Outcome, serial: &str) -> QemuRun {
        QemuRun {
            outcome,
            serial: serial.to_string(),
            stderr: String::new(),
            elapsed: Duration::from_millis(10),
            pid: 1,
            core: None,
        }
    }

    /// Serial output holding every required substring of `case`.
    fn good_output(case: &Case) -> String {
        case.required.join("\n")
    }

    #[test]
    fn a_clean_exit_with_all_the_text_passes() {
        let c = case(Expect::Status(0));
        let r = run(Outcome::Exited(GuestExit::Status(0)), &good_output(&c));
        assert_eq!(judge(&c, &r), Verdict::Pass);
        let off = run(Outcome::Exited(GuestExit::NoStatus), &good_output(&c));
        assert_eq!(judge(&c, &off), Verdict::Pass, "ACPI power-off counts as 0");
    }

    #[test]
    fn wrong_status_missing_and_forbidden_text_all_fail() {
        let c = case(Expect::Status(0));
        let r = run(Outcome::Exited(GuestExit::Status(101)), "PANIC on cpu 0");
        let Verdict::Fail(reason) = judge(&c, &r) else {
            panic!("must fail")
        };
        assert!(reason.contains("expected guest status 0 (success), got guest status 101"));
        assert!(reason.contains(&format!("missing {:?}", c.required[0])));
        assert!(reason.contains("forbidden \"PANIC\" present"), "{reason}");
    }

    #[test]
    fn qemu_failure_is_not_a_pass() {
        let c = case(Expect::Status(0));
        let r = run(Outcome::Exited(GuestExit::QemuFailed(1)), &good_output(&c));
        assert!(matches!(judge(&c, &r), Verdict::Fail(_)));
    }

    #[test]
    fn an_unexpected_timeout_is_a_timeout() {
        let c = case(Expect::Status(0));
        let r = run(Outcome::TimedOut(Duration::from_secs(30)), &good_output(&c));
        assert_eq!(
            judge(&c, &r),
            Verdict::Timeout("no exit within 30s".to_string())
        );
    }

    #[test]
    fn an_expected_timeout_passes_only_after_the_required_text() {
        let c = case(Expect::Timeout);
        let limit = Outcome::TimedOut(c.timeout);
        assert_eq!(judge(&c, &run(limit, &good_output(&c))), Verdict::Pass);
        assert!(matches!(judge(&c, &run(limit, "")), Verdict::Fail(_)));
        let exited = run(Outcome::Exited(GuestExit::Status(0)), &good_output(&c));
        let Verdict::Fail(reason) = judge(&c, &exited) else {
            panic!("must fail")
        };
        assert!(reason.starts_with("expected a timeout"), "{reason}");
    }

    /// The table's case called `name`.
    fn named(name: &str) -> Case {
        crate::cases::table::all()
            .into_iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no case {name}"))
    }

    /// What the faults app prints for `s2-irqoff-k1-smp4` when all goes well, with this summary.
    fn irqoff_output(summary: &str) -> String {
        format!(
            "faults: scenario irqoff on 4 CPUs\nPANIC on cpu 0: panicked at x.rs:1:1:\n\
             stop report: ...\n{summary}\nheartbeat-check: ok (3 cpus quiet for 10 ms)\n"
        )
    }

    #[test]
    fn a_fault_case_is_judged_on_its_summary_fields() {
        let c = named("s2-irqoff-k1-smp4");
        let exited = Outcome::Exited(GuestExit::Status(101));
        let good =
            "stop-summary: stopper=0 targets=3 vector=2 nmi=1 self=0 init=0 stuck=0 total_us=9";
        assert_eq!(judge(&c, &run(exited, &irqoff_output(good))), Verdict::Pass);
        let late = good.replace("vector=2 nmi=1", "vector=1 nmi=2");
        let Verdict::Fail(reason) = judge(&c, &run(exited, &irqoff_output(&late))) else {
            panic!("nmi=2 with one interrupts-off AP must fail")
        };
        assert_eq!(
            reason,
            "expected nmi == 1, got nmi=2; expected vector == 2, got vector=1"
        );
        let Verdict::Fail(reason) = judge(&c, &run(exited, &irqoff_output(""))) else {
            panic!("no summary must fail")
        };
        assert_eq!(reason, "no \"stop-summary:\" line");
    }

    #[test]
    fn a_reboot_must_end_without_a_status() {
        let c = named("s11-reboot-smp4");
        let out = "faults: rebooting\nstop-summary: stopper=0 targets=3 vector=3 nmi=0 self=0 \
                   init=0 stuck=0 total_us=9\nheartbeat-check: ok (3 cpus quiet for 10 ms)\n";
        let reset = run(Outcome::Exited(GuestExit::NoStatus), out);
        assert_eq!(judge(&c, &reset), Verdict::Pass);
        let Verdict::Fail(reason) = judge(&c, &run(Outcome::Exited(GuestExit::Status(0)), out))
        else {
            panic!("status 0 through the debug port is not a reset")
        };
        assert!(reason.starts_with("expected QEMU exit 0 (no status), got guest status 0"));
    }

    #[test]
    fn progress_words() {
        assert_eq!(Verdict::Pass.word(), "PASS");
        assert_eq!(Verdict::Pass.reason(), None);
        assert_eq!(Verdict::Fail("x".into()).word(), "FAIL");
        assert_eq!(Verdict::Fail("x".into()).reason(), Some("x"));
        assert_eq!(Verdict::Timeout("y".into()).word(), "TIMEOUT");
        assert!(!Verdict::Timeout("y".into()).passed());
    }

    #[test]
    fn many_problems_show_the_first_five_and_a_count() {
        let problems: Vec<String> = (1..=1000).map(|n| format!("p{n}")).collect();
        let Verdict::Fail(reason) = Verdict::Pass.with(problems) else {
            panic!("must fail")
        };
        assert_eq!(reason, "p1; p2; p3; p4; p5; and 995 more");
        let few = Verdict::Pass.with(vec!["a".into(), "b".into()]);
        assert_eq!(few, Verdict::Fail("a; b".into()));
    }
}
