//! Property tests of the boot-line parser: no boot line, however hostile, makes it panic, and
//! the split keeps to the line.

use allstop::cmdline::{BootOptions, CommandLine, OPTIONS};
use proptest::prelude::*;

/// Words that reach the parser's value paths: known keys with arbitrary values, `--`, and
/// arbitrary words, joined by arbitrary whitespace.
fn line() -> impl Strategy<Value = String> {
    let key = prop::sample::select(OPTIONS.map(|o| o.key).to_vec());
    let word = prop_oneof![
        (key, any::<String>()).prop_map(|(k, v)| format!("{k}={v}")),
        Just("--".to_string()),
        any::<String>(),
        "[0-9]{1,40}".prop_map(|n| format!("restart.window_ms={n}")),
    ];
    let space = prop::sample::select(vec![" ", "  ", "\t", "\n", "\u{a0}", "\u{3000}", ""]);
    prop::collection::vec((word, space), 0..12)
        .prop_map(|words| words.into_iter().map(|(w, s)| w + s).collect())
}

/// What `boot::main` does with the line: split, then parse the kernel part, rendering each
/// warning as the console would.
fn parse(line: &str) {
    let split = CommandLine::split(line);
    assert!(
        line.starts_with(split.kernel),
        "kernel part is not a prefix"
    );
    assert!(line.contains(split.app_args), "app part is not in the line");
    let mut warnings = Vec::new();
    BootOptions::parse(split.kernel, |w| warnings.push(w.to_string()));
}

proptest! {
    #[test]
    fn structured_lines_never_panic(line in line()) {
        parse(&line);
    }

    #[test]
    fn arbitrary_strings_never_panic(line in any::<String>()) {
        parse(&line);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        // As boot does: the valid UTF-8 prefix.
        let valid = match core::str::from_utf8(&bytes) {
            Ok(line) => line,
            Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
        };
        parse(valid);
    }
}
