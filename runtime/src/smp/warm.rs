//! The CPUs' part of a warm restart: the boot CPU, on the restart stack, parks every other CPU
//! and proves it before the image is restored under them; a stopper that is not the boot CPU
//! first revives the stopped boot CPU to do it.

use stop::CpuIndex;
use core::time::Duration;

use stop::x86::icr::Icr;

use super::nmi_requests::{self, Request};
use crate::{arch, console, kept_report, power, time};

/// Starts the warm restart on the calling CPU, which must be the boot CPU (index 0) with every
/// other CPU stopped.
pub fn restart_here() -> ! {
    arch::warm::restart_here(warm_main)
}

/// Asks the boot CPU (stopped by the stop vector or by itself, so NMIs normally reach it) to run
/// the warm restart: an NMI whose handler calls [`restart_here`]. Waits up to `timeout` for it
/// to take the request; false (request withdrawn) if it did not, as when it halted with NMIs
/// blocked. The wait compares raw TSC ticks with a deadline fixed before the NMI and reads only
/// the request, which reads as taken both when the boot CPU takes it and once the restore has
/// zeroed `.bss`, so it stays right while the boot CPU restores the image under it.
pub fn revive_boot_cpu(timeout: Duration) -> bool {
    let ticks = time::ns_to_ticks(timeout.as_nanos() as u64, time::tsc_khz());
    let deadline = arch::tsc::read().saturating_add(ticks);
    nmi_requests::request(CpuIndex::BOOT, Request::Restart);
    let bsp = super::apic_id(CpuIndex::BOOT).expect("CPU 0 exists");
    arch::ipi::send(Icr::nmi(bsp.get()));
    loop {
        if !nmi_requests::is_pending(CpuIndex::BOOT, Request::Restart) {
            return true;
        }
        if arch::tsc::read() > deadline {
            return !nmi_requests::withdraw(CpuIndex::BOOT, Request::Restart);
        }
        core::hint::spin_loop();
    }
}

/// The warm restart proper, on the restart stack, interrupts off.
extern "C" fn warm_main() -> ! {
    // A stop vector taken and never acknowledged would block every lower vector from now on.
    arch::apic::end_all_in_service();
    if let Err(not_parked) = super::bringup::park_others() {
        // The kept report before the reason the restart does not happen.
        kept_report::flush();
        console::write_fmt_breaking_lock(format_args!(
            "restart: {not_parked}, so some may still run; resetting the machine instead of \
             restoring memory under them\n"
        ));
        power::reset_machine();
    }
    let Err(arch::ap_start::ApsMayRun) = arch::warm::restore_image_and_boot();
    // Not reached: the APs were proven parked just now. Should it ever be, resetting is the
    // only way on that restores nothing under a CPU that may run.
    console::write_fmt_breaking_lock(format_args!(
        "restart: the APs are not known to be parked; resetting the machine\n"
    ));
    power::reset_machine()
}
