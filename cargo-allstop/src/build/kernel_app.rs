//! Kernel (`no_std`) apps: the target they are built for, building them, and finding what cargo
//! built.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::build::kernel_config;
use crate::host::child::{self, Echo};
use crate::host::workspace;

/// The Rust target kernel apps are built for.
pub const KERNEL_TARGET: &str = "x86_64-unknown-none";

/// Builds the kernel app packages `apps` of the project in one cargo invocation and returns
/// each app's ELF.
pub fn build(apps: &[&str], release: bool) -> Result<BTreeMap<String, PathBuf>> {
    if apps.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut cmd = workspace::cargo();
    cmd.args(["build", "--target", KERNEL_TARGET]);
    cmd.arg("--message-format=json-render-diagnostics");
    if release {
        cmd.arg("--release");
    }
    for app in apps {
        cmd.args(["--package", app]);
    }
    kernel_config::apply(&mut cmd);
    let done = child::run(&mut cmd, workspace::CARGO_TIMEOUT, Echo::Stderr)?;
    let done = done
        .success()
        .with_context(|| format!("building {} failed", apps.join(", ")))?;
    for package in unoptimised(&done.stdout)? {
        eprintln!(
            "warning: {package} was built at opt-level 0: under TCG its stop handlers can miss \
             the stop path's 1 ms deadline; add `[profile.dev.package.{package}] opt-level = 1` \
             to the workspace's Cargo.toml (`cargo allstop new` writes it)"
        );
    }
    executables(&done.stdout, apps)
}

/// The packages of [`kernel_config::OPTIMISED_PACKAGES`] that cargo's JSON messages show built
/// at opt-level 0.
pub fn unoptimised(messages: &str) -> Result<Vec<&'static str>> {
    let mut found = Vec::new();
    for line in messages.lines().filter(|l| l.starts_with('{')) {
        let msg: serde_json::Value =
            serde_json::from_str(line).context("cargo printed an invalid JSON message")?;
        // A build script is a host program, built at opt-level 0 whatever the profile says.
        let build_script = msg["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "custom-build"));
        if msg["reason"] != "compiler-artifact"
            || msg["profile"]["opt_level"] != "0"
            || build_script
        {
            continue;
        }
        let id = msg["package_id"].as_str().unwrap_or_default();
        for package in kernel_config::OPTIMISED_PACKAGES {
            // `path+file:///…/runtime#allstop-runtime@0.1.0`, `…/allstop-runtime#0.1.0` when the
            // directory has the package's name, or before cargo 1.77
            // `allstop-runtime 0.1.0 (path+file:///…)`.
            let named = id.contains(&format!("#{package}@"))
                || id.contains(&format!("/{package}#"))
                || id.starts_with(&format!("{package} "));
            if named && !found.contains(package) {
                found.push(*package);
            }
        }
    }
    Ok(found)
}

/// Finds, in cargo's JSON messages, the executable each of `apps` produced.
pub fn executables(messages: &str, apps: &[&str]) -> Result<BTreeMap<String, PathBuf>> {
    let mut found = BTreeMap::new();
    for line in messages.lines().filter(|l| l.starts_with('{')) {
        let msg: serde_json::Value =
            serde_json::from_str(line).context("cargo printed an invalid JSON message")?;
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let (Some(name), Some(exe)) = (msg["target"]["name"].as_str(), msg["executable"].as_str())
        else {
            continue;
        };
        if apps.contains(&name) {
            found.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    if let Some(missing) = apps.iter().find(|app| !found.contains_key(**app)) {
        bail!("cargo built no executable for app '{missing}' (does it have a bin named so?)");
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_and_stop_core_at_opt_level_0_are_found() {
        let artifact = |id: &str, opt: &str| {
            format!(
                r#"{{"reason":"compiler-artifact","package_id":"{id}","profile":{{"opt_level":"{opt}"}}}}"#
            ) + "\n"
        };
        let messages = artifact("path+file:///r/runtime#allstop-runtime@0.1.0", "0")
            + &artifact("path+file:///r/stop#allstop-stop@0.1.0", "1")
            + &artifact("registry+https://x#spin@0.10.0", "0")
            + &artifact("allstop-stop 0.1.0 (path+file:///r/stop)", "0")
            + &artifact("path+file:///c/allstop-stop#0.1.0", "0")
            + &artifact("path+file:///c/allstop-runtime-fork#0.1.0", "0");
        assert_eq!(
            unoptimised(&messages).unwrap(),
            ["allstop-runtime", "allstop-stop"]
        );
        let optimised = artifact("path+file:///r/runtime#allstop-runtime@0.1.0", "1");
        assert!(unoptimised(&optimised).unwrap().is_empty());
    }

    /// The runtime's build script is a host program cargo builds at opt-level 0 in every
    /// profile: not the runtime's code.
    #[test]
    fn a_build_script_at_opt_level_0_is_not_the_runtime() {
        let build_script = r#"{"reason":"compiler-artifact","package_id":"path+file:///r/runtime#allstop-runtime@0.1.0","target":{"kind":["custom-build"]},"profile":{"opt_level":"0"}}"#;
        assert!(unoptimised(build_script).unwrap().is_empty());
    }

    #[test]
    fn executables_come_from_compiler_artifacts() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"allstop","kind":["lib"]},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"hello","kind":["bin"]},"executable":"/t/x86_64-unknown-none/debug/hello"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\n"
        );
        let found = executables(messages, &["hello"]).unwrap();
        assert_eq!(
            found["hello"],
            PathBuf::from("/t/x86_64-unknown-none/debug/hello")
        );
        let err = executables(messages, &["hello", "hang"]).unwrap_err();
        assert!(err.to_string().contains("'hang'"), "{err}");
    }
}
