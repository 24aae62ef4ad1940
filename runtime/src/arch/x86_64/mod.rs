//! x86_64 hardware support: the only place in the runtime with `unsafe` code.
#![allow(unsafe_code)]

pub mod acpi;
pub mod apic;
pub mod app_entry;
pub mod backtrace;
mod boot;
pub mod context;
#[cfg(feature = "std-app")]
pub mod fpu;
mod gdt;
pub mod heap;
pub mod hwrng;
pub mod idt;
pub mod inject;
pub mod irq;
pub mod kick;
mod nmi_requests;
mod paging;
mod park_stub;
pub mod percpu;
pub mod power;
pub mod probe;
pub mod pvh;
pub mod rtc;
pub mod serial;
pub mod smp;
pub mod survivor;
pub mod tls;
mod trampoline;
mod trap;
pub mod tsc;
mod vectors;
pub mod warm;
pub mod work;

unsafe extern "C" {
    /// First byte after the kernel image, `.bss` included (from `allstop.ld`).
    static __image_end: u8;
}

/// Physical (= virtual) address of the first byte after the kernel image.
pub fn image_end() -> usize {
    (&raw const __image_end) as usize
}

/// Whether CPUID says we run under a hypervisor.
pub fn cpu_has_hypervisor() -> bool {
    raw_cpuid::CpuId::new()
        .get_feature_info()
        .is_some_and(|f| f.has_hypervisor())
}
