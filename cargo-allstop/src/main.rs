//! `cargo allstop`: build, boot and test allstop apps in QEMU from any crate.
//!
//! - `cargo allstop new NAME [--std]`: a crate that builds and boots unchanged.
//! - `cargo allstop build|run`: build the app of the current directory (kernel or std app) and
//!   boot it; the exit code is the guest's status.
//! - `cargo allstop test`: `cargo test` for the kernel target, each test binary booted once.
//! - `cargo-allstop runner`: the `runner` of `.cargo/config.toml`, so plain `cargo run` boots the
//!   app and `cargo test` boots each test binary.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use cargo_allstop::build::{image, kernel_app, kernel_config, std_app};
use cargo_allstop::host::{child, setup};
use cargo_allstop::qemu::{self, BootArgs};
use cargo_allstop::{project, template};

/// Exit code for failures of the runner itself or of QEMU (as timeout(1) uses 125 for its own).
const EXIT_RUNNER_FAILED: u8 = 125;
/// How our own lines start.
const TOOL: &str = "cargo-allstop";

/// Build, boot and test allstop apps in QEMU.
#[derive(Parser)]
#[command(name = "cargo allstop", bin_name = "cargo allstop", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
enum Command {
    /// Create a crate NAME (in a new directory NAME) that builds and boots unchanged.
    New(NewArgs),
    /// Build the app of the current directory (kernel or std app) and print its image's path.
    Build(BuildArgs),
    /// Build the app and boot it in QEMU; exits with the guest's status (0 success, 101 panic).
    Run(RunArgs),
    /// `cargo test` for the kernel target, booting each test binary once through the runner
    /// (also in a crate without the `.cargo/config.toml` that `new` writes).
    Test(TestArgs),
    /// Boot an already built executable; for `runner` in `.cargo/config.toml`, so `cargo run`
    /// and `cargo test` boot in QEMU. Arguments after the executable become app arguments.
    Runner(RunnerArgs),
}

/// Flags of `cargo allstop new`.
#[derive(Args)]
struct NewArgs {
    /// The package name (and directory).
    name: String,
    /// An ordinary std program (built with nightly for Hermit) instead of a `no_std` app.
    #[arg(long)]
    std: bool,
    /// The runtime's directory the crate depends on (default: the runtime next to the runner's
    /// sources, where it was installed from).
    #[arg(long, value_name = "PATH", default_value = template::DEFAULT_RUNTIME)]
    runtime: PathBuf,
}

/// Flags of `cargo allstop build`.
#[derive(Args)]
struct BuildArgs {
    /// The app's package (default: the package of the current directory).
    #[arg(long, short, value_name = "NAME")]
    package: Option<String>,
    /// Build with the release profile.
    #[arg(long)]
    release: bool,
}

/// Flags of `cargo allstop run`.
#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    boot: BootArgs,
    /// Arguments for the app (after `--`; the kernel gets them after ` -- ` on its command line).
    #[arg(last = true)]
    args: Vec<String>,
}

/// Arguments of `cargo allstop test`.
#[derive(Args)]
struct TestArgs {
    /// Arguments for `cargo test` (e.g. `--test NAME`, `--release`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Flags of `cargo-allstop runner`.
#[derive(Args)]
struct RunnerArgs {
    #[command(flatten)]
    boot: BootArgs,
    /// The executable is a std app's host build: boot the app's allstop image instead (built
    /// from the package the executable is named after); a test executable runs on the host.
    #[arg(long)]
    std: bool,
    /// The executable cargo built.
    executable: PathBuf,
    /// Arguments cargo passes on (`cargo run -- ARGS`): app arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn main() -> ExitCode {
    // As a cargo subcommand we are started as `cargo-allstop allstop ...`.
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("allstop") {
        args.remove(1);
    }
    let cli = Cli::parse_from(args);
    if let Err(err) = child::kill_children_on_signal() {
        eprintln!("error: {err:#}");
        return ExitCode::from(EXIT_RUNNER_FAILED);
    }
    let result = match cli.command {
        Command::New(args) => new(&args).map(|()| ExitCode::SUCCESS),
        Command::Build(args) => build(&args).map(|(app, image)| {
            println!("{app}: {}", image.display());
            ExitCode::SUCCESS
        }),
        Command::Run(args) => run(args),
        Command::Test(args) => test(&args),
        Command::Runner(args) => runner(args),
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::from(EXIT_RUNNER_FAILED)
    })
}

/// `cargo allstop new`.
fn new(args: &NewArgs) -> Result<()> {
    let kind = if args.std {
        template::Kind::Std
    } else {
        template::Kind::Kernel
    };
    let dir = PathBuf::from(&args.name);
    template::create(&dir, &args.name, kind, &args.runtime)?;
    let what = match kind {
        template::Kind::Kernel => "kernel app; `cargo run` boots it, `cargo test` boots its tests",
        template::Kind::Std => "std app; `cargo allstop run` boots it",
    };
    eprintln!("{TOOL}: created {} ({what})", dir.display());
    Ok(())
}

/// Builds the app; returns its name and image.
fn build(args: &BuildArgs) -> Result<(String, PathBuf)> {
    let app = project::app(args.package.as_deref())?;
    setup::kernel_target()?;
    // The std-app builder says what it builds itself (xtask's builds too).
    if std_app::partition(&[app.as_str()])?.0.is_empty() {
        eprintln!("{TOOL}: building {app} for {}", kernel_app::KERNEL_TARGET);
    }
    let mut images = image::build(&[app.as_str()], args.release)?;
    let image = images
        .remove(&app)
        .with_context(|| format!("no image of {app}"))?;
    Ok((app, image))
}

/// `cargo allstop run`.
fn run(args: RunArgs) -> Result<ExitCode> {
    let (_, image) = build(&args.build)?;
    let boot = args.boot.with_app_args(&args.args)?;
    qemu::boot(&image, &boot, TOOL, no_note)
}

/// `cargo allstop test`: cargo's own test run (its output and exit code), with the kernel
/// target, its flags, and this binary as the runner.
fn test(args: &TestArgs) -> Result<ExitCode> {
    setup::kernel_target()?;
    let runner = std::env::current_exe().context("cannot find the runner's own binary")?;
    let mut cmd = std::process::Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
    cmd.args(["test", "--target", kernel_app::KERNEL_TARGET, "--config"])
        .arg(kernel_config::runner_config(&runner))
        .args(&args.args);
    kernel_config::apply(&mut cmd);
    let status = cmd.status().context("cannot run cargo test")?;
    Ok(passed_on(status))
}

/// A child's exit code as ours (a signal, or a code beyond 255, as a failure of the runner).
fn passed_on(status: std::process::ExitStatus) -> ExitCode {
    ExitCode::from(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(EXIT_RUNNER_FAILED),
    )
}

/// `cargo-allstop runner`.
fn runner(args: RunnerArgs) -> Result<ExitCode> {
    let boot = args.boot.with_app_args(&args.args)?;
    if !args.std {
        return qemu::boot(&args.executable, &boot, TOOL, no_note);
    }
    match std_host_build(&args.executable) {
        HostBuild::Test => host_test(&args.executable, &args.args),
        HostBuild::App { package, release } => {
            let (_, image) = build(&BuildArgs {
                package: Some(package),
                release,
            })?;
            qemu::boot(&image, &boot, TOOL, no_note)
        }
    }
}

/// What cargo handed a std app's runner.
#[derive(Debug, PartialEq)]
enum HostBuild {
    /// A test executable (cargo puts them in `deps/`).
    Test,
    /// The app's binary: its package (the binary is named after it) and profile.
    App {
        /// The package.
        package: String,
        /// Whether it is a release build.
        release: bool,
    },
}

/// Tells the app's binary from a test executable by where cargo put it.
fn std_host_build(executable: &std::path::Path) -> HostBuild {
    let parent = executable.parent().and_then(|p| p.file_name());
    if parent.is_some_and(|p| p == "deps") {
        return HostBuild::Test;
    }
    HostBuild::App {
        package: executable
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        release: parent.is_some_and(|p| p == "release"),
    }
}

/// Runs a std app's test executable on the host, as cargo would without a runner.
fn host_test(executable: &std::path::Path, args: &[String]) -> Result<ExitCode> {
    let status = std::process::Command::new(executable)
        .args(args)
        .status()
        .with_context(|| format!("cannot run {}", executable.display()))?;
    Ok(passed_on(status))
}

/// No words to add to the closing line.
fn no_note(_: u32) -> &'static str {
    ""
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_std_runner_tells_the_app_from_its_tests() {
        assert_eq!(
            std_host_build(Path::new("/c/target/debug/my-app")),
            HostBuild::App {
                package: "my-app".into(),
                release: false
            }
        );
        assert_eq!(
            std_host_build(Path::new("/c/target/release/my-app")),
            HostBuild::App {
                package: "my-app".into(),
                release: true
            }
        );
        assert_eq!(
            std_host_build(Path::new("/c/target/debug/deps/my_app-0123abcd")),
            HostBuild::Test
        );
    }
}
