//! `cargo xtask loom`: model-checks the stop protocol (the models are in `stop/tests/loom.rs`).

use anyhow::{bail, Result};

use crate::host::workspace;
use crate::test::cargo_test;
use crate::test::Tally;

/// The loom models, relative to the workspace root.
const MODELS: &str = "stop/tests/loom.rs";
/// The preemption bound the models are exhaustive within.
const MAX_PREEMPTIONS: &str = "3";

/// Runs the loom models in release mode with `--cfg loom`, in their own target directory.
pub fn loom() -> Result<Tally> {
    if !workspace::root().join(MODELS).is_file() {
        bail!(
            "{MODELS} does not exist: the loom models belong to the stop/ crate; there is \
             nothing to model-check"
        );
    }
    let target = workspace::target_dir()?.join("loom");
    let mut cmd = workspace::cargo();
    cmd.args(["test", "-p", "allstop-stop", "--release", "--test", "loom"])
        .args(["--", "--nocapture", "--test-threads=1"])
        .env("RUSTFLAGS", "--cfg loom")
        .env("LOOM_MAX_PREEMPTIONS", MAX_PREEMPTIONS)
        .env("CARGO_TARGET_DIR", &target);
    eprintln!(
        "loom: RUSTFLAGS=\"--cfg loom\" LOOM_MAX_PREEMPTIONS={MAX_PREEMPTIONS} \
         CARGO_TARGET_DIR={} cargo test -p allstop-stop --release --test loom \
         -- --nocapture --test-threads=1",
        target.display()
    );
    cargo_test::run(&mut cmd)
}
