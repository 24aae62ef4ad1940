//! Where a CPU was at the last crash, as an app that survived it (by a warm restart) reports it:
//!
//! ```text
//! cpu 1 was at 0x0000000000101234 (frames 0x0000000000101300 0x0000000000104e6a)
//! cpu 2 was at 0x0000000000101234 (no frames)
//! ```
//!
//! The interrupted instruction, then the interrupted code's return addresses, innermost first.

use core::fmt;

use crate::fields::number;
use crate::frames::address;
use crate::Error;

/// What the line starts with; then the CPU.
const CPU: &str = "cpu ";
/// Between the CPU and the instruction's address.
const WAS_AT: &str = " was at 0x";
/// Before the return addresses.
const FRAMES: &str = " (frames";
/// Instead of the return addresses when there are none.
const NO_FRAMES: &str = " (no frames";
/// What the line ends with.
const END: &str = ")";
/// Before each return address.
const HEX: &str = "0x";
/// The form of the line, for errors.
const FORM: &str = "cpu <n> was at 0x<16 hex digits> (frames 0x<16 hex digits> ...|no frames)";

/// Where CPU `cpu` was. `F` holds the return addresses: anything that iterates over `u64`s
/// when printed (say `slice.iter().copied()`), [`Addresses`] when parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place<F> {
    /// The CPU's index.
    pub cpu: u64,
    /// The instruction its stop interrupted.
    pub rip: u64,
    /// The interrupted code's return addresses, innermost first.
    pub frames: F,
}

/// The return addresses of a parsed line, innermost first.
#[derive(Clone, Debug)]
pub struct Addresses<'a>(core::str::SplitAsciiWhitespace<'a>);

impl Iterator for Addresses<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        // Every word was checked by `Place::parse`.
        self.0.next().and_then(hex_address)
    }
}

/// `0x` and exactly sixteen hex digits.
fn hex_address(word: &str) -> Option<u64> {
    address(word.strip_prefix(HEX)?)
}

impl<'a> Place<Addresses<'a>> {
    /// Reads a place line (without its line end).
    pub fn parse(line: &'a str) -> Result<Self, Error<'a>> {
        let malformed = Error::Malformed {
            text: line,
            form: FORM,
        };
        let (cpu, rest) = line
            .strip_prefix(CPU)
            .and_then(|rest| rest.split_once(WAS_AT))
            .ok_or(malformed)?;
        let rest = rest.strip_suffix(END).ok_or(malformed)?;
        let (rip, frames) = match rest.split_once(NO_FRAMES) {
            Some((rip, "")) => (rip, ""),
            _ => rest.split_once(FRAMES).ok_or(malformed)?,
        };
        let rip = address(rip).ok_or(malformed)?;
        if !frames.is_empty() && !frames.starts_with(' ') {
            return Err(malformed);
        }
        if frames
            .split_ascii_whitespace()
            .any(|word| hex_address(word).is_none())
        {
            return Err(malformed);
        }
        Ok(Place {
            cpu: number(cpu)?,
            rip,
            frames: Addresses(frames.split_ascii_whitespace()),
        })
    }
}

/// The line, without a line end.
impl<F: Clone + IntoIterator<Item = u64>> fmt::Display for Place<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{CPU}{}{WAS_AT}{:016x}", self.cpu, self.rip)?;
        let mut frames = self.frames.clone().into_iter().peekable();
        if frames.peek().is_none() {
            return write!(f, "{NO_FRAMES}{END}");
        }
        f.write_str(FRAMES)?;
        for address in frames {
            write!(f, " {address:#018x}")?;
        }
        f.write_str(END)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_lines_round_trip() {
        for (rip, frames, line) in [
            (
                0x10_1234,
                &[0x10_1300, 0xffff_ffff_8000_1000][..],
                "cpu 7 was at 0x0000000000101234 (frames 0x0000000000101300 0xffffffff80001000)",
            ),
            (
                0x10_1234,
                &[][..],
                "cpu 7 was at 0x0000000000101234 (no frames)",
            ),
        ] {
            let place = Place {
                cpu: 7,
                rip,
                frames: frames.iter().copied(),
            };
            assert_eq!(place.to_string(), line);
            let parsed = Place::parse(line).unwrap();
            assert_eq!((parsed.cpu, parsed.rip), (7, rip));
            assert_eq!(parsed.frames.collect::<Vec<_>>(), frames);
        }
    }

    #[test]
    fn anything_else_is_not_a_place() {
        for line in [
            "",
            "cpu 1 was interrupted (interrupts off):",
            "cpu 1 was at 0x0000000000101234",
            "cpu 1 was at 0x101234 (no frames)",
            "cpu 1 was at 0x0000000000101234 (frames 0x101300)",
            "cpu 1 was at 0x0000000000101234 (frames 0x0000000000101300 junk)",
            "cpu 1 was at 0x0000000000101234 (frames0x0000000000101300)",
            "cpu 1 was at 0x0000000000101234 (no frames 0x0000000000101300)",
            "cpu 1 was at 0x0000000000101234 (frames 0x0000000000101300) and more",
            "crashloop: cpu 1 was at 0x0000000000101234 (no frames)",
        ] {
            assert!(Place::parse(line).is_err(), "{line:?}");
        }
        assert_eq!(
            Place::parse("cpu x was at 0x0000000000101234 (no frames)").unwrap_err(),
            Error::NotANumber("x")
        );
    }
}
