//! What is wrong with a line: one error type for every parser, whose message names the culprit.

use core::fmt;

/// Why a line did not parse; it borrows the offending text from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error<'a> {
    /// `text` does not have the form `form` (a word without `=`, a line without its prefix).
    Malformed {
        /// The text as it came.
        text: &'a str,
        /// What it should have been.
        form: &'static str,
    },
    /// A name the line cannot hold.
    Unknown {
        /// Of what kind (`field`, `metric`, ...).
        what: &'static str,
        /// The name as it came.
        name: &'a str,
    },
    /// A key given twice.
    Twice(&'a str),
    /// A value (given with its key, as in `n=x`, where it has one) that is not a whole number.
    NotANumber(&'a str),
    /// Keys the line must have but lacks.
    Missing(Missing),
}

impl fmt::Display for Error<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed { text, form } => write!(f, "'{text}' is not {form}"),
            Error::Unknown { what, name } => write!(f, "unknown {what} '{name}'"),
            Error::Twice(key) => write!(f, "field '{key}' appears twice"),
            Error::NotANumber(text) => write!(f, "'{text}': the value is not a number"),
            Error::Missing(missing) => write!(f, "missing {missing}"),
        }
    }
}

impl core::error::Error for Error<'_> {}

/// Some of a line's keys (at most 64), kept as a bit mask over the list of its keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Missing {
    /// Every key the line must have.
    keys: &'static [&'static str],
    /// Bit `i` set: `keys[i]` is missing.
    absent: u64,
}

impl Missing {
    /// None of `keys` missing yet.
    pub(crate) fn none(keys: &'static [&'static str]) -> Self {
        Self { keys, absent: 0 }
    }

    /// Marks `keys[i]` missing.
    pub(crate) fn add(&mut self, i: usize) {
        self.absent |= 1 << i;
    }

    /// `Err` if any key is missing.
    pub(crate) fn check<'a>(self) -> Result<(), Error<'a>> {
        match self.absent {
            0 => Ok(()),
            _ => Err(Error::Missing(self)),
        }
    }

    /// The missing keys, in the line's order.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        let absent = self.absent;
        self.keys
            .iter()
            .enumerate()
            .filter(move |&(i, _)| absent & (1 << i) != 0)
            .map(|(_, key)| *key)
    }
}

/// The missing keys, separated by `, `.
impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, key) in self.keys().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(key)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_names_the_culprit() {
        let malformed = Error::Malformed {
            text: "oops",
            form: "key=value",
        };
        assert_eq!(malformed.to_string(), "'oops' is not key=value");
        let unknown = Error::Unknown {
            what: "metric",
            name: "x",
        };
        assert_eq!(unknown.to_string(), "unknown metric 'x'");
        assert_eq!(Error::Twice("n").to_string(), "field 'n' appears twice");
        assert_eq!(
            Error::NotANumber("n=x").to_string(),
            "'n=x': the value is not a number"
        );
        let mut missing = Missing::none(&["a", "b", "c"]);
        assert_eq!(missing.check(), Ok(()));
        missing.add(2);
        missing.add(0);
        assert_eq!(missing.keys().collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(missing.check().unwrap_err().to_string(), "missing a, c");
    }
}
