//! Where `-Zbuild-std` takes the standard library's sources from when xtask builds std apps.
//!
//! Normally that is the nightly's own `rust-src`. But a nightly's std may name Hermit ABI items
//! (`c::NAME`, where `c` is the `hermit_abi` crate) that no `hermit-abi` release on crates.io
//! defines yet; std then does not compile for `x86_64-unknown-hermit` at all. Seen with
//! `rustc 1.101.0-nightly (2026-10-28)`: its socket code uses `IPV6_UNICAST_HOPS` and
//! `IPV6_MULTICAST_HOPS`, and the `hermit-abi 0.5.3` its `Cargo.lock` pins has neither. A
//! `[patch]` in our workspace does not reach `-Zbuild-std`'s dependencies, so when a build fails
//! only for such items, and xtask knows a value for each ([`ADDED_ITEMS`]), it prepares a copy of
//! the nightly's `library/` whose workspace patches `hermit-abi` with a copy of the pinned
//! release plus those items, and builds std from it. The copy lives under
//! `target/std-hermit/<nightly commit>/` and is reused until the nightly changes.
//!
//! Cargo takes build-std's sources from the sysroot unless `__CARGO_TESTS_ONLY_SRC_ROOT` names
//! another `library/` directory. That variable is cargo's own (its test suite uses it), the only
//! way to point build-std elsewhere without copying the whole toolchain; if a cargo stops
//! honouring it, the patched build fails with the same missing items and xtask reports that as a
//! broken std, naming the nightly.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::host::workspace;

/// Hermit ABI items that some nightlies' std needs before `hermit-abi` on crates.io has them,
/// each with the declaration added to the copy of that crate. The values are Linux's
/// (`<linux/in6.h>`): allstop answers every socket call with `-ENOSYS`, so they only need to be
/// distinct from the crate's other `IPV6_*` options (12, 13, 19 and 27 in 0.5.3).
pub const ADDED_ITEMS: &[(&str, &str)] = &[
    (
        "IPV6_UNICAST_HOPS",
        "pub const IPV6_UNICAST_HOPS: i32 = 16;",
    ),
    (
        "IPV6_MULTICAST_HOPS",
        "pub const IPV6_MULTICAST_HOPS: i32 = 18;",
    ),
];

/// Cargo's variable that names the `library/` directory build-std compiles.
const SRC_ROOT_VAR: &str = "__CARGO_TESTS_ONLY_SRC_ROOT";
/// Written last into a prepared copy: its presence means the copy is complete. It lists the
/// items that were added, one a line.
const PREPARED_MARKER: &str = "allstop-prepared";

/// The nightly toolchain that builds std apps, as far as std's sources are concerned.
pub struct Nightly {
    /// The rustup toolchain name (`nightly`, or what `ALLSTOP_NIGHTLY` says).
    pub toolchain: String,
    /// What `rustc --version` prints, for messages.
    pub version: String,
    /// The compiler's commit hash: a prepared copy belongs to exactly one nightly.
    pub commit: String,
    /// The toolchain's sysroot.
    pub sysroot: PathBuf,
}

impl Nightly {
    /// The shipped standard library sources (`rust-src`).
    pub fn shipped_library(&self) -> PathBuf {
        self.sysroot.join("lib/rustlib/src/rust/library")
    }

    /// The directory that holds this nightly's prepared copy.
    fn prepared_dir(&self) -> Result<PathBuf> {
        Ok(workspace::target_dir()?
            .join("std-hermit")
            .join(&self.commit))
    }
}

/// Where build-std takes std's sources from.
#[derive(Debug, PartialEq)]
pub enum StdSource {
    /// The nightly's own `rust-src`.
    Shipped,
    /// A prepared copy of `library/` (its path) with `hermit-abi` patched to add `items`.
    Patched {
        /// The copy's `library/` directory.
        library: PathBuf,
        /// The items added to `hermit-abi`.
        items: Vec<String>,
    },
}

impl StdSource {
    /// The copy prepared earlier for this nightly, if there is a complete one; else the shipped
    /// sources.
    pub fn for_nightly(nightly: &Nightly) -> Result<Self> {
        let dir = nightly.prepared_dir()?;
        match fs::read_to_string(dir.join(PREPARED_MARKER)) {
            Ok(items) => Ok(Self::Patched {
                library: dir.join("library"),
                items: items.lines().map(String::from).collect(),
            }),
            Err(_) => Ok(Self::Shipped),
        }
    }

    /// Points a cargo command at these sources.
    pub fn apply(&self, cmd: &mut Command) {
        match self {
            Self::Shipped => cmd.env_remove(SRC_ROOT_VAR),
            Self::Patched { library, .. } => cmd.env(SRC_ROOT_VAR, library),
        };
    }

    /// The `library/` directory build-std compiles.
    pub fn library(&self, nightly: &Nightly) -> PathBuf {
        match self {
            Self::Shipped => nightly.shipped_library(),
            Self::Patched { library, .. } => library.clone(),
        }
    }

    /// The one `setup:` line that says which sources are used and why (`None` for the shipped
    /// ones, which need no word).
    pub fn setup_line(&self, nightly: &Nightly) -> Option<String> {
        let Self::Patched { library, items } = self else {
            return None;
        };
        Some(format!(
            "setup: building std for std apps from {}: the std of {} uses hermit-abi items that \
             hermit-abi on crates.io lacks ({}), so that copy of its library patches hermit-abi \
             with them",
            library.display(),
            nightly.version,
            items.join(", ")
        ))
    }
}

/// What a failed std-app build says about std's sources.
#[derive(Debug, PartialEq)]
pub enum Diagnosis {
    /// Every error is in std and names a Hermit ABI item in [`ADDED_ITEMS`] (these, sorted).
    MissingHermitItems(Vec<&'static str>),
    /// std itself does not compile: the first error in std, briefly.
    StdBroken(String),
    /// No error is in std: the app (or one of its dependencies) failed.
    NotStd,
}

/// Reads cargo's JSON messages (`--message-format=json`) of a failed build whose std sources
/// are in `library`.
pub fn diagnose(messages: &str, library: &Path) -> Diagnosis {
    let mut missing = BTreeSet::new();
    let mut first_other = None;
    for msg in compiler_messages(messages) {
        let message = &msg["message"];
        if message["level"] != "error" {
            continue;
        }
        let Some((file, line)) = primary_span(message) else {
            continue;
        };
        let Ok(in_library) = Path::new(file).strip_prefix(library) else {
            continue;
        };
        let text = message["message"].as_str().unwrap_or_default();
        match missing_hermit_item(text).and_then(known_item) {
            Some(item) => {
                missing.insert(item);
            }
            None => {
                first_other.get_or_insert_with(|| {
                    let code = message["code"]["code"].as_str().unwrap_or("error");
                    format!("{code}: {text} (at {}:{line})", in_library.display())
                });
            }
        }
    }
    match (first_other, missing.is_empty()) {
        (Some(first), _) => Diagnosis::StdBroken(first),
        (None, false) => Diagnosis::MissingHermitItems(missing.into_iter().collect()),
        (None, true) => Diagnosis::NotStd,
    }
}

/// The rendered diagnostics in cargo's JSON messages whose primary span is outside `library`
/// (the app's own warnings and errors; std's are summarised by [`diagnose`]), less rustc's
/// closing notes ("For more information about this error, …").
pub fn rendered_outside(messages: &str, library: &Path) -> String {
    compiler_messages(messages)
        .filter(|msg| msg["message"]["level"] != "failure-note")
        .filter(|msg| {
            primary_span(&msg["message"])
                .is_none_or(|(file, _)| !Path::new(file).starts_with(library))
        })
        .filter_map(|msg| msg["message"]["rendered"].as_str().map(String::from))
        .collect()
}

/// The `compiler-message` objects among cargo's JSON lines.
fn compiler_messages(messages: &str) -> impl Iterator<Item = serde_json::Value> + '_ {
    messages
        .lines()
        .filter(|line| line.starts_with('{'))
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-message")
}

/// The file and line of a diagnostic's primary span.
fn primary_span(message: &serde_json::Value) -> Option<(&str, u64)> {
    let span = message["spans"]
        .as_array()?
        .iter()
        .find(|span| span["is_primary"] == true)?;
    Some((span["file_name"].as_str()?, span["line_start"].as_u64()?))
}

/// The name in rustc's "cannot find value `NAME` in crate `c`" (std imports `hermit_abi` as
/// `c`; rustc says "module" when it reaches it through a re-export).
fn missing_hermit_item(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("cannot find ")?;
    let (_, rest) = rest.split_once('`')?;
    let (name, place) = rest.split_once('`')?;
    matches!(place, " in crate `c`" | " in module `c`").then_some(name)
}

/// `name` as it stands in [`ADDED_ITEMS`].
fn known_item(name: &str) -> Option<&'static str> {
    ADDED_ITEMS
        .iter()
        .map(|(item, _)| *item)
        .find(|item| *item == name)
}

/// Prepares this nightly's patched copy of std's sources with `items` added to `hermit-abi`
/// (replacing any copy prepared for another nightly) and returns it.
pub fn prepare(nightly: &Nightly, items: &[&str]) -> Result<StdSource> {
    let dir = nightly.prepared_dir()?;
    let parent = dir.parent().expect("the prepared directory has a parent");
    if parent.is_dir() {
        fs::remove_dir_all(parent)
            .with_context(|| format!("cannot remove old copies in {}", parent.display()))?;
    }
    let shipped = nightly.shipped_library();
    let library = dir.join("library");
    copy_tree(&shipped, &library)?;

    let lock = read(&shipped.join("Cargo.lock"))?;
    let version = locked_version(&lock, "hermit-abi")
        .context("the nightly's library/Cargo.lock pins no hermit-abi")?;
    let registry = registry_source("hermit-abi", &version)?;
    let abi = dir.join("hermit-abi");
    copy_tree(&registry, &abi)?;
    let lib_rs = abi.join("src/lib.rs");
    let declarations = added_declarations(items)?;
    write(&lib_rs, &format!("{}\n{declarations}", read(&lib_rs)?))?;

    let lock_path = library.join("Cargo.lock");
    write(&lock_path, &as_path_package(&lock, "hermit-abi"))?;
    let manifest = library.join("Cargo.toml");
    write(
        &manifest,
        &with_patch(
            &read(&manifest)?,
            "hermit-abi = { path = \"../hermit-abi\" }",
        ),
    )?;
    write(&dir.join(PREPARED_MARKER), &items.join("\n"))?;
    Ok(StdSource::Patched {
        library,
        items: items.iter().map(|item| item.to_string()).collect(),
    })
}

/// The declarations of `items` from [`ADDED_ITEMS`], one a line, with a comment saying where
/// they come from.
fn added_declarations(items: &[&str]) -> Result<String> {
    let mut out =
        String::from("// Added by allstop's xtask (cargo-allstop/src/build/std_source.rs).\n");
    for item in items {
        let Some((_, declaration)) = ADDED_ITEMS.iter().find(|(name, _)| name == item) else {
            bail!("xtask has no declaration of hermit-abi item {item}");
        };
        out.push_str(declaration);
        out.push('\n');
    }
    Ok(out)
}

/// `manifest` with `entry` as the first line of its `[patch.crates-io]` table (added at the end
/// when it has none).
fn with_patch(manifest: &str, entry: &str) -> String {
    let header = "[patch.crates-io]";
    match manifest.lines().position(|line| line.trim() == header) {
        Some(at) => {
            let mut lines: Vec<&str> = manifest.lines().collect();
            lines.insert(at + 1, entry);
            lines.join("\n") + "\n"
        }
        None => format!("{manifest}\n{header}\n{entry}\n"),
    }
}

/// `lock` with package `name` entered as a path package (no `source`, no `checksum`), as cargo
/// would write it for the patch: a lock that already matches keeps every later build of the
/// copy from updating the registry index (and so working offline).
fn as_path_package(lock: &str, name: &str) -> String {
    let wanted = format!("name = \"{name}\"");
    let mut inside = false;
    let mut out = String::new();
    for line in lock.lines() {
        if line.starts_with("name = ") {
            inside = line == wanted;
        }
        if inside && (line.starts_with("source = ") || line.starts_with("checksum = ")) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The version of package `name` in a `Cargo.lock` (the first, if it holds several).
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    lines.find(|line| line.trim() == wanted)?;
    let version = lines.next()?.trim().strip_prefix("version = \"")?;
    Some(version.strip_suffix('"')?.to_string())
}

/// Where cargo unpacked a crate from crates.io (`$CARGO_HOME/registry/src/<index>/<name>-<v>`):
/// the failed build that led here downloaded it.
fn registry_source(name: &str, version: &str) -> Result<PathBuf> {
    let home = match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".cargo"),
    };
    let indexes = home.join("registry/src");
    let wanted = format!("{name}-{version}");
    let entries = fs::read_dir(&indexes).with_context(|| {
        format!(
            "cannot read cargo's registry sources in {}",
            indexes.display()
        )
    })?;
    entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path().join(&wanted))
        .find(|dir| dir.join("Cargo.toml").is_file())
        .with_context(|| format!("{wanted} is not unpacked under {}", indexes.display()))
}

/// Copies the directory tree `from` to `to` (files and directories; symbolic links as links).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries = fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&source)?, &target)
                .with_context(|| format!("cannot link {}", target.display()))?;
        } else {
            fs::copy(&source, &target).with_context(|| {
                format!("cannot copy {} to {}", source.display(), target.display())
            })?;
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = "/sysroot/lib/rustlib/src/rust/library";

    /// One cargo JSON line for an error, as rustc 1.101 reports a missing hermit-abi item.
    fn error(code: &str, text: &str, file: &str) -> String {
        serde_json::json!({
            "reason": "compiler-message",
            "message": {
                "level": "error",
                "message": text,
                "code": {"code": code},
                "rendered": format!("error[{code}]: {text}\n"),
                "spans": [
                    {"file_name": "/elsewhere.rs", "line_start": 1, "is_primary": false},
                    {"file_name": file, "line_start": 567, "is_primary": true}
                ]
            }
        })
        .to_string()
    }

    fn socket_rs() -> String {
        format!("{LIB}/std/src/sys/net/connection/socket/mod.rs")
    }

    #[test]
    fn known_missing_hermit_items_in_std_ask_for_a_patched_copy() {
        let messages = [
            error("E0425", "cannot find value `IPV6_UNICAST_HOPS` in crate `c`", &socket_rs()),
            error("E0425", "cannot find value `IPV6_MULTICAST_HOPS` in crate `c`", &socket_rs()),
            error("E0425", "cannot find value `IPV6_UNICAST_HOPS` in crate `c`", &socket_rs()),
            r#"{"reason":"compiler-message","message":{"level":"failure-note","message":"For more information about this error, try `rustc --explain E0425`.","spans":[]}}"#.into(),
            r#"{"reason":"compiler-artifact","target":{"name":"core"}}"#.into(),
        ]
        .join("\n");
        assert_eq!(
            diagnose(&messages, Path::new(LIB)),
            Diagnosis::MissingHermitItems(vec!["IPV6_MULTICAST_HOPS", "IPV6_UNICAST_HOPS"])
        );
    }

    #[test]
    fn an_unknown_missing_item_or_another_std_error_is_a_broken_std() {
        let unknown = error(
            "E0425",
            "cannot find value `SO_NEW` in crate `c`",
            &socket_rs(),
        );
        let known = error(
            "E0425",
            "cannot find value `IPV6_UNICAST_HOPS` in crate `c`",
            &socket_rs(),
        );
        assert_eq!(
            diagnose(&format!("{known}\n{unknown}"), Path::new(LIB)),
            Diagnosis::StdBroken(
                "E0425: cannot find value `SO_NEW` in crate `c` \
                 (at std/src/sys/net/connection/socket/mod.rs:567)"
                    .into()
            )
        );
        let other = error(
            "E0308",
            "mismatched types",
            &format!("{LIB}/std/src/lib.rs"),
        );
        assert_eq!(
            diagnose(&other, Path::new(LIB)),
            Diagnosis::StdBroken("E0308: mismatched types (at std/src/lib.rs:567)".into())
        );
    }

    #[test]
    fn errors_outside_std_are_the_apps_and_are_shown_whole() {
        let app = error(
            "E0425",
            "cannot find value `x` in this scope",
            "apps/a/src/main.rs",
        );
        let std = error(
            "E0425",
            "cannot find value `IPV6_UNICAST_HOPS` in crate `c`",
            &socket_rs(),
        );
        let note = r#"{"reason":"compiler-message","message":{"level":"failure-note","message":"For more information","rendered":"For more information\n","spans":[]}}"#;
        let messages = format!("{app}\n{std}\n{note}");
        assert_eq!(
            diagnose(&app, Path::new(LIB)),
            Diagnosis::NotStd,
            "an app error is not std's"
        );
        assert_eq!(
            rendered_outside(&messages, Path::new(LIB)),
            "error[E0425]: cannot find value `x` in this scope\n"
        );
    }

    #[test]
    fn only_the_hermit_crate_c_counts_as_a_missing_hermit_item() {
        assert_eq!(
            missing_hermit_item("cannot find value `A` in crate `c`"),
            Some("A")
        );
        assert_eq!(
            missing_hermit_item("cannot find function `f` in module `c`"),
            Some("f")
        );
        assert_eq!(
            missing_hermit_item("cannot find value `A` in crate `libc`"),
            None
        );
        assert_eq!(missing_hermit_item("mismatched types"), None);
    }

    #[test]
    fn the_patch_goes_into_the_existing_patch_table() {
        let manifest = "[workspace]\nmembers = []\n\n[patch.crates-io]\nfoo = { path = 'foo' }\n";
        assert_eq!(
            with_patch(manifest, "hermit-abi = { path = \"../hermit-abi\" }"),
            "[workspace]\nmembers = []\n\n[patch.crates-io]\n\
             hermit-abi = { path = \"../hermit-abi\" }\nfoo = { path = 'foo' }\n"
        );
        assert_eq!(
            with_patch("[workspace]\n", "a = 1"),
            "[workspace]\n\n[patch.crates-io]\na = 1\n"
        );
    }

    #[test]
    fn the_locked_version_is_read_from_the_package_entry() {
        let lock = "[[package]]\nname = \"hashbrown\"\nversion = \"0.15.0\"\n\n\
                    [[package]]\nname = \"hermit-abi\"\nversion = \"0.5.3\"\nsource = \"registry\"\n";
        assert_eq!(locked_version(lock, "hermit-abi").as_deref(), Some("0.5.3"));
        assert_eq!(locked_version(lock, "libc"), None);
    }

    #[test]
    fn the_patched_package_is_locked_as_a_path_package() {
        let lock = "[[package]]\nname = \"hermit-abi\"\nversion = \"0.5.3\"\n\
                    source = \"registry+x\"\nchecksum = \"ab\"\ndependencies = [\n \"a\",\n]\n\n\
                    [[package]]\nname = \"libc\"\nversion = \"0.2.0\"\nsource = \"registry+x\"\n";
        assert_eq!(
            as_path_package(lock, "hermit-abi"),
            "[[package]]\nname = \"hermit-abi\"\nversion = \"0.5.3\"\n\
             dependencies = [\n \"a\",\n]\n\n\
             [[package]]\nname = \"libc\"\nversion = \"0.2.0\"\nsource = \"registry+x\"\n"
        );
    }

    #[test]
    fn every_added_item_is_declared_under_its_own_name() {
        for (name, declaration) in ADDED_ITEMS {
            assert!(
                declaration.starts_with(&format!("pub const {name}: i32 = ")),
                "{declaration}"
            );
        }
        let text = added_declarations(&["IPV6_MULTICAST_HOPS"]).unwrap();
        assert!(
            text.ends_with("pub const IPV6_MULTICAST_HOPS: i32 = 18;\n"),
            "{text}"
        );
        assert!(added_declarations(&["NOPE"]).is_err());
    }
}
