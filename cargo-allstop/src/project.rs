//! The crate `cargo allstop` works on: the package of the current directory (or the one
//! `--package` names), in its cargo workspace.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::host::child::{self, Echo};
use crate::host::workspace;

/// Makes the workspace of the current directory the project and returns the name of the app to
/// build: `package` if given, else the package whose manifest is nearest the current directory.
pub fn app(package: Option<&str>) -> Result<String> {
    let here = std::env::current_dir().context("cannot read the current directory")?;
    workspace::set_root(&workspace::locate_workspace(&here)?)?;
    if let Some(package) = package {
        return Ok(package.to_string());
    }
    let mut cmd = workspace::cargo();
    cmd.args(["locate-project", "--message-format", "plain"])
        .current_dir(&here);
    let manifest = PathBuf::from(
        child::run(&mut cmd, workspace::CARGO_TIMEOUT, Echo::Stderr)?
            .success()?
            .stdout
            .trim(),
    );
    let mut cmd = workspace::cargo();
    cmd.args(["metadata", "--format-version", "1", "--no-deps"]);
    let out = child::run(&mut cmd, workspace::CARGO_TIMEOUT, Echo::Stderr)?.success()?;
    package_at(&out.stdout, &manifest)
}

/// The name of the package whose manifest is `manifest`, in `cargo metadata` JSON.
fn package_at(json: &str, manifest: &Path) -> Result<String> {
    let meta: serde_json::Value =
        serde_json::from_str(json).context("cargo metadata printed invalid JSON")?;
    let packages = meta["packages"].as_array().into_iter().flatten();
    for package in packages {
        if package["manifest_path"].as_str().map(Path::new) == Some(manifest) {
            if let Some(name) = package["name"].as_str() {
                return Ok(name.to_string());
            }
        }
    }
    bail!(
        "{} is a virtual manifest; run in an app's directory or name it with --package",
        manifest.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_is_found_by_its_manifest() {
        let json = r#"{"packages":[
            {"name":"a","manifest_path":"/w/a/Cargo.toml"},
            {"name":"b","manifest_path":"/w/b/Cargo.toml"}
        ]}"#;
        assert_eq!(package_at(json, Path::new("/w/b/Cargo.toml")).unwrap(), "b");
        let err = package_at(json, Path::new("/w/Cargo.toml")).unwrap_err();
        assert!(err.to_string().contains("--package"), "{err}");
    }
}
