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
