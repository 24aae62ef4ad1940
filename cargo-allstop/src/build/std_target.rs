//! The target std apps are built for: the nightly's own `x86_64-unknown-hermit`, made soft-float
//! the way its `x86_64-unknown-none` (the kernel's target) is, and written as a target spec file.
//!
//! Why soft-float: the runtime is soft-float, so nothing in std apps needs SSE, and code without
//! SSE also runs where a hypervisor interprets guest instructions with an emulator that has
//! almost none of them: a KVM without vmx/svm (`kvm_pvm`) runs every instruction of a guest
//! through KVM's emulator, and a hard-float std stops there at its first `xorps` with `KVM
//! internal error … emulation failure`. The price: float arithmetic in apps is done in software.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::host::workspace;

/// The name of the target (and of its spec file and output directory).
pub const NAME: &str = "x86_64-allstop-hermit";
/// The variable through which cargo takes rustflags for that target.
pub const RUSTFLAGS_VAR: &str = "CARGO_TARGET_X86_64_ALLSTOP_HERMIT_RUSTFLAGS";
/// The Hermit target it is made from, and the soft-float target it takes its settings from.
const HERMIT: &str = "x86_64-unknown-hermit";
const SOFT_FLOAT: &str = "x86_64-unknown-none";

/// Writes the spec of [`NAME`] for the nightly that `spec_of` asks (it prints a built-in
/// target's spec as JSON) under `target/std-target/`, rewriting it only when it changes (cargo
/// rebuilds std when it does); returns its path. Not under `target/std-hermit/`: preparing a
/// patched std replaces that whole directory.
pub fn write_spec(spec_of: impl Fn(&str) -> Result<String>) -> Result<PathBuf> {
    let parse = |target: &str| -> Result<Value> {
        serde_json::from_str(&spec_of(target)?)
            .with_context(|| format!("the nightly printed an invalid target spec for {target}"))
    };
    let spec = soft_float(parse(HERMIT)?, &parse(SOFT_FLOAT)?)?;
    let text = serde_json::to_string_pretty(&spec)? + "\n";
    let dir = workspace::target_dir()?.join("std-target");
    let path = dir.join(format!("{NAME}.json"));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(path)
}

/// `hermit` with the float settings of `soft`: its `features` (the SSE ones off, soft-float on)
/// ahead of Hermit's own, and its `rustc-abi`.
fn soft_float(mut hermit: Value, soft: &Value) -> Result<Value> {
    let Some(soft_features) = soft["features"].as_str() else {
        bail!("the {SOFT_FLOAT} spec names no features");
    };
    let Some(abi) = soft.get("rustc-abi") else {
        bail!("the {SOFT_FLOAT} spec names no rustc-abi");
    };
    let features = match hermit["features"].as_str() {
        Some(own) if !own.is_empty() => format!("{soft_features},{own}"),
        _ => soft_features.to_string(),
    };
    hermit["features"] = Value::from(features);
    hermit["rustc-abi"] = abi.clone();
    hermit["metadata"]["description"] = Value::from("x86_64 Hermit, soft-float (allstop)");
    Ok(hermit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn takes_the_float_settings_of_the_soft_float_target() {
        let hermit = json!({"os": "hermit", "features": "+rdrand,+rdseed", "metadata": {}});
        let none = json!({"features": "-sse,-sse2,+soft-float", "rustc-abi": "softfloat"});
        let spec = soft_float(hermit, &none).unwrap();
        assert_eq!(spec["os"], "hermit");
        assert_eq!(spec["features"], "-sse,-sse2,+soft-float,+rdrand,+rdseed");
        assert_eq!(spec["rustc-abi"], "softfloat");
        let no_abi = json!({"features": "+soft-float"});
        let err = soft_float(json!({}), &no_abi).unwrap_err().to_string();
        assert!(err.contains("rustc-abi"), "{err}");
    }

    #[test]
    fn rustflags_variable_matches_the_name() {
        let var = format!(
            "CARGO_TARGET_{}_RUSTFLAGS",
            NAME.to_ascii_uppercase().replace('-', "_")
        );
        assert_eq!(RUSTFLAGS_VAR, var);
    }
}
