//! std apps: ordinary Rust programs (`fn main`, std, threads) built with the nightly toolchain
//! for `x86_64-unknown-hermit` and linked with the runtime into one PVH image.
//!
//! An app is a std app when its manifest says `[package.metadata.allstop] std = true`. Its image
//! is made in two steps:
//! 1. the runtime with its `std-app` feature, built by the pinned stable toolchain for the kernel
//!    target as a static library (still soft-float; it owns the PVH entry, the linker script and
//!    the `sys_*` functions std calls, and starts std's `runtime_entry`);
//! 2. the app, built by nightly for `x86_64-unknown-hermit` with `-Zbuild-std` (std for that
//!    target is not shipped prebuilt), linked by rust-lld with `allstop.ld` and that library.
//!
//! std and the app are built without a red zone (interrupts arrive on the running stack) and
//! with the static relocation model (the image runs where it is loaded).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::apps::{executables, KERNEL_TARGET};
use crate::child::{self, Echo};
use crate::workspace;

/// The target std apps are built for.
pub const STD_TARGET: &str = "x86_64-unknown-hermit";
/// The toolchain that builds them (`-Zbuild-std` needs nightly).
const NIGHTLY: &str = "nightly";
/// What installs it.
const INSTALL_NIGHTLY: &str =
    "rustup toolchain install nightly --profile minimal --component rust-src";
/// Flags for std and the app: the runtime's interrupt handlers run on the interrupted stack, so
/// no red zone; frame pointers for the panic handler's backtrace; a fixed load address.
const STD_RUSTFLAGS: &str =
    "-C relocation-model=static -C no-redzone=yes -C force-frame-pointers=yes";
/// Bound on quick queries.
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on installing the toolchain.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// The apps whose manifest marks them as std apps.
fn std_apps() -> Result<&'static BTreeSet<String>> {
    static APPS: OnceLock<BTreeSet<String>> = OnceLock::new();
    if let Some(apps) = APPS.get() {
        return Ok(apps);
    }
    let mut cmd = workspace::cargo();
    cmd.args(["metadata", "--format-version", "1", "--no-deps"]);
    let out = child::run(&mut cmd, workspace::CARGO_TIMEOUT, Echo::Stderr)?.success()?;
    let apps = marked_std(&out.stdout)?;
    Ok(APPS.get_or_init(|| apps))
}

/// The packages `cargo metadata` JSON marks with `metadata.allstop.std = true`.
fn marked_std(json: &str) -> Result<BTreeSet<String>> {
    let meta: serde_json::Value =
        serde_json::from_str(json).context("cargo metadata printed invalid JSON")?;
    let packages = meta["packages"]
        .as_array()
        .context("cargo metadata has no packages")?;
    Ok(packages
        .iter()
        .filter(|p| p["metadata"]["allstop"]["std"] == true)
        .filter_map(|p| p["name"].as_str().map(String::from))
        .collect())
}

/// Splits `apps` into std apps and kernel (`no_std`) apps.
pub fn partition<'a>(apps: &[&'a str]) -> Result<(Vec<&'a str>, Vec<&'a str>)> {
    let marked = std_apps()?;
    Ok(apps.iter().partition(|app| marked.contains(**app)))
}

/// Why std apps cannot be built here, if they cannot: nightly or its `rust-src` is missing
/// (xtask installs them with rustup first, when it can). `None` when both are in place.
pub fn toolchain_missing() -> Option<String> {
    if nightly_ready() {
        return None;
    }
    if !on_path("rustup") {
        return Some(format!(
            "std apps need the nightly toolchain with rust-src and rustup is not installed; \
             install rustup, then run: {INSTALL_NIGHTLY}"
        ));
    }
    eprintln!(
        "setup: std apps need the nightly toolchain with rust-src; running: {INSTALL_NIGHTLY}"
    );
    let mut cmd = Command::new("rustup");
    cmd.args(INSTALL_NIGHTLY.split(' ').skip(1))
        .current_dir(workspace::root());
    match child::run(&mut cmd, INSTALL_TIMEOUT, Echo::All).and_then(|f| f.success()) {
        Err(err) => Some(format!(
            "`{INSTALL_NIGHTLY}` failed ({err:#}); run it by hand"
        )),
        Ok(_) if !nightly_ready() => Some(format!(
            "`{INSTALL_NIGHTLY}` ran but nightly or its rust-src is still missing"
        )),
        Ok(_) => None,
    }
}

/// Whether nightly and its `rust-src` are installed.
fn nightly_ready() -> bool {
    matches!(nightly_sysroot(), Ok(Some(sysroot)) if has_rust_src(&sysroot))
}

/// The nightly toolchain's sysroot; `None` when it is not installed.
fn nightly_sysroot() -> Result<Option<PathBuf>> {
    let mut cmd = Command::new("rustup");
    cmd.args(["run", NIGHTLY, "rustc", "--print", "sysroot"])
        .current_dir(workspace::root());
    let done = child::run(&mut cmd, QUERY_TIMEOUT, Echo::Nothing)?;
    Ok(done
        .status
        .is_some_and(|s| s.success())
        .then(|| PathBuf::from(done.stdout.trim())))
}

/// Whether a sysroot holds the standard library's source (`-Zbuild-std` builds from it).
fn has_rust_src(sysroot: &Path) -> bool {
    sysroot
        .join("lib/rustlib/src/rust/library/std/Cargo.toml")
        .is_file()
}

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds the std `apps` (each linked with the runtime) and returns each app's image.
pub fn build(apps: &[&str], release: bool) -> Result<BTreeMap<String, PathBuf>> {
    if apps.is_empty() {
        return Ok(BTreeMap::new());
    }
    if let Some(why) = toolchain_missing() {
        bail!("{why}");
    }
    let runtime = runtime_library(release)?;
    let mut images = BTreeMap::new();
    for app in apps {
        images.extend(build_app(app, &runtime, release)?);
    }
    Ok(images)
}

/// Builds the runtime half of std images and returns a copy of it whose name holds a hash of
/// its contents: the apps link it through a flag only their own crate sees, so a changed
/// runtime relinks them without rebuilding std.
fn runtime_library(release: bool) -> Result<PathBuf> {
    let mut cmd = workspace::cargo();
    cmd.args([
        "rustc",
        "--package",
        "allstop-runtime",
        "--lib",
        "--features",
        "std-app",
        "--crate-type",
        "staticlib",
        "--target",
        KERNEL_TARGET,
        "--message-format=json-render-diagnostics",
    ]);
    if release {
        cmd.arg("--release");
    }
    let done = child::run(&mut cmd, workspace::CARGO_TIMEOUT, Echo::Stderr)?
        .success()
        .context("building the runtime for std apps failed")?;
    let built = static_library(&done.stdout)?;
    let bytes =
        std::fs::read(&built).with_context(|| format!("cannot read {}", built.display()))?;
    let mut hasher = DefaultHasher::new();
    hasher.write(&bytes);
    let copy = built.with_file_name(format!("liballstop-std-{:016x}.a", hasher.finish()));
    if !copy.is_file() {
        std::fs::write(&copy, &bytes)
            .with_context(|| format!("cannot write {}", copy.display()))?;
    }
    Ok(copy)
}

/// The static library the runtime's compiler artifact names in cargo's JSON messages.
fn static_library(messages: &str) -> Result<PathBuf> {
    for line in messages.lines().filter(|l| l.starts_with('{')) {
        let msg: serde_json::Value =
            serde_json::from_str(line).context("cargo printed an invalid JSON message")?;
        if msg["reason"] != "compiler-artifact" || msg["target"]["name"] != "allstop" {
            continue;
        }
        let files = msg["filenames"].as_array().into_iter().flatten();
        if let Some(lib) = files.filter_map(|f| f.as_str()).find(|f| f.ends_with(".a")) {
            return Ok(PathBuf::from(lib));
        }
    }
    bail!("cargo built no static library of the runtime")
}

/// Builds one std app with nightly, linked with `runtime`; returns its image.
fn build_app(app: &str, runtime: &Path, release: bool) -> Result<BTreeMap<String, PathBuf>> {
    let script = workspace::root().join("runtime/allstop.ld");
    let mut cmd = Command::new("rustup");
    cmd.current_dir(workspace::root())
        .args([
            "run",
            NIGHTLY,
            "cargo",
            "rustc",
            "--package",
            app,
            "--bin",
            app,
        ])
        .args(["--target", STD_TARGET, "-Zbuild-std=std,panic_abort"])
        .arg("-Zbuild-std-features=compiler-builtins-mem")
        .arg("--message-format=json-render-diagnostics");
    if release {
        cmd.arg("--release");
    }
    cmd.arg("--")
        .arg(format!("-Clink-arg=-T{}", script.display()))
        .arg(format!("-Clink-arg={}", runtime.display()));
    // The pinned stable toolchain's settings must not leak into the nightly build.
    for var in [
        "RUSTUP_TOOLCHAIN",
        "RUSTC",
        "RUSTDOC",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(
        "CARGO_TARGET_X86_64_UNKNOWN_HERMIT_RUSTFLAGS",
        STD_RUSTFLAGS,
    );
    let done = child::run(&mut cmd, workspace::CARGO_TIMEOUT, Echo::Stderr)?
        .success()
        .with_context(|| format!("building std app {app} with {NIGHTLY} failed"))?;
    executables(&done.stdout, &[app])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_packages_marked_std_are_std_apps() {
        let json = r#"{"packages":[
            {"name":"std-hello","metadata":{"allstop":{"std":true}}},
            {"name":"hello","metadata":null},
            {"name":"odd","metadata":{"allstop":{"std":"yes"}}},
            {"name":"other","metadata":{"allstop":{"std":false}}}
        ]}"#;
        let apps = marked_std(json).unwrap();
        assert_eq!(apps.into_iter().collect::<Vec<_>>(), ["std-hello"]);
        assert!(marked_std("{}").is_err());
    }

    #[test]
    fn the_workspace_std_apps_are_marked() {
        let (std_apps, kernel_apps) = partition(&["hello", "std-hello"]).unwrap();
        assert_eq!((std_apps, kernel_apps), (vec!["std-hello"], vec!["hello"]));
    }

    #[test]
    fn the_static_library_comes_from_the_runtime_artifact() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"stop"},"filenames":["/t/libstop.rlib"]}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"allstop"},"filenames":["/t/liballstop.a"]}"#,
            "\n"
        );
        assert_eq!(
            static_library(messages).unwrap(),
            PathBuf::from("/t/liballstop.a")
        );
        assert!(static_library("").is_err());
    }
}
