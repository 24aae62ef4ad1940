//! The boot command line (`-append`): kernel options, then ` -- ` and the app's own arguments.
//!
//! Options are `key=value` words. An unknown key or a malformed value never stops the boot: it
//! produces one [`Warning`] naming it (and the default kept) and the default stays in force.

use core::fmt;
use core::time::Duration;

use log::LevelFilter;
use wire::split::words;

/// What the runtime does after a panic has stopped the other CPUs (`panic=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanicAction {
    /// Power off with the panic status (the default).
    Poweroff,
    /// Reset the machine.
    Reboot,
    /// Halt the panicking CPU too and leave the machine as it is.
    Halt,
    /// Restart the app in place (warm restart), keeping a crash report; see `restart.*`.
    Restart,
}

/// Whether stop stragglers are parked with INIT (`stop.init_park=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitParkOption {
    /// On under a hypervisor (CPUID says so), off on bare metal.
    Auto,
    /// Always.
    On,
    /// Never.
    Off,
}

/// Typed kernel options with their defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootOptions {
    /// `log=off|error|warn|info|debug|trace`: the most verbose log level printed.
    pub log: LevelFilter,
    /// `panic=poweroff|reboot|halt|restart`.
    pub panic: PanicAction,
    /// `stop.vector_timeout_us=N`: how long the stopper waits for the stop vector.
    pub stop_vector_timeout: Duration,
    /// `stop.nmi_timeout_us=N`: how long it then waits for the NMIs.
    pub stop_nmi_timeout: Duration,
    /// `stop.init_park=auto|on|off`.
    pub stop_init_park: InitParkOption,
    /// `stop.verify_ms=N`: after a stop, watch the stopped CPUs' heartbeats this long (0: off).
    pub stop_verify: Duration,
    /// `restart.max=N`: more than N warm restarts within `restart.window_ms` is a crash loop.
    pub restart_max: u64,
    /// `restart.window_ms=W`.
    pub restart_window: Duration,
    /// `restart.report=full|brief`: with `panic=restart`, print the backtrace and the stop table
    /// (full), or only the panic message and the stop summary (brief: a faster restart).
    pub restart_brief_report: bool,
    /// `inject.stop_during_bringup=1`: the boot CPU panics right after starting the APs (a test
    /// of stopping CPUs that are still booting).
    pub inject_stop_during_bringup: bool,
    /// `inject.ap_entry_fault=1`: AP 1 executes an invalid instruction as its start-up work
    /// begins (a test of faults on a starting AP).
    pub inject_ap_entry_fault: bool,
    /// `inject.park_missing_ack=1`: parking the APs for a warm restart expects one
    /// acknowledgement more than there are APs, as if one AP's INIT never landed (a test of the
    /// restart's fallback).
    pub inject_park_missing_ack: bool,
}

impl Default for BootOptions {
    fn default() -> Self {
        Self {
            log: LevelFilter::Info,
            panic: PanicAction::Poweroff,
            stop_vector_timeout: stop::DEFAULT_VECTOR_TIMEOUT,
            stop_nmi_timeout: stop::DEFAULT_NMI_TIMEOUT,
            stop_init_park: InitParkOption::Auto,
            stop_verify: Duration::ZERO,
            restart_max: DEFAULT_RESTART_MAX,
            restart_window: DEFAULT_RESTART_WINDOW,
            restart_brief_report: false,
            inject_stop_during_bringup: false,
            inject_ap_entry_fault: false,
            inject_park_missing_ack: false,
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
        for word in words(line).map(|word| word.text) {
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

/// Longest stop timeout accepted, so a typo cannot make a stop wait for hours.
const MAX_STOP_TIMEOUT_US: u64 = 10_000_000;
/// Default crash-loop limit: more than this many warm restarts inside the window powers off.
const DEFAULT_RESTART_MAX: u64 = 5;
/// Default crash-loop window.
const DEFAULT_RESTART_WINDOW: Duration = Duration::from_millis(1000);
/// Longest heartbeat watch accepted.
const MAX_VERIFY_MS: u64 = 10_000;
/// What a stop timeout may be.
const TIMEOUT_RANGE: &str = "microseconds, 1..=10000000";

impl BootOptions {
    /// Parses the kernel part of the command line, reporting each bad word to `warn`.
    pub fn parse<'a>(kernel: &'a str, mut warn: impl FnMut(Warning<'a>)) -> Self {
        let mut opts = Self::default();
        for word in words(kernel) {
            let (key, value, word) = (word.key, word.value, word.text);
            let bad = |expected, kept| Warning::BadValue {
                word,
                expected,
                kept,
            };
            let accepted = match key {
                "log" => value
                    .and_then(parse_level)
                    .map(|v| opts.log = v)
                    .ok_or_else(|| bad("off|error|warn|info|debug|trace", "log=info")),
                "panic" => value
                    .and_then(parse_panic_action)
                    .map(|v| opts.panic = v)
                    .ok_or_else(|| bad("poweroff|reboot|halt|restart", "panic=poweroff")),
                "restart.max" => value
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(|v| opts.restart_max = v)
                    .ok_or_else(|| bad("a number of restarts", "restart.max=5")),
                "restart.report" => value
                    .and_then(|v| match v {
                        "full" => Some(false),
                        "brief" => Some(true),
                        _ => None,
                    })
                    .map(|brief| opts.restart_brief_report = brief)
                    .ok_or_else(|| bad("full|brief", "restart.report=full")),
                "restart.window_ms" => value
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|&ms| ms > 0)
                    .map(|ms| opts.restart_window = Duration::from_millis(ms))
                    .ok_or_else(|| bad("milliseconds, at least 1", "restart.window_ms=1000")),
                "stop.vector_timeout_us" => value
                    .and_then(parse_timeout_us)
                    .map(|v| opts.stop_vector_timeout = v)
                    .ok_or_else(|| bad(TIMEOUT_RANGE, "stop.vector_timeout_us=1000")),
                "stop.nmi_timeout_us" => value
                    .and_then(parse_timeout_us)
                    .map(|v| opts.stop_nmi_timeout = v)
                    .ok_or_else(|| bad(TIMEOUT_RANGE, "stop.nmi_timeout_us=10000")),
                "stop.init_park" => value
                    .and_then(parse_init_park)
                    .map(|v| opts.stop_init_park = v)
                    .ok_or_else(|| bad("auto|on|off", "stop.init_park=auto")),
                "stop.verify_ms" => value
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|&ms| ms <= MAX_VERIFY_MS)
                    .map(|ms| opts.stop_verify = Duration::from_millis(ms))
                    .ok_or_else(|| bad("milliseconds, 0..=10000", "stop.verify_ms=0")),
                "inject.stop_during_bringup" => value
                    .and_then(parse_flag)
                    .map(|v| opts.inject_stop_during_bringup = v)
                    .ok_or_else(|| bad("0|1", "inject.stop_during_bringup=0")),
                "inject.ap_entry_fault" => value
                    .and_then(parse_flag)
                    .map(|v| opts.inject_ap_entry_fault = v)
                    .ok_or_else(|| bad("0|1", "inject.ap_entry_fault=0")),
                "inject.park_missing_ack" => value
                    .and_then(parse_flag)
                    .map(|v| opts.inject_park_missing_ack = v)
                    .ok_or_else(|| bad("0|1", "inject.park_missing_ack=0")),
                _ => Err(Warning::UnknownKey { word }),
            };
            if let Err(w) = accepted {
                warn(w);
            }
        }
        opts
    }
}

fn parse_panic_action(value: &str) -> Option<PanicAction> {
    match value {
        "poweroff" => Some(PanicAction::Poweroff),
        "reboot" => Some(PanicAction::Reboot),
        "halt" => Some(PanicAction::Halt),
        "restart" => Some(PanicAction::Restart),
        _ => None,
    }
}

fn parse_init_park(value: &str) -> Option<InitParkOption> {
    match value {
        "auto" => Some(InitParkOption::Auto),
        "on" => Some(InitParkOption::On),
        "off" => Some(InitParkOption::Off),
        _ => None,
    }
}

fn parse_flag(value: &str) -> Option<bool> {
    match value {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

fn parse_timeout_us(value: &str) -> Option<Duration> {
    let us: u64 = value.parse().ok()?;
    (1..=MAX_STOP_TIMEOUT_US)
        .contains(&us)
        .then(|| Duration::from_micros(us))
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
    fn stop_and_panic_options_are_parsed() {
        let (opts, warnings) = parse(
            "panic=halt stop.vector_timeout_us=250 stop.nmi_timeout_us=5000 stop.init_park=off",
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(opts.panic, PanicAction::Halt);
        assert_eq!(opts.stop_vector_timeout, Duration::from_micros(250));
        assert_eq!(opts.stop_nmi_timeout, Duration::from_millis(5));
        assert_eq!(opts.stop_init_park, InitParkOption::Off);
        let (opts, warnings) = parse("stop.verify_ms=10 inject.stop_during_bringup=1");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(opts.stop_verify, Duration::from_millis(10));
        assert!(opts.inject_stop_during_bringup);
        let (_, warnings) = parse("stop.verify_ms=10001 inject.stop_during_bringup=yes");
        assert_eq!(warnings.len(), 2);
        let (opts, warnings) =
            parse("panic=restart restart.max=1000 restart.window_ms=50 restart.report=brief");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(opts.restart_brief_report);
        assert_eq!(opts.panic, PanicAction::Restart);
        assert_eq!(
            (opts.restart_max, opts.restart_window),
            (1000, Duration::from_millis(50))
        );
        let (opts, warnings) = parse("restart.max=-1 restart.window_ms=0 restart.report=short");
        assert_eq!(warnings.len(), 3);
        assert_eq!(opts, BootOptions::default());
    }

    #[test]
    fn bad_stop_values_keep_the_defaults() {
        let (opts, warnings) =
            parse("stop.vector_timeout_us=0 stop.nmi_timeout_us=abc stop.init_park=maybe panic=");
        assert_eq!(opts, BootOptions::default());
        assert_eq!(warnings.len(), 4);
        assert!(warnings[0].contains("'stop.vector_timeout_us=0': invalid value"));
        assert!(warnings[0].ends_with("keeping stop.vector_timeout_us=1000"));
        assert!(warnings[3].ends_with("keeping panic=poweroff"));
        let (_, warnings) = parse("stop.vector_timeout_us=10000001");
        assert_eq!(warnings.len(), 1);
    }

    /// Each option's warning names the `key=value` kept, and that is the default: parsed back,
    /// it changes nothing and warns about nothing.
    #[test]
    fn each_kept_value_is_the_default() {
        const KEYS: [&str; 12] = [
            "log",
            "panic",
            "restart.max",
            "restart.report",
            "restart.window_ms",
            "stop.vector_timeout_us",
            "stop.nmi_timeout_us",
            "stop.init_park",
            "stop.verify_ms",
            "inject.stop_during_bringup",
            "inject.ap_entry_fault",
            "inject.park_missing_ack",
        ];
        for key in KEYS {
            let word = format!("{key}=?");
            let mut kept = None;
            BootOptions::parse(&word, |w| match w {
                Warning::BadValue { kept: k, .. } => kept = Some(k),
                other => panic!("{other}"),
            });
            let kept = kept.unwrap_or_else(|| panic!("'{word}' was accepted"));
            assert!(kept.starts_with(&format!("{key}=")), "{key}: keeps {kept}");
            assert_eq!(
                parse(kept),
                (BootOptions::default(), vec![]),
                "{key}: the warning says it keeps '{kept}', which is not the default"
            );
        }
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
