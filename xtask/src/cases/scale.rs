//! `scale-*` cases: many CPUs, at the default stop timeouts. Every CPU must come online and be
//! accounted for (`stuck=0`), the stop table and the contexts come grouped (more than 32 CPUs),
//! and no CPU the report calls stopped may still run 100 ms later. From 256 CPUs on, APIC IDs exceed 255 (q35
//! with interrupt remapping, added by the runner). 1,024 CPUs take minutes here, most of them
//! QEMU creating the vCPUs, so that case runs only with `--soak`.

use std::time::Duration;

use crate::cases::summary::Field;
use crate::cases::table::{Case, Expect};
use crate::qemu::exit_status::PANIC;
use crate::qemu::Machine;

/// The CPU counts of the full run: past the grouping threshold, the largest xAPIC-addressable
/// count, and past 255 (APIC IDs up to 287).
const SMPS: [u32; 3] = [64, 255, 288];
/// The CPU count of the `--soak` case: the runtime's limit.
const BIG_SMP: u32 = 1024;

/// A case's hard limit: 60 s plus half a second per CPU (QEMU takes ~0.1 s per vCPU to create
/// them; a loaded host more).
fn timeout(smp: u32) -> Duration {
    Duration::from_secs(60) + Duration::from_millis(500) * smp
}

/// `faults`' interrupts-off scenario on `smp` CPUs (three CPUs spin with interrupts off, the
/// rest idle), every stop option at its default.
fn irqoff(smp: u32) -> Case {
    let online = format!("{smp}/{smp} CPUs online in ");
    Case::new(&format!("scale-irqoff-smp{smp}"), "faults")
        .on(Machine::Q35, smp)
        .append("stop.verify_ms=100 -- scenario=irqoff k=3")
        .expect(Expect::Status(PANIC), timeout(smp))
        .require(&[
            &online,
            // The default strategy (NMI-first) stops every CPU by its one NMI: the table groups
            // runs of them.
            "): nmi stopped, apic ",
            // Idle CPUs' contexts folded into the block of the first of them.
            wire::frames::INTERRUPTED_WHERE,
            "heartbeat-check: ok (",
        ])
        .forbid_only(&[
            "unknown boot option",
            "invalid value",
            "CPUs beyond the supported",
            "never checked in",
        ])
        .field(Field::Stopper, 0)
        .field(Field::Targets, u64::from(smp - 1))
        .field(Field::Stuck, 0)
}

/// The scale cases.
pub fn all() -> Vec<Case> {
    let mut cases: Vec<Case> = SMPS.into_iter().map(irqoff).collect();
    cases.push(irqoff(BIG_SMP).soak());
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_past_255_cpus_run_on_q35_and_1024_only_with_soak() {
        let cases = all();
        let big: Vec<&Case> = cases.iter().filter(|c| c.smp > 255).collect();
        assert_eq!(big.iter().map(|c| c.smp).collect::<Vec<_>>(), [288, 1024]);
        assert!(big.iter().all(|c| c.machine == Machine::Q35));
        assert!(cases.iter().filter(|c| c.soak).all(|c| c.smp == BIG_SMP));
    }
}
