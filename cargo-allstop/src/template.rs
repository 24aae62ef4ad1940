//! `cargo allstop new`: a crate that builds and boots unchanged, a kernel (`no_std`) app or a std
//! app, with a test booted by `cargo test`.
//!
//! Its `Cargo.toml` takes the runtime by path (this repository's `runtime/`, where the runner
//! was built from, unless `--runtime` names another), pins the runtime's toolchain with a
//! `rust-toolchain.toml` (a crate outside this repository does not see the repository's), and a
//! kernel app gets a `.cargo/config.toml` with the kernel target, its flags and the runner
//! ([`kernel_config`]). A std app's names the runner in its std mode for the host's
//! executables: plain `cargo run` builds the app for the host (as any std program), and the
//! runner builds its allstop image and boots that; `cargo test` runs the tests on the host.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::build::kernel_config;

/// The runtime next to the runner's sources: this repository's `runtime/`.
pub const DEFAULT_RUNTIME: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../runtime");
/// The toolchain file of this repository, which the runtime is built and tested with.
const TOOLCHAIN_FILE: &str = include_str!("../../rust-toolchain.toml");
/// What `.cargo/config.toml` runs executables with.
pub const RUNNER: &str = "cargo-allstop runner";
/// What a std app's `.cargo/config.toml` runs its host executables with.
pub const STD_RUNNER: &str = "cargo-allstop runner --std";

/// The kind of app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A `no_std` app with `allstop::entry!`.
    Kernel,
    /// An ordinary std program, built for Hermit and linked with the runtime.
    Std,
}

/// Creates the crate `name` in directory `dir` (which must not exist), taking the runtime from
/// `runtime`; returns the files written.
pub fn create(dir: &Path, name: &str, kind: Kind, runtime: &Path) -> Result<Vec<PathBuf>> {
    if !valid_name(name) {
        bail!("'{name}' is not a package name (letters, digits, '-' and '_', not starting with a digit)");
    }
    if dir.exists() {
        bail!("{} exists already", dir.display());
    }
    let runtime = runtime
        .canonicalize()
        .with_context(|| format!("no runtime at {}", runtime.display()))?;
    if !runtime.join("Cargo.toml").is_file() {
        bail!(
            "{} holds no Cargo.toml (the runtime's package)",
            runtime.display()
        );
    }
    let runtime = kernel_config::toml_string(&runtime.to_string_lossy());
    let files = files(name, kind, &runtime);
    let mut written = Vec::new();
    for (path, text) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap_or(dir))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Whether cargo takes `name` as a package (and binary) name.
fn valid_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The files of the new crate (relative paths and contents); `runtime` is a TOML string.
fn files(name: &str, kind: Kind, runtime: &str) -> Vec<(&'static str, String)> {
    let profile = kernel_config::profile_toml();
    let package = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n"
    );
    let optimised = format!(
        "# The runtime's stop handlers at opt-level 0 can miss the stop path's 1 ms deadline\n\
         # under QEMU's TCG, where every instruction costs.\n{profile}"
    );
    let toolchain = ("rust-toolchain.toml", TOOLCHAIN_FILE.to_string());
    match kind {
        Kind::Kernel => vec![
            (
                "Cargo.toml",
                format!(
                    "{package}\n\
                     [dependencies]\n\
                     allstop = {{ package = \"allstop-runtime\", path = {runtime} }}\n\
                     \n\
                     # The app, a kernel image. `cargo test` boots each test in tests/ instead: no\n\
                     # unit-test harness exists for the kernel target.\n\
                     [[bin]]\nname = \"{name}\"\npath = \"src/main.rs\"\ntest = false\nbench = false\n\
                     \n\
                     # Each test is a whole app (harness = false), booted once by the runner: it\n\
                     # passes when it exits with status 0; a failed assertion panics (status 101).\n\
                     [[test]]\nname = \"boot\"\nharness = false\n\
                     \n\
                     {optimised}"
                ),
            ),
            (".cargo/config.toml", kernel_config::config_toml(RUNNER)),
            toolchain,
            (
                "src/main.rs",
                format!(
                    "//! An allstop app: greets, prints its arguments, exits with status 0.\n\
                     #![no_std]\n#![no_main]\n#![forbid(unsafe_code)]\n\
                     \n\
                     allstop::entry!(main);\n\
                     \n\
                     fn main() -> i32 {{\n    \
                         allstop::println!(\"Hello from {name}!\");\n    \
                         allstop::println!(\"args: \\\"{{}}\\\"\", allstop::app_args());\n    \
                         0\n\
                     }}\n"
                ),
            ),
            (
                "tests/boot.rs",
                "//! Booted by `cargo test`: passes by exiting with status 0.\n\
                 #![no_std]\n#![no_main]\n#![forbid(unsafe_code)]\n\
                 \n\
                 allstop::entry!(main);\n\
                 \n\
                 fn main() -> i32 {\n    \
                     let sum: u32 = (1..=10).sum();\n    \
                     assert_eq!(sum, 55);\n    \
                     allstop::println!(\"boot test: ok\");\n    \
                     0\n\
                 }\n"
                .to_string(),
            ),
        ],
        Kind::Std => vec![
            (
                "Cargo.toml",
                format!(
                    "{package}\n\
                     # A std app: `cargo run` (through the runner in .cargo/config.toml) and\n\
                     # `cargo allstop build|run` build it with nightly for Hermit and link it with\n\
                     # the runtime into one image.\n\
                     [package.metadata.allstop]\nstd = true\n\
                     \n\
                     # The runtime half of the image, which `cargo allstop` builds for the kernel\n\
                     # target as a static library; never part of the app's own build.\n\
                     [target.'cfg(target_os = \"none\")'.dependencies]\n\
                     allstop-runtime = {{ path = {runtime}, features = [\"std-app\"] }}\n\
                     \n\
                     {optimised}"
                ),
            ),
            (
                ".cargo/config.toml",
                format!(
                    "# Written by `cargo allstop new --std`. `cargo run` builds the app for the host,\n\
                     # as any std program, then the runner builds its allstop image (nightly, std\n\
                     # for Hermit, linked with the runtime) and boots that; `cargo test` runs the\n\
                     # tests on the host.\n\
                     [target.'cfg(not(target_os = \"none\"))']\n\
                     runner = \"{STD_RUNNER}\"\n"
                ),
            ),
            toolchain,
            (
                "src/main.rs",
                format!(
                    "//! A std app on allstop: greets, sums on a few threads, exits with status 0.\n\
                     \n\
                     fn main() {{\n    \
                         println!(\"Hello from {name} (std)!\");\n    \
                         let threads: Vec<_> = (1..=4u64)\n        \
                             .map(|i| std::thread::spawn(move || i * i))\n        \
                             .collect();\n    \
                         let sum: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();\n    \
                         println!(\"sum of squares: {{sum}}\");\n\
                     }}\n"
                ),
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_are_checked() {
        for good in ["hello", "my-app", "_x1"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "1app", "a b", "a/b", "ä"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_kernel_app_has_its_config_toolchain_and_test() {
        let files = files("hi", Kind::Kernel, "\"/r\"");
        let names: Vec<&str> = files.iter().map(|(path, _)| *path).collect();
        assert_eq!(
            names,
            [
                "Cargo.toml",
                ".cargo/config.toml",
                "rust-toolchain.toml",
                "src/main.rs",
                "tests/boot.rs"
            ]
        );
        let manifest = &files[0].1;
        assert!(manifest.contains("allstop = { package = \"allstop-runtime\", path = \"/r\" }"));
        assert!(manifest.contains("[profile.dev.package.allstop-runtime]\nopt-level = 1\n"));
        assert!(files[1].1.contains(RUNNER));
        assert!(files[3].1.contains("Hello from hi!"));
    }

    #[test]
    fn a_std_app_is_marked_and_takes_the_runtime_only_for_the_kernel_target() {
        let files = files("s", Kind::Std, "\"/r\"");
        let manifest = &files[0].1;
        assert!(manifest.contains("[package.metadata.allstop]\nstd = true\n"));
        assert!(manifest.contains(
            "[target.'cfg(target_os = \"none\")'.dependencies]\n\
             allstop-runtime = { path = \"/r\", features = [\"std-app\"] }\n"
        ));
        let config = files.iter().find(|(path, _)| *path == ".cargo/config.toml");
        let config = &config.expect("a std app has a config").1;
        assert!(config.contains(
            "[target.'cfg(not(target_os = \"none\"))']\nrunner = \"cargo-allstop runner --std\"\n"
        ));
    }
}
