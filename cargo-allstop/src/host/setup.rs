//! Prerequisites: the kernel target and QEMU. Installed when xtask can (rustup; apt as root),
//! otherwise xtask prints exactly what to run and fails.

use std::io;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::build::kernel_app::KERNEL_TARGET;
use crate::host::child::{self, Echo};
use crate::host::workspace;
use crate::qemu::QEMU;

/// The oldest QEMU allstop is tested with; older ones get a warning.
const MIN_QEMU: (u32, u32) = (8, 0);
/// The Debian suite QEMU is installed from (bookworm itself ships 7.2).
const BACKPORTS: &str = "bookworm-backports";
/// The Debian package that holds `qemu-system-x86_64`.
const QEMU_PACKAGE: &str = "qemu-system-x86";
/// The system's deb822 source list; its first stanza is the model for the backports one.
const DEBIAN_SOURCES: &str = "/etc/apt/sources.list.d/debian.sources";
/// Where the backports source list is written.
const BACKPORTS_SOURCES: &str = "/etc/apt/sources.list.d/bookworm-backports.sources";
/// Bound on quick queries (`--version`, `--print sysroot`).
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on installs (rustup, apt-get).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// Makes sure the `x86_64-unknown-none` Rust target is installed, adding it with rustup if not.
pub fn kernel_target() -> Result<()> {
    if kernel_target_installed()? {
        return Ok(());
    }
    let fix = format!("rustup target add {KERNEL_TARGET}");
    if !on_path("rustup") {
        bail!("the Rust target {KERNEL_TARGET} is missing and rustup is not installed; install it with: {fix}");
    }
    eprintln!("setup: the Rust target {KERNEL_TARGET} is missing; running: {fix}");
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", KERNEL_TARGET])
        .current_dir(workspace::root());
    child::run(&mut cmd, INSTALL_TIMEOUT, Echo::All)?
        .success()
        .with_context(|| format!("`{fix}` failed"))?;
    if !kernel_target_installed()? {
        bail!("`{fix}` ran but the target is still missing");
    }
    Ok(())
}

/// Whether the active toolchain's sysroot has the kernel target's standard library.
fn kernel_target_installed() -> Result<bool> {
    let mut cmd = Command::new("rustc");
    cmd.args(["--print", "sysroot"])
        .current_dir(workspace::root());
    let done = child::run(&mut cmd, QUERY_TIMEOUT, Echo::Nothing)?.success()?;
    let sysroot = Path::new(done.stdout.trim());
    Ok(sysroot.join("lib/rustlib").join(KERNEL_TARGET).is_dir())
}

/// Makes sure QEMU is installed (installing it from bookworm-backports as root with apt), and
/// warns when it is older than 8.0.
pub fn qemu() -> Result<()> {
    let version = match qemu_version() {
        Ok(version) => version,
        Err(err) if is_not_found(&err) => {
            install_qemu()?;
            qemu_version().with_context(|| {
                format!("{QEMU_PACKAGE} is installed but {QEMU} still cannot be started (PATH?)")
            })?
        }
        Err(err) => return Err(err),
    };
    match parse_qemu_version(&version) {
        Some(v) if v >= MIN_QEMU => {}
        Some((major, minor)) => eprintln!(
            "warning: QEMU {major}.{minor} is older than {}.{}; allstop is tested with newer ones \
             (Debian: apt-get install -t {BACKPORTS} {QEMU_PACKAGE})",
            MIN_QEMU.0, MIN_QEMU.1
        ),
        None => eprintln!(
            "warning: cannot read QEMU's version from: {}",
            version.trim()
        ),
    }
    Ok(())
}

/// The first line of `qemu-system-x86_64 --version`.
fn qemu_version() -> Result<String> {
    let done = child::run(
        Command::new(QEMU).arg("--version"),
        QUERY_TIMEOUT,
        Echo::Nothing,
    )?;
    let done = done
        .success()
        .with_context(|| format!("{QEMU} --version failed"))?;
    Ok(done.stdout.lines().next().unwrap_or_default().to_string())
}

/// Whether `err` comes from starting a program that does not exist.
fn is_not_found(err: &anyhow::Error) -> bool {
    err.downcast_ref::<io::Error>()
        .is_some_and(|io| io.kind() == io::ErrorKind::NotFound)
}

/// Installs QEMU with apt when running as root, else fails with the commands to run.
fn install_qemu() -> Result<()> {
    let Ok(sources) = std::fs::read_to_string(DEBIAN_SOURCES) else {
        bail!(
            "{QEMU} is missing and {DEBIAN_SOURCES} does not exist (not Debian?); \
             install QEMU {}.{} or later with your package manager ({QEMU_PACKAGE} on Debian)",
            MIN_QEMU.0,
            MIN_QEMU.1
        );
    };
    let stanza = backports_stanza(&sources)?;
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| effective_uid(&status))
        == Some(0);
    if !root || !on_path("apt-get") {
        bail!(
            "{QEMU} is missing; install it (as root) with:\n{}",
            manual_install(&stanza)
        );
    }
    eprintln!("setup: {QEMU} is missing; installing {QEMU_PACKAGE} from Debian {BACKPORTS}");
    if Path::new(BACKPORTS_SOURCES).exists() {
        eprintln!("setup: {BACKPORTS_SOURCES} already exists; keeping it");
    } else {
        std::fs::write(BACKPORTS_SOURCES, &stanza)
            .with_context(|| format!("cannot write {BACKPORTS_SOURCES}"))?;
        eprintln!("setup: wrote {BACKPORTS_SOURCES} (the first stanza of {DEBIAN_SOURCES}, suite {BACKPORTS})");
    }
    let install = format!("apt-get install -y -t {BACKPORTS} {QEMU_PACKAGE}");
    for step in ["apt-get update".to_string(), install] {
        eprintln!("setup: {step}");
        let mut words = step.split_whitespace();
        let mut cmd = Command::new(words.next().expect("a program"));
        cmd.args(words).env("DEBIAN_FRONTEND", "noninteractive");
        child::run(&mut cmd, INSTALL_TIMEOUT, Echo::All)?
            .success()
            .with_context(|| format!("`{step}` failed"))?;
    }
    eprintln!("setup: {QEMU_PACKAGE} installed");
    Ok(())
}

/// A deb822 stanza for bookworm-backports: the first stanza of `debian_sources` with its
/// `Suites:` field replaced (so it uses the same mirror, components and signing key).
fn backports_stanza(debian_sources: &str) -> Result<String> {
    let mut stanza = String::new();
    let mut suites_seen = false;
    let mut in_suites = false;
    for line in debian_sources
        .lines()
        .skip_while(|line| line.trim().is_empty())
        .take_while(|line| !line.trim().is_empty())
    {
        let continuation = line.starts_with([' ', '\t']);
        if in_suites && continuation {
            continue; // the rest of a multi-line Suites field
        }
        in_suites = false;
        let field = line.split_once(':').map(|(name, _)| name);
        if !continuation && field.is_some_and(|name| name.eq_ignore_ascii_case("Suites")) {
            stanza += &format!("Suites: {BACKPORTS}\n");
            suites_seen = true;
            in_suites = true;
        } else {
            stanza += line;
            stanza.push('\n');
        }
    }
    if !suites_seen {
        bail!("the first stanza of {DEBIAN_SOURCES} has no Suites: field");
    }
    Ok(stanza)
}

/// The shell commands that install QEMU from bookworm-backports, for a user who is not root.
fn manual_install(stanza: &str) -> String {
    format!(
        "sudo tee {BACKPORTS_SOURCES} >/dev/null <<'EOF'\n{stanza}EOF\n\
         sudo apt-get update\n\
         sudo apt-get install -y -t {BACKPORTS} {QEMU_PACKAGE}"
    )
}

/// The effective user ID from the text of `/proc/self/status`.
fn effective_uid(status: &str) -> Option<u32> {
    let uids = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    uids.split_whitespace().nth(1)?.parse().ok()
}

/// `(major, minor)` from `QEMU emulator version 10.0.2 (Debian ...)`.
fn parse_qemu_version(line: &str) -> Option<(u32, u32)> {
    let version = line.split("version ").nth(1)?.split_whitespace().next()?;
    let mut parts = version.split('.').map(str::parse::<u32>);
    Some((parts.next()?.ok()?, parts.next()?.ok()?))
}

/// Whether `program` is an executable file in one of the `PATH` directories.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCES: &str = "\
Types: deb
# a mirror snapshot comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
";

    #[test]
    fn backports_stanza_copies_the_first_stanza_with_the_suite_replaced() {
        assert_eq!(
            backports_stanza(SOURCES).unwrap(),
            "Types: deb\n# a mirror snapshot comment\nURIs: http://mirror.example/debian\n\
             Suites: bookworm-backports\nComponents: main\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        );
    }

    #[test]
    fn backports_stanza_handles_leading_blanks_and_folded_suites() {
        let folded = "\n\nTypes: deb\nsuites: bookworm\n  bookworm-updates\nComponents: main\n";
        assert_eq!(
            backports_stanza(folded).unwrap(),
            "Types: deb\nSuites: bookworm-backports\nComponents: main\n"
        );
    }

    #[test]
    fn backports_stanza_needs_a_suites_field() {
        let err = backports_stanza("Types: deb\nURIs: http://x/\n\nSuites: a\n").unwrap_err();
        assert!(err.to_string().contains("no Suites: field"), "{err}");
        assert!(backports_stanza("").is_err());
    }

    #[test]
    fn manual_install_is_a_pasteable_script() {
        let stanza = backports_stanza(SOURCES).unwrap();
        let script = manual_install(&stanza);
        let lines: Vec<&str> = script.lines().collect();
        assert_eq!(
            lines[0],
            "sudo tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null <<'EOF'"
        );
        assert!(script.contains(&format!("\n{stanza}EOF\n")), "{script}");
        assert_eq!(lines[lines.len() - 2], "sudo apt-get update");
        assert_eq!(
            lines[lines.len() - 1],
            "sudo apt-get install -y -t bookworm-backports qemu-system-x86"
        );
    }

    #[test]
    fn effective_uid_is_the_second_uid_field() {
        assert_eq!(effective_uid("Name:\tx\nUid:\t1000\t0\t0\t0\n"), Some(0));
        assert_eq!(effective_uid("Uid:\t0\t1000\t1000\t1000\n"), Some(1000));
        assert_eq!(effective_uid("Name:\tx\n"), None);
    }

    #[test]
    fn qemu_versions_are_parsed() {
        let debian = "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)";
        assert_eq!(parse_qemu_version(debian), Some((10, 0)));
        assert_eq!(
            parse_qemu_version("QEMU emulator version 7.2.15"),
            Some((7, 2))
        );
        assert!(parse_qemu_version("QEMU emulator version 7.2.15").unwrap() < MIN_QEMU);
        assert_eq!(parse_qemu_version("something else"), None);
    }

    #[test]
    fn on_path_finds_sh_but_not_nonsense() {
        assert!(on_path("sh"));
        assert!(!on_path("allstop-no-such-program"));
    }
}
