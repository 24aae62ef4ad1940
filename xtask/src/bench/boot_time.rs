//! Boot time for `cargo xtask bench`: per CPU count and machine type (`pc`, `microvm`),
//! `--boot-samples` (default [`DEFAULT_SAMPLES`]) cold boots of the bench app in its boot-time mode (`-- boot`), each timed twice:
//! by the guest from the kernel's first instruction (the PVH entry reads the TSC) to the app's
//! `main`, and by the host from spawning QEMU to the arrival of the app-entry line, which `main`
//! prints first (QEMU's own start-up, firmware and loading the kernel included).

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;

use crate::bench::boot_noting;
use crate::bench::output::{self, Figures, Mark};
use crate::qemu::{Boot, Machine, Outcome};

/// Boots per machine type and CPU count unless `--boot-samples` says.
pub const DEFAULT_SAMPLES: u32 = 5;
/// A boot-time boot's hard limit.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The machine types timed.
pub const MACHINES: [Machine; 2] = [Machine::Pc, Machine::Microvm];

/// One machine type's boot times.
#[derive(Clone, Debug, Serialize)]
pub struct BootTimes {
    /// The machine type.
    pub machine: String,
    /// PVH entry to `main`, timed by the guest (TSC).
    pub pvh_to_main: Figures,
    /// Spawning QEMU to the app-entry line's arrival, timed by the host.
    pub qemu_to_main: Figures,
}

/// Boot times on each of [`MACHINES`] at `base`'s CPU count (`base.append` and `base.machine`
/// are replaced).
pub fn measure(base: &Boot, samples: u32, shown: bool) -> Result<Vec<BootTimes>> {
    MACHINES
        .iter()
        .map(|&machine| {
            on(base, machine, samples, shown).with_context(|| format!("boot time on {machine}"))
        })
        .collect()
}

/// `samples` boots on `machine`.
fn on(base: &Boot, machine: Machine, samples: u32, shown: bool) -> Result<BootTimes> {
    let boot = Boot {
        append: "log=warn -- boot",
        machine,
        ..base.clone()
    };
    let mut guest = Vec::new();
    let mut host = Vec::new();
    for _ in 0..samples {
        let (pvh_to_main, qemu_to_main) = once(&boot, shown)?;
        guest.push(pvh_to_main);
        host.push(qemu_to_main);
    }
    Ok(BootTimes {
        machine: machine.to_string(),
        pvh_to_main: Figures::of(&mut guest).context("no boot")?,
        qemu_to_main: Figures::of(&mut host).context("no boot")?,
    })
}

/// One boot: (PVH entry to `main` as the guest says, spawn to app-entry line as the host saw).
fn once(boot: &Boot, shown: bool) -> Result<(u64, u64)> {
    let (run, spawned, entered) = boot_noting(boot, TIMEOUT, shown, Mark::AppEntry)?;
    let exit = match run.outcome {
        Outcome::Exited(exit) => exit,
        Outcome::TimedOut(limit) => {
            bail!("timed out after {}s\n{}", limit.as_secs(), run.report(None))
        }
    };
    ensure!(
        exit.status() == Some(0),
        "{exit}, not the boot-time mode's power-off\n{}",
        run.report(None)
    );
    let pvh_to_main = output::parse_booted(&run.serial)
        .with_context(|| format!("{exit}\n{}", run.report(None)))?;
    let Some(entered) = entered else {
        bail!("no app-entry line\n{}", run.report(None));
    };
    let qemu_to_main =
        u64::try_from(entered.saturating_duration_since(spawned).as_nanos()).unwrap_or(u64::MAX);
    Ok((pvh_to_main, qemu_to_main))
}
