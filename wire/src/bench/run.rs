//! The lines of a run that measures the metrics: its start, one line per metric, a failure, the
//! trigger lines before the timed panics; and the lines every run may print (app entry, a bad
//! argument).

use core::fmt;

use super::{Metric, PREFIX};
use crate::fields::{Fields, Record};
use crate::paths::Paths;
use crate::stats::Stats;
use crate::Error;

/// The word of [`AppEntry`].
pub(super) const APP_ENTRY: &str = "app-entry";
/// The word of [`Booted`].
pub(super) const BOOTED: &str = "booted";
/// The word of [`Start`].
pub(super) const START: &str = "start";
/// The word of [`Failed`].
pub(super) const FAILED: &str = "error:";
/// The word of [`Trigger`].
pub(super) const TRIGGER: &str = "trigger";
/// What follows the metric on a [`Skipped`] line.
pub(super) const SKIPPED: &str = "skipped: ";
/// What comes before the word on a [`BadArgument`] line.
pub(super) const BAD_ARGUMENT: &str = "bad argument '";
/// What comes after the word on a [`BadArgument`] line.
pub(super) const USAGE: &str = "'; usage: -- [iters=N] [restarts=N] [boot]";
/// The key of a metric's lost probes.
const LOST: &str = "lost";

/// `bench: app-entry run=<k>`: the first line of every run (k: warm restarts so far), which
/// the host times restarts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppEntry {
    /// Warm restarts so far.
    pub run: u64,
}

impl Record<1> for AppEntry {
    const KEYS: &'static [&'static str; 1] = &["run"];

    fn values(&self) -> [u64; 1] {
        [self.run]
    }

    fn from_values([run]: [u64; 1]) -> Self {
        Self { run }
    }
}

impl fmt::Display for AppEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{APP_ENTRY} ")?;
        self.write(f)
    }
}

/// `bench: booted pvh_to_main_ns=<t>`: in boot-time mode, right after the app-entry line of a
/// cold boot: the time from the kernel's first instruction (the PVH entry, TSC) to the app's
/// `main`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Booted {
    /// PVH entry to `main`, in ns.
    pub pvh_to_main_ns: u64,
}

impl Record<1> for Booted {
    const KEYS: &'static [&'static str; 1] = &["pvh_to_main_ns"];

    fn values(&self) -> [u64; 1] {
        [self.pvh_to_main_ns]
    }

    fn from_values([pvh_to_main_ns]: [u64; 1]) -> Self {
        Self { pvh_to_main_ns }
    }
}

impl fmt::Display for Booted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{BOOTED} ")?;
        self.write(f)
    }
}

/// `bench: start cpus=<c> iters=<n> vector_timeout_ns=<t> short_vector_timeout_ns=<s>
/// adaptive_vector_timeout_ns=<a> nmi_timeout_ns=<m>`: what the metrics lines that follow were
/// measured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Start {
    /// CPUs online.
    pub cpus: u64,
    /// Samples taken per metric.
    pub iters: u64,
    /// The stop's default vector timeout (the NMI path's `stop_nmi` waits this long first).
    pub vector_timeout_ns: u64,
    /// The short vector timeout of `stop_nmi_short`.
    pub short_vector_timeout_ns: u64,
    /// The adaptive strategy's vector timeout on this machine (`stop_adaptive_*`); 0 if there
    /// was no other CPU to measure it with.
    pub adaptive_vector_timeout_ns: u64,
    /// The stop's NMI timeout.
    pub nmi_timeout_ns: u64,
}

impl Record<6> for Start {
    const KEYS: &'static [&'static str; 6] = &[
        "cpus",
        "iters",
        "vector_timeout_ns",
        "short_vector_timeout_ns",
        "adaptive_vector_timeout_ns",
        "nmi_timeout_ns",
    ];

    fn values(&self) -> [u64; 6] {
        [
            self.cpus,
            self.iters,
            self.vector_timeout_ns,
            self.short_vector_timeout_ns,
            self.adaptive_vector_timeout_ns,
            self.nmi_timeout_ns,
        ]
    }

    fn from_values(
        [cpus, iters, vector_timeout_ns, short_vector_timeout_ns, adaptive_vector_timeout_ns, nmi_timeout_ns]: [u64; 6],
    ) -> Self {
        Self {
            cpus,
            iters,
            vector_timeout_ns,
            short_vector_timeout_ns,
            adaptive_vector_timeout_ns,
            nmi_timeout_ns,
        }
    }
}

impl fmt::Display for Start {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{START} ")?;
        self.write(f)
    }
}

/// A metric line's statistics, in ns.
impl Record<5> for Stats {
    const KEYS: &'static [&'static str; 5] = &["n", "min_ns", "median_ns", "p99_ns", "max_ns"];

    fn values(&self) -> [u64; 5] {
        [self.n, self.min, self.median, self.p99, self.max]
    }

    fn from_values([n, min, median, p99, max]: [u64; 5]) -> Self {
        Self {
            n,
            min,
            median,
            p99,
            max,
        }
    }
}

/// `bench: <metric> n=.. min_ns=.. median_ns=.. p99_ns=.. max_ns=..`, followed for stops by
/// their [`Paths`] (summed over the samples) and, if some probes went unanswered, by `lost=..`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measured {
    /// What was measured.
    pub metric: Metric,
    /// The samples' statistics, in ns.
    pub stats: Stats,
    /// For stops: how the targets were stopped.
    pub paths: Option<Paths>,
    /// Probes that got no answer (not among the samples).
    pub lost: u64,
}

impl Measured {
    /// Reads the fields that follow the metric.
    pub(super) fn parse(metric: Metric, text: &str) -> Result<Self, Error<'_>> {
        let fields = Fields::parse(text, &[Stats::KEYS, Paths::KEYS, &[LOST]])?;
        let stats = Stats::read(&fields)?;
        let paths = if fields.has_any(Paths::KEYS) {
            Some(Paths::read(&fields)?)
        } else {
            None
        };
        let lost = fields.number(LOST)?.unwrap_or(0);
        Ok(Self {
            metric,
            stats,
            paths,
            lost,
        })
    }
}

impl fmt::Display for Measured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{} ", self.metric)?;
        self.stats.write(f)?;
        if let Some(paths) = self.paths {
            write!(f, " {paths}")?;
        }
        if self.lost > 0 {
            write!(f, " {LOST}={}", self.lost)?;
        }
        Ok(())
    }
}

/// `bench: <metric> skipped: <why>`: a metric that does not apply to this machine. `W` is
/// anything `Display` when printed, `&str` when parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skipped<W> {
    /// The metric.
    pub metric: Metric,
    /// Why it was not measured.
    pub why: W,
}

impl<W: fmt::Display> fmt::Display for Skipped<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{} {SKIPPED}{}", self.metric, self.why)
    }
}

/// `bench: error: <why>`: a measurement could not go on (the app then exits with status 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failed<W>(pub W);

impl<W: fmt::Display> fmt::Display for Failed<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{FAILED} {}", self.0)
    }
}

/// `bench: bad argument '<word>'; usage: -- [iters=N] [restarts=N]`: the app rejected one of
/// its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadArgument<W>(pub W);

impl<W: fmt::Display> fmt::Display for BadArgument<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{BAD_ARGUMENT}{}{USAGE}", self.0)
    }
}

/// `bench: trigger <what>`: printed right before a panic the host times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `panic-to-exit`: the host times from here to QEMU's exit.
    PanicToExit,
    /// `restart`: the host times from here to the next app-entry line.
    Restart,
}

impl Trigger {
    /// Every trigger.
    const ALL: [Trigger; 2] = [Trigger::PanicToExit, Trigger::Restart];

    /// What follows the word.
    fn what(self) -> &'static str {
        match self {
            Trigger::PanicToExit => "panic-to-exit",
            Trigger::Restart => "restart",
        }
    }

    /// The trigger `what` names.
    pub(super) fn parse(what: &str) -> Result<Self, Error<'_>> {
        Trigger::ALL
            .into_iter()
            .find(|trigger| trigger.what() == what)
            .ok_or(Error::Unknown {
                what: "trigger",
                name: what,
            })
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{TRIGGER} {}", self.what())
    }
}
