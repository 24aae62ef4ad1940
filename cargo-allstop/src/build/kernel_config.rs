//! The cargo settings every kernel image needs, in one place: what `cargo allstop` passes to
//! cargo itself, and what `cargo allstop new` writes into a new crate's `.cargo/config.toml` (so
//! plain `cargo build`, `cargo run` and `cargo test` work there too).
//!
//! Why flags at all: a dependency cannot give its dependents link arguments or codegen options,
//! so the runtime cannot carry them; its build script only puts `allstop.ld` on the linker
//! search path. Why an environment variable for `cargo allstop`: cargo joins `rustflags` arrays
//! from all config sources, so passing them with `--config` to a crate whose own config has them
//! would name the linker script twice; `CARGO_ENCODED_RUSTFLAGS` replaces the config's flags
//! instead, and since it holds the very same list, both ways build the same artifacts (no
//! rebuild between `cargo allstop build` and `cargo build`). With `--target`, it reaches only
//! the kernel's crates, not build scripts.

use std::path::Path;
use std::process::Command;

use crate::build::kernel_app::KERNEL_TARGET;

/// rustc flags of every crate of a kernel image: link with the runtime's linker script (its
/// build script puts `allstop.ld` on the search path); a fixed load address (the image runs
/// where it is loaded; the default PIE fails to link against the boot code); frame pointers,
/// which the panic handler's backtrace walks.
pub const RUSTFLAGS: &[&str] = &[
    "-C",
    "link-arg=-Tallstop.ld",
    "-C",
    "relocation-model=static",
    "-C",
    "force-frame-pointers=yes",
];

/// The packages built at `opt-level = 1` even in the dev profile: under TCG every instruction
/// costs, and unoptimised stop handlers can miss the stop path's 1 ms deadline.
pub const OPTIMISED_PACKAGES: &[&str] = &["allstop-runtime", "allstop-stop"];

/// Makes a cargo command build kernel crates with [`RUSTFLAGS`] (and nothing else).
pub fn apply(cmd: &mut Command) {
    cmd.env("CARGO_ENCODED_RUSTFLAGS", RUSTFLAGS.join("\x1f"))
        .env_remove("RUSTFLAGS");
}

/// `.cargo/config.toml` for a kernel app's crate: the kernel target by default, its flags, and
/// `runner` for `cargo run` and `cargo test`.
pub fn config_toml(runner: &str) -> String {
    let flags = RUSTFLAGS
        .iter()
        .map(|flag| format!("  \"{flag}\",\n"))
        .collect::<String>();
    format!(
        "# Written by `cargo allstop new`: the settings every allstop kernel image needs.\n\
         [build]\n\
         target = \"{KERNEL_TARGET}\"\n\
         \n\
         [target.{KERNEL_TARGET}]\n\
         # The runtime's build script puts `allstop.ld` on the linker search path; the image runs\n\
         # where it is loaded; the panic handler walks frame pointers for its backtrace.\n\
         rustflags = [\n{flags}]\n\
         # Boots each executable in QEMU: `cargo run` boots the app, `cargo test` each test.\n\
         runner = \"{runner}\"\n"
    )
}

/// A `--config` argument that makes cargo run kernel executables with `runner` (the runner's
/// binary) in its `runner` mode: for `cargo allstop test` in a crate without the config file. A
/// string, not an array, so that it replaces a config file's `runner` instead of being joined
/// with it; a path with white space (which cargo would split) falls back to the one on `PATH`.
pub fn runner_config(runner: &Path) -> String {
    let runner = runner.to_string_lossy();
    let runner = if runner.contains(char::is_whitespace) {
        "cargo-allstop"
    } else {
        &runner
    };
    format!(
        "target.{KERNEL_TARGET}.runner={}",
        toml_string(&format!("{runner} runner"))
    )
}

/// `text` as a TOML basic string, quotes included.
pub fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `[profile.dev.package.*]` tables for a new crate's `Cargo.toml` (see [`OPTIMISED_PACKAGES`]).
pub fn profile_toml() -> String {
    OPTIMISED_PACKAGES
        .iter()
        .map(|package| format!("[profile.dev.package.{package}]\nopt-level = 1\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags of a TOML array of strings on its own lines after `rustflags = [`.
    fn rustflags_in(toml: &str) -> Vec<String> {
        let start = toml.find("rustflags = [").expect("a rustflags array");
        let end = start + toml[start..].find(']').expect("the array ends");
        toml[start..end]
            .split('"')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    }

    #[test]
    fn this_repository_builds_its_apps_with_the_same_flags() {
        let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../.cargo/config.toml");
        let config = std::fs::read_to_string(config).unwrap();
        assert_eq!(rustflags_in(&config), RUSTFLAGS);
    }

    #[test]
    fn a_new_crate_gets_the_flags_the_target_and_the_runner() {
        let config = config_toml("cargo-allstop runner");
        assert_eq!(rustflags_in(&config), RUSTFLAGS);
        assert!(config.contains("[build]\ntarget = \"x86_64-unknown-none\"\n"));
        assert!(config.contains("[target.x86_64-unknown-none]\n"));
        assert!(config.ends_with("runner = \"cargo-allstop runner\"\n"));
    }

    #[test]
    fn the_runner_is_configured_as_one_string() {
        assert_eq!(
            runner_config(Path::new("/bin/cargo-allstop")),
            "target.x86_64-unknown-none.runner=\"/bin/cargo-allstop runner\""
        );
        assert_eq!(
            runner_config(Path::new("/my bin/cargo-allstop")),
            "target.x86_64-unknown-none.runner=\"cargo-allstop runner\""
        );
    }

    #[test]
    fn paths_are_quoted_for_toml() {
        assert_eq!(toml_string(r#"/a "b"\c"#), r#""/a \"b\"\\c""#);
    }

    #[test]
    fn the_encoded_flags_are_the_list() {
        let mut cmd = Command::new("true");
        apply(&mut cmd);
        let encoded = cmd
            .get_envs()
            .find(|(key, _)| *key == "CARGO_ENCODED_RUSTFLAGS")
            .and_then(|(_, value)| value)
            .unwrap();
        let flags: Vec<&str> = encoded.to_str().unwrap().split('\x1f').collect();
        assert_eq!(flags, RUSTFLAGS);
    }
}
