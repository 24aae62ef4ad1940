//! The out-of-tree stage of `cargo xtask test`: the README's "Out of tree" steps, run as a user
//! would, in a crate under the system's temporary directory (outside this repository).
//!
//! It builds the `cargo-allstop` binary, puts it first on `PATH`, and in a fresh directory
//! checks: `cargo allstop new`, `cargo allstop run` and plain `cargo run` print the app's output
//! (`cargo run -- a b`: its arguments too) and exit 0; a panicking app exits 101 with a symbolized backtrace and the stop report;
//! `cargo test` boots the crate's test and passes, and fails once a failing test is added;
//! `cargo allstop run` and `cargo allstop test` work without the crate's `.cargo/config.toml`
//! too. With `--full`, also a std app (`new --std`; `cargo allstop run` and plain `cargo run`,
//! which boots it through the runner's std mode; a panicking variant): its first build
//! compiles std for Hermit, minutes on a fresh machine.
//!
//! All builds share `target/out-of-tree/` (through `CARGO_TARGET_DIR`), so after the first run
//! they are cached.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use crate::host::child::{self, Echo, Finished};
use crate::host::workspace;
use crate::test::Tally;
use cargo_allstop::build::kernel_app::executables;

/// The runner's package and binary.
const RUNNER: &str = "cargo-allstop";
/// The kernel app's name (and what it greets with).
const APP: &str = "hello-oot";
/// The std app's name.
const STD_APP: &str = "hello-oot-std";
/// A `main` that panics on an out-of-bounds index: the panic message and the backtrace name
/// line 4 of `src/main.rs`.
const PANICKING_MAIN: &str = "#![no_std]\n#![no_main]\nallstop::entry!(main);\n\
    fn main() -> i32 { let empty: [i32; 0] = []; empty[allstop::cmdline().len()] }\n";
/// A test that fails its assertion.
const FAILING_TEST: &str = "#![no_std]\n#![no_main]\nallstop::entry!(main);\n\
    fn main() -> i32 { assert_eq!(1 + 1, 3, \"arithmetic\"); 0 }\n";
/// A std `main` that panics (std's way: message, then abort).
const PANICKING_STD_MAIN: &str = "fn main() {\n    let v: Vec<u8> = Vec::new();\n    \
    println!(\"{}\", v[std::env::args().count() + 7]);\n}\n";

/// Flags of `cargo xtask out-of-tree`.
#[derive(Args)]
pub struct OutOfTreeArgs {
    /// Also the std app (its first build compiles std for Hermit: minutes).
    #[arg(long)]
    full: bool,
}

/// `cargo xtask out-of-tree`: this stage alone.
pub fn out_of_tree(args: &OutOfTreeArgs) -> Result<Tally> {
    run(args.full)
}

/// Runs the stage; each check is one test of the tally.
pub fn run(full: bool) -> Result<Tally> {
    let sandbox = Sandbox::new()?;
    let result = sandbox.checks(full);
    // Keep the crates for a look when something failed.
    if result.as_ref().is_ok_and(|tally| tally.failed == 0) {
        std::fs::remove_dir_all(&sandbox.dir).ok();
    } else {
        println!(
            "out-of-tree: the crates are kept in {}",
            sandbox.dir.display()
        );
    }
    result
}

/// A directory outside the repository and the environment the user's commands run in.
struct Sandbox {
    /// The fresh directory the crates are created in.
    dir: PathBuf,
    /// `PATH` with the runner's directory first.
    path: OsString,
    /// The shared target directory.
    target_dir: PathBuf,
}

impl Sandbox {
    /// Builds the runner and makes a fresh directory under the temporary directory.
    fn new() -> Result<Self> {
        let mut cmd = workspace::cargo();
        cmd.args(["build", "--package", RUNNER, "--bin", RUNNER])
            .arg("--message-format=json-render-diagnostics");
        let done = child::run(&mut cmd, workspace::CARGO_TIMEOUT, Echo::Stderr)?
            .success()
            .context("building the runner failed")?;
        let runner = &executables(&done.stdout, &[RUNNER])?[RUNNER];
        let bin_dir = runner.parent().context("the runner has no directory")?;
        let mut dirs = vec![bin_dir.to_path_buf()];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let path = std::env::join_paths(dirs).context("PATH cannot hold the runner's directory")?;
        let dir = std::env::temp_dir().join(format!("allstop-out-of-tree-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let target_dir = workspace::target_dir()?.join("out-of-tree");
        Ok(Sandbox {
            dir,
            path,
            target_dir,
        })
    }

    /// Runs `cargo args` in `crate_dir` (relative to the sandbox) as a user would: the cargo on
    /// `PATH`, the toolchain the crate's own `rust-toolchain.toml` picks.
    fn cargo(&self, crate_dir: &str, args: &[&str]) -> Result<Finished> {
        let mut cmd = Command::new("cargo");
        cmd.args(args)
            .current_dir(self.dir.join(crate_dir))
            .env("PATH", &self.path)
            .env("CARGO_TARGET_DIR", &self.target_dir);
        // What xtask's own cargo set must not choose for the user's crate.
        for var in [
            "RUSTUP_TOOLCHAIN",
            "CARGO",
            "CARGO_MANIFEST_DIR",
            "RUSTFLAGS",
        ] {
            cmd.env_remove(var);
        }
        child::run(&mut cmd, workspace::CARGO_TIMEOUT, Echo::Nothing)
    }

    /// Writes `text` to `file` of crate `crate_dir`.
    fn write(&self, crate_dir: &str, file: &str, text: &str) -> Result<()> {
        let path = self.dir.join(crate_dir).join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Every check, in the order a user meets them.
    fn checks(&self, full: bool) -> Result<Tally> {
        let mut tally = Tally::default();
        let greeting = format!("Hello from {APP}!");
        let symbolized = format!("{}::main at src/main.rs:4", APP.replace('-', "_"));
        let mut check = |name: &str, dir: &str, args: &[&str], want: Want| -> Result<()> {
            let start = Instant::now();
            let done = self.cargo(dir, args)?;
            let took = start.elapsed().as_secs_f64();
            match verdict(&done, &want) {
                Ok(()) => {
                    println!("out-of-tree: {name}: ok ({took:.1}s)");
                    tally.passed += 1;
                }
                Err(why) => {
                    println!(
                        "out-of-tree: {name}: FAILED: {why} ({took:.1}s)\n  cargo {}\n{}{}",
                        args.join(" "),
                        child::tail(&done.stdout, 15),
                        child::tail(&done.stderr, 15)
                    );
                    tally.failed += 1;
                }
            }
            Ok(())
        };
        check("new", ".", &["allstop", "new", APP], Want::status(0, &[]))?;
        check(
            "cargo allstop run",
            APP,
            &["allstop", "run"],
            Want::status(0, &[&greeting, "stop-summary:"]),
        )?;
        check(
            "cargo run -- a b",
            APP,
            &["run", "--", "a", "b"],
            Want::status(0, &[&greeting, "args: \"a b\""]),
        )?;
        check(
            "cargo test",
            APP,
            &["test"],
            Want::status(0, &["boot test: ok"]),
        )?;
        self.write(APP, "src/main.rs", PANICKING_MAIN)?;
        check(
            "cargo run, panicking",
            APP,
            &["run"],
            Want::status(
                101,
                &["panicked at src/main.rs:4", &symbolized, "stop-summary:"],
            ),
        )?;
        self.write(APP, "tests/fails.rs", FAILING_TEST)?;
        let mut manifest = std::fs::read_to_string(self.dir.join(APP).join("Cargo.toml"))?;
        manifest += "\n[[test]]\nname = \"fails\"\nharness = false\n";
        self.write(APP, "Cargo.toml", &manifest)?;
        check(
            "cargo test, a failing test",
            APP,
            &["test", "--test", "fails"],
            Want::failure(&["assertion `left == right` failed: arithmetic"]),
        )?;
        // A crate without the config `new` writes: `cargo allstop` passes the flags itself.
        let config = self.dir.join(APP).join(".cargo/config.toml");
        std::fs::remove_file(&config)
            .with_context(|| format!("cannot remove {}", config.display()))?;
        check(
            "cargo allstop run, no .cargo/config.toml",
            APP,
            &["allstop", "run"],
            Want::status(101, &[&symbolized, "stop-summary:"]),
        )?;
        check(
            "cargo allstop test, no .cargo/config.toml",
            APP,
            &["allstop", "test", "--test", "boot"],
            Want::status(0, &["boot test: ok"]),
        )?;
        if full {
            let std_greeting = format!("Hello from {STD_APP} (std)!");
            check(
                "new --std",
                ".",
                &["allstop", "new", STD_APP, "--std"],
                Want::status(0, &[]),
            )?;
            check(
                "cargo allstop run, std",
                STD_APP,
                &["allstop", "run"],
                Want::status(0, &[&std_greeting, "sum of squares: 30", "stop-summary:"]),
            )?;
            check(
                "cargo run, std",
                STD_APP,
                &["run"],
                Want::status(0, &[&std_greeting, "sum of squares: 30", "stop-summary:"]),
            )?;
            self.write(STD_APP, "src/main.rs", PANICKING_STD_MAIN)?;
            check(
                "cargo run, std panicking",
                STD_APP,
                &["run"],
                Want::status(101, &["panicked at src/main.rs:3", "stop-summary:"]),
            )?;
        }
        Ok(tally)
    }
}

/// What a command must do.
struct Want<'a> {
    /// Its exit code; `None`: any failure (not 0).
    code: Option<i32>,
    /// Texts its output (stdout and stderr) must contain.
    output: &'a [&'a str],
}

impl<'a> Want<'a> {
    /// Exit with `code`, printing each of `output`.
    fn status(code: i32, output: &'a [&'a str]) -> Self {
        Want {
            code: Some(code),
            output,
        }
    }

    /// Fail (any code but 0), printing each of `output`.
    fn failure(output: &'a [&'a str]) -> Self {
        Want { code: None, output }
    }
}

/// Whether `done` did what `want` says; else why not.
fn verdict(done: &Finished, want: &Want) -> Result<(), String> {
    let Some(status) = done.status else {
        return Err(format!("timed out after {:.0?}", done.elapsed));
    };
    match (want.code, status.code()) {
        (Some(code), Some(got)) if code == got => {}
        (None, Some(got)) if got != 0 => {}
        (want, got) => {
            let want = want.map_or("a failure".to_string(), |code| format!("exit {code}"));
            return Err(format!("{want} expected, got {got:?}"));
        }
    }
    let missing: Vec<&str> = want
        .output
        .iter()
        .filter(|text| !done.stdout.contains(**text) && !done.stderr.contains(**text))
        .copied()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("output lacks {missing:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    use std::time::Duration;

    fn finished(code: Option<i32>, stdout: &str, stderr: &str) -> Finished {
        Finished {
            pid: 1,
            status: code.map(|code| ExitStatus::from_raw(code << 8)),
            stdout: stdout.into(),
            stderr: stderr.into(),
            elapsed: Duration::from_secs(2),
            stderr_shown: false,
            stopped_on_stderr: false,
        }
    }

    #[test]
    fn a_check_wants_its_exit_code_and_every_text() {
        let want = Want::status(101, &["panicked", "stop-summary:"]);
        let run = finished(Some(101), "stop-summary: x", "panicked at");
        assert_eq!(verdict(&run, &want), Ok(()));
        let wrong = finished(Some(0), "stop-summary: x", "panicked at");
        assert_eq!(
            verdict(&wrong, &want),
            Err("exit 101 expected, got Some(0)".into())
        );
        let lacking = finished(Some(101), "", "panicked at");
        assert_eq!(
            verdict(&lacking, &want),
            Err("output lacks [\"stop-summary:\"]".into())
        );
        let hung = finished(None, "", "");
        assert_eq!(verdict(&hung, &want), Err("timed out after 2s".into()));
    }

    #[test]
    fn a_failure_is_any_code_but_zero() {
        let want = Want::failure(&[]);
        assert_eq!(verdict(&finished(Some(101), "", ""), &want), Ok(()));
        assert_eq!(
            verdict(&finished(Some(0), "", ""), &want),
            Err("a failure expected, got Some(0)".into())
        );
    }
}
