//! `cargo xtask bench`: one boot of the bench app per CPU count, its console output parsed into
//! figures, restart latency, boot time, and the report (table, JSON, SVG plot).

mod boot_time;
mod command;
mod output;
mod plot;
mod report;
mod restart;

pub(crate) use command::{bench, BenchArgs};

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::bench::output::Mark;
use crate::host::child::{Annotate, Echo};
use crate::qemu::{Boot, QemuRun};

/// How a boot's console output goes: shown with `watch` seeing each line as it arrives, or
/// (`--quiet`) only seen by `watch`.
fn console(shown: bool, watch: Annotate<'_>) -> Echo<'_> {
    if shown {
        Echo::Annotated(watch)
    } else {
        Echo::Watched(watch)
    }
}

/// Boots `boot` under `timeout`, its console shown if `shown`, and notes when the first line
/// marked `mark` reached xtask: the run, when QEMU was spawned, and that moment (`None` if no
/// such line came).
fn boot_noting(
    boot: &Boot,
    timeout: Duration,
    shown: bool,
    mark: Mark,
) -> Result<(QemuRun, Instant, Option<Instant>)> {
    let noted = Mutex::new(None);
    let watch = |line: &str| {
        if Mark::of(line) == Some(mark) {
            let mut at = noted.lock().unwrap_or_else(|e| e.into_inner());
            at.get_or_insert_with(Instant::now);
        }
        None
    };
    // QEMU is spawned right after this.
    let spawned = Instant::now();
    let run = boot.boot(timeout, console(shown, &watch))?;
    let noted = *noted.lock().unwrap_or_else(|e| e.into_inner());
    Ok((run, spawned, noted))
}
