//! The panic report a warm restart carries. With `panic=restart` the panicking CPU prints
//! nothing and keeps its whole report (the `PANIC on cpu N: ...` lines, the backtrace, the stop
//! table and `stop-summary:` line, the stopped CPUs' contexts) in memory that survives the
//! restart; the restarted run prints it while the app starts, between these lines:
//!
//! ```text
//! kept report of cpu 1's panic:
//! PANIC on cpu 1: panicked at src/main.rs:9:5:
//! ...
//! kept report truncated (1234 bytes dropped)      only if it did not fit
//! end of the kept report
//! ```

use core::fmt;

use crate::fields::number;
use crate::Error;

/// What the heading starts with; then the CPU.
const HEADING: &str = "kept report of cpu ";
/// After the CPU.
const HEADING_END: &str = "'s panic:";
/// The line after the kept report.
pub const END: &str = "end of the kept report";
/// What the truncation line starts with; then the count.
const TRUNCATED: &str = "kept report truncated (";
/// After the count.
const TRUNCATED_END: &str = " bytes dropped)";

/// The line before a kept report: which CPU panicked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heading {
    /// The CPU that panicked.
    pub cpu: u64,
}

impl Heading {
    /// Reads a heading line (without its line end).
    pub fn parse(line: &str) -> Result<Self, Error<'_>> {
        let cpu = line
            .strip_prefix(HEADING)
            .and_then(|rest| rest.strip_suffix(HEADING_END))
            .ok_or(Error::Malformed {
                text: line,
                form: "kept report of cpu <n>'s panic:",
            })?;
        Ok(Heading { cpu: number(cpu)? })
    }
}

impl fmt::Display for Heading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{HEADING}{}{HEADING_END}", self.cpu)
    }
}

/// The line that ends a kept report that did not fit: how many bytes of it were lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncated {
    /// Bytes of the report not kept.
    pub dropped: u64,
}

impl Truncated {
    /// Reads a truncation line (without its line end).
    pub fn parse(line: &str) -> Result<Self, Error<'_>> {
        let dropped = line
            .strip_prefix(TRUNCATED)
            .and_then(|rest| rest.strip_suffix(TRUNCATED_END))
            .ok_or(Error::Malformed {
                text: line,
                form: "kept report truncated (<n> bytes dropped)",
            })?;
        Ok(Truncated {
            dropped: number(dropped)?,
        })
    }
}

impl fmt::Display for Truncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{TRUNCATED}{}{TRUNCATED_END}", self.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heading_round_trips() {
        let heading = Heading { cpu: 7 };
        let line = heading.to_string();
        assert_eq!(line, "kept report of cpu 7's panic:");
        assert_eq!(Heading::parse(&line), Ok(heading));
        assert!(Heading::parse("kept report of cpu x's panic:").is_err());
        assert!(Heading::parse("kept report of cpu 7's panic: more").is_err());
    }

    #[test]
    fn the_truncation_line_round_trips() {
        let truncated = Truncated { dropped: 1234 };
        let line = truncated.to_string();
        assert_eq!(line, "kept report truncated (1234 bytes dropped)");
        assert_eq!(Truncated::parse(&line), Ok(truncated));
        let err = Truncated::parse("kept report truncated (many bytes dropped)").unwrap_err();
        assert_eq!(err.to_string(), "'many': the value is not a number");
    }
}
