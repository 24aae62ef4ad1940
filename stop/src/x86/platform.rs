//! The x86 [`Platform`]: IPIs through the one [`IcrWriter`], a clock the runtime provides (its
//! TSC clock), `pause` while waiting, and `cli; hlt` forever to stop.
#![allow(unsafe_code)]

use core::arch::asm;

use super::icr::Icr;
use super::{IcrWriter, STOP_VECTOR};
use crate::cpu::ApicId;
use crate::platform::{IpiFailed, Platform};

/// The x86 platform; const-constructible so the runtime's controller can be a `static`.
///
/// ```ignore
/// static ICR: IcrWriter = IcrWriter::new();
/// static STOP: StopController<X86Platform, [CpuRecord; 256]> =
///     StopController::new(X86Platform::new(&ICR, now_ns));
/// unsafe { ICR.init(ApicMode::X2Apic) };
/// ```
pub struct X86Platform {
    /// The machine's one ICR writer (the runtime sends its own IPIs through it too).
    icr: &'static IcrWriter,
    /// Monotonic nanoseconds, consistent across CPUs (the runtime's TSC clock).
    clock: fn() -> u64,
}

impl X86Platform {
    /// A platform sending through `icr` (which still needs [`IcrWriter::init`] at boot) and
    /// reading time from `clock`.
    pub const fn new(icr: &'static IcrWriter, clock: fn() -> u64) -> Self {
        Self { icr, clock }
    }

    /// Sends `icr`, folding the writer's error into the core's.
    fn send(&self, icr: Icr) -> Result<(), IpiFailed> {
        self.icr.send(icr).map_err(|_| IpiFailed)
    }
}

impl Platform for X86Platform {
    fn send_stop_vector(&self) -> Result<(), IpiFailed> {
        self.send(Icr::fixed_all_excluding_self(STOP_VECTOR))
    }

    fn send_nmi(&self, apic_id: ApicId) -> Result<(), IpiFailed> {
        // The writer fences (`mfence; lfence`) before an x2APIC WRMSR, so `nmi_sent` is
        // visible before the NMI lands; the xAPIC MMIO write is ordered by x86's TSO.
        self.send(Icr::nmi(apic_id.get()))
    }

    fn send_init(&self, apic_id: ApicId) -> Result<(), IpiFailed> {
        self.send(Icr::init_assert(apic_id.get()))
    }

    fn now_ns(&self) -> u64 {
        (self.clock)()
    }

    fn relax(&self) {
        core::hint::spin_loop();
    }

    fn halt_after_nmi(&self, cpu: usize) -> ! {
        if cpu != 0 {
            self.halt();
        }
        // The boot CPU leaves the NMI handler so a later NMI can wake it (crate docs).
        // SAFETY: IRETs to `halt_loop` below on the current stack with the current code and
        // stack selectors and interrupts off; `halt_loop` touches no memory, so nothing the
        // IRET skips (the rest of the handler) is needed again.
        unsafe {
            asm!(
                "mov {tmp:e}, ss",
                "push {tmp}",
                "push rsp",
                "add qword ptr [rsp], 8",
                "push 2",
                "mov {tmp:e}, cs",
                "push {tmp}",
                "lea {tmp}, [rip + 2f]",
                "push {tmp}",
                "iretq",
                "2:",
                "cli",
                "hlt",
                "jmp 2b",
                tmp = in(reg) 0u64,
                options(noreturn),
            )
        }
    }

    fn halt(&self) -> ! {
        loop {
            // SAFETY: `cli; hlt` only masks interrupts and waits; NMIs still wake the CPU, and
            // the NMI path never returns here, so the loop just halts again.
            unsafe { asm!("cli", "hlt", options(nomem, nostack)) };
        }
    }
}
