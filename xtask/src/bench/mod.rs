//! `cargo xtask bench`: one boot of the bench app per CPU count, its console output parsed into
//! figures, restart latency, boot time, and the report (table, JSON, SVG plot).

mod boot_time;
mod command;
mod output;
mod plot;
mod report;
mod restart;

pub(crate) use command::{bench, BenchArgs};

use crate::host::child::{Annotate, Echo};

/// How a boot's console output goes: shown with `watch` seeing each line as it arrives, or
/// (`--quiet`) only seen by `watch`.
fn console(shown: bool, watch: Annotate<'_>) -> Echo<'_> {
    if shown {
        Echo::Annotated(watch)
    } else {
        Echo::Watched(watch)
    }
}
