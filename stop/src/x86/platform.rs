//! The x86 [`Platform`]: the stop vector, NMI and INIT through the machine's one
//! [`IcrWriter`], the runtime's monotonic clock, `pause`, and a `cli; hlt` loop.
#![allow(unsafe_code)]

use core::arch::asm;

use super::icr::Icr;
use super::writer::IcrWriter;
use super::STOP_VECTOR;
use crate::platform::{IpiFailed, Platform};

/// The x86 machine under a [`StopController`](crate::StopController). Const-constructible, so the
/// controller can be a `static`; the runtime sets the APIC mode on [`icr`](Self::icr) at boot
/// and uses the same writer for INIT/SIPI bring-up.
pub struct X86Platform {
    icr: IcrWriter,
    now_ns: fn() -> u64,
}

impl X86Platform {
    /// A platform reading time from `now_ns` (monotonic nanoseconds, consistent across CPUs,
    /// callable from NMI context).
    pub const fn new(now_ns: fn() -> u64) -> Self {
        Self {
            icr: IcrWriter::new(),
            now_ns,
        }
    }

    /// The machine's one ICR writer.
    pub fn icr(&self) -> &IcrWriter {
        &self.icr
    }

    fn send(&self, icr: Icr) -> Result<(), IpiFailed> {
        self.icr.send(icr).map_err(|_| IpiFailed)
    }
}

impl Platform for X86Platform {
    fn send_stop_vector(&self) -> Result<(), IpiFailed> {
        self.send(Icr::fixed_all_excluding_self(STOP_VECTOR))
    }

    fn send_nmi(&self, apic_id: u32) -> Result<(), IpiFailed> {
        // The writer fences before an x2APIC ICR write, so `nmi_sent` is visible first.
        self.send(Icr::nmi(apic_id))
    }

    fn send_init(&self, apic_id: u32) -> Result<(), IpiFailed> {
        self.send(Icr::init_assert(apic_id))
    }

    fn now_ns(&self) -> u64 {
        (self.now_ns)()
    }

    fn relax(&self) {
        core::hint::spin_loop();
    }

    fn halt(&self) -> ! {
        loop {
            // SAFETY: `cli; hlt` stops only this CPU and touches no memory. In an NMI handler
            // NMIs stay blocked (no IRET follows); elsewhere a later NMI wakes the CPU into the
            // NMI handler, which ends here again.
            unsafe { asm!("cli", "hlt", options(nomem, nostack)) };
        }
    }
}
