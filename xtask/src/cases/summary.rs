//! The kernel's stop summary (`stop-summary: ...`, defined in `wire::summary`) as xtask finds it
//! in a run's serial output and writes it to JSON.

use serde::{Serialize, Serializer};

pub use wire::summary::{Field, StopSummary, PREFIX};

/// What the serial output holds in the way of summary lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// No summary line.
    Missing,
    /// Exactly one, well-formed.
    One(StopSummary),
    /// Exactly one, malformed: why, and the line.
    Malformed(String, String),
    /// More than one (how many); the first one if it parses.
    Several(usize, Option<StopSummary>),
}

impl Found {
    /// The summary to report (e.g. in JSON), if one could be read.
    pub fn summary(&self) -> Option<StopSummary> {
        match *self {
            Found::One(summary) | Found::Several(_, Some(summary)) => Some(summary),
            Found::Missing | Found::Malformed(..) | Found::Several(_, None) => None,
        }
    }
}

/// Looks for summary lines (lines that contain [`PREFIX`], which may follow other output on
/// the same line) in `serial`.
pub fn find(serial: &str) -> Found {
    let lines: Vec<&str> = serial
        .lines()
        .filter_map(|line| {
            line.find(PREFIX)
                .map(|at| line[at..].trim_end_matches('\r'))
        })
        .collect();
    match lines.as_slice() {
        [] => Found::Missing,
        [line] => match StopSummary::parse(line) {
            Ok(summary) => Found::One(summary),
            Err(why) => Found::Malformed(why.to_string(), line.to_string()),
        },
        [first, ..] => Found::Several(lines.len(), StopSummary::parse(first).ok()),
    }
}

/// A line's numeric fields as a JSON object, keyed as on the line.
pub struct JsonFields<const N: usize>(pub [(&'static str, u64); N]);

impl<const N: usize> Serialize for JsonFields<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(key, value)| (key, value)))
    }
}

/// For `#[serde(serialize_with)]`: the summary as a JSON object keyed as on the line, or `null`.
pub fn to_json<S: Serializer>(
    summary: &Option<StopSummary>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let fields = summary.map(|s| JsonFields(s.fields().map(|(field, value)| (field.key(), value))));
    fields.serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str =
        "stop-summary: stopper=3 targets=3 vector=1 nmi=2 self=0 init=0 stuck=0 total_us=4308";

    /// A summary in a JSON document, as `qemu-test --json` writes it.
    #[derive(Serialize)]
    struct Case {
        #[serde(serialize_with = "to_json")]
        summary: Option<StopSummary>,
    }

    #[test]
    fn the_kernel_line_is_found_and_written_to_json_with_its_keys() {
        let Found::One(summary) = find(&format!("boot\n{LINE}\r\nend\n")) else {
            panic!("not found")
        };
        assert_eq!((summary.nmi, summary.total_us), (2, 4308));
        let json = serde_json::to_string(&Case {
            summary: Some(summary),
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"summary":{"stopper":3,"targets":3,"vector":1,"nmi":2,"self":0,"init":0,"stuck":0,"total_us":4308}}"#
        );
        let none = serde_json::to_string(&Case { summary: None }).unwrap();
        assert_eq!(none, r#"{"summary":null}"#);
    }

    #[test]
    fn a_malformed_line_says_why() {
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
        assert!(matches!(
            find(&format!("cpu 2 says hi{LINE}\n")),
            Found::One(_)
        ));
    }
}
