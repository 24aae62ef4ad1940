//! Running a `cargo test` command and counting its results.

use std::process::Command;

use anyhow::Result;

use crate::host::child::{self, Echo, Finished};
use crate::host::workspace;
use crate::test::Tally;

/// Runs `cmd` (a `cargo test ...`) with its output shown live, and sums its `test result:` lines.
///
/// A run that fails without any failing test (a build error, a crash, a timeout) counts as one
/// failure, so it can never look like success.
pub fn run(cmd: &mut Command) -> Result<Tally> {
    let done = child::run(cmd, workspace::CARGO_TIMEOUT, Echo::All)?;
    Ok(tally(&done))
}

/// The results of a finished `cargo test`.
fn tally(done: &Finished) -> Tally {
    let mut tally = count_results(&done.stdout);
    let ok = done.status.is_some_and(|s| s.success());
    if !ok && tally.failed == 0 {
        match done.status {
            Some(status) => eprintln!("cargo test failed ({status}) before any test failed"),
            None => eprintln!("cargo test timed out after {:.0?}", done.elapsed),
        }
        tally += Tally::ONE_FAILURE;
    }
    tally
}

/// Sums the `test result: ok. 3 passed; 1 failed; ...` lines of libtest's output.
fn count_results(stdout: &str) -> Tally {
    let mut tally = Tally::default();
    for line in stdout.lines() {
        let Some(result) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        for part in result.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(kind), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match kind {
                "passed" => tally.passed += count,
                "failed" => tally.failed += count,
                _ => {}
            }
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_result_line() {
        let out = "\
running 2 tests
test a ... ok
test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

test result: FAILED. 5 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 1.20s
   Doc-tests stop
test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
test passed_but_not_a_result ... ok
";
        assert_eq!(
            count_results(out),
            Tally {
                passed: 7,
                failed: 2
            }
        );
        assert_eq!(count_results(""), Tally::default());
    }

    /// A finished cargo run with this wait status and stdout.
    fn finished(raw_status: Option<i32>, stdout: &str) -> Finished {
        use std::os::unix::process::ExitStatusExt;
        Finished {
            pid: 1,
            status: raw_status.map(std::process::ExitStatus::from_raw),
            stdout: stdout.to_string(),
            stderr: String::new(),
            elapsed: std::time::Duration::from_secs(1),
            stderr_shown: true,
            stopped_on_stderr: false,
        }
    }

    const EXIT_101: Option<i32> = Some(101 << 8);

    #[test]
    fn a_failed_build_or_a_timeout_counts_as_one_failure() {
        assert_eq!(tally(&finished(EXIT_101, "")), Tally::ONE_FAILURE);
        assert_eq!(tally(&finished(None, "")), Tally::ONE_FAILURE);
        assert_eq!(tally(&finished(Some(0), "")), Tally::default());
    }

    #[test]
    fn failing_tests_are_counted_not_doubled() {
        let out = "test result: FAILED. 1 passed; 1 failed; 0 ignored;\n";
        let want = Tally {
            passed: 1,
            failed: 1,
        };
        assert_eq!(tally(&finished(EXIT_101, out)), want);
    }
}
