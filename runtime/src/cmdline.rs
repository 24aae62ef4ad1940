//! The boot command line (`-append`): kernel options, then ` -- ` and the app's own arguments.
//!
//! Options are `key=value` words, separated by ASCII whitespace (as the app's arguments are). An
//! unknown key, a malformed value or a repeated option never stops the boot: it produces one
//! [`Warning`] naming it and the value that stays in force (the last valid one, else the default).

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

/// How the stop report's table lists the CPUs (`stop.table=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopTable {
    /// Grouped above [`GROUPED_ABOVE_CPUS`] CPUs, one row per CPU up to that.
    Auto,
    /// One row per CPU.
    Full,
    /// Runs of CPUs the vector stopped as one line each; every other CPU on its own row.
    Grouped,
}

/// Above this many CPUs, `stop.table=auto` groups the table (a row per CPU is about 60 bytes:
/// 2 KB over a serial port at 32).
pub const GROUPED_ABOVE_CPUS: usize = 32;

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

/// How a stop first signals the other CPUs (`stop.strategy=`; see the stop crate's
/// `StopStrategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopStrategyOption {
    /// The stop vector, then NMIs after `stop.vector_timeout_us`.
    Vector,
    /// NMIs to every CPU at once, no stop vector.
    Nmi,
    /// The stop vector, then NMIs after a timeout derived from an IPI round trip measured at
    /// boot (`stop.vector_timeout_us` is not used).
    Adaptive,
}

/// Typed kernel options with their defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootOptions {
    /// `log=off|error|warn|info|debug|trace`: the most verbose log level printed.
    pub log: LevelFilter,
    /// `panic=poweroff|reboot|halt|restart`.
    pub panic: PanicAction,
    /// `stop.strategy=vector|nmi|adaptive`.
    pub stop_strategy: StopStrategyOption,
    /// `stop.vector_timeout_us=N`: how long the stopper waits for the stop vector
    /// (`stop.strategy=vector`).
    pub stop_vector_timeout: Duration,
    /// `stop.nmi_timeout_us=N`: how long it then waits for the NMIs.
    pub stop_nmi_timeout: Duration,
    /// `stop.init_park=auto|on|off`.
    pub stop_init_park: InitParkOption,
    /// `stop.report=full|brief`: whether the full stop report (a panic's, or one with a stuck
    /// CPU) ends with every stopped CPU's registers and backtrace (full) or not (brief).
    pub stop_report_contexts: bool,
    /// `stop.table=auto|full|grouped`.
    pub stop_table: StopTable,
    /// `stop.verify_ms=N`: after a stop, watch the stopped CPUs' heartbeats this long (0: off).
    pub stop_verify: Duration,
    /// `restart.max=N`: more than N warm restarts within `restart.window_ms` is a crash loop.
    pub restart_max: u64,
    /// `restart.window_ms=W`.
    pub restart_window: Duration,
    /// `restart.report=full|brief`: with `panic=restart`, the restarted run prints the whole
    /// panic report (full), or only the panic message and the stop summary (brief).
    pub restart_brief_report: bool,
    /// `panic.wait_for_core=1`: after a panic's report, wait for the runner to take a core dump
    /// (`cargo xtask run --core`) before the panic action.
    pub panic_wait_for_core: bool,
    /// `inject.stop_during_bringup=1`: the boot CPU panics right after starting the APs (a test
    /// of stopping CPUs that are still booting).
    pub inject_stop_during_bringup: bool,
    /// `inject.ap_entry_fault=1`: AP 1 executes an invalid instruction as its start-up work
    /// begins (a test of faults on a starting AP).
    pub inject_ap_entry_fault: bool,
    /// `inject.stall_stop_vector=1`: every stop-vector handler stalls before it saves or
    /// acknowledges anything, until the stopper's NMI stops its CPU (a test of a late vector
    /// racing its NMI, and of the context the NMI then saves).
    pub inject_stall_stop_vector: bool,
    /// `inject.park_missing_ack=1`: parking the APs for a warm restart expects one
    /// acknowledgement more than there are APs, as if one AP's INIT never landed (a test of the
    /// restart's fallback).
    pub inject_park_missing_ack: bool,
    /// `inject.stall_kept_contexts=1`: the AP that writes a kept report's contexts after a warm
    /// restart stalls, interrupts off, in the middle of the second CPU's context until a stop
    /// stops it (a test of a stop that cuts that writing short).
    pub inject_stall_kept_contexts: bool,
}

impl Default for BootOptions {
    /// Every option at its default in [`OPTIONS`].
    fn default() -> Self {
        let mut opts = PLACEHOLDERS;
        for option in &OPTIONS {
            let applied = (option.apply)(&mut opts, option.default);
            debug_assert!(applied.is_some(), "the default of {} parses", option.key);
        }
        opts
    }
}

/// What [`BootOptions::default`] starts from: every field is then set from [`OPTIONS`] (a
/// test changes every field here and checks the defaults stay the same).
const PLACEHOLDERS: BootOptions = BootOptions {
    log: LevelFilter::Off,
    panic: PanicAction::Halt,
    stop_strategy: StopStrategyOption::Adaptive,
    stop_vector_timeout: Duration::ZERO,
    stop_nmi_timeout: Duration::ZERO,
    stop_init_park: InitParkOption::Off,
    stop_verify: Duration::ZERO,
    stop_report_contexts: false,
    stop_table: StopTable::Grouped,
    restart_max: 0,
    restart_window: Duration::ZERO,
    restart_brief_report: false,
    panic_wait_for_core: false,
    inject_stop_during_bringup: false,
    inject_ap_entry_fault: false,
    inject_stall_stop_vector: false,
    inject_park_missing_ack: false,
    inject_stall_kept_contexts: false,
};

/// One kernel option: its key, the form of its value, its default as written on the command
/// line, and how a value is applied. [`OPTIONS`] lists them all; parsing, the warnings, the
/// defaults and the README's table come from it.
pub struct BootOption {
    /// The key, as in `key=value`.
    pub key: &'static str,
    /// What the value may be.
    pub expected: &'static str,
    /// The default value, as it would be written after `key=`.
    pub default: &'static str,
    /// Sets the option from a value; `None` (nothing set) if the value is malformed.
    apply: fn(&mut BootOptions, &str) -> Option<()>,
}

impl fmt::Debug for BootOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BootOption({})", self.key)
    }
}

/// Options are the same when their keys are (keys are unique in [`OPTIONS`]).
impl PartialEq for BootOption {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for BootOption {}

/// Every kernel option.
pub const OPTIONS: [BootOption; 18] = [
    BootOption {
        key: "log",
        expected: "off|error|warn|info|debug|trace",
        default: "info",
        apply: |o, v| parse_level(v).map(|x| o.log = x),
    },
    BootOption {
        key: "panic",
        expected: "poweroff|reboot|halt|restart",
        default: "poweroff",
        apply: |o, v| parse_panic_action(v).map(|x| o.panic = x),
    },
    BootOption {
        key: "restart.max",
        expected: "a number of restarts",
        default: "5",
        apply: |o, v| v.parse().ok().map(|x| o.restart_max = x),
    },
    BootOption {
        key: "restart.window_ms",
        expected: "milliseconds, 1..=3600000",
        default: "1000",
        apply: |o, v| {
            let ms = v
                .parse::<u64>()
                .ok()
                .filter(|ms| (1..=MAX_RESTART_WINDOW_MS).contains(ms));
            ms.map(|ms| o.restart_window = Duration::from_millis(ms))
        },
    },
    BootOption {
        key: "restart.report",
        expected: "full|brief",
        default: "full",
        apply: |o, v| {
            let brief = match v {
                "full" => Some(false),
                "brief" => Some(true),
                _ => None,
            };
            brief.map(|brief| o.restart_brief_report = brief)
        },
    },
    BootOption {
        key: "stop.strategy",
        expected: "vector|nmi|adaptive",
        default: "nmi",
        apply: |o, v| parse_strategy(v).map(|x| o.stop_strategy = x),
    },
    BootOption {
        key: "stop.vector_timeout_us",
        expected: TIMEOUT_RANGE,
        default: "1000",
        apply: |o, v| parse_timeout_us(v).map(|x| o.stop_vector_timeout = x),
    },
    BootOption {
        key: "stop.nmi_timeout_us",
        expected: TIMEOUT_RANGE,
        default: "10000",
        apply: |o, v| parse_timeout_us(v).map(|x| o.stop_nmi_timeout = x),
    },
    BootOption {
        key: "stop.init_park",
        expected: "auto|on|off",
        default: "auto",
        apply: |o, v| parse_init_park(v).map(|x| o.stop_init_park = x),
    },
    BootOption {
        key: "stop.report",
        expected: "full|brief",
        default: "full",
        apply: |o, v| {
            let contexts = match v {
                "full" => Some(true),
                "brief" => Some(false),
                _ => None,
            };
            contexts.map(|contexts| o.stop_report_contexts = contexts)
        },
    },
    BootOption {
        key: "stop.table",
        expected: "auto|full|grouped",
        default: "auto",
        apply: |o, v| {
            let table = match v {
                "auto" => Some(StopTable::Auto),
                "full" => Some(StopTable::Full),
                "grouped" => Some(StopTable::Grouped),
                _ => None,
            };
            table.map(|table| o.stop_table = table)
        },
    },
    BootOption {
        key: "stop.verify_ms",
        expected: "milliseconds, 0..=10000",
        default: "0",
        apply: |o, v| {
            let ms = v.parse::<u64>().ok().filter(|&ms| ms <= MAX_VERIFY_MS);
            ms.map(|ms| o.stop_verify = Duration::from_millis(ms))
        },
    },
    BootOption {
        key: "panic.wait_for_core",
        expected: "0|1",
        default: "0",
        apply: |o, v| parse_flag(v).map(|x| o.panic_wait_for_core = x),
    },
    BootOption {
        key: "inject.stop_during_bringup",
        expected: "0|1",
        default: "0",
        apply: |o, v| parse_flag(v).map(|x| o.inject_stop_during_bringup = x),
    },
    BootOption {
        key: "inject.ap_entry_fault",
        expected: "0|1",
        default: "0",
        apply: |o, v| parse_flag(v).map(|x| o.inject_ap_entry_fault = x),
    },
    BootOption {
        key: "inject.stall_stop_vector",
        expected: "0|1",
        default: "0",
        apply: |o, v| parse_flag(v).map(|x| o.inject_stall_stop_vector = x),
    },
    BootOption {
        key: "inject.park_missing_ack",
        expected: "0|1",
        default: "0",
        apply: |o, v| parse_flag(v).map(|x| o.inject_park_missing_ack = x),
    },
    BootOption {
        key: "inject.stall_kept_contexts",
        expected: "0|1",
        default: "0",
        apply: |o, v| parse_flag(v).map(|x| o.inject_stall_kept_contexts = x),
    },
];

/// A problem with one command-line word; the boot goes on with the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warning<'a> {
    /// The key is not a kernel option.
    UnknownKey {
        /// The whole word.
        word: &'a str,
    },
    /// The key is known but its value is missing or malformed: what was in force stays.
    BadValue {
        /// The whole word.
        word: &'a str,
        /// The option.
        option: &'static BootOption,
        /// The earlier word that set the option, if one did (else its default stays).
        kept: Option<&'a str>,
    },
    /// A valid value for an option an earlier word had already set: the later one wins.
    Repeated {
        /// The whole (winning) word.
        word: &'a str,
        /// The earlier word it overrides.
        earlier: &'a str,
    },
}

impl fmt::Display for Warning<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownKey { word } => write!(f, "unknown boot option '{word}'; ignored"),
            Warning::BadValue {
                word,
                option,
                kept: Some(kept),
            } => write!(
                f,
                "boot option '{word}': invalid value (expected {}); keeping {kept}",
                option.expected
            ),
            Warning::BadValue {
                word,
                option,
                kept: None,
            } => write!(
                f,
                "boot option '{word}': invalid value (expected {}); keeping {}={}",
                option.expected, option.key, option.default
            ),
            Warning::Repeated { word, earlier } => {
                write!(f, "boot option '{word}' overrides the earlier '{earlier}'")
            }
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

/// What stays of a command line that was cut short (at the kernel's length limit, or before its
/// first byte that is not UTF-8): everything before its last word, when the cut may have split
/// that word (a `restart.max=12` cut from `restart.max=1200` must not take effect).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CutLine<'a> {
    /// The words kept.
    pub kept: &'a str,
    /// The last word, dropped because the cut may have split it.
    pub dropped: Option<&'a str>,
    /// Whether the cut falls in the app's arguments (after ` -- `).
    pub in_app_args: bool,
}

impl<'a> CutLine<'a> {
    /// What stays of `line`, the bytes before a cut.
    pub fn new(line: &'a str) -> Self {
        let ends_in_space = line.ends_with(|c: char| c.is_ascii_whitespace());
        let last = words(line).last().map(|word| word.text);
        let (kept, dropped) = match last {
            Some(word) if !ends_in_space => {
                // `word` is a sub-slice of `line`: its offset is where the kept part ends.
                let at = word.as_ptr() as usize - line.as_ptr() as usize;
                (&line[..at], Some(word))
            }
            _ => (line, None),
        };
        let in_app_args = words(line).any(|word| word.text == "--");
        Self {
            kept,
            dropped,
            in_app_args,
        }
    }
}

impl fmt::Display for CutLine<'_> {
    /// The end of the warning about the cut: what else is lost.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(word) = self.dropped {
            write!(f, ", and the last word '{word}', which may be cut")?;
        }
        if self.in_app_args {
            write!(f, " (the app's arguments are cut)")?;
        }
        Ok(())
    }
}

/// Longest stop timeout accepted, so a typo cannot make a stop wait for hours.
const MAX_STOP_TIMEOUT_US: u64 = 10_000_000;
/// Longest heartbeat watch accepted.
const MAX_VERIFY_MS: u64 = 10_000;
/// Longest crash-loop window accepted (an hour): longer ones are typos, and in nanoseconds it
/// stays far inside a `u64`.
const MAX_RESTART_WINDOW_MS: u64 = 3_600_000;
/// What a stop timeout may be.
const TIMEOUT_RANGE: &str = "microseconds, 1..=10000000";

impl BootOptions {
    /// Parses the kernel part of the command line, reporting each bad word to `warn`.
    pub fn parse<'a>(kernel: &'a str, mut warn: impl FnMut(Warning<'a>)) -> Self {
        let mut opts = Self::default();
        // The word that last set each option, by its index in OPTIONS.
        let mut set_by: [Option<&'a str>; OPTIONS.len()] = [None; OPTIONS.len()];
        for word in words(kernel) {
            let (key, value, word) = (word.key, word.value, word.text);
            let Some(index) = OPTIONS.iter().position(|o| o.key == key) else {
                warn(Warning::UnknownKey { word });
                continue;
            };
            let option = &OPTIONS[index];
            let kept = set_by[index];
            if value.and_then(|v| (option.apply)(&mut opts, v)).is_none() {
                warn(Warning::BadValue { word, option, kept });
                continue;
            }
            if let Some(earlier) = kept {
                warn(Warning::Repeated { word, earlier });
            }
            set_by[index] = Some(word);
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

fn parse_strategy(value: &str) -> Option<StopStrategyOption> {
    match value {
        "vector" => Some(StopStrategyOption::Vector),
        "nmi" => Some(StopStrategyOption::Nmi),
        "adaptive" => Some(StopStrategyOption::Adaptive),
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
        for (value, strategy) in [
            ("vector", StopStrategyOption::Vector),
            ("nmi", StopStrategyOption::Nmi),
            ("adaptive", StopStrategyOption::Adaptive),
        ] {
            let (opts, warnings) = parse(&format!("stop.strategy={value}"));
            assert!(warnings.is_empty(), "{warnings:?}");
            assert_eq!(opts.stop_strategy, strategy);
        }
        let (opts, warnings) = parse("stop.strategy=nmi-first");
        assert_eq!(opts, BootOptions::default());
        assert_eq!(
            warnings,
            [
                "boot option 'stop.strategy=nmi-first': invalid value (expected \
              vector|nmi|adaptive); keeping stop.strategy=nmi"
            ]
        );
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
        for option in &OPTIONS {
            let word = format!("{}=?", option.key);
            let (opts, warnings) = parse(&word);
            assert_eq!(opts, BootOptions::default(), "{word}");
            let kept = format!("{}={}", option.key, option.default);
            assert_eq!(warnings.len(), 1, "{word}: {warnings:?}");
            assert!(
                warnings[0].ends_with(&format!("keeping {kept}")),
                "{warnings:?}"
            );
            assert_eq!(parse(&kept), (BootOptions::default(), vec![]), "{kept}");
        }
    }

    /// The defaults come from the table alone: starting from other placeholders changes nothing.
    #[test]
    fn every_field_comes_from_the_table() {
        let mut opts = BootOptions {
            log: LevelFilter::Trace,
            panic: PanicAction::Restart,
            stop_strategy: StopStrategyOption::Vector,
            stop_vector_timeout: Duration::from_secs(7),
            stop_nmi_timeout: Duration::from_secs(7),
            stop_init_park: InitParkOption::On,
            stop_verify: Duration::from_secs(7),
            stop_report_contexts: true,
            stop_table: StopTable::Full,
            restart_max: 77,
            restart_window: Duration::from_secs(7),
            restart_brief_report: true,
            panic_wait_for_core: true,
            inject_stop_during_bringup: true,
            inject_ap_entry_fault: true,
            inject_stall_stop_vector: true,
            inject_park_missing_ack: true,
            inject_stall_kept_contexts: true,
        };
        for option in &OPTIONS {
            assert_eq!((option.apply)(&mut opts, option.default), Some(()));
        }
        assert_eq!(opts, BootOptions::default());
        assert_ne!(PLACEHOLDERS, BootOptions::default());
    }

    #[test]
    fn keys_are_unique() {
        for (i, option) in OPTIONS.iter().enumerate() {
            assert!(
                OPTIONS[i + 1..].iter().all(|o| o.key != option.key),
                "{} twice",
                option.key
            );
        }
    }

    #[test]
    fn stop_timeouts_default_to_the_stop_crates() {
        let opts = BootOptions::default();
        assert_eq!(opts.stop_vector_timeout, stop::DEFAULT_VECTOR_TIMEOUT);
        assert_eq!(opts.stop_nmi_timeout, stop::DEFAULT_NMI_TIMEOUT);
    }

    /// `(key, default)` of each row of the README's kernel-options table.
    fn readme_rows(readme: &str) -> Vec<(String, String)> {
        let table = readme
            .split("### Kernel options")
            .nth(1)
            .expect("README has a 'Kernel options' section");
        table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
            .map(|row| {
                let cells: Vec<&str> = row.split(" | ").collect();
                let backticked = |cell: &str| cell.split('`').nth(1).unwrap_or_default().to_owned();
                let key = backticked(cells[0]);
                let key = key.split('=').next().unwrap_or_default().to_owned();
                (key, backticked(cells[1]))
            })
            .collect()
    }

    #[test]
    fn the_readme_lists_every_option_with_its_default() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md readable");
        let table: Vec<(String, String)> = OPTIONS
            .iter()
            .map(|o| (o.key.to_owned(), o.default.to_owned()))
            .collect();
        assert_eq!(readme_rows(&readme), table);
    }

    #[test]
    fn a_readme_row_with_another_default_is_caught() {
        let readme = "### Kernel options\n\nText.\n\n| option | default | meaning |\n| --- | --- | --- |\n\
                      | `log=off\\|info` | `info` | level |\n| `restart.max=N` | `6` | limit |\n\nAfter.\n";
        let rows = readme_rows(readme);
        assert_eq!(
            rows,
            [
                ("log".into(), "info".into()),
                ("restart.max".into(), "6".into())
            ]
        );
        let restart_max = OPTIONS.iter().find(|o| o.key == "restart.max").unwrap();
        assert_ne!(rows[1].1, restart_max.default);
    }

    #[test]
    fn a_repeated_option_warns_and_the_last_valid_value_wins() {
        let (opts, warnings) = parse("log=debug log=warn panic=halt log=trace");
        assert_eq!(
            (opts.log, opts.panic),
            (LevelFilter::Trace, PanicAction::Halt)
        );
        assert_eq!(
            warnings,
            [
                "boot option 'log=warn' overrides the earlier 'log=debug'",
                "boot option 'log=trace' overrides the earlier 'log=warn'",
            ]
        );
        // A bad value after a good one keeps the good one, and says so.
        let (opts, warnings) = parse("restart.max=7 restart.max=-1");
        assert_eq!(opts.restart_max, 7);
        assert_eq!(
            warnings,
            ["boot option 'restart.max=-1': invalid value (expected a number of restarts); keeping restart.max=7"]
        );
    }

    #[test]
    fn huge_numbers_are_bad_values_not_truncated() {
        let (opts, warnings) = parse(
            "restart.window_ms=3600001 restart.window_ms=18446744073709551615 \
             restart.max=18446744073709551616 stop.nmi_timeout_us=99999999999999999999",
        );
        assert_eq!(opts, BootOptions::default());
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].contains("expected milliseconds, 1..=3600000"));
        let (opts, warnings) = parse("restart.window_ms=3600000");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(opts.restart_window, Duration::from_secs(3600));
    }

    #[test]
    fn a_cut_line_drops_its_last_word_unless_the_cut_is_at_a_space() {
        let cut = CutLine::new("log=debug restart.max=12");
        assert_eq!(
            cut,
            CutLine {
                kept: "log=debug ",
                dropped: Some("restart.max=12"),
                in_app_args: false
            }
        );
        assert_eq!(
            cut.to_string(),
            ", and the last word 'restart.max=12', which may be cut"
        );
        let cut = CutLine::new("log=debug -- n=1 ");
        assert_eq!((cut.kept, cut.dropped), ("log=debug -- n=1 ", None));
        assert_eq!(cut.to_string(), " (the app's arguments are cut)");
        let cut = CutLine::new("-- scenario=poweroff stat");
        assert_eq!(
            (cut.kept, cut.dropped),
            ("-- scenario=poweroff ", Some("stat"))
        );
        assert!(cut.in_app_args);
        assert_eq!(CutLine::new("").kept, "");
        assert_eq!(CutLine::new("xxxx").kept, "");
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
