//! The core-dump handshake (boot option `panic.wait_for_core=1`): once a panic's stop is
//! reported, the panicking CPU prints `core-dump: ready` and waits for a byte on its console
//! input; then `core-dump: taken`, or `core-dump: no answer within <s> s; going on`.

use core::fmt;

use crate::fields::number;
use crate::Error;

/// What every core-dump line starts with.
pub const PREFIX: &str = "core-dump:";
/// After [`PREFIX`] when memory holds still.
const READY: &str = " ready";
/// After [`PREFIX`] once the runner answered.
const TAKEN: &str = " taken";
/// After [`PREFIX`] when nobody answered; then the wait in seconds.
const NO_ANSWER: &str = " no answer within ";
/// After the seconds.
const GOING_ON: &str = " s; going on";

/// One line of the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreDump {
    /// Every other CPU is stopped and memory holds still: dump now, then send a byte.
    Ready,
    /// The runner answered: the dump is taken.
    Taken,
    /// Nobody answered within this many seconds; the panic goes on without a dump.
    NoAnswer(u64),
}

impl CoreDump {
    /// Reads a core-dump line (without its line end).
    pub fn parse(line: &str) -> Result<Self, Error<'_>> {
        let malformed = Error::Malformed {
            text: line,
            form: "core-dump: ready|taken|no answer within <s> s; going on",
        };
        let rest = line.strip_prefix(PREFIX).ok_or(malformed)?;
        match rest {
            READY => Ok(CoreDump::Ready),
            TAKEN => Ok(CoreDump::Taken),
            _ => {
                let secs = rest
                    .strip_prefix(NO_ANSWER)
                    .and_then(|r| r.strip_suffix(GOING_ON))
                    .ok_or(malformed)?;
                Ok(CoreDump::NoAnswer(number(secs)?))
            }
        }
    }
}

/// The line, without a line end.
impl fmt::Display for CoreDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreDump::Ready => write!(f, "{PREFIX}{READY}"),
            CoreDump::Taken => write!(f, "{PREFIX}{TAKEN}"),
            CoreDump::NoAnswer(secs) => write!(f, "{PREFIX}{NO_ANSWER}{secs}{GOING_ON}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_round_trips() {
        for (line, text) in [
            (CoreDump::Ready, "core-dump: ready"),
            (CoreDump::Taken, "core-dump: taken"),
            (
                CoreDump::NoAnswer(60),
                "core-dump: no answer within 60 s; going on",
            ),
        ] {
            assert_eq!(line.to_string(), text);
            assert_eq!(CoreDump::parse(text), Ok(line));
        }
    }

    #[test]
    fn other_lines_are_errors() {
        assert_eq!(
            CoreDump::parse("core-dump: readyy")
                .unwrap_err()
                .to_string(),
            "'core-dump: readyy' is not core-dump: ready|taken|no answer within <s> s; going on"
        );
        assert_eq!(
            CoreDump::parse("core-dump: no answer within x s; going on").unwrap_err(),
            Error::NotANumber("x")
        );
    }
}
