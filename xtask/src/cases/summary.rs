//! The kernel's machine-readable stop summary:
//! `stop-summary: stopper=<cpu> targets=<n> vector=<a> nmi=<b> self=<c> init=<d> stuck=<e> total_us=<t>`.

use std::fmt;

use serde::Serialize;

/// What starts the summary line.
pub const PREFIX: &str = "stop-summary:";

/// One parsed summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The CPU that won the election and stopped the others.
    pub stopper: u64,
    /// How many CPUs it had to stop.
    pub targets: u64,
    /// Stopped by the stop vector.
    pub vector: u64,
    /// Stopped by an NMI.
    pub nmi: u64,
    /// Stopped themselves (lost the election).
    #[serde(rename = "self")]
    pub self_stop: u64,
    /// Parked with INIT.
    pub init: u64,
    /// Not stopped.
    pub stuck: u64,
    /// Duration of the stop in microseconds.
    pub total_us: u64,
}

/// A field of the summary, as named on the line.
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
        match self {
            Field::Stopper => "stopper",
            Field::Targets => "targets",
            Field::Vector => "vector",
            Field::Nmi => "nmi",
            Field::SelfStop => "self",
            Field::Init => "init",
            Field::Stuck => "stuck",
            Field::TotalUs => "total_us",
        }
    }

    /// This field's value in `summary`.
    pub fn of(self, summary: &Summary) -> u64 {
        // One match names the fields, for reading and for parsing alike.
        let mut copy = *summary;
        *self.slot(&mut copy)
    }

    /// Where this field's value lives in `summary`.
    fn slot(self, summary: &mut Summary) -> &mut u64 {
        match self {
            Field::Stopper => &mut summary.stopper,
            Field::Targets => &mut summary.targets,
            Field::Vector => &mut summary.vector,
            Field::Nmi => &mut summary.nmi,
            Field::SelfStop => &mut summary.self_stop,
            Field::Init => &mut summary.init,
            Field::Stuck => &mut summary.stuck,
            Field::TotalUs => &mut summary.total_us,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Parses the text after [`PREFIX`]: every field exactly once as `key=<decimal>`, nothing else.
pub fn parse(fields: &str) -> Result<Summary, String> {
    let mut summary = Summary::default();
    let mut seen = Vec::new();
    for word in fields.split_whitespace() {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("'{word}' is not key=value"))?;
        let field = Field::ALL
            .into_iter()
            .find(|f| f.key() == key)
            .ok_or_else(|| format!("unknown field '{key}'"))?;
        if seen.contains(&field) {
            return Err(format!("field '{key}' appears twice"));
        }
        *field.slot(&mut summary) = value
            .parse()
            .map_err(|_| format!("'{word}': the value is not a number"))?;
        seen.push(field);
    }
    let missing: Vec<&str> = Field::ALL
        .into_iter()
        .filter(|f| !seen.contains(f))
        .map(Field::key)
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing {}", missing.join(", ")));
    }
    Ok(summary)
}

/// What the serial output holds in the way of summary lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// No summary line.
    Missing,
    /// Exactly one, well-formed.
    One(Summary),
    /// Exactly one, malformed: why, and the line.
    Malformed(String, String),
    /// More than one (how many); the first one if it parses.
    Several(usize, Option<Summary>),
}

impl Found {
    /// The summary to report (e.g. in JSON), if one could be read.
    pub fn summary(&self) -> Option<Summary> {
        match *self {
            Found::One(summary) | Found::Several(_, Some(summary)) => Some(summary),
            Found::Missing | Found::Malformed(..) | Found::Several(_, None) => None,
        }
    }
}

/// Looks for summary lines (lines that contain [`PREFIX`]) in `serial`.
pub fn find(serial: &str) -> Found {
    let lines: Vec<&str> = serial
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| line.contains(PREFIX))
        .collect();
    let parsed = |line: &str| {
        let (_, fields) = line.split_once(PREFIX).expect("filtered on PREFIX");
        parse(fields)
    };
    match lines.as_slice() {
        [] => Found::Missing,
        [line] => match parsed(line) {
            Ok(summary) => Found::One(summary),
            Err(why) => Found::Malformed(why, line.to_string()),
        },
        [first, ..] => Found::Several(lines.len(), parsed(first).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str =
        "stop-summary: stopper=3 targets=3 vector=1 nmi=2 self=0 init=0 stuck=0 total_us=4308";

    #[test]
    fn the_kernel_line_is_parsed_field_by_field() {
        let want = Summary {
            stopper: 3,
            targets: 3,
            vector: 1,
            nmi: 2,
            self_stop: 0,
            init: 0,
            stuck: 0,
            total_us: 4308,
        };
        assert_eq!(find(&format!("boot\n{LINE}\r\nend\n")), Found::One(want));
        assert_eq!(Field::Nmi.of(&want), 2);
        assert_eq!(Field::TotalUs.of(&want), 4308);
        assert_eq!(Field::Stopper.of(&want), 3);
        let json = serde_json::to_value(want).unwrap();
        assert_eq!(json["self"], 0);
        assert_eq!(json["total_us"], 4308);
        assert_eq!(json.as_object().unwrap().len(), Field::ALL.len());
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
            (
                "",
                "missing stopper, targets, vector, nmi, self, init, stuck, total_us",
            ),
        ] {
            assert_eq!(parse(fields), Err(why.to_string()), "{fields}");
        }
        let found = find("stop-summary: nmi=x\n");
        assert_eq!(
            found,
            Found::Malformed(
                "'nmi=x': the value is not a number".to_string(),
                "stop-summary: nmi=x".to_string()
            )
        );
        assert_eq!(found.summary(), None);
    }

    #[test]
    fn missing_and_repeated_lines_are_told_apart() {
        assert_eq!(find("PANIC on cpu 0\n"), Found::Missing);
        let twice = find(&format!("{LINE}\n{LINE}\nstop-summary: junk\n"));
        let Found::Several(3, Some(first)) = twice else {
            panic!("{twice:?}")
        };
        assert_eq!(first.total_us, 4308);
        assert_eq!(twice.summary(), Some(first));
        // A summary line glued to other output still counts.
        assert!(matches!(
            find(&format!("cpu 2 says hi{LINE}\n{LINE}\n")),
            Found::Several(2, Some(_))
        ));
    }
}
