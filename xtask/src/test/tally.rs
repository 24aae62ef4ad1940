//! Counting passed and failed tests across stages.

use std::fmt;
use std::ops::AddAssign;
use std::process::ExitCode;

/// Passed and failed test counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed (including whole stages that could not run).
    pub failed: u64,
}

impl Tally {
    /// One failure: a stage that could not produce any result.
    pub const ONE_FAILURE: Tally = Tally {
        passed: 0,
        failed: 1,
    };

    /// Success only when nothing failed.
    pub fn exit_code(self) -> ExitCode {
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

impl AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
    }
}

impl fmt::Display for Tally {
    /// The closing line CI looks for: `N passed, M failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_prints_the_closing_line() {
        let mut total = Tally::default();
        total += Tally {
            passed: 3,
            failed: 0,
        };
        total += Tally::ONE_FAILURE;
        assert_eq!(total.to_string(), "3 passed, 1 failed");
        assert_eq!(total.exit_code(), ExitCode::FAILURE);
        assert_eq!(Tally::default().exit_code(), ExitCode::SUCCESS);
    }
}
