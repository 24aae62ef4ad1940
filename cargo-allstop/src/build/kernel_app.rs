//! Kernel apps: the target they are built for and finding what cargo built.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

/// The Rust target kernel apps are built for.
pub const KERNEL_TARGET: &str = "x86_64-unknown-none";

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
