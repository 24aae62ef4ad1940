//! x86_64 hardware support: with the Hermit ABI's C boundary, the only place in the runtime
//! with `unsafe` code.
//!
//! A tree by hardware concern: `boot` (the loader's entry, AP start-up, page tables, the warm
//! restart's image), `cpu` (per-CPU blocks, GDT, context switch, FPU, TLS), `interrupts` (IDT,
//! trap entry, local APIC, IPIs) and `platform` (ACPI, power, clock, serial, RTC, heap). The
//! list below is all the rest of the runtime may use. Nothing here names the policy above it
//! (scheduling, SMP protocol, stop, restart, Hermit ABI) except through `crate::upcalls`, the
//! entry points the hardware calls into.
#![allow(unsafe_code)]

mod boot;
mod cpu;
mod interrupts;
mod platform;

pub use boot::paging::is_mapped;
pub use boot::{ap_start, app_entry, boot_cpu, entry_tsc, survivor, warm, StartInfo};
pub use cpu::{backtrace, context, inject, irq, percpu, tls};
#[cfg(feature = "std-app")]
pub use cpu::fpu;
pub use cpu::hwrng::Generator;
pub use interrupts::{apic, idt, ipi, underlying_context, vectors, Interrupt, TrapFrame};
pub use platform::{acpi, heap, power, rtc, serial, tsc};

/// Whether CPUID says we run under a hypervisor.
pub fn cpu_has_hypervisor() -> bool {
    raw_cpuid::CpuId::new()
        .get_feature_info()
        .is_some_and(|f| f.has_hypervisor())
}
