//! `cargo xtask build`: builds kernel apps and prints where their ELFs are.

use anyhow::Result;
use clap::Args;

use crate::build::apps;
use crate::host::setup;

/// Flags of `cargo xtask build`.
#[derive(Args)]
pub struct BuildArgs {
    /// The app to build (default: every app under apps/).
    #[arg(long, value_name = "NAME")]
    app: Option<String>,
    /// Build with the release profile.
    #[arg(long)]
    release: bool,
}

/// Builds the chosen apps.
pub fn build(args: &BuildArgs) -> Result<()> {
    let known = apps::known()?;
    let wanted: Vec<&str> = match &args.app {
        Some(app) => {
            apps::check_known([app.as_str()], &known, "build")?;
            vec![app]
        }
        None => known.iter().map(String::as_str).collect(),
    };
    setup::kernel_target()?;
    for (app, elf) in apps::build(&wanted, args.release)? {
        println!("{app}: {}", elf.display());
    }
    Ok(())
}
