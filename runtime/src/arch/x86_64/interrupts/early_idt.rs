//! The boot CPU's first IDT: until the real one is loaded (`idt::load`, after the console, the
//! heap and ACPI), any CPU exception prints one line on COM1 and ends the run with status 101,
//! instead of a silent triple fault. Hostile host data (a start-info pointer to nonsense, say)
//! faults here, if it gets past the checks.

use core::arch::global_asm;
use core::fmt::Write;

use x86::bits64::segmentation::Descriptor64;
use x86::dtables::{lidt, DescriptorTablePointer};
use x86::segmentation::{
    BuildDescriptor, DescriptorBuilder, GateDescriptorBuilder, SegmentSelector,
};
use x86::Ring;

use crate::arch::x86_64::cpu::gdt::KERNEL_CS;
use crate::arch::x86_64::platform::{power, serial};

/// Page fault: CR2 holds the address.
const PAGE_FAULT: u64 = 14;

// One stub per exception vector (0..32); the CPU pushes an error code for 8, 10-14, 17, 21, 29
// and 30, the stubs push 0 for the others. Each then pushes its vector and calls `early_fault`
// with (vector, error code, rip) on a 16-byte-aligned stack.
global_asm!(
    r#"
    .macro EARLY_STUB vector, has_error_code
    .balign 16
early_stub_\vector:
    .if \has_error_code == 0
    push 0
    .endif
    push \vector
    jmp early_common
    .endm

    .section .text.early_trap, "ax"
    .irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
    EARLY_STUB \v, 0
    .endr
    .irp v, 8,10,11,12,13,14,17,21,29,30
    EARLY_STUB \v, 1
    .endr

early_common:
    mov rdi, [rsp]
    mov rsi, [rsp + 8]
    mov rdx, [rsp + 16]
    and rsp, -16
    cld
    call {fault}
    ud2

    .section .rodata.early_trap, "a"
    .balign 8
    .global early_stubs
early_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad early_stub_\v
    .endr
"#,
    fault = sym early_fault,
);

unsafe extern "C" {
    /// The stubs' addresses, by vector.
    static early_stubs: [u64; 32];
}

/// Says which exception hit where on COM1, then ends the run with status 101.
extern "C" fn early_fault(vector: u64, error_code: u64, rip: u64) -> ! {
    let status = wire::exit::PANIC;
    let mut com1 = serial::com1();
    let _ = write!(
        com1,
        "allstop: CPU exception {vector} (error code {error_code:#x}) at {rip:#x}"
    );
    if vector == PAGE_FAULT {
        // SAFETY: reading CR2 has no side effects.
        let _ = write!(com1, ", address {:#x}", unsafe { x86::controlregs::cr2() });
    }
    let _ = write!(
        com1,
        " during early boot, before the kernel's IDT\n{}\n",
        wire::exit::Ending::Status(status)
    );
    power::poweroff(status, || {})
}

/// Loads an IDT for the 32 exception vectors on this CPU, then runs `f(arg)`, which never
/// returns: the table lives in this frame, which therefore outlives its use until `f` loads the
/// real IDT.
pub fn with_installed(f: fn(u32) -> !, arg: u32) -> ! {
    let selector = SegmentSelector::new(KERNEL_CS >> 3, Ring::Ring0);
    // SAFETY: the stub table is immutable data defined above.
    let stubs = unsafe { &early_stubs };
    let table: [Descriptor64; 32] = core::array::from_fn(|vector| {
        DescriptorBuilder::interrupt_descriptor(selector, stubs[vector])
            .present()
            .dpl(Ring::Ring0)
            .finish()
    });
    let pointer = DescriptorTablePointer::new_from_slice(&table);
    // SAFETY: `table` lives in this frame, which stays alive while `f` runs and `f` never
    // returns; every gate points at a stub above with the kernel code selector. Vectors above
    // 31 are not in the table (a hardware interrupt is masked this early).
    unsafe { lidt(&pointer) };
    f(arg)
}
