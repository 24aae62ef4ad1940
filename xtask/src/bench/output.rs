//! The bench app's console lines (`wire::bench`, which the app prints them with), read into
//! figures. Every other console line is ignored; a `bench:` line that does not parse, or that
//! does not belong to the run, is an error, so the two sides cannot drift apart silently.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use serde::{Serialize, Serializer};
use wire::bench::{self, BenchLine, Metric, Trigger};
use wire::paths::Paths;
use wire::stats::Stats;

use crate::cases::JsonFields;

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
    /// For stops: how the targets were stopped (a JSON object keyed as on the line).
    #[serde(serialize_with = "paths_json")]
    pub paths: Option<Paths>,
    /// Probes that got no answer within a second (not among the samples).
    pub lost: u64,
}

impl Figures {
    /// `samples` (ns, sorted in place) summarised as the guest summarises its own; `None` if
    /// there are none.
    pub fn of(samples: &mut [u64]) -> Option<Figures> {
        Stats::of(samples).map(|stats| Figures::new(stats, None, 0))
    }

    /// The figures of a metric line.
    fn new(stats: Stats, paths: Option<Paths>, lost: u64) -> Figures {
        Figures {
            n: stats.n,
            min_ns: stats.min,
            median_ns: stats.median,
            p99_ns: stats.p99,
            max_ns: stats.max,
            paths,
            lost,
        }
    }
}

/// For `#[serde(serialize_with)]`: path counts as a JSON object keyed as on the line, or `null`.
fn paths_json<S: Serializer>(paths: &Option<Paths>, serializer: S) -> Result<S::Ok, S::Error> {
    paths.map(|p| JsonFields(p.counts())).serialize(serializer)
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
    /// The adaptive strategy's vector timeout on this machine (0: not measured).
    pub adaptive_vector_timeout_ns: u64,
    /// The stop's NMI timeout.
    pub nmi_timeout_ns: u64,
    /// Figures by metric name.
    pub metrics: BTreeMap<String, Figures>,
    /// Metrics that did not apply, with the reason.
    pub skipped: BTreeMap<String, String>,
    /// Whether the trigger line came.
    pub triggered: bool,
}

impl GuestReport {
    /// The figures of `metric`, if it was measured.
    pub fn metric(&self, metric: Metric) -> Option<&Figures> {
        self.metrics.get(metric.name())
    }
}

/// `line` (without its line end) read as a bench line, if it is one (starts with `bench: `).
fn bench_line(line: &str) -> Result<Option<BenchLine<'_>>> {
    if !line.starts_with(bench::PREFIX) {
        return Ok(None);
    }
    match BenchLine::parse(line) {
        Ok(BenchLine::Failed(why)) => bail!("the bench app failed: {}", why.0),
        Ok(BenchLine::BadArgument(_)) => bail!("the bench app rejected its arguments: {line}"),
        Ok(line) => Ok(Some(line)),
        Err(why) => Err(anyhow!("{why}: in line '{line}'")),
    }
}

/// Parses the bench app's lines out of `serial` (up to the trigger line).
pub fn parse(serial: &str) -> Result<GuestReport> {
    let mut report = GuestReport::default();
    let mut started = false;
    for line in serial.lines().map(|l| l.trim_end_matches('\r')) {
        match bench_line(line)? {
            None | Some(BenchLine::AppEntry(_)) => {}
            Some(BenchLine::Trigger(Trigger::PanicToExit)) => {
                report.triggered = true;
                break;
            }
            Some(BenchLine::Start(start)) => {
                report.cpus = start.cpus;
                report.iters = start.iters;
                report.vector_timeout_ns = start.vector_timeout_ns;
                report.short_vector_timeout_ns = start.short_vector_timeout_ns;
                report.adaptive_vector_timeout_ns = start.adaptive_vector_timeout_ns;
                report.nmi_timeout_ns = start.nmi_timeout_ns;
                started = true;
            }
            Some(BenchLine::Measured(m)) => {
                let figures = Figures::new(m.stats, m.paths, m.lost);
                report.metrics.insert(m.metric.name().to_string(), figures);
            }
            Some(BenchLine::Skipped(s)) => {
                report
                    .skipped
                    .insert(s.metric.name().to_string(), s.why.to_string());
            }
            Some(_) => bail!("not a line of a run that measures the metrics: '{line}'"),
        }
    }
    if !started {
        bail!(
            "no '{}start' line: the bench app did not run",
            bench::PREFIX
        );
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
    /// The metrics are done and the app is about to panic (the host times it to QEMU's exit).
    PanicToExit,
}

impl Mark {
    /// The mark `line` (without its line end) is, if any.
    pub fn of(line: &str) -> Option<Mark> {
        Mark::of_line(&BenchLine::parse(line).ok()?)
    }

    /// The mark a bench line is, if any.
    fn of_line(line: &BenchLine) -> Option<Mark> {
        match line {
            BenchLine::Trigger(Trigger::Restart) => Some(Mark::Trigger),
            BenchLine::Trigger(Trigger::PanicToExit) => Some(Mark::PanicToExit),
            BenchLine::AppEntry(_) => Some(Mark::AppEntry),
            _ => None,
        }
    }
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
        let bench_line = bench_line(line)?;
        let mark = bench_line.as_ref().and_then(|l| Mark::of_line(l));
        if let (None, Some(output)) = (mark, since_trigger.as_mut()) {
            output.lines += 1;
            output.bytes += bytes;
        }
        // Other lines (the kept report, printed while the app runs) may come between the
        // app's own.
        let Some(bench_line) = bench_line else {
            continue;
        };
        previous = match (bench_line, previous.take()) {
            (BenchLine::Trigger(Trigger::Restart), _) => {
                since_trigger = Some(Output::default());
                None
            }
            (BenchLine::AppEntry(_), _) => {
                out.restart_output.extend(since_trigger.take());
                Some(Previous::AppEntry(bytes))
            }
            (BenchLine::RestartSample(sample), Some(Previous::AppEntry(entry_bytes))) => {
                out.latency_ns.push(sample.latency_ns);
                let entry = TimedLine {
                    ns: sample.entry_print_ns,
                    bytes: entry_bytes,
                };
                Some(Previous::Sample(entry, bytes))
            }
            (BenchLine::RestartSample(_), _) => {
                bail!("no app-entry line of its run before it: in line '{line}'")
            }
            (BenchLine::RestartSamplePrint(print), Some(Previous::Sample(entry, sample_bytes))) => {
                let sample = TimedLine {
                    ns: print.ns,
                    bytes: sample_bytes,
                };
                out.printed.push([entry, sample]);
                None
            }
            (BenchLine::RestartSamplePrint(_), _) => {
                bail!("no sample line of its run before it: in line '{line}'")
            }
            (BenchLine::RestartsDone(done), _) => {
                out.done = Some(done.n);
                None
            }
            _ => bail!("not a line of the restart-latency mode: in line '{line}'"),
        };
    }
    Ok(out)
}

/// The boot-time mode's figure (PVH entry to `main`, ns): its `booted` line must come right
/// after the app-entry line.
pub fn parse_booted(serial: &str) -> Result<u64> {
    let mut after_entry = false;
    for line in serial.lines().map(|l| l.trim_end_matches('\r')) {
        match bench_line(line)? {
            None => {}
            Some(BenchLine::AppEntry(_)) => after_entry = true,
            Some(BenchLine::Booted(booted)) if after_entry => return Ok(booted.pvh_to_main_ns),
            Some(_) => bail!("not a line of the boot-time mode here: '{line}'"),
        }
    }
    bail!("no '{}booted' line after the app-entry line", bench::PREFIX)
}

/// A line that the next one's timing refers to, with its size as received.
enum Previous {
    /// An app-entry line.
    AppEntry(u64),
    /// A sample line, with the app-entry line's timing.
    Sample(TimedLine, u64),
}

#[cfg(test)]
mod tests {
    use wire::bench::{AppEntry, Measured, Skipped, Start};

    use super::*;

    const SERIAL: &str = "\
INFO  boot\r
bench: app-entry run=0\r
bench: start cpus=4 iters=200 vector_timeout_ns=1000000 short_vector_timeout_ns=50000 adaptive_vector_timeout_ns=120000 nmi_timeout_ns=10000000\r
bench: raw_ipi n=200 min_ns=19753 median_ns=30555 p99_ns=94133 max_ns=1018939\r
bench: raw_nmi n=199 min_ns=919 median_ns=1548 p99_ns=17685 max_ns=108441 lost=1\r
bench: stop_mixed n=200 min_ns=1042461 median_ns=1097036 p99_ns=16055205 max_ns=32058773 vector=117 nmi=474 self=0 init=9 stuck=0\r
bench: raw_nmi_restarted skipped: no sample (lost=3)\r
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
                r.adaptive_vector_timeout_ns,
                r.nmi_timeout_ns
            ),
            (4, 200, 1_000_000, 50_000, 120_000, 10_000_000)
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
        assert_eq!(r.skipped["raw_nmi_restarted"], "no sample (lost=3)");
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
    fn malformed_or_foreign_lines_are_errors_naming_the_line() {
        let start = "bench: start cpus=1 iters=1 vector_timeout_ns=1 short_vector_timeout_ns=1 adaptive_vector_timeout_ns=1 nmi_timeout_ns=1\n";
        for (line, why) in [
            (
                "bench: raw_ipi n=1 min_ns=1 median_ns=1 p99_ns=1",
                "missing max_ns",
            ),
            ("bench: x n=1", "unknown metric 'x'"),
            (
                "bench: raw_ipi n=1 min_ns=1 median_ns=1 p99_ns=1 max_ns=1 vector=1",
                "missing nmi, self, init, stuck",
            ),
            (
                "bench: restart_sample latency_ns=1 entry_print_ns=2",
                "not a line of a run that measures the metrics",
            ),
            (
                "bench: bad argument 'x'; usage: -- [iters=N] [restarts=N] [boot]",
                "the bench app rejected its arguments",
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
kept report of cpu 0's panic:\r
bench: restart_sample latency_ns=2000000 entry_print_ns=44000\r
backtrace:\r
bench: restart_sample_print ns=100000\r
end of the kept report\r
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
            (
                "bench: restart_sample latency_ns=1",
                "missing entry_print_ns",
            ),
            (
                "bench: restart_sample_print ns=1",
                "no sample line of its run before it",
            ),
            (
                "bench: restarts_done n=two",
                "'n=two': the value is not a number",
            ),
            (
                "bench: raw_ipi n=1 min_ns=1 median_ns=1 p99_ns=1 max_ns=1",
                "not a line of the restart-latency mode",
            ),
            (
                "bench: trigger panic-to-exit",
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
        assert!(
            err.contains("no app-entry line of its run before it"),
            "{err}"
        );
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
        assert_eq!(
            Mark::of("bench: trigger panic-to-exit"),
            Some(Mark::PanicToExit)
        );
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

    /// The app's lines, printed with its own types, read back by `parse`.
    #[test]
    fn what_the_app_prints_is_what_is_read() {
        let start = Start {
            cpus: 2,
            iters: 3,
            vector_timeout_ns: 1_000_000,
            short_vector_timeout_ns: 50_000,
            adaptive_vector_timeout_ns: 120_000,
            nmi_timeout_ns: 10_000_000,
        };
        let paths = Paths {
            vector: 1,
            nmi: 2,
            ..Paths::default()
        };
        let measured = Measured {
            metric: Metric::StopNmi,
            stats: Stats::of(&mut [30, 10, 20]).unwrap(),
            paths: Some(paths),
            lost: 1,
        };
        let skipped = Skipped {
            metric: Metric::StopMixed,
            why: "needs two APs",
        };
        let serial = format!(
            "{}\r\n{start}\r\n{measured}\r\n{skipped}\r\n{}\r\n",
            AppEntry { run: 0 },
            Trigger::PanicToExit
        );
        let r = parse(&serial).unwrap();
        assert_eq!((r.cpus, r.iters, r.nmi_timeout_ns), (2, 3, 10_000_000));
        assert!(r.triggered);
        let f = r.metric(Metric::StopNmi).unwrap();
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
            (3, 10, 20, 30, 30, Some(paths), 1)
        );
        assert_eq!(r.skipped["stop_mixed"], "needs two APs");
        let json = serde_json::to_string(f).unwrap();
        assert_eq!(
            json,
            r#"{"n":3,"min_ns":10,"median_ns":20,"p99_ns":30,"max_ns":30,"paths":{"vector":1,"nmi":2,"self":0,"init":0,"stuck":0},"lost":1}"#
        );
    }

    #[test]
    fn the_boot_time_comes_right_after_the_app_entry_line() {
        let booted = wire::bench::Booted {
            pvh_to_main_ns: 41_000_000,
        };
        let serial = format!("INFO  boot\r\n{}\r\n{booted}\r\n", AppEntry { run: 0 });
        assert_eq!(parse_booted(&serial).unwrap(), 41_000_000);
        let before_entry = format!("{booted}\n{}\n", AppEntry { run: 0 });
        assert!(parse_booted(&before_entry).is_err());
        assert!(parse_booted("bench: app-entry run=0\n").is_err());
    }
}
