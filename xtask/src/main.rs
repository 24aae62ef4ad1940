//! allstop's build, run and test driver: `cargo xtask <command>`.
//!
//! The sources are grouped by concern, each subcommand (its flags and entry point) in the folder
//! of its concern:
//! - `build/`: finding and building the apps (kernel apps; std apps for Hermit); `build`.
//! - `qemu/`: the QEMU command line and one supervised boot, the accelerator, the guest's exit
//!   status, backtrace symbolization; `run`.
//! - `cases/`: the QEMU test cases, what each expects, judging a boot, the scenario matrix;
//!   `qemu-test`.
//! - `bench/`: the bench app's boots, its output, restart latency and the report; `bench`.
//! - `test/`: `cargo test` and loom runs, the out-of-tree check, and their pass/fail tally;
//!   `loom`, `out-of-tree` and `test`.
//! - `host/`: what all of them use: supervised child processes, the workspace and cargo, the
//!   prerequisites.

mod bench;
mod build;
mod cases;
mod host;
mod qemu;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for failures of xtask itself or of QEMU (as timeout(1) uses 125 for its own errors).
const EXIT_XTASK_FAILED: u8 = 125;

/// allstop's build, run and test driver.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
enum Command {
    /// Build kernel apps for x86_64-unknown-none (all apps unless --app is given).
    Build(build::BuildArgs),
    /// Build an app and boot it in QEMU; exits with the guest's status.
    Run(qemu::RunArgs),
    /// Boot every QEMU test case (or the --quick subset), judge each, print the scenario matrix.
    QemuTest(cases::QemuTestArgs),
    /// Check the runner as a user outside this repository meets it: `cargo allstop new`, `cargo
    /// run`, `cargo test` in a crate under the temporary directory (with --full, a std app too).
    OutOfTree(test::OutOfTreeArgs),
    /// Model-check the stop protocol with loom (stop/tests/loom.rs).
    Loom,
    /// Benchmark the stop path against raw IPI/NMI round trips, per CPU count.
    Bench(bench::BenchArgs),
    /// Everything: `cargo test`, loom and qemu-test (its --quick subset unless --full), with one
    /// final `N passed, M failed` line.
    Test(test::TestArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let repository = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the repository root");
    let setup =
        host::workspace::set_root(repository).and_then(|()| host::child::kill_children_on_signal());
    if let Err(err) = setup {
        eprintln!("error: {err:#}");
        return ExitCode::from(EXIT_XTASK_FAILED);
    }
    let result = match cli.command {
        Command::Build(args) => build::build(&args).map(|()| ExitCode::SUCCESS),
        Command::Run(args) => qemu::run(&args),
        Command::QemuTest(args) => cases::qemu_test(&args).map(|tally| tally.exit_code()),
        Command::OutOfTree(args) => test::out_of_tree(&args).map(|tally| tally.exit_code()),
        Command::Loom => test::loom().map(|tally| tally.exit_code()),
        Command::Test(args) => test::test(&args),
        Command::Bench(args) => bench::bench(&args),
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::from(EXIT_XTASK_FAILED)
    })
}
