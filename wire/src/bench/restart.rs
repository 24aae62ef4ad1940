//! The lines of the restart-latency mode (`restarts=N`), after each run's app-entry line.

use core::fmt;

use super::PREFIX;
use crate::fields::Record;

/// The word of [`RestartSample`].
pub(super) const SAMPLE: &str = "restart_sample";
/// The word of [`RestartSamplePrint`].
pub(super) const SAMPLE_PRINT: &str = "restart_sample_print";
/// The word of [`RestartsDone`].
pub(super) const DONE: &str = "restarts_done";

/// `bench: restart_sample latency_ns=<x> entry_print_ns=<y>`, in every run after a warm
/// restart, right after its app-entry line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartSample {
    /// The runtime's measure of the restart: from the panic to every CPU online again.
    pub latency_ns: u64,
    /// How long this run took to print its app-entry line.
    pub entry_print_ns: u64,
}

impl Record<2> for RestartSample {
    const KEYS: &'static [&'static str; 2] = &["latency_ns", "entry_print_ns"];

    fn values(&self) -> [u64; 2] {
        [self.latency_ns, self.entry_print_ns]
    }

    fn from_values([latency_ns, entry_print_ns]: [u64; 2]) -> Self {
        Self {
            latency_ns,
            entry_print_ns,
        }
    }
}

impl fmt::Display for RestartSample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{SAMPLE} ")?;
        self.write(f)
    }
}

/// `bench: restart_sample_print ns=<z>`: how long the [`RestartSample`] line before it took to
/// print. With the app-entry line's time, two line lengths, from which the host works out the
/// serial console's cost per line and per byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartSamplePrint {
    /// The time, in ns.
    pub ns: u64,
}

impl Record<1> for RestartSamplePrint {
    const KEYS: &'static [&'static str; 1] = &["ns"];

    fn values(&self) -> [u64; 1] {
        [self.ns]
    }

    fn from_values([ns]: [u64; 1]) -> Self {
        Self { ns }
    }
}

impl fmt::Display for RestartSamplePrint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{SAMPLE_PRINT} ")?;
        self.write(f)
    }
}

/// `bench: restarts_done n=<n>`: every sample is printed; the app powers off with status 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartsDone {
    /// Samples printed.
    pub n: u64,
}

impl Record<1> for RestartsDone {
    const KEYS: &'static [&'static str; 1] = &["n"];

    fn values(&self) -> [u64; 1] {
        [self.n]
    }

    fn from_values([n]: [u64; 1]) -> Self {
        Self { n }
    }
}

impl fmt::Display for RestartsDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{DONE} ")?;
        self.write(f)
    }
}
