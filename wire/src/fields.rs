//! A line's `key=value` words, checked against the keys the line may have, and the lines (or
//! parts of lines) that are nothing but a fixed list of numeric fields.

use core::fmt;

use crate::split::words;
use crate::{Error, Missing};

/// The `key=value` words of a line, each key known and given once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields<'a> {
    /// The words.
    text: &'a str,
}

impl<'a> Fields<'a> {
    /// Checks `text`: every word is `key=value`, its key is in one of the lists `known`, and no
    /// key comes twice.
    pub(crate) fn parse(text: &'a str, known: &[&[&str]]) -> Result<Self, Error<'a>> {
        for (at, word) in words(text).enumerate() {
            let (key, _) = word.pair()?;
            if !known.iter().any(|keys| keys.contains(&key)) {
                return Err(Error::Unknown {
                    what: "field",
                    name: key,
                });
            }
            if words(text).take(at).any(|earlier| earlier.key == key) {
                return Err(Error::Twice(key));
            }
        }
        Ok(Self { text })
    }

    /// Whether any of `keys` is there.
    pub(crate) fn has_any(&self, keys: &[&str]) -> bool {
        words(self.text).any(|word| keys.contains(&word.key))
    }

    /// `key`'s value, `None` if it is not there.
    pub(crate) fn number(&self, key: &str) -> Result<Option<u64>, Error<'a>> {
        let Some(word) = words(self.text).find(|word| word.key == key) else {
            return Ok(None);
        };
        let value = word.value.and_then(|value| value.parse().ok());
        value.map(Some).ok_or(Error::NotANumber(word.text))
    }

    /// The values of `keys`, in their order: each must be there (the error names every one
    /// that is not, unless a value is not a number).
    pub(crate) fn numbers<const N: usize>(
        &self,
        keys: &'static [&'static str; N],
    ) -> Result<[u64; N], Error<'a>> {
        let mut values = [0; N];
        let mut missing = Missing::none(keys);
        for (i, key) in keys.iter().enumerate() {
            match self.number(key)? {
                Some(value) => values[i] = value,
                None => missing.add(i),
            }
        }
        missing.check().map(|()| values)
    }
}

/// `text` as a whole number.
pub(crate) fn number(text: &str) -> Result<u64, Error<'_>> {
    text.parse().map_err(|_| Error::NotANumber(text))
}

/// A line, or part of one, made of `N` numeric fields: `key=value` words in a fixed order.
pub(crate) trait Record<const N: usize>: Sized {
    /// The keys, in the order written.
    const KEYS: &'static [&'static str; N];

    /// The values, in the order of [`Record::KEYS`].
    fn values(&self) -> [u64; N];

    /// The record of these values, in the order of [`Record::KEYS`].
    fn from_values(values: [u64; N]) -> Self;

    /// Each key with its value, in the order written.
    fn pairs(&self) -> [(&'static str, u64); N] {
        let values = self.values();
        core::array::from_fn(|i| (Self::KEYS[i], values[i]))
    }

    /// Writes the fields, separated by spaces.
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.pairs().into_iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{key}={value}")?;
        }
        Ok(())
    }

    /// Reads the record out of `fields`, which must hold every key.
    fn read<'a>(fields: &Fields<'a>) -> Result<Self, Error<'a>> {
        fields.numbers(Self::KEYS).map(Self::from_values)
    }

    /// Reads a text that holds exactly this record's fields, in any order.
    fn parse_all(text: &str) -> Result<Self, Error<'_>> {
        Self::read(&Fields::parse(text, &[Self::KEYS])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-field record for the tests.
    #[derive(Debug, PartialEq)]
    struct Pair(u64, u64);

    impl Record<2> for Pair {
        const KEYS: &'static [&'static str; 2] = &["a", "b_ns"];
        fn values(&self) -> [u64; 2] {
            [self.0, self.1]
        }
        fn from_values([a, b]: [u64; 2]) -> Self {
            Pair(a, b)
        }
    }

    impl fmt::Display for Pair {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.write(f)
        }
    }

    #[test]
    fn a_record_round_trips_in_any_order() {
        assert_eq!(Pair(1, 2).to_string(), "a=1 b_ns=2");
        assert_eq!(Pair::parse_all("a=1 b_ns=2"), Ok(Pair(1, 2)));
        assert_eq!(Pair::parse_all(" b_ns=2\ta=1 "), Ok(Pair(1, 2)));
        assert_eq!(Pair(3, 4).pairs(), [("a", 3), ("b_ns", 4)]);
    }

    #[test]
    fn bad_fields_say_what_is_wrong() {
        for (text, why) in [
            ("a=1", "missing b_ns"),
            ("", "missing a, b_ns"),
            ("a=1 b_ns=2 c=3", "unknown field 'c'"),
            ("a=1 a=2 b_ns=3", "field 'a' appears twice"),
            ("a=-1 b_ns=2", "'a=-1': the value is not a number"),
            // A value that is not a number wins over a missing key.
            ("b_ns=x", "'b_ns=x': the value is not a number"),
            ("a", "'a' is not key=value"),
        ] {
            let err = Pair::parse_all(text).unwrap_err();
            assert_eq!(err.to_string(), why, "{text:?}");
        }
    }

    #[test]
    fn optional_fields_are_looked_up_one_by_one() {
        let fields = Fields::parse("a=1 lost=2", &[Pair::KEYS, &["lost"]]).unwrap();
        assert!(fields.has_any(&["x", "lost"]));
        assert!(!fields.has_any(&["b_ns"]));
        assert_eq!(fields.number("lost"), Ok(Some(2)));
        assert_eq!(fields.number("b_ns"), Ok(None));
        assert_eq!(number("12"), Ok(12));
        assert_eq!(number("1 2"), Err(Error::NotANumber("1 2")));
    }
}
