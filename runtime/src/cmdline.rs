//! The boot command line (`-append`): kernel options, then ` -- ` and the app's own arguments.
//!
//! Options are `key=value` words. An unknown key or a malformed value never stops the boot: it
//! produces one [`Warning`] naming it (and the default kept) and the default stays in force.

use core::fmt;

use log::LevelFilter;

/// Typed kernel options with their defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootOptions {
    /// `log=off|error|warn|info|debug|trace`: the most verbose log level printed.
    pub log: LevelFilter,
}

impl Default for BootOptions {
    fn default() -> Self {
        Self {
            log: LevelFilter::Info,
        }
    }
}

/// A problem with one command-line word; the boot goes on with the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warning<'a> {
    /// The key is not a kernel option.
    UnknownKey {
        /// The whole word.
        word: &'a str,
    },
    /// The key is known but its value is missing or malformed.
    BadValue {
        /// The whole word.
        word: &'a str,
        /// What the value may be.
        expected: &'static str,
        /// The `key=value` kept instead.
        kept: &'static str,
    },
}

impl fmt::Display for Warning<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownKey { word } => write!(f, "unknown boot option '{word}'; ignored"),
            Warning::BadValue {
                word,
                expected,
                kept,
            } => write!(
                f,
                "boot option '{word}': invalid value (expected {expected}); keeping {kept}"
            ),
        }
    }
}

/// The kernel's options and the app's arguments, split at the first ` -- `.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandLine<'a> {
    /// The kernel options part.
    pub kernel: &'a str,
    /// Everything after `--`, for the app.
    pub app_args: &'a str,
}

impl<'a> CommandLine<'a> {
    /// Splits `line` into kernel options and app arguments.
    pub fn split(line: &'a str) -> Self {
        let mut words_end = 0;
        for word in line.split_ascii_whitespace() {
            if word == "--" {
                // `word` is a sub-slice of `line`: its offset tells where the app part begins.
                let at = word.as_ptr() as usize - line.as_ptr() as usize;
                return Self {
                    kernel: line[..at].trim_end(),
                    app_args: line[at + 2..].trim(),
                };
            }
            words_end = word.as_ptr() as usize - line.as_ptr() as usize + word.len();
        }
        Self {
            kernel: &line[..words_end],
            app_args: "",
        }
    }
}

const LOG_LEVELS: &str = "off|error|warn|info|debug|trace";

impl BootOptions {
    /// Parses the kernel part of the command line, reporting each bad word to `warn`.
    pub fn parse<'a>(kernel: &'a str, mut warn: impl FnMut(Warning<'a>)) -> Self {
        let mut opts = Self::default();
        for word in kernel.split_ascii_whitespace() {
            let (key, value) = match word.split_once('=') {
                Some((key, value)) => (key, Some(value)),
                None => (word, None),
            };
            match key {
                "log" => match value.and_then(parse_level) {
                    Some(level) => opts.log = level,
                    None => warn(Warning::BadValue {
                        word,
                        expected: LOG_LEVELS,
                        kept: "log=info",
                    }),
                },
                _ => warn(Warning::UnknownKey { word }),
            }
        }
        opts
    }
}

fn parse_level(value: &str) -> Option<LevelFilter> {
    match value {
        "off" => Some(LevelFilter::Off),
        "error" => Some(LevelFilter::Error),
        "warn" => Some(LevelFilter::Warn),
        "info" => Some(LevelFilter::Info),
        "debug" => Some(LevelFilter::Debug),
        "trace" => Some(LevelFilter::Trace),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kernel: &str) -> (BootOptions, Vec<String>) {
        let mut warnings = Vec::new();
        let opts = BootOptions::parse(kernel, |w| warnings.push(w.to_string()));
        (opts, warnings)
    }

    #[test]
    fn empty_line_gives_defaults_and_no_warnings() {
        assert_eq!(parse("  "), (BootOptions::default(), vec![]));
    }

    #[test]
    fn log_level_is_parsed() {
        assert_eq!(parse("log=debug").0.log, LevelFilter::Debug);
        assert_eq!(parse("log=off").0.log, LevelFilter::Off);
    }

    #[test]
    fn bad_value_and_unknown_key_warn_once_each_and_keep_defaults() {
        let (opts, warnings) = parse("log=nonsense foo");
        assert_eq!(opts, BootOptions::default());
        assert_eq!(
            warnings,
            vec![
                "boot option 'log=nonsense': invalid value (expected off|error|warn|info|debug|trace); keeping log=info",
                "unknown boot option 'foo'; ignored",
            ]
        );
    }

    #[test]
    fn missing_value_is_a_bad_value() {
        let (_, warnings) = parse("log");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("boot option 'log': invalid value"));
        let (_, warnings) = parse("log=");
        assert!(warnings[0].starts_with("boot option 'log=': invalid value"));
    }

    #[test]
    fn split_separates_app_arguments() {
        let line = CommandLine::split(" log=debug  -- scenario=3 x ");
        assert_eq!(line.kernel, " log=debug");
        assert_eq!(line.app_args, "scenario=3 x");
        let line = CommandLine::split("log=warn");
        assert_eq!((line.kernel, line.app_args), ("log=warn", ""));
        let line = CommandLine::split("a--b --");
        assert_eq!((line.kernel, line.app_args), ("a--b", ""));
    }
}
