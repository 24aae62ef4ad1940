//! The runner's command line as a user meets it: bad input fails fast with a useful message.

use std::process::{Command, Output};

/// Runs the xtask binary with `args` and returns its output.
fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("the xtask binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_unknown_app_is_named_with_the_known_apps_and_the_command() {
    for command in ["run", "build"] {
        let out = xtask(&[command, "--app", "nope"]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains("unknown app 'nope'"), "{err}");
        assert!(err.contains("hello"), "the known apps are listed: {err}");
        assert!(
            err.contains(&format!("cargo xtask {command} --app")),
            "{err}"
        );
    }
}

#[test]
fn a_bad_flag_fails_with_clap_usage() {
    let out = xtask(&["run", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("unexpected argument '--no-such-flag'"),
        "{err}"
    );
    assert!(err.contains("Usage: cargo xtask run"), "{err}");
}

#[test]
fn bad_values_are_rejected_before_anything_runs() {
    for (args, why) in [
        (&["run", "--mem", "12X"][..], "unknown unit 'X'"),
        (&["run", "--smp", "0"][..], "'--smp <N>'"),
        // The runtime's limit: QEMU would spend minutes creating the vCPUs first.
        (&["run", "--smp", "1025"][..], "1025 is not in 1..=1024"),
        (
            &["run", "--machine", "isapc"][..],
            "possible values: pc, q35, microvm",
        ),
        (
            &["run", "--accel", "hvf"][..],
            "possible values: auto, kvm, tcg",
        ),
        (&["qemu-test", "--jobs", "0"][..], "'--jobs <N>'"),
        (
            &["test", "--full", "--quick"][..],
            "'--full' cannot be used with '--quick'",
        ),
    ] {
        let out = xtask(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(why), "{args:?}: {err}");
    }
}

#[test]
fn an_unknown_subcommand_fails() {
    let out = xtask(&["frobnicate"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unrecognized subcommand 'frobnicate'"));
}

#[test]
fn help_lists_every_subcommand() {
    let out = xtask(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["build", "run", "qemu-test", "loom", "test"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}

/// 100 KB of printable garbage as the boot line: refused at once (QEMU is never started: from
/// about 20 KiB the firmware's PVH loader hangs before the kernel runs), naming the limit.
#[test]
fn a_boot_line_longer_than_the_kernel_takes_is_refused_before_anything_runs() {
    // A fixed pseudo-random sequence of printable ASCII (xorshift), no `"` so the shell-free
    // argument stays one word either way.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let garbage: String = (0..100 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'!' + (state % 94) as u8)
        })
        .collect();
    let started = std::time::Instant::now();
    let out = xtask(&["run", "--append", &garbage]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("the boot command line is 102400 bytes; the kernel takes at most 1024"),
        "{err}"
    );
    assert!(!err.contains("qemu-system"), "QEMU was not started: {err}");
    assert!(started.elapsed().as_secs() < 30, "refused before any build");
    let out = xtask(&["run", "--append", &"x".repeat(1024), "--help"]);
    assert!(out.status.success(), "1024 bytes are accepted");
}

/// A boot line that is not UTF-8 is refused by the runner (the kernel's own handling of one is
/// the `hostile-boot-line-not-utf8` QEMU case).
#[cfg(unix)]
#[test]
fn a_boot_line_that_is_not_utf8_is_refused() {
    use std::os::unix::ffi::OsStrExt;
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("run")
        .arg("--append")
        .arg(std::ffi::OsStr::from_bytes(b"log=debug \xff\xfe"))
        .output()
        .expect("the xtask binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid UTF-8"), "{}", stderr(&out));
}

/// `--append "-- a b"` (app arguments only) is a value, not an unknown flag.
#[test]
fn an_append_value_may_start_with_dashes() {
    let out = xtask(&["run", "--append", "-- a b", "--app", "nope"]);
    let err = stderr(&out);
    assert!(
        err.contains("unknown app 'nope'"),
        "the value parsed: {err}"
    );
}

#[test]
fn version_prints_the_version() {
    let out = xtask(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("cargo xtask {}", env!("CARGO_PKG_VERSION"))
    );
}
