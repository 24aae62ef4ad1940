//! `cargo xtask bench`: one boot of the bench app per CPU count, its console output parsed into
//! figures, restart latency, and the report (table, JSON, SVG plot).

mod command;
mod output;
mod plot;
mod report;
mod restart;

pub(crate) use command::{bench, BenchArgs};
