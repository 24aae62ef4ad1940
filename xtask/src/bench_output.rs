//! The bench app's console lines (their format is documented in `apps/bench/src/main.rs`),
//! parsed into figures. Every other console line is ignored; a `bench:` line that does not
//! parse is an error, so the two sides cannot drift apart silently.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

/// What every line of the bench app starts with.
const PREFIX: &str = "bench: ";
/// The line the host times panic-to-exit from; the bench app panics right after it.
pub const TRIGGER: &str = "bench: trigger panic-to-exit";

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

/// The bench app's statistics, pure `core` code: compiled here so that its unit tests run with
/// `cargo test` (the kernel crate itself does not build for the host).
#[cfg(test)]
#[path = "../../apps/bench/src/stats.rs"]
mod guest_stats;

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "\
INFO  boot\r
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
