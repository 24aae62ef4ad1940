//! This repository's apps: discovery (`apps/<name>/Cargo.toml`); building them is the runner's
//! (`cargo_allstop::build::image`).

use anyhow::{bail, Context, Result};

use crate::host::workspace;

pub(crate) use cargo_allstop::build::image::build;

/// The known apps: directories under `apps/` that hold a `Cargo.toml`, sorted by name.
pub fn known() -> Result<Vec<String>> {
    let dir = workspace::root().join("apps");
    let entries =
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut apps = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.path().join("Cargo.toml").is_file() {
            apps.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    apps.sort();
    Ok(apps)
}

/// Fails, naming the apps and the command to use, unless every one of `wanted` is known.
/// `command` is the subcommand the user ran (e.g. `run`), for the suggestion.
pub fn check_known<'a>(
    wanted: impl IntoIterator<Item = &'a str>,
    known: &[String],
    command: &str,
) -> Result<()> {
    for app in wanted {
        if !known.iter().any(|k| k == app) {
            bail!(
                "unknown app '{app}'; known apps: {}; use: cargo xtask {command} --app <NAME>",
                known.join(", ")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hello_app_is_known() {
        assert!(known().unwrap().contains(&"hello".to_string()));
    }

    #[test]
    fn unknown_apps_are_named_with_the_list_and_the_command() {
        let known = vec!["hang".to_string(), "hello".to_string()];
        assert!(check_known(["hello", "hang"], &known, "run").is_ok());
        let err = check_known(["hello", "nope"], &known, "run").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown app 'nope'; known apps: hang, hello; use: cargo xtask run --app <NAME>"
        );
    }
}
