//! How much slower than TCG an accelerator boots on this host, measured, so that the case time
//! limits (chosen for TCG) stretch with it: a KVM without hardware virtualization interprets
//! every guest instruction and boots about 20 times slower than TCG here.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};

use crate::cases::table::{Case, Expect};
use crate::host::child::Echo;
use crate::qemu::accel::Accel;
use crate::qemu::exit_status::GuestExit;
use crate::qemu::{Boot, Machine, MemSize, Outcome};

/// The app whose boot is timed: it prints two lines and exits.
pub const PACE_APP: &str = "hello";
/// Time limit of each timed boot.
const PACE_BOOT_TIMEOUT: Duration = Duration::from_secs(120);

/// Boot times of [`PACE_APP`] under TCG and under another accelerator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    /// The accelerator measured against TCG.
    pub accel: Accel,
    /// One boot under TCG.
    pub tcg_boot: Duration,
    /// One boot under `accel`.
    pub accel_boot: Duration,
}

impl Pace {
    /// Times one boot of `kernel` (the [`PACE_APP`]) under TCG and one under `accel`.
    pub fn measure(kernel: &Path, accel: Accel) -> Result<Pace> {
        Ok(Pace {
            accel,
            tcg_boot: boot_time(kernel, Accel::Tcg)?,
            accel_boot: boot_time(kernel, accel)?,
        })
    }

    /// How many times slower than TCG `accel` boots (at least 1).
    pub fn factor(&self) -> f64 {
        (self.accel_boot.as_secs_f64() / self.tcg_boot.as_secs_f64().max(1e-3)).max(1.0)
    }

    /// The time limit of `case` under `accel`: a case that must end on its own gets its TCG
    /// limit times [`Pace::factor`]; one that must still run at its limit (a hang) only needs
    /// the longer boot, twice over.
    pub fn limit(&self, case: &Case, accel: Accel) -> Duration {
        if accel != self.accel {
            return case.timeout;
        }
        match case.expect {
            Expect::Timeout => case.timeout + self.accel_boot.saturating_sub(self.tcg_boot) * 2,
            Expect::Status(_) | Expect::NoStatus => case.timeout.mul_f64(self.factor()),
        }
    }
}

impl fmt::Display for Pace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pace: {PACE_APP} boots in {:.2} s under {} and {:.2} s under TCG: {} cases get \
             {:.1}x the time limits (a hang case only the longer boot, twice)",
            self.accel_boot.as_secs_f64(),
            self.accel,
            self.tcg_boot.as_secs_f64(),
            self.accel,
            self.factor()
        )
    }
}

/// Wall-clock time of one boot of `kernel` on one CPU, which must end with status 0.
fn boot_time(kernel: &Path, accel: Accel) -> Result<Duration> {
    let boot = Boot {
        kernel,
        append: "",
        machine: Machine::Pc,
        smp: 1,
        mem: MemSize::DEFAULT,
        accel,
        cpu: None,
        gdb: false,
        core: None,
        extra: &[],
    };
    let run = boot.boot(PACE_BOOT_TIMEOUT, Echo::Nothing)?;
    match run.outcome {
        Outcome::Exited(GuestExit::Status(0)) => Ok(run.elapsed),
        outcome => bail!(
            "timing a boot of {PACE_APP} under {accel} failed ({outcome:?}):\n{}",
            run.report(None)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::table;

    fn pace(tcg_ms: u64, accel_ms: u64) -> Pace {
        Pace {
            accel: Accel::Kvm,
            tcg_boot: Duration::from_millis(tcg_ms),
            accel_boot: Duration::from_millis(accel_ms),
        }
    }

    fn find(name: &str) -> Case {
        table::all()
            .into_iter()
            .find(|c| c.name == name)
            .expect("case exists")
    }

    #[test]
    fn limits_stretch_with_the_slower_boot() {
        let p = pace(250, 4_250);
        assert_eq!(p.factor(), 17.0);
        let hello = find("hello-pc-smp1");
        assert_eq!(p.limit(&hello, Accel::Kvm), hello.timeout.mul_f64(17.0));
        // A hang must reach its line: its limit grows by the extra boot time, twice.
        let hang = find("hang-times-out");
        assert_eq!(
            p.limit(&hang, Accel::Kvm),
            hang.timeout + Duration::from_secs(8)
        );
        // Cases under the other accelerator keep their limits.
        assert_eq!(p.limit(&hello, Accel::Tcg), hello.timeout);
    }

    #[test]
    fn a_faster_accelerator_never_shortens_a_limit() {
        let p = pace(250, 100);
        assert_eq!(p.factor(), 1.0);
        let hang = find("hang-times-out");
        assert_eq!(p.limit(&hang, Accel::Kvm), hang.timeout);
    }
}
