//! Judging one boot against its case's expectations.

use crate::cases::{Case, Expect};
use crate::exit_status::meaning;
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
        (Expect::Status(_), Outcome::TimedOut(limit)) => {
            return Verdict::Timeout(format!("no exit within {}s", limit.as_secs()));
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
    if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::exit_status::GuestExit;

    fn case(expect: Expect) -> Case {
        crate::cases::all()
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
        let off = run(Outcome::Exited(GuestExit::PoweredOff), &good_output(&c));
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

    #[test]
    fn progress_words() {
        assert_eq!(Verdict::Pass.word(), "PASS");
        assert_eq!(Verdict::Pass.reason(), None);
        assert_eq!(Verdict::Fail("x".into()).word(), "FAIL");
        assert_eq!(Verdict::Fail("x".into()).reason(), Some("x"));
        assert_eq!(Verdict::Timeout("y".into()).word(), "TIMEOUT");
        assert!(!Verdict::Timeout("y".into()).passed());
    }
}
