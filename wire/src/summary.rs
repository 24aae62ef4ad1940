//! The stop's machine-readable summary, printed once per stop:
//! `stop-summary: stopper=<cpu> targets=<n> vector=<a> nmi=<b> self=<c> init=<d> stuck=<e>
//! total_us=<t>`.

use core::fmt;

use crate::fields::{Fields, Record};
use crate::paths::Paths;
use crate::Error;

/// What starts the summary line.
pub const PREFIX: &str = "stop-summary:";

/// Counts by outcome of one stop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StopSummary {
    /// The CPU that won the election and stopped the others.
    pub stopper: u64,
    /// Targets: CPUs other than the stopper that were not offline.
    pub targets: u64,
    /// Targets stopped by the stop vector.
    pub vector: u64,
    /// Targets stopped by an NMI.
    pub nmi: u64,
    /// Targets that stopped themselves (they lost the election).
    pub self_stop: u64,
    /// Targets parked with INIT.
    pub init: u64,
    /// Targets not confirmed stopped.
    pub stuck: u64,
    /// Duration of the stop in µs.
    pub total_us: u64,
}

impl Record<8> for StopSummary {
    const KEYS: &'static [&'static str; 8] = &{
        let paths = Paths::KEYS;
        [
            "stopper", "targets", paths[0], paths[1], paths[2], paths[3], paths[4], "total_us",
        ]
    };

    fn values(&self) -> [u64; 8] {
        [
            self.stopper,
            self.targets,
            self.vector,
            self.nmi,
            self.self_stop,
            self.init,
            self.stuck,
            self.total_us,
        ]
    }

    fn from_values(
        [stopper, targets, vector, nmi, self_stop, init, stuck, total_us]: [u64; 8],
    ) -> Self {
        Self {
            stopper,
            targets,
            vector,
            nmi,
            self_stop,
            init,
            stuck,
            total_us,
        }
    }
}

impl StopSummary {
    /// Reads a summary line (without its line end): [`PREFIX`], then every field exactly once
    /// as `key=<decimal>`, in any order, and nothing else.
    pub fn parse(line: &str) -> Result<Self, Error<'_>> {
        let fields = line.strip_prefix(PREFIX).ok_or(Error::Malformed {
            text: line,
            form: "a stop-summary: line",
        })?;
        Self::read(&Fields::parse(fields, &[Self::KEYS])?)
    }

    /// The value of `field`.
    pub fn get(&self, field: Field) -> u64 {
        self.values()[field as usize]
    }

    /// Each field with its value, in the order of the line.
    pub fn fields(&self) -> [(Field, u64); 8] {
        Field::ALL.map(|field| (field, self.get(field)))
    }

    /// How the targets were stopped.
    pub fn paths(&self) -> Paths {
        Paths {
            vector: self.vector,
            nmi: self.nmi,
            self_stop: self.self_stop,
            init: self.init,
            stuck: self.stuck,
        }
    }
}

/// The whole line, without a line end.
impl fmt::Display for StopSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX} ")?;
        self.write(f)
    }
}

/// A field of the summary, named by its key on the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `stopper=`
    Stopper,
    /// `targets=`
    Targets,
    /// `vector=`
    Vector,
    /// `nmi=`
    Nmi,
    /// `self=`
    SelfStop,
    /// `init=`
    Init,
    /// `stuck=`
    Stuck,
    /// `total_us=`
    TotalUs,
}

impl Field {
    /// Every field, in the order of the line.
    pub const ALL: [Field; 8] = [
        Field::Stopper,
        Field::Targets,
        Field::Vector,
        Field::Nmi,
        Field::SelfStop,
        Field::Init,
        Field::Stuck,
        Field::TotalUs,
    ];

    /// The key on the line.
    pub fn key(self) -> &'static str {
        StopSummary::KEYS[self as usize]
    }
}

/// The key.
impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str =
        "stop-summary: stopper=3 targets=3 vector=1 nmi=2 self=0 init=0 stuck=0 total_us=4308";

    /// Every field different, so that a field written under another's key cannot round-trip.
    const DISTINCT: StopSummary = StopSummary {
        stopper: 1,
        targets: 2,
        vector: 3,
        nmi: 4,
        self_stop: 5,
        init: 6,
        stuck: 7,
        total_us: 8,
    };

    #[test]
    fn the_kernel_line_is_parsed_field_by_field() {
        let want = StopSummary {
            stopper: 3,
            targets: 3,
            vector: 1,
            nmi: 2,
            self_stop: 0,
            init: 0,
            stuck: 0,
            total_us: 4308,
        };
        assert_eq!(StopSummary::parse(LINE), Ok(want));
        assert_eq!(want.to_string(), LINE);
        assert_eq!(want.get(Field::Nmi), 2);
        assert_eq!(want.get(Field::TotalUs), 4308);
        assert_eq!(want.get(Field::Stopper), 3);
    }

    #[test]
    fn a_summary_round_trips() {
        let line = DISTINCT.to_string();
        assert_eq!(
            line,
            "stop-summary: stopper=1 targets=2 vector=3 nmi=4 self=5 init=6 stuck=7 total_us=8"
        );
        assert_eq!(StopSummary::parse(&line), Ok(DISTINCT));
        let keys: Vec<String> = DISTINCT
            .fields()
            .iter()
            .map(|(field, value)| format!("{field}={value}"))
            .collect();
        assert_eq!(format!("{PREFIX} {}", keys.join(" ")), line);
        assert_eq!(
            DISTINCT.paths().to_string(),
            "vector=3 nmi=4 self=5 init=6 stuck=7"
        );
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        for (fields, why) in [
            (
                "stopper=0 targets=1 vector=1 nmi=0 self=0 init=0 stuck=0",
                "missing total_us",
            ),
            (
                "stopper=0 targets=1 vector=1 nmi=0 self=0 init=0 stuck=0 total_us=5 extra=1",
                "unknown field 'extra'",
            ),
            (
                "stopper=0 stopper=1 targets=1 vector=1 nmi=0 self=0 init=0 stuck=0 total_us=5",
                "field 'stopper' appears twice",
            ),
            (
                "stopper=-1 targets=1 vector=1 nmi=0 self=0 init=0 stuck=0 total_us=5",
                "'stopper=-1': the value is not a number",
            ),
            ("stopper", "'stopper' is not key=value"),
            ("nmi=x", "'nmi=x': the value is not a number"),
            (
                "",
                "missing stopper, targets, vector, nmi, self, init, stuck, total_us",
            ),
        ] {
            let line = format!("{PREFIX} {fields}");
            let err = StopSummary::parse(&line).unwrap_err();
            assert_eq!(err.to_string(), why, "{fields}");
        }
        let err = StopSummary::parse("stopper=0").unwrap_err();
        assert_eq!(err.to_string(), "'stopper=0' is not a stop-summary: line");
    }
}
