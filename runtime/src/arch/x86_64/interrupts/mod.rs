//! Interrupts in and out: the IDT, the trap entry stubs and dispatch, the vectors, the local
//! APIC and sending IPIs.

pub mod apic;
pub mod early_idt;
pub mod idt;
pub mod ipi;
mod trap;
pub mod vectors;

pub use trap::{underlying_context, Interrupt, TrapFrame};
