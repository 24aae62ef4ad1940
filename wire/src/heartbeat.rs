//! The post-stop heartbeat check's line (boot option `stop.verify_ms`):
//! `heartbeat-check: ok (<k> cpus quiet for <m> ms)` or `heartbeat-check: FAILED: <why>`.

use core::fmt;

use crate::fields::number;
use crate::Error;

/// The text every heartbeat-check line starts with (a macro, so that [`FAILED`] can extend it).
macro_rules! prefix {
    () => {
        "heartbeat-check:"
    };
}

/// What every heartbeat-check line starts with.
pub const PREFIX: &str = prefix!();
/// What the line of a failed check starts with; `: <why>` follows.
pub const FAILED: &str = concat!(prefix!(), " FAILED");
/// What follows [`PREFIX`] when the check passed; then the CPU count.
const OK: &str = " ok (";
/// Between the CPU count and the time.
const QUIET_FOR: &str = " cpus quiet for ";
/// After the time.
const MS: &str = " ms)";
/// The form of the line, for errors.
const FORM: &str =
    "heartbeat-check: ok (<k> cpus quiet for <m> ms) or heartbeat-check: FAILED: <why>";

/// One heartbeat check's outcome. `W` explains a failure, for humans: anything `Display` when
/// printed (e.g. `format_args!`), `&str` when parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeartbeatCheck<W> {
    /// Every CPU the stop report called stopped left its record alone while it was watched.
    Quiet {
        /// CPUs checked.
        cpus: u64,
        /// How long they were watched, in ms.
        ms: u64,
    },
    /// A CPU the report called stopped changed its record: why it failed.
    Failed(W),
}

impl<'a> HeartbeatCheck<&'a str> {
    /// Reads a heartbeat-check line (without its line end).
    pub fn parse(line: &'a str) -> Result<Self, Error<'a>> {
        if let Some(why) = line.strip_prefix(FAILED).and_then(|r| r.strip_prefix(": ")) {
            return Ok(HeartbeatCheck::Failed(why));
        }
        let malformed = Error::Malformed {
            text: line,
            form: FORM,
        };
        let (cpus, ms) = line
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_prefix(OK)?.strip_suffix(MS))
            .and_then(|counts| counts.split_once(QUIET_FOR))
            .ok_or(malformed)?;
        Ok(HeartbeatCheck::Quiet {
            cpus: number(cpus)?,
            ms: number(ms)?,
        })
    }
}

/// The whole line, without a line end.
impl<W: fmt::Display> fmt::Display for HeartbeatCheck<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeartbeatCheck::Quiet { cpus, ms } => {
                write!(f, "{PREFIX}{OK}{cpus}{QUIET_FOR}{ms}{MS}")
            }
            HeartbeatCheck::Failed(why) => write!(f, "{FAILED}: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_check_round_trips() {
        let quiet = HeartbeatCheck::<&str>::Quiet { cpus: 3, ms: 10 };
        let line = quiet.to_string();
        assert_eq!(line, "heartbeat-check: ok (3 cpus quiet for 10 ms)");
        assert_eq!(HeartbeatCheck::parse(&line), Ok(quiet));
    }

    #[test]
    fn a_failed_check_round_trips_with_its_reason() {
        let line =
            HeartbeatCheck::Failed(format_args!("cpu {} moved {} -> {}", 1, 5, 9)).to_string();
        assert_eq!(line, "heartbeat-check: FAILED: cpu 1 moved 5 -> 9");
        assert!(line.starts_with(FAILED) && line.starts_with(PREFIX));
        assert_eq!(
            HeartbeatCheck::parse(&line),
            Ok(HeartbeatCheck::Failed("cpu 1 moved 5 -> 9"))
        );
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let err = HeartbeatCheck::parse("heartbeat-check: ok (x cpus quiet for 10 ms)");
        assert_eq!(
            err.unwrap_err().to_string(),
            "'x': the value is not a number"
        );
        for line in [
            "heartbeat-check: ok",
            "heartbeat-check: ok (3 cpus quiet for 10 ms) and more",
            "heartbeat-check: FAILED",
            "heartbeat: ok (3 cpus quiet for 10 ms)",
        ] {
            let err = HeartbeatCheck::parse(line).unwrap_err();
            assert_eq!(err.to_string(), format!("'{line}' is not {FORM}"));
        }
    }
}
