//! The one `key=value` word splitter. The machine-read lines, the runtime's boot options and the
//! apps' arguments are all words separated by ASCII whitespace, most of them `key=value`.

use crate::Error;

/// One word, split at its first `=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word<'a> {
    /// The whole word.
    pub text: &'a str,
    /// What comes before the first `=` (the whole word if it has none).
    pub key: &'a str,
    /// What comes after the first `=`, if the word has one.
    pub value: Option<&'a str>,
}

impl<'a> Word<'a> {
    /// The key and the value; an error if the word has no `=`.
    pub fn pair(self) -> Result<(&'a str, &'a str), Error<'a>> {
        self.value
            .map(|value| (self.key, value))
            .ok_or(Error::Malformed {
                text: self.text,
                form: "key=value",
            })
    }
}

/// The words of `text` (separated by ASCII whitespace), each split at its first `=`. Every word
/// is a sub-slice of `text`.
pub fn words(text: &str) -> impl Iterator<Item = Word<'_>> {
    text.split_ascii_whitespace()
        .map(|text| match text.split_once('=') {
            Some((key, value)) => Word {
                text,
                key,
                value: Some(value),
            },
            None => Word {
                text,
                key: text,
                value: None,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_the_first_equals_sign() {
        let words: Vec<Word> = words("  a=1 flag\tb==2 c= =d\n").collect();
        let parts: Vec<(&str, &str, Option<&str>)> =
            words.iter().map(|w| (w.text, w.key, w.value)).collect();
        assert_eq!(
            parts,
            [
                ("a=1", "a", Some("1")),
                ("flag", "flag", None),
                ("b==2", "b", Some("=2")),
                ("c=", "c", Some("")),
                ("=d", "", Some("d")),
            ]
        );
        assert_eq!(words[0].pair(), Ok(("a", "1")));
        assert_eq!(
            words[1].pair().unwrap_err().to_string(),
            "'flag' is not key=value"
        );
    }

    #[test]
    fn empty_text_has_no_words() {
        assert_eq!(super::words(" \t ").count(), 0);
    }
}
