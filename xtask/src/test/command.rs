//! `cargo xtask test`: every test stage, then one closing `N passed, M failed` line.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::cases::{self, QemuTestArgs};
use crate::host::workspace;
use crate::qemu::accel::{self, AccelArg};
use crate::test::Tally;
use crate::test::{cargo_test, loom, out_of_tree};

/// Flags of `cargo xtask test` (passed on to its qemu-test stage).
#[derive(Args)]
pub struct TestArgs {
    /// Every QEMU case (the whole matrix) instead of the quick subset.
    #[arg(long, conflicts_with = "quick")]
    full: bool,
    #[command(flatten)]
    qemu: QemuTestArgs,
}

/// Runs `cargo test` (default members), loom, qemu-test (its `--quick` subset unless `--full`) and
/// the out-of-tree check (its std app only with `--full`);
/// with `--full` and `--accel auto`, also the quick subset under KVM when `/dev/kvm` opens (even
/// a software KVM). Every stage runs even if an earlier one failed, and a stage that cannot run
/// at all counts as one failure.
pub fn test(args: &TestArgs) -> Result<ExitCode> {
    let mut qemu = args.qemu.clone();
    qemu.quick = !args.full;
    let mut kvm_quick = args.qemu.clone();
    kvm_quick.quick = true;
    kvm_quick.accel = AccelArg::Kvm;
    let run_kvm = args.full && args.qemu.accel == AccelArg::Auto && {
        let opens = accel::kvm_opens();
        if !opens {
            println!("qemu-test under kvm: skipped: /dev/kvm does not open read-write");
        }
        opens
    };
    let cargo_test = || cargo_test::run(workspace::cargo().arg("test"));
    let qemu_test = || cases::qemu_test(&qemu);
    let kvm_test = || cases::qemu_test(&kvm_quick);
    let out_of_tree = || out_of_tree::run(args.full);
    let mut stages: Vec<(&str, &dyn Fn() -> Result<Tally>)> = vec![
        ("cargo test", &cargo_test),
        ("loom", &loom::loom),
        ("qemu-test", &qemu_test),
        ("out-of-tree", &out_of_tree),
    ];
    if run_kvm {
        stages.push(("qemu-test --accel kvm --quick", &kvm_test));
    }
    let mut summary = Vec::new();
    let mut total = Tally::default();
    for (name, stage) in stages {
        println!("\n==> {name}");
        let tally = stage().unwrap_or_else(|err| {
            eprintln!("error: {name}: {err:#}");
            Tally::ONE_FAILURE
        });
        summary.push(format!("  {name:<30} {tally}"));
        total += tally;
    }
    println!("\n==> summary");
    for line in summary {
        println!("{line}");
    }
    println!("{total}");
    Ok(total.exit_code())
}
