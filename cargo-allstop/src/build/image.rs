//! Building apps into bootable images: std apps as [`std_app`] says, kernel apps as
//! [`kernel_app`] says.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;

use crate::build::{kernel_app, std_app};

/// Builds the packages `apps` of the project and returns each app's image (the executable named
/// like its package).
pub fn build(apps: &[&str], release: bool) -> Result<BTreeMap<String, PathBuf>> {
    let (std_apps, apps) = std_app::partition(apps)?;
    let mut images = std_app::build(&std_apps, release)?;
    images.extend(kernel_app::build(&apps, release)?);
    Ok(images)
}
