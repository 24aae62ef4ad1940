//! The runner's command line as a user meets it: bad input fails fast with one useful line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the runner binary in `dir` with `args`, as cargo starts it for `cargo allstop ARGS`.
fn cargo_allstop(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-allstop"))
        .arg("allstop")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the runner binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh directory for one test, under the system's temporary directory.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cargo-allstop-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn new_writes_a_crate_and_refuses_to_overwrite_it() {
    let dir = scratch("new");
    let out = cargo_allstop(&dir, &["new", "app"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = std::fs::read_to_string(dir.join("app/Cargo.toml")).unwrap();
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../runtime")
        .canonicalize()
        .unwrap();
    assert!(
        manifest.contains(&format!("path = \"{}\"", runtime.display())),
        "the runtime next to the runner's sources: {manifest}"
    );
    assert!(dir.join("app/.cargo/config.toml").is_file());
    let again = cargo_allstop(&dir, &["new", "app"]);
    assert_eq!(again.status.code(), Some(125));
    assert!(
        stderr(&again).contains("exists already"),
        "{}",
        stderr(&again)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn new_refuses_a_bad_name_and_a_missing_runtime() {
    let dir = scratch("bad");
    let out = cargo_allstop(&dir, &["new", "1app"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("'1app' is not a package name"),
        "{}",
        stderr(&out)
    );
    let out = cargo_allstop(&dir, &["new", "app", "--runtime", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("no runtime at /nonexistent"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("app").exists(), "nothing written");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_flag_fails_with_clap_usage_and_version_works() {
    let dir = std::env::temp_dir();
    let out = cargo_allstop(&dir, &["run", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unexpected argument '--no-such-flag'"));
    let out = cargo_allstop(&dir, &["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("cargo allstop {}\n", env!("CARGO_PKG_VERSION"))
    );
}
