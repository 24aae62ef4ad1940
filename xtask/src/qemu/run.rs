//! `cargo xtask run`: builds one of this repository's apps and boots it (the runner's boot).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::build::apps;
use crate::host::setup;
use crate::qemu::exit_status;
use cargo_allstop::qemu::{self, BootArgs};

/// The showcase app: it always ends in a deliberate panic, to show the stop report.
const DEMO_APP: &str = "demo";
/// The app `run` boots without `--app`.
const DEFAULT_APP: &str = DEMO_APP;

/// Flags of `cargo xtask run`.
#[derive(Args)]
pub struct RunArgs {
    /// The app to boot.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_APP)]
    app: String,
    #[command(flatten)]
    boot: BootArgs,
    /// Build with the release profile.
    #[arg(long)]
    release: bool,
}

/// Builds and boots; the exit code is the guest's status, 124 on timeout.
pub fn run(args: &RunArgs) -> Result<ExitCode> {
    apps::check_known([args.app.as_str()], &apps::known()?, "run")?;
    setup::kernel_target()?;
    let elves = apps::build(&[args.app.as_str()], args.release)?;
    let demo = args.app == DEMO_APP;
    qemu::boot(&elves[&args.app], &args.boot, "xtask", |status| {
        if demo && status == exit_status::PANIC {
            ": the demo always ends in this deliberate panic"
        } else {
            ""
        }
    })
}
