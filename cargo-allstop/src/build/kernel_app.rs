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
    executables(&done.stdout, apps)
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
