//! The bench app's console lines, all starting `bench: `, which `cargo xtask bench` reads back
//! (any `bench:` line it cannot read is an error there). Every run prints [`AppEntry`] first.
//! A run that measures the metrics then prints [`Start`], a [`Measured`] or [`Skipped`] line per
//! [`Metric`] (or [`Failed`]), and [`Trigger::PanicToExit`] before its timed panic. The
//! restart-latency mode prints [`RestartSample`] and [`RestartSamplePrint`] after each warm
//! restart, [`Trigger::Restart`] before each panic and [`RestartsDone`] at the end. A rejected
//! argument gives [`BadArgument`].

mod metric;
mod restart;
mod run;

use core::fmt;

pub use metric::Metric;
pub use restart::{RestartSample, RestartSamplePrint, RestartsDone};
pub use run::{AppEntry, BadArgument, Booted, Failed, Measured, Skipped, Start, Trigger};

use crate::fields::Record;
use crate::Error;

/// What every line of the bench app starts with.
pub const PREFIX: &str = "bench: ";

/// Any line of the bench app, as read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchLine<'a> {
    /// `bench: app-entry ...`
    AppEntry(AppEntry),
    /// `bench: booted ...`
    Booted(Booted),
    /// `bench: start ...`
    Start(Start),
    /// `bench: <metric> n=...`
    Measured(Measured),
    /// `bench: <metric> skipped: ...`
    Skipped(Skipped<&'a str>),
    /// `bench: error: ...`
    Failed(Failed<&'a str>),
    /// `bench: bad argument ...`
    BadArgument(BadArgument<&'a str>),
    /// `bench: trigger ...`
    Trigger(Trigger),
    /// `bench: restart_sample ...`
    RestartSample(RestartSample),
    /// `bench: restart_sample_print ...`
    RestartSamplePrint(RestartSamplePrint),
    /// `bench: restarts_done ...`
    RestartsDone(RestartsDone),
}

impl<'a> BenchLine<'a> {
    /// Reads a line of the bench app (without its line end).
    pub fn parse(line: &'a str) -> Result<Self, Error<'a>> {
        let rest = line.strip_prefix(PREFIX).ok_or(Error::Malformed {
            text: line,
            form: "a bench: line",
        })?;
        if let Some(argument) = rest.strip_prefix(run::BAD_ARGUMENT) {
            let word = argument.strip_suffix(run::USAGE).ok_or(Error::Malformed {
                text: line,
                form: "a bad-argument line",
            })?;
            return Ok(BenchLine::BadArgument(BadArgument(word)));
        }
        let (word, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        Ok(match word {
            run::APP_ENTRY => BenchLine::AppEntry(AppEntry::parse_all(rest)?),
            run::BOOTED => BenchLine::Booted(Booted::parse_all(rest)?),
            run::START => BenchLine::Start(Start::parse_all(rest)?),
            run::FAILED => BenchLine::Failed(Failed(rest)),
            run::TRIGGER => BenchLine::Trigger(Trigger::parse(rest)?),
            restart::SAMPLE => BenchLine::RestartSample(RestartSample::parse_all(rest)?),
            restart::SAMPLE_PRINT => {
                BenchLine::RestartSamplePrint(RestartSamplePrint::parse_all(rest)?)
            }
            restart::DONE => BenchLine::RestartsDone(RestartsDone::parse_all(rest)?),
            metric => {
                let metric = Metric::parse(metric)?;
                match rest.strip_prefix(run::SKIPPED) {
                    Some(why) => BenchLine::Skipped(Skipped { metric, why }),
                    None => BenchLine::Measured(Measured::parse(metric, rest)?),
                }
            }
        })
    }
}

/// The whole line, without a line end.
impl fmt::Display for BenchLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchLine::AppEntry(line) => line.fmt(f),
            BenchLine::Booted(line) => line.fmt(f),
            BenchLine::Start(line) => line.fmt(f),
            BenchLine::Measured(line) => line.fmt(f),
            BenchLine::Skipped(line) => line.fmt(f),
            BenchLine::Failed(line) => line.fmt(f),
            BenchLine::BadArgument(line) => line.fmt(f),
            BenchLine::Trigger(line) => line.fmt(f),
            BenchLine::RestartSample(line) => line.fmt(f),
            BenchLine::RestartSamplePrint(line) => line.fmt(f),
            BenchLine::RestartsDone(line) => line.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Paths;
    use crate::stats::Stats;

    /// Statistics with every figure different.
    const STATS: Stats = Stats {
        n: 200,
        min: 19753,
        median: 30555,
        p99: 94133,
        max: 1018939,
    };

    /// Each kind of line, written by its own type, as the console shows it.
    fn lines() -> Vec<(String, &'static str)> {
        let paths = Paths {
            vector: 117,
            nmi: 474,
            self_stop: 1,
            init: 9,
            stuck: 2,
        };
        let measured = |paths, lost| Measured {
            metric: Metric::StopMixed,
            stats: STATS,
            paths,
            lost,
        };
        vec![
            (AppEntry { run: 3 }.to_string(), "bench: app-entry run=3"),
            (
                Booted {
                    pvh_to_main_ns: 41_000_000,
                }
                .to_string(),
                "bench: booted pvh_to_main_ns=41000000",
            ),
            (
                Start {
                    cpus: 4,
                    iters: 200,
                    vector_timeout_ns: 1_000_000,
                    short_vector_timeout_ns: 50_000,
                    adaptive_vector_timeout_ns: 120_000,
                    nmi_timeout_ns: 10_000_000,
                }
                .to_string(),
                "bench: start cpus=4 iters=200 vector_timeout_ns=1000000 \
                 short_vector_timeout_ns=50000 adaptive_vector_timeout_ns=120000 \
                 nmi_timeout_ns=10000000",
            ),
            (
                measured(None, 0).to_string(),
                "bench: stop_mixed n=200 min_ns=19753 median_ns=30555 p99_ns=94133 max_ns=1018939",
            ),
            (
                measured(None, 1).to_string(),
                "bench: stop_mixed n=200 min_ns=19753 median_ns=30555 p99_ns=94133 max_ns=1018939 \
                 lost=1",
            ),
            (
                measured(Some(paths), 0).to_string(),
                "bench: stop_mixed n=200 min_ns=19753 median_ns=30555 p99_ns=94133 max_ns=1018939 \
                 vector=117 nmi=474 self=1 init=9 stuck=2",
            ),
            (
                measured(Some(paths), 5).to_string(),
                "bench: stop_mixed n=200 min_ns=19753 median_ns=30555 p99_ns=94133 max_ns=1018939 \
                 vector=117 nmi=474 self=1 init=9 stuck=2 lost=5",
            ),
            (
                Skipped {
                    metric: Metric::RawNmi,
                    why: format_args!("no sample (lost={})", 4),
                }
                .to_string(),
                "bench: raw_nmi skipped: no sample (lost=4)",
            ),
            (
                Failed("not every CPU came back after a restart").to_string(),
                "bench: error: not every CPU came back after a restart",
            ),
            (
                BadArgument("iters=0").to_string(),
                "bench: bad argument 'iters=0'; usage: -- [iters=N] [restarts=N] [boot]",
            ),
            (
                Trigger::PanicToExit.to_string(),
                "bench: trigger panic-to-exit",
            ),
            (Trigger::Restart.to_string(), "bench: trigger restart"),
            (
                RestartSample {
                    latency_ns: 2_000_000,
                    entry_print_ns: 44_000,
                }
                .to_string(),
                "bench: restart_sample latency_ns=2000000 entry_print_ns=44000",
            ),
            (
                RestartSamplePrint { ns: 100_000 }.to_string(),
                "bench: restart_sample_print ns=100000",
            ),
            (
                RestartsDone { n: 2 }.to_string(),
                "bench: restarts_done n=2",
            ),
        ]
    }

    #[test]
    fn every_line_is_written_as_documented_and_round_trips() {
        for (written, documented) in lines() {
            assert_eq!(written, documented);
            let line = BenchLine::parse(&written).unwrap_or_else(|e| panic!("{written}: {e}"));
            assert_eq!(line.to_string(), written);
        }
        let lines = lines();
        let measured = BenchLine::parse(&lines[6].0).unwrap();
        let BenchLine::Measured(m) = measured else {
            panic!("{measured:?}")
        };
        assert_eq!((m.metric, m.stats, m.lost), (Metric::StopMixed, STATS, 5));
        assert_eq!(m.paths.map(|p| p.init), Some(9));
    }

    #[test]
    fn each_metric_and_trigger_is_read_back_as_itself() {
        for metric in Metric::ALL {
            let line = Skipped { metric, why: "x" }.to_string();
            assert_eq!(
                BenchLine::parse(&line),
                Ok(BenchLine::Skipped(Skipped { metric, why: "x" }))
            );
        }
        for trigger in [Trigger::PanicToExit, Trigger::Restart] {
            let line = trigger.to_string();
            assert_eq!(BenchLine::parse(&line), Ok(BenchLine::Trigger(trigger)));
        }
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        for (line, why) in [
            (
                "bench: raw_ipi n=1 min_ns=1 median_ns=1 p99_ns=1",
                "missing max_ns",
            ),
            (
                "bench: raw_ipi n=1 min_ns=1 median_ns=1 p99_ns=1 max_ns=1 extra=2",
                "unknown field 'extra'",
            ),
            (
                "bench: raw_ipi n=1 min_ns=-1 median_ns=1 p99_ns=1 max_ns=1",
                "'min_ns=-1': the value is not a number",
            ),
            ("bench: raw_ipi n=1 n=2", "field 'n' appears twice"),
            ("bench: raw_ipi oops", "'oops' is not key=value"),
            (
                "bench: raw_ipi n=1 min_ns=1 median_ns=1 p99_ns=1 max_ns=1 vector=1",
                "missing nmi, self, init, stuck",
            ),
            ("bench: x n=1", "unknown metric 'x'"),
            ("bench: trigger reboot", "unknown trigger 'reboot'"),
            ("bench: app-entry", "missing run"),
            (
                "bench: restart_sample latency_ns=1",
                "missing entry_print_ns",
            ),
            (
                "bench: restart_sample latency_ns=1 entry_print_ns=2 x=3",
                "unknown field 'x'",
            ),
            (
                "bench: restarts_done n=two",
                "'n=two': the value is not a number",
            ),
            (
                "bench: bad argument 'x'",
                "'bench: bad argument 'x'' is not a bad-argument line",
            ),
            ("INFO  boot", "'INFO  boot' is not a bench: line"),
        ] {
            let err = BenchLine::parse(line).unwrap_err();
            assert_eq!(err.to_string(), why, "{line}");
        }
    }
}
