//! The interrupt descriptor table, shared by all CPUs.

use spin::Once;
use x86::bits64::segmentation::Descriptor64;
use x86::dtables::{lidt, DescriptorTablePointer};
use x86::segmentation::{
    BuildDescriptor, DescriptorBuilder, GateDescriptorBuilder, SegmentSelector,
};
use x86::Ring;

use crate::arch::x86_64::cpu::gdt::KERNEL_CS;
use crate::arch::x86_64::cpu::percpu::{
    IST_DOUBLE_FAULT, IST_INTERRUPT, IST_MACHINE_CHECK, IST_NMI,
};
use super::{trap, vectors};

/// Vectors that run on their own IST stack, so they work whatever the interrupted stack's state.
const NMI: usize = 2;
const DOUBLE_FAULT: usize = 8;
const MACHINE_CHECK: usize = 18;

struct Idt([Descriptor64; 256]);

static IDT: Once<Idt> = Once::new();

fn gate(handler: u64, ist: u8) -> Descriptor64 {
    let selector = SegmentSelector::new(KERNEL_CS >> 3, Ring::Ring0);
    DescriptorBuilder::interrupt_descriptor(selector, handler)
        .present()
        .dpl(Ring::Ring0)
        .ist(ist)
        .finish()
}

fn build() -> Idt {
    let mut idt = Idt([Descriptor64::NULL; 256]);
    // SAFETY: the stub tables are immutable data defined in trap.rs.
    let (stubs, wake, stop, probe) = unsafe {
        (
            trap::trap_stubs,
            trap::trap_wake,
            trap::trap_stop,
            trap::trap_probe,
        )
    };
    for (vector, &stub) in stubs.iter().enumerate() {
        let ist = match vector {
            NMI => IST_NMI,
            DOUBLE_FAULT => IST_DOUBLE_FAULT,
            MACHINE_CHECK => IST_MACHINE_CHECK,
            _ => 0,
        };
        idt.0[vector] = gate(stub, ist);
    }
    // The interrupt vectors may arrive while a thread runs with its stack nearly exhausted.
    idt.0[usize::from(vectors::WAKE_VECTOR)] = gate(wake, IST_INTERRUPT);
    idt.0[usize::from(vectors::STOP_VECTOR)] = gate(stop, IST_INTERRUPT);
    idt.0[usize::from(vectors::PROBE_VECTOR)] = gate(probe, IST_INTERRUPT);
    idt.0[usize::from(vectors::SPURIOUS_VECTOR)] =
        gate(trap::trap_spurious as *const () as u64, IST_INTERRUPT);
    idt
}

/// Loads the IDT on the calling CPU (building it on first use).
pub fn load() {
    let idt = IDT.call_once(build);
    let pointer = DescriptorTablePointer::new_from_slice(&idt.0);
    // SAFETY: the IDT is a `static` that lives forever; every present gate points at a stub in
    // trap.rs with the kernel code selector.
    unsafe { lidt(&pointer) };
    super::early_idt::retire();
}
