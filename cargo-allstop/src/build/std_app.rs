//! std apps: ordinary Rust programs (`fn main`, std, threads) built with the nightly toolchain
//! for Hermit (`x86_64-unknown-hermit`, made soft-float: [`std_target`]) and linked with the
//! runtime into one PVH image.
//!
//! An app is a std app when its manifest says `[package.metadata.allstop] std = true`. Its image
//! is made in two steps:
//! 1. the runtime with its `std-app` feature, built by the pinned stable toolchain for the kernel
//!    target as a static library (still soft-float; it owns the PVH entry, the linker script and
//!    the `sys_*` functions std calls, and starts std's `runtime_entry`);
//! 2. the app, built by nightly for [`std_target::NAME`] with `-Zbuild-std` (std for Hermit is
//!    not shipped prebuilt), linked by rust-lld with `allstop.ld` and that library.
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

use crate::build::kernel_app::{executables, KERNEL_TARGET};
use crate::build::std_source::{self, Diagnosis, Nightly, StdSource};
use crate::build::{kernel_config, std_target};
use crate::host::child::{self, Echo};
use crate::host::workspace;

/// The variable that names another rustup toolchain to build them with (default `nightly`).
pub const NIGHTLY_VAR: &str = "ALLSTOP_NIGHTLY";
/// Flags for std and the app: the runtime's interrupt handlers run on the interrupted stack, so
/// no red zone; frame pointers for the panic handler's backtrace; a fixed load address.
const STD_RUSTFLAGS: &str =
    "-C relocation-model=static -C no-redzone=yes -C force-frame-pointers=yes";
/// The runtime's package, which std apps are linked with.
const RUNTIME_PACKAGE: &str = "allstop-runtime";
/// The runtime's linker script, in its package directory.
const LINKER_SCRIPT: &str = "allstop.ld";
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

/// The rustup toolchain that builds std apps (`-Zbuild-std` needs a nightly): `nightly`, or the
/// one `ALLSTOP_NIGHTLY` names (say `nightly-2026-05-19`, when the newest nightly's std is broken
/// for Hermit).
pub fn nightly_toolchain() -> String {
    std::env::var(NIGHTLY_VAR).unwrap_or_else(|_| "nightly".into())
}

/// The command that installs the toolchain with `rust-src`.
fn install_command() -> String {
    format!(
        "rustup toolchain install {} --profile minimal --component rust-src",
        nightly_toolchain()
    )
}

/// Why std apps cannot be built here, if they cannot: nightly or its `rust-src` is missing
/// (xtask installs them with rustup first, when it can). `None` when both are in place.
pub fn toolchain_missing() -> Option<String> {
    if nightly_ready() {
        return None;
    }
    let install = install_command();
    if !on_path("rustup") {
        return Some(format!(
            "std apps need the nightly toolchain with rust-src and rustup is not installed; \
             install rustup, then run: {install}"
        ));
    }
    eprintln!("setup: std apps need the nightly toolchain with rust-src; running: {install}");
    let mut cmd = Command::new("rustup");
    cmd.args(install.split(' ').skip(1))
        .current_dir(workspace::root());
    match child::run(&mut cmd, INSTALL_TIMEOUT, Echo::All).and_then(|f| f.success()) {
        Err(err) => Some(format!("`{install}` failed ({err:#}); run it by hand")),
        Ok(_) if !nightly_ready() => Some(format!(
            "`{install}` ran but nightly or its rust-src is still missing"
        )),
        Ok(_) => None,
    }
}

/// Whether nightly and its `rust-src` are installed.
fn nightly_ready() -> bool {
    nightly().is_ok_and(|nightly| has_rust_src(&nightly.sysroot))
}

/// What the nightly's `rustc` prints for `args`; `None` when the toolchain is not installed.
fn nightly_query(args: &[&str]) -> Result<Option<String>> {
    let mut cmd = Command::new("rustup");
    cmd.args(["run", &nightly_toolchain(), "rustc"])
        .args(args)
        .current_dir(workspace::root());
    let done = child::run(&mut cmd, QUERY_TIMEOUT, Echo::Nothing)?;
    Ok(done
        .status
        .is_some_and(|s| s.success())
        .then(|| done.stdout.trim().to_string()))
}

/// The nightly's version, commit and sysroot.
fn nightly() -> Result<&'static Nightly> {
    static NIGHTLY: OnceLock<Nightly> = OnceLock::new();
    if let Some(nightly) = NIGHTLY.get() {
        return Ok(nightly);
    }
    let toolchain = nightly_toolchain();
    let missing = || anyhow::anyhow!("the {toolchain} toolchain is not installed");
    let verbose = nightly_query(&["-vV"])?.ok_or_else(missing)?;
    let sysroot = nightly_query(&["--print", "sysroot"])?.ok_or_else(missing)?;
    let field = |key: &str| {
        verbose
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .map(|value| value.trim().to_string())
    };
    let nightly = Nightly {
        version: verbose.lines().next().unwrap_or_default().to_string(),
        commit: field("commit-hash:").unwrap_or_else(|| "unknown".into()),
        sysroot: PathBuf::from(sysroot),
        toolchain,
    };
    Ok(NIGHTLY.get_or_init(|| nightly))
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
    let package = runtime_package()?;
    let runtime = runtime_library(release, package.member)?;
    let script = package.dir.join(LINKER_SCRIPT);
    let spec = target_spec()?;
    let mut images = BTreeMap::new();
    for app in apps {
        images.extend(build_app(app, &runtime, &script, &spec, release)?);
    }
    Ok(images)
}

/// The runtime package a project builds std apps with.
#[derive(Debug, PartialEq)]
struct RuntimePackage {
    /// Its directory (its `allstop.ld` links std apps): this repository's `runtime/`, or
    /// wherever a crate outside it takes the runtime from.
    dir: PathBuf,
    /// Whether it is a member of the project's workspace (as in this repository); cargo takes
    /// `--features` only for members, so elsewhere the app's dependency enables `std-app`.
    member: bool,
}

/// The runtime package of the project.
fn runtime_package() -> Result<RuntimePackage> {
    let mut cmd = workspace::cargo();
    cmd.args(["metadata", "--format-version", "1"]);
    let out = child::run(&mut cmd, workspace::CARGO_TIMEOUT, Echo::Stderr)?.success()?;
    package_named(&out.stdout, RUNTIME_PACKAGE)
}

/// The package `name` in `cargo metadata` JSON.
fn package_named(json: &str, name: &str) -> Result<RuntimePackage> {
    let meta: serde_json::Value =
        serde_json::from_str(json).context("cargo metadata printed invalid JSON")?;
    let packages = meta["packages"].as_array().into_iter().flatten();
    let package = packages
        .into_iter()
        .find(|p| p["name"] == name)
        .with_context(|| format!("the project does not depend on {name}"))?;
    let manifest = package["manifest_path"]
        .as_str()
        .with_context(|| format!("cargo metadata names no manifest of {name}"))?;
    let dir = Path::new(manifest)
        .parent()
        .map(Path::to_path_buf)
        .with_context(|| format!("{name}'s manifest path {manifest} has no directory"))?;
    let members = meta["workspace_members"].as_array().into_iter().flatten();
    let member = members.into_iter().any(|m| *m == package["id"]);
    Ok(RuntimePackage { dir, member })
}

/// Writes the spec of the target std apps are built for, from the nightly's own specs.
fn target_spec() -> Result<PathBuf> {
    let nightly = nightly()?;
    std_target::write_spec(|target| {
        nightly_query(&[
            "-Zunstable-options",
            "--print",
            "target-spec-json",
            "--target",
            target,
        ])?
        .with_context(|| format!("{} cannot print the spec of {target}", nightly.version))
    })
}

/// Builds the runtime half of std images and returns a copy of it whose name holds a hash of
/// its contents: the apps link it through a flag only their own crate sees, so a changed
/// runtime relinks them without rebuilding std.
fn runtime_library(release: bool, member: bool) -> Result<PathBuf> {
    let mut cmd = workspace::cargo();
    cmd.args(["rustc", "--package", RUNTIME_PACKAGE, "--lib"]);
    if member {
        cmd.args(["--features", "std-app"]);
    }
    cmd.args([
        "--crate-type",
        "staticlib",
        "--target",
        KERNEL_TARGET,
        "--message-format=json-render-diagnostics",
    ]);
    if release {
        cmd.arg("--release");
    }
    kernel_config::apply(&mut cmd);
    let done = child::run(&mut cmd, workspace::CARGO_TIMEOUT, Echo::Stderr)?
        .success()
        .context(
            "building the runtime for std apps failed (outside this repository, a std app \
             names it as `[target.'cfg(target_os = \"none\")'.dependencies]`, as \
             `cargo allstop new --std` writes)",
        )?;
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

/// Builds one std app with nightly for the target `spec`, linked with `runtime`; returns its
/// image. When std itself fails only for Hermit ABI items that xtask can add, builds it again
/// from a patched copy of std's sources (see [`std_source`]).
fn build_app(
    app: &str,
    runtime: &Path,
    script: &Path,
    spec: &Path,
    release: bool,
) -> Result<BTreeMap<String, PathBuf>> {
    let nightly = nightly()?;
    let mut source = StdSource::for_nightly(nightly)?;
    eprintln!(
        "build: std app {app} with {} (the first build compiles std for Hermit: about a minute)",
        nightly.toolchain
    );
    loop {
        announce(&source, nightly);
        let mut cmd = build_command(app, runtime, script, release, &nightly.toolchain, spec);
        source.apply(&mut cmd);
        let done = child::run(&mut cmd, workspace::CARGO_TIMEOUT, Echo::Stderr)?;
        let library = source.library(nightly);
        eprint!("{}", std_source::rendered_outside(&done.stdout, &library));
        let diagnosis = std_source::diagnose(&done.stdout, &library);
        let failed = match done.success() {
            Ok(done) => return executables(&done.stdout, &[app]),
            Err(err) => err,
        };
        match (diagnosis, &source) {
            (Diagnosis::MissingHermitItems(items), StdSource::Shipped) => {
                source = std_source::prepare(nightly, &items)?;
            }
            (Diagnosis::MissingHermitItems(items), StdSource::Patched { .. }) => bail!(
                "std for {} does not compile with {} even from the patched copy of its \
                 sources ({} still missing): this cargo may no longer honour the variable that \
                 points build-std at the copy; {}",
                std_target::NAME,
                nightly.version,
                items.join(", "),
                what_to_try()
            ),
            (Diagnosis::StdBroken(first), _) => bail!(
                "std for {} does not compile with {} (toolchain `{}`); first error: \
                 {first}; {}",
                std_target::NAME,
                nightly.version,
                nightly.toolchain,
                what_to_try()
            ),
            (Diagnosis::NotStd, _) => {
                return Err(failed).with_context(|| {
                    format!("building std app {app} with {} failed", nightly.toolchain)
                })
            }
        }
    }
}

/// Prints the `setup:` line of a patched source, once per xtask run.
fn announce(source: &StdSource, nightly: &Nightly) {
    static SAID: OnceLock<()> = OnceLock::new();
    if let Some(line) = source.setup_line(nightly) {
        if SAID.set(()).is_ok() {
            eprintln!("{line}");
        }
    }
}

/// What a user can do when std does not compile for Hermit with the nightly at hand.
fn what_to_try() -> String {
    format!(
        "try another nightly: `rustup toolchain install nightly-YYYY-MM-DD --profile minimal \
         --component rust-src`, then run again with {NIGHTLY_VAR}=nightly-YYYY-MM-DD; if std only \
         lacks a hermit-abi item, add it to ADDED_ITEMS in cargo-allstop/src/build/std_source.rs"
    )
}

/// The nightly `cargo rustc` that builds one std app with std for the target `spec`, linked
/// with `runtime` by the linker `script`.
fn build_command(
    app: &str,
    runtime: &Path,
    script: &Path,
    release: bool,
    toolchain: &str,
    spec: &Path,
) -> Command {
    let mut cmd = Command::new("rustup");
    cmd.current_dir(workspace::root())
        .args([
            "run",
            toolchain,
            "cargo",
            "rustc",
            "--package",
            app,
            "--bin",
            app,
        ])
        .arg("--target")
        .arg(spec)
        .args(["-Zjson-target-spec", "-Zbuild-std=std,panic_abort"])
        .arg("-Zbuild-std-features=compiler-builtins-mem")
        .arg("--message-format=json");
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
    cmd.env(std_target::RUSTFLAGS_VAR, STD_RUSTFLAGS);
    // core's own SIMD intrinsics enable `sse` per function, which a soft-float target warns
    // about as a future incompatibility (as for the kernel target); cargo's notice about it
    // after every std app says nothing about the app.
    cmd.env("CARGO_FUTURE_INCOMPAT_REPORT_FREQUENCY", "never");
    cmd
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
    fn the_runtime_package_comes_from_metadata() {
        let json = |members: &str| {
            format!(
                r#"{{"packages":[
                    {{"name":"spin","id":"s","manifest_path":"/c/spin/Cargo.toml"}},
                    {{"name":"allstop-runtime","id":"r","manifest_path":"/r/runtime/Cargo.toml"}}
                ],"workspace_members":[{members}]}}"#
            )
        };
        let dir = PathBuf::from("/r/runtime");
        assert_eq!(
            package_named(&json(r#""r","s""#), RUNTIME_PACKAGE).unwrap(),
            RuntimePackage {
                dir: dir.clone(),
                member: true
            }
        );
        assert_eq!(
            package_named(&json(r#""a""#), RUNTIME_PACKAGE).unwrap(),
            RuntimePackage { dir, member: false }
        );
        let err = package_named(&json(""), "nope").unwrap_err().to_string();
        assert!(err.contains("does not depend on nope"), "{err}");
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
