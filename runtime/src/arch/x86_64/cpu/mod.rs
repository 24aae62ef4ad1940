//! The processor itself: per-CPU blocks (GS, GDT, TSS, stacks), the context switch, the FPU and
//! TLS for std apps, interrupt masking, backtraces, RDRAND, and faults on purpose.

pub mod backtrace;
pub mod context;
#[cfg(feature = "std-app")]
pub mod fpu;
pub(in crate::arch) mod gdt;
pub mod hwrng;
pub mod inject;
pub mod irq;
pub mod percpu;
pub mod tls;
