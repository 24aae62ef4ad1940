//! The bench app's console lines (their format is documented in `apps/bench/src/main.rs` and,
//! for the restart-latency mode, `apps/bench/src/restarts.rs`), parsed into figures. Every other
//! console line is ignored; a `bench:` line that does not parse is an error, so the two sides
//! cannot drift apart silently.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

/// What every line of the bench app starts with.
const PREFIX: &str = "bench: ";
/// The line the host times panic-to-exit from; the bench app panics right after it.
pub const TRIGGER: &str = "bench: trigger panic-to-exit";
/// The line every run of the bench app starts with (` run=K` follows): where a restart ends.
const APP_ENTRY: &str = "bench: app-entry";
/// The restart-latency mode's line right before its panic: where a restart begins.
const RESTART_TRIGGER: &str = "bench: trigger restart";

/// How the targets of a series of stops were stopped, summed over its samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Paths {
    /// By the stop vector.
    pub vector: u64,
    /// By an NMI.
    pub nmi: u64,
    /// By themselves.
    #[serde(rename = "self")]
    pub self_stop: u64,
    /// Parked with INIT after the NMI timeout.
    pub init: u64,
    /// Not confirmed stopped.
    pub stuck: u64,
}

/// One metric's figures, in ns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Number of samples.
    pub n: u64,
    /// Smallest sample.
    pub min_ns: u64,
    /// Nearest-rank median.
    pub median_ns: u64,
    /// Nearest-rank 99th percentile.
    pub p99_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
    /// For stops: how the targets were stopped.
    pub paths: Option<Paths>,
    /// Probes that got no answer within a second (not among the samples).
    pub lost: u64,
}

impl Figures {
    /// `samples` (ns, sorted in place) summarised as the guest summarises its own; `None` if
    /// there are none.
    pub fn of(samples: &mut [u64]) -> Option<Figures> {
        let s = guest_stats::Summary::of(samples)?;
        Some(Figures {
            n: s.n as u64,
            min_ns: s.min,
            median_ns: s.median,
            p99_ns: s.p99,
            max_ns: s.max,
            paths: None,
            lost: 0,
        })
    }
}

/// Everything one boot of the bench app reported.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GuestReport {
    /// CPUs online.
    pub cpus: u64,
    /// Samples it aimed for per metric.
    pub iters: u64,
    /// The stop's default vector timeout (the NMI path's `stop_nmi` waits this long first).
    pub vector_timeout_ns: u64,
    /// The short vector timeout of `stop_nmi_short`.
    pub short_vector_timeout_ns: u64,
    /// The stop's NMI timeout.
    pub nmi_timeout_ns: u64,
    /// Figures by metric name.
    pub metrics: BTreeMap<String, Figures>,
    /// Metrics that did not apply, with the reason.
    pub skipped: BTreeMap<String, String>,
    /// Whether the trigger line came.
    pub triggered: bool,
}

/// Parses the bench app's lines out of `serial` (up to the trigger line).
pub fn parse(serial: &str) -> Result<GuestReport> {
    let mut report = GuestReport::default();
    let mut started = false;
    for line in serial.lines().map(|l| l.trim_end_matches('\r')) {
        if line == TRIGGER {
            report.triggered = true;
            break;
        }
        if is_app_entry(line) {
            continue;
        }
        let Some(rest) = line.strip_prefix(PREFIX) else {
            continue;
        };
        let (word, fields) = rest.split_once(' ').unwrap_or((rest, ""));
        match word {
            "start" => {
                let mut f = Fields::parse(fields)?;
                report.cpus = f.take("cpus")?;
                report.iters = f.take("iters")?;
                report.vector_timeout_ns = f.take("vector_timeout_ns")?;
                report.short_vector_timeout_ns = f.take("short_vector_timeout_ns")?;
                report.nmi_timeout_ns = f.take("nmi_timeout_ns")?;
                f.done()?;
                started = true;
            }
            "error:" => bail!("the bench app failed: {}", fields.trim()),
            metric => {
                if let Some(why) = fields.strip_prefix("skipped: ") {
                    report.skipped.insert(metric.to_string(), why.to_string());
                } else {
                    let figures = figures(fields).with_context(|| format!("in line '{line}'"))?;
                    report.metrics.insert(metric.to_string(), figures);
                }
            }
        }
    }
    if !started {
        bail!("no '{PREFIX}start' line: the bench app did not run");
    }
    Ok(report)
}

/// A console line the host timestamps as it arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// The restart-latency mode is about to panic.
    Trigger,
    /// A run of the app began.
    AppEntry,
}

impl Mark {
    /// The mark `line` (without its line end) is, if any.
    pub fn of(line: &str) -> Option<Mark> {
        if line == RESTART_TRIGGER {
            Some(Mark::Trigger)
        } else if is_app_entry(line) {
            Some(Mark::AppEntry)
        } else {
            None
        }
    }
}

/// Whether `line` is an app-entry line.
fn is_app_entry(line: &str) -> bool {
    line.strip_prefix(APP_ENTRY)
        .is_some_and(|rest| rest.starts_with(" run="))
}

/// Host-timed samples: from each trigger mark to the app-entry mark right after it, in ns (a
/// trigger followed by anything else, or by nothing, gives none).
pub fn trigger_to_entry<T>(marks: &[(T, Mark)], elapsed_ns: impl Fn(&T, &T) -> u64) -> Vec<u64> {
    marks
        .windows(2)
        .filter_map(|pair| match pair {
            [(from, Mark::Trigger), (to, Mark::AppEntry)] => Some(elapsed_ns(from, to)),
            _ => None,
        })
        .collect()
}

/// Console output of some size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Lines.
    pub lines: u64,
    /// Bytes as received, line ends included.
    pub bytes: u64,
}

/// One line the app timed its own printing of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedLine {
    /// How long printing it took, in ns.
    pub ns: u64,
    /// Its size as received, line end included.
    pub bytes: u64,
}

/// What a run of the restart-latency mode printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestartOutput {
    /// The runtime's latency of each warm restart (panic to every CPU online again), in ns.
    pub latency_ns: Vec<u64>,
    /// After each warm restart: its app-entry line and its sample line, each timed by the app.
    pub printed: Vec<[TimedLine; 2]>,
    /// For each restart (warm or reboot): what the console carried from the end of the trigger
    /// line to the next app-entry line (panic message, backtrace, stop report, boot messages).
    pub restart_output: Vec<Output>,
    /// The sample count of the closing line, if it came.
    pub done: Option<u64>,
}

/// Parses a restart-latency run's console output.
pub fn parse_restarts(serial: &str) -> Result<RestartOutput> {
    let mut out = RestartOutput::default();
    let mut since_trigger: Option<Output> = None;
    // The line before this one, if it was the kind a later line's timing refers to.
    let mut previous: Option<Previous> = None;
    for raw in serial.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\r', '\n']);
        let bytes = raw.len() as u64;
        match Mark::of(line) {
            Some(Mark::Trigger) => {
                since_trigger = Some(Output::default());
                previous = None;
                continue;
            }
            Some(Mark::AppEntry) => {
                out.restart_output.extend(since_trigger.take());
                previous = Some(Previous::AppEntry(bytes));
                continue;
            }
            None => {}
        }
        if let Some(output) = since_trigger.as_mut() {
            output.lines += 1;
            output.bytes += bytes;
        }
        let Some(rest) = line.strip_prefix(PREFIX) else {
            previous = None;
            continue;
        };
        let (word, fields) = rest.split_once(' ').unwrap_or((rest, ""));
        if word == "error:" {
            bail!("the bench app failed: {}", fields.trim());
        }
        previous = restart_line(word, fields, bytes, &mut out, previous.take())
            .with_context(|| format!("in line '{line}'"))?;
    }
    Ok(out)
}

/// A line that the next one's timing refers to, with its size as received.
enum Previous {
    /// An app-entry line.
    AppEntry(u64),
    /// A sample line, with the app-entry line's timing.
    Sample(TimedLine, u64),
}

/// One `bench:` line (`bytes` long) of the restart-latency mode other than an error, into
/// `out`; `previous` is the line before it. Returns what the next line may refer to.
fn restart_line(
    word: &str,
    fields: &str,
    bytes: u64,
    out: &mut RestartOutput,
    previous: Option<Previous>,
) -> Result<Option<Previous>> {
    let mut f = Fields::parse(fields)?;
    let next = match (word, previous) {
        ("restart_sample", Some(Previous::AppEntry(entry_bytes))) => {
            out.latency_ns.push(f.take("latency_ns")?);
            let entry = TimedLine {
                ns: f.take("entry_print_ns")?,
                bytes: entry_bytes,
            };
            Some(Previous::Sample(entry, bytes))
        }
        ("restart_sample", _) => bail!("no app-entry line right before it"),
        ("restart_sample_print", Some(Previous::Sample(entry, sample_bytes))) => {
            let sample = TimedLine {
                ns: f.take("ns")?,
                bytes: sample_bytes,
            };
            out.printed.push([entry, sample]);
            None
        }
        ("restart_sample_print", _) => bail!("no sample line right before it"),
        ("restarts_done", _) => {
            out.done = Some(f.take("n")?);
            None
        }
        _ => bail!("not a line of the restart-latency mode"),
    };
    f.done()?;
    Ok(next)
}

/// A metric line's fields.
fn figures(fields: &str) -> Result<Figures> {
    let mut f = Fields::parse(fields)?;
    let paths = if f.has("vector") {
        Some(Paths {
            vector: f.take("vector")?,
            nmi: f.take("nmi")?,
            self_stop: f.take("self")?,
            init: f.take("init")?,
            stuck: f.take("stuck")?,
        })
    } else {
        None
    };
    let figures = Figures {
        n: f.take("n")?,
        min_ns: f.take("min_ns")?,
        median_ns: f.take("median_ns")?,
        p99_ns: f.take("p99_ns")?,
        max_ns: f.take("max_ns")?,
        paths,
        lost: f.take_or("lost", 0)?,
    };
    f.done()?;
    Ok(figures)
}

/// `key=value` words, taken one by one.
struct Fields<'a>(BTreeMap<&'a str, &'a str>);

impl<'a> Fields<'a> {
    /// Splits `text` into `key=value` words; a word without `=` or a repeated key is an error.
    fn parse(text: &'a str) -> Result<Self> {
        let mut map = BTreeMap::new();
        for word in text.split_whitespace() {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| anyhow!("'{word}' is not key=value"))?;
            if map.insert(key, value).is_some() {
                bail!("'{key}' given twice");
            }
        }
        Ok(Fields(map))
    }

    fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Removes and parses `key`, which must be there.
    fn take(&mut self, key: &str) -> Result<u64> {
        let value = self.0.remove(key).ok_or_else(|| anyhow!("no '{key}='"))?;
        value
            .parse()
            .with_context(|| format!("'{key}={value}' is not a whole number"))
    }

    /// Removes and parses `key`, `default` when it is not there.
    fn take_or(&mut self, key: &str, default: u64) -> Result<u64> {
        if self.has(key) {
            self.take(key)
        } else {
            Ok(default)
        }
    }

    /// Fails if a key was not taken (a field this parser does not know).
    fn done(self) -> Result<()> {
        match self.0.keys().next() {
            Some(key) => bail!("unknown field '{key}'"),
            None => Ok(()),
        }
    }
}

/// The bench app's statistics, pure `core` code: compiled here so that host-side samples are
/// summarised exactly as the guest's, and so that its unit tests run with `cargo test` (the
/// kernel crate itself does not build for the host).
#[path = "../../../apps/bench/src/stats.rs"]
mod guest_stats;

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "\
INFO  boot\r
bench: app-entry run=0\r
bench: start cpus=4 iters=200 vector_timeout_ns=1000000 short_vector_timeout_ns=50000 nmi_timeout_ns=10000000\r
bench: raw_ipi n=200 min_ns=19753 median_ns=30555 p99_ns=94133 max_ns=1018939\r
bench: raw_nmi n=199 min_ns=919 median_ns=1548 p99_ns=17685 max_ns=108441 lost=1\r
bench: stop_mixed n=200 min_ns=1042461 median_ns=1097036 p99_ns=16055205 max_ns=32058773 vector=117 nmi=474 self=0 init=9 stuck=0\r
bench: stop_odd skipped: needs two APs (one idle)\r
bench: trigger panic-to-exit\r
PANIC on cpu 0: panicked at apps/bench/src/main.rs:86:5:\r
bench: not parsed after the trigger\r
";

    #[test]
    fn a_whole_boot_parses() {
        let r = parse(SERIAL).unwrap();
        assert_eq!(
            (
                r.cpus,
                r.iters,
                r.vector_timeout_ns,
                r.short_vector_timeout_ns,
                r.nmi_timeout_ns
            ),
            (4, 200, 1_000_000, 50_000, 10_000_000)
        );
        assert!(r.triggered);
        assert_eq!(r.metrics.len(), 3);
        assert_eq!(
            r.metrics["raw_ipi"],
            Figures {
                n: 200,
                min_ns: 19753,
                median_ns: 30555,
                p99_ns: 94133,
                max_ns: 1018939,
                paths: None,
                lost: 0
            }
        );
        assert_eq!(r.metrics["raw_nmi"].lost, 1);
        let paths = r.metrics["stop_mixed"].paths.unwrap();
        assert_eq!((paths.vector, paths.nmi, paths.init), (117, 474, 9));
        assert_eq!(r.skipped["stop_odd"], "needs two APs (one idle)");
    }

    #[test]
    fn without_the_trigger_the_report_says_so() {
        let cut = &SERIAL[..SERIAL.find("bench: trigger").unwrap()];
        let r = parse(cut).unwrap();
        assert!(!r.triggered);
        assert_eq!(r.metrics.len(), 3);
    }

    #[test]
    fn no_start_line_is_an_error() {
        let err = parse("INFO boot\nPANIC on cpu 0\n").unwrap_err();
        assert!(err.to_string().contains("did not run"), "{err}");
    }

    #[test]
    fn the_app_error_line_is_reported() {
        let serial = format!(
            "{}bench: error: not every CPU came back after a restart\n",
            &SERIAL[..SERIAL.find("bench: raw_ipi").unwrap()]
        );
        let err = parse(&serial).unwrap_err().to_string();
        assert_eq!(
            err,
            "the bench app failed: not every CPU came back after a restart"
        );
    }

    #[test]
    fn malformed_metric_lines_are_errors_naming_the_line() {
        let start = "bench: start cpus=1 iters=1 vector_timeout_ns=1 short_vector_timeout_ns=1 nmi_timeout_ns=1\n";
        for (line, why) in [
            ("bench: x n=1 min_ns=1 median_ns=1 p99_ns=1", "no 'max_ns='"),
            (
                "bench: x n=1 min_ns=1 median_ns=1 p99_ns=1 max_ns=1 extra=2",
                "unknown field 'extra'",
            ),
            (
                "bench: x n=1 min_ns=-1 median_ns=1 p99_ns=1 max_ns=1",
                "'min_ns=-1' is not a whole number",
            ),
            ("bench: x n=1 n=2", "'n' given twice"),
            ("bench: x oops", "'oops' is not key=value"),
            (
                "bench: x n=1 min_ns=1 median_ns=1 p99_ns=1 max_ns=1 vector=1",
                "no 'nmi='",
            ),
        ] {
            let err = format!("{:#}", parse(&format!("{start}{line}\n")).unwrap_err());
            assert!(err.contains(why) && err.contains(line), "{line}: {err}");
        }
    }

    /// A warm-restart run of two samples, as the serial port delivers it.
    const RESTARTS: &str = "\
WARN  TSC is not invariant\r
bench: app-entry run=0\r
bench: trigger restart\r
PANIC on cpu 0: panicked at apps/bench/src/restarts.rs:43:5:\r
stop-summary: stopper=0 targets=1\r
bench: app-entry run=1\r
bench: restart_sample latency_ns=2000000 entry_print_ns=44000\r
bench: restart_sample_print ns=100000\r
bench: trigger restart\r
PANIC on cpu 0: x\r
bench: app-entry run=2\r
bench: restart_sample latency_ns=1900000 entry_print_ns=46000\r
bench: restart_sample_print ns=110000\r
bench: restarts_done n=2\r
";

    #[test]
    fn a_warm_restart_run_parses() {
        let out = parse_restarts(RESTARTS).unwrap();
        assert_eq!(out.latency_ns, [2_000_000, 1_900_000]);
        // As received: "bench: app-entry run=1\r\n" is 24 bytes, the sample lines 63.
        let line = |ns, bytes| TimedLine { ns, bytes };
        assert_eq!(
            out.printed,
            [
                [line(44_000, 24), line(100_000, 63)],
                [line(46_000, 24), line(110_000, 63)]
            ]
        );
        // Both lines after the first trigger; the one after the second.
        let output = |lines, bytes| Output { lines, bytes };
        assert_eq!(out.restart_output, [output(2, 62 + 35), output(1, 19)]);
        assert_eq!(out.done, Some(2));
        // Cut before the end: no closing line.
        let cut = &RESTARTS[..RESTARTS.find("bench: restarts_done").unwrap()];
        assert_eq!(parse_restarts(cut).unwrap().done, None);
    }

    #[test]
    fn bad_restart_lines_are_errors_naming_the_line() {
        for (line, why) in [
            ("bench: restart_sample latency_ns=1", "no 'entry_print_ns='"),
            (
                "bench: restart_sample_print ns=1",
                "no sample line right before it",
            ),
            (
                "bench: restart_sample latency_ns=1 entry_print_ns=2 x=3",
                "unknown field 'x'",
            ),
            (
                "bench: restarts_done n=two",
                "'n=two' is not a whole number",
            ),
            (
                "bench: raw_ipi n=1",
                "not a line of the restart-latency mode",
            ),
        ] {
            let serial = format!("bench: app-entry run=1\n{line}\n");
            let err = format!("{:#}", parse_restarts(&serial).unwrap_err());
            assert!(err.contains(why) && err.contains(line), "{line}: {err}");
        }
        // A sample must follow its run's app-entry line.
        let err = format!(
            "{:#}",
            parse_restarts("bench: restart_sample latency_ns=1 entry_print_ns=2\n").unwrap_err()
        );
        assert!(err.contains("no app-entry line right before it"), "{err}");
        let err = parse_restarts("bench: error: restart #3 has no recorded latency\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "the bench app failed: restart #3 has no recorded latency"
        );
    }

    #[test]
    fn host_samples_pair_each_trigger_with_the_next_app_entry() {
        assert_eq!(Mark::of("bench: trigger restart"), Some(Mark::Trigger));
        assert_eq!(Mark::of("bench: app-entry run=12"), Some(Mark::AppEntry));
        assert_eq!(Mark::of("bench: app-entry"), None);
        assert_eq!(Mark::of(TRIGGER), None);
        let marks = [
            (0, Mark::AppEntry),
            (10, Mark::Trigger),
            (25, Mark::AppEntry),
            // A trigger whose restart never showed its app-entry line (the run was cut):
            (40, Mark::Trigger),
            (50, Mark::Trigger),
            (58, Mark::AppEntry),
            (70, Mark::Trigger),
        ];
        let gaps = trigger_to_entry(&marks, |from, to| to - from);
        assert_eq!(gaps, [15, 8]);
    }

    #[test]
    fn figures_of_host_samples_match_the_guest_summary() {
        let f = Figures::of(&mut [30, 10, 20]).unwrap();
        assert_eq!(
            (
                f.n,
                f.min_ns,
                f.median_ns,
                f.p99_ns,
                f.max_ns,
                f.paths,
                f.lost
            ),
            (3, 10, 20, 30, 30, None, 0)
        );
        assert_eq!(Figures::of(&mut []), None);
    }

    #[test]
    fn the_guest_summary_line_round_trips() {
        let mut samples = [30, 10, 20];
        let summary = guest_stats::Summary::of(&mut samples).unwrap();
        let serial = format!(
            "bench: start cpus=2 iters=3 vector_timeout_ns=1 short_vector_timeout_ns=1 nmi_timeout_ns=1\n\
             bench: m {summary}\n"
        );
        let f = &parse(&serial).unwrap().metrics["m"];
        assert_eq!(
            (f.n, f.min_ns, f.median_ns, f.p99_ns, f.max_ns),
            (3, 10, 20, 30, 30)
        );
    }
}
