//! The project the tools work in (a cargo workspace: this repository for xtask, the user's
//! crate for `cargo allstop`), where cargo puts its output, and how to call cargo.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};

use crate::host::child::{self, Echo};

/// The longest any cargo invocation may take before it counts as hung (builds, test runs).
pub const CARGO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45 * 60);

/// The project root, once chosen.
static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Chooses the project root (a directory with the workspace's `Cargo.toml`); only before the
/// first [`root`], and only once.
pub fn set_root(dir: &Path) -> Result<()> {
    if ROOT.set(dir.to_path_buf()).is_err() && root() != dir {
        bail!("the project root is {} already", root().display());
    }
    Ok(())
}

/// The project root: what [`set_root`] chose, else the workspace of the current directory as
/// `cargo locate-project --workspace` finds it (the current directory if none).
pub fn root() -> &'static Path {
    ROOT.get_or_init(|| {
        let here = std::env::current_dir().unwrap_or_default();
        locate_workspace(&here).unwrap_or(here)
    })
}

/// The root directory of the cargo workspace `dir` lies in.
pub fn locate_workspace(dir: &Path) -> Result<PathBuf> {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["locate-project", "--workspace", "--message-format", "plain"])
        .current_dir(dir);
    let out = child::run(&mut cmd, CARGO_TIMEOUT, Echo::Stderr)?
        .success()
        .with_context(|| format!("{} is not in a cargo project", dir.display()))?;
    let manifest = PathBuf::from(out.stdout.trim());
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("cargo located a manifest without a directory")
}

/// A `cargo` command run from the project root, using the same cargo that started us.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// The workspace's target directory as cargo sees it (honours `CARGO_TARGET_DIR` and config).
pub fn target_dir() -> Result<&'static Path> {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    if let Some(dir) = DIR.get() {
        return Ok(dir);
    }
    let mut cmd = cargo();
    cmd.args(["metadata", "--format-version", "1", "--no-deps"]);
    let out = child::run(&mut cmd, CARGO_TIMEOUT, Echo::Stderr)?.success()?;
    let dir = target_dir_from_metadata(&out.stdout)?;
    Ok(DIR.get_or_init(|| dir))
}

/// Extracts `target_directory` from `cargo metadata` JSON.
fn target_dir_from_metadata(json: &str) -> Result<PathBuf> {
    let meta: serde_json::Value =
        serde_json::from_str(json).context("cargo metadata printed invalid JSON")?;
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }

    #[test]
    fn target_dir_is_read_from_metadata() {
        let json = r#"{"packages":[],"target_directory":"/tmp/t","version":1}"#;
        assert_eq!(
            target_dir_from_metadata(json).unwrap(),
            PathBuf::from("/tmp/t")
        );
        assert!(target_dir_from_metadata(r#"{"version":1}"#).is_err());
        assert!(target_dir_from_metadata("not json").is_err());
    }
}
