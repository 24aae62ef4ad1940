//! Where code was: the panic's `backtrace:` and, in the stop report, one block per stopped CPU.
//!
//! ```text
//! backtrace:
//!   #0 0x000000000010020a                          a return address (Frame::Return)
//! cpu 1 was interrupted (interrupts off):         a block's heading (Interrupted)
//! rip=0x110ea0 rsp=0x1adf38 ...                   its registers, `name=0x..` words
//!   rip 0x0000000000110ea0                        the interrupted instruction (Frame::Rip)
//!   #0 0x0000000000101efa
//!   (frame chain ends at 0xdeadbeef0000: ...)     a walk cut short (ChainEnd)
//! cpus 5-24 (20): interrupted where cpu 4 was    blocks folded into one (SamePlace)
//! ```

use core::fmt;

use crate::fields::number;
use crate::Error;

/// The line before the panicking CPU's frames.
pub const BACKTRACE: &str = "backtrace:";
/// What a frame line starts with.
const RETURN: &str = "  #";
/// What an interrupted-instruction line starts with.
const RIP: &str = "  rip 0x";
/// What a block's heading starts with; then the CPU.
const CPU: &str = "cpu ";
/// Between the CPU and the interrupt state.
const WAS_INTERRUPTED: &str = " was interrupted (interrupts ";
/// What a cut-short walk's line starts with; then the address.
const CHAIN_ENDS: &str = "  (frame chain ends at 0x";
/// After the address.
const NOT_A_FRAME: &str = ": not a valid frame on this CPU's stack)";

/// One line of a backtrace: a return address, or the instruction a CPU was interrupted at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// `  #<index> 0x<16 hex digits>`: frame `index` returns to `address`.
    Return {
        /// The frame number, 0 innermost.
        index: u32,
        /// The return address.
        address: u64,
    },
    /// `  rip 0x<16 hex digits>`: the instruction a stopped CPU was interrupted at.
    Rip {
        /// The instruction's address.
        address: u64,
    },
}

impl Frame {
    /// Reads a frame line exactly as printed (a trailing `\r` is allowed); anything else,
    /// text appended after the address included, is `None`.
    pub fn parse(line: &str) -> Option<Self> {
        let line = line.trim_end_matches('\r');
        if let Some(hex) = line.strip_prefix(RIP) {
            return Some(Frame::Rip {
                address: address(hex)?,
            });
        }
        let (index, hex) = line.strip_prefix(RETURN)?.split_once(" 0x")?;
        if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Frame::Return {
            index: index.parse().ok()?,
            address: address(hex)?,
        })
    }
}

/// A backtrace as printed: the [`BACKTRACE`] line, then a [`Frame::Return`] line per return
/// address, innermost first, each line with its line end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backtrace<'a>(pub &'a [u64]);

impl fmt::Display for Backtrace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{BACKTRACE}")?;
        for (index, &address) in self.0.iter().enumerate() {
            let index = index as u32;
            writeln!(f, "{}", Frame::Return { index, address })?;
        }
        Ok(())
    }
}

/// The line, without a line end.
impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Return { index, address } => write!(f, "{RETURN}{index} {address:#018x}"),
            Frame::Rip { address } => write!(f, "{RIP}{address:016x}"),
        }
    }
}

/// Exactly sixteen hex digits.
pub(crate) fn address(hex: &str) -> Option<u64> {
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// A stopped CPU's block heading: `cpu <n> was interrupted (interrupts on|off):`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupted {
    /// The CPU's index.
    pub cpu: u64,
    /// Whether the interrupted code ran with maskable interrupts enabled.
    pub interrupts_on: bool,
}

impl Interrupted {
    /// Reads a block heading (without its line end).
    pub fn parse(line: &str) -> Result<Self, Error<'_>> {
        let malformed = Error::Malformed {
            text: line,
            form: "cpu <n> was interrupted (interrupts on|off):",
        };
        let (cpu, state) = line
            .strip_prefix(CPU)
            .and_then(|rest| rest.split_once(WAS_INTERRUPTED))
            .ok_or(malformed)?;
        let interrupts_on = match state {
            "on):" => true,
            "off):" => false,
            _ => return Err(malformed),
        };
        Ok(Interrupted {
            cpu: number(cpu)?,
            interrupts_on,
        })
    }
}

/// The line, without a line end.
impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.interrupts_on { "on" } else { "off" };
        write!(f, "{CPU}{}{WAS_INTERRUPTED}{state}):", self.cpu)
    }
}

/// The `name=0x<hex>` words of a block's register lines, in order; other words are skipped.
pub fn registers(line: &str) -> impl Iterator<Item = (&str, u64)> {
    line.split_ascii_whitespace().filter_map(|word| {
        let (name, hex) = word.split_once("=0x")?;
        Some((name, u64::from_str_radix(hex, 16).ok()?))
    })
}

/// What a folded line says between its CPUs and the CPU whose block it repeats.
pub const INTERRUPTED_WHERE: &str = ": interrupted where cpu ";

/// Stopped CPUs `first..=last` whose blocks would repeat CPU `like`'s (the same interrupted
/// instruction, interrupt state and return addresses; registers aside), folded into one line
/// by a grouped report: `cpus 5-24 (20): interrupted where cpu 4 was`, or `cpu 5: ...` for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SamePlace {
    /// The first folded CPU's index.
    pub first: u64,
    /// The last one's.
    pub last: u64,
    /// The CPU whose block was printed.
    pub like: u64,
}

impl SamePlace {
    /// Reads a folded line (without its line end).
    pub fn parse(line: &str) -> Result<Self, Error<'_>> {
        let malformed = Error::Malformed {
            text: line,
            form: "cpus <a>-<b> (<n>)|cpu <a>: interrupted where cpu <c> was",
        };
        let (cpus, like) = line
            .split_once(INTERRUPTED_WHERE)
            .and_then(|(cpus, rest)| Some((cpus, rest.strip_suffix(" was")?)))
            .ok_or(malformed)?;
        let (first, last) = match cpus.strip_prefix("cpus ") {
            Some(range) => {
                let (range, _count) = range.split_once(' ').ok_or(malformed)?;
                let (first, last) = range.split_once('-').ok_or(malformed)?;
                (number(first)?, number(last)?)
            }
            None => {
                let one = number(cpus.strip_prefix(CPU).ok_or(malformed)?)?;
                (one, one)
            }
        };
        Ok(SamePlace {
            first,
            last,
            like: number(like)?,
        })
    }

    /// How many CPUs the line names.
    pub fn cpus(&self) -> u64 {
        self.last.saturating_sub(self.first) + 1
    }
}

/// The line, without a line end.
impl fmt::Display for SamePlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { first, last, like } = *self;
        if first == last {
            write!(f, "{CPU}{first}")?;
        } else {
            write!(f, "cpus {first}-{last} ({})", last - first + 1)?;
        }
        write!(f, "{INTERRUPTED_WHERE}{like} was")
    }
}

/// A walk over a stopped CPU's frames that met a frame pointer outside that CPU's stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainEnd {
    /// The frame pointer.
    pub at: u64,
}

impl ChainEnd {
    /// Reads the line (without its line end).
    pub fn parse(line: &str) -> Option<Self> {
        let hex = line.strip_prefix(CHAIN_ENDS)?.strip_suffix(NOT_A_FRAME)?;
        Some(ChainEnd {
            at: u64::from_str_radix(hex, 16).ok()?,
        })
    }
}

/// The line, without a line end.
impl fmt::Display for ChainEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{CHAIN_ENDS}{:x}{NOT_A_FRAME}", self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lines_round_trip() {
        for (frame, line) in [
            (
                Frame::Return {
                    index: 0,
                    address: 0x12_870d,
                },
                "  #0 0x000000000012870d",
            ),
            (
                Frame::Return {
                    index: 12,
                    address: 0xffff_ffff_8000_1000,
                },
                "  #12 0xffffffff80001000",
            ),
            (
                Frame::Rip { address: 0x11_0ea0 },
                "  rip 0x0000000000110ea0",
            ),
        ] {
            assert_eq!(frame.to_string(), line);
            assert_eq!(Frame::parse(line), Some(frame));
        }
        assert_eq!(
            Frame::parse("  #3 0xFFFFFFFF80001000\r"),
            Some(Frame::Return {
                index: 3,
                address: 0xffff_ffff_8000_1000
            })
        );
    }

    #[test]
    fn folded_blocks_name_their_cpus_and_are_no_heading() {
        let many = SamePlace {
            first: 5,
            last: 24,
            like: 4,
        };
        let one = SamePlace {
            first: 7,
            last: 7,
            like: 6,
        };
        assert_eq!(
            many.to_string(),
            "cpus 5-24 (20): interrupted where cpu 4 was"
        );
        assert_eq!(one.to_string(), "cpu 7: interrupted where cpu 6 was");
        for line in [many.to_string(), one.to_string()] {
            assert!(Interrupted::parse(&line).is_err(), "{line}");
        }
    }

    #[test]
    fn anything_else_is_not_a_frame() {
        for line in [
            "",
            "backtrace:",
            "#0 0x000000000012870d",
            "   #0 0x000000000012870d",
            "  # 0x000000000012870d",
            "  #x 0x000000000012870d",
            "  #0 0x12870d",
            "  #0 0x000000000012870g",
            "  #0 000000000000012870d",
            "  #0 0x000000000012870d main at x.rs:1",
            "  #0 0x0000000000012870d",
            "  rip 0x110ea0",
            "   rip 0x0000000000110ea0",
            "  rip 0x0000000000110ea0 main at x.rs:1",
        ] {
            assert_eq!(Frame::parse(line), None, "{line:?}");
        }
    }

    #[test]
    fn block_headings_round_trip() {
        for (heading, line) in [
            (
                Interrupted {
                    cpu: 1,
                    interrupts_on: false,
                },
                "cpu 1 was interrupted (interrupts off):",
            ),
            (
                Interrupted {
                    cpu: 17,
                    interrupts_on: true,
                },
                "cpu 17 was interrupted (interrupts on):",
            ),
        ] {
            assert_eq!(heading.to_string(), line);
            assert_eq!(Interrupted::parse(line), Ok(heading));
        }
        let wrong = "cpu 2: no context (it stopped itself)";
        assert_eq!(
            Interrupted::parse(wrong).unwrap_err().to_string(),
            "'cpu 2: no context (it stopped itself)' is not cpu <n> was interrupted \
             (interrupts on|off):"
        );
    }

    #[test]
    fn register_words_are_read_and_others_skipped() {
        let words: Vec<(&str, u64)> =
            registers("rip=0x110ea0 rsp=0x1adf38 junk rflags=0x10006 r8=0xzz").collect();
        assert_eq!(
            words,
            [("rip", 0x11_0ea0), ("rsp", 0x1a_df38), ("rflags", 0x1_0006)]
        );
    }

    #[test]
    fn a_chain_end_round_trips() {
        let end = ChainEnd {
            at: 0xdead_beef_0000,
        };
        let line = "  (frame chain ends at 0xdeadbeef0000: not a valid frame on this CPU's stack)";
        assert_eq!(end.to_string(), line);
        assert_eq!(ChainEnd::parse(line), Some(end));
        assert_eq!(
            ChainEnd::parse("  (frame chain ends at 0xdeadbeef0000)"),
            None
        );
    }

    #[test]
    fn a_backtrace_is_its_heading_and_numbered_frames() {
        assert_eq!(
            Backtrace(&[0x10_020a, 0x1]).to_string(),
            "backtrace:\n  #0 0x000000000010020a\n  #1 0x0000000000000001\n"
        );
        assert_eq!(Backtrace(&[]).to_string(), "backtrace:\n");
    }

    #[test]
    fn a_folded_line_reads_back() {
        for place in [
            SamePlace {
                first: 5,
                last: 24,
                like: 4,
            },
            SamePlace {
                first: 3,
                last: 3,
                like: 2,
            },
        ] {
            assert_eq!(SamePlace::parse(&place.to_string()), Ok(place));
        }
        assert_eq!(
            SamePlace {
                first: 5,
                last: 24,
                like: 4
            }
            .cpus(),
            20
        );
        assert!(SamePlace::parse("cpus 5-x (20): interrupted where cpu 4 was").is_err());
        assert!(SamePlace::parse("cpu 2: no context (it stopped itself)").is_err());
    }
}
