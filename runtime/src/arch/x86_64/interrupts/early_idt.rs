//! The boot CPU's first IDT: until the real one is loaded (`idt::load`, after the console, the
//! heap and ACPI), any CPU exception prints one line on COM1 and ends the run with status 101,
//! instead of a silent triple fault. Hostile host data (a start-info pointer to nonsense, say)
//! faults here, if it gets past the checks.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use x86::bits64::segmentation::Descriptor64;
use x86::dtables::{lidt, DescriptorTablePointer};
use x86::segmentation::{
    BuildDescriptor, DescriptorBuilder, GateDescriptorBuilder, SegmentSelector,
};
use x86::Ring;

use crate::arch::x86_64::cpu::gdt::KERNEL_CS;
use crate::arch::x86_64::platform::power;
use super::{trap, TrapFrame};

/// Page fault: CR2 holds the address.
const PAGE_FAULT: u64 = 14;

/// Whether the early IDT is the one loaded (from [`with_installed`] until `idt::load`).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Whether an exception now comes through the early IDT: the trap dispatcher then hands it to
/// [`report`] instead of the kernel's handlers, which need what early boot has not set up.
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// The real IDT is loaded: exceptions go to the kernel's handlers from now on.
pub fn retire() {
    ACTIVE.store(false, Ordering::Relaxed);
}

/// Says which exception hit where on COM1, then ends the run with status 101.
pub fn report(frame: &TrapFrame) -> ! {
    let (vector, error_code, rip) = (frame.vector, frame.error_code, frame.rip);
    // SAFETY: reading CR2 has no side effects.
    let address = (vector == PAGE_FAULT).then(|| unsafe { x86::controlregs::cr2() });
    power::exit_before_console(
        wire::exit::PANIC,
        format_args!(
            "CPU exception {vector} (error code {error_code:#x}) at {rip:#x}{} during early \
             boot, before the kernel's IDT",
            FaultAddress(address)
        ),
    )
}

/// `, address 0x…` for a page fault, nothing otherwise.
struct FaultAddress(Option<usize>);

impl fmt::Display for FaultAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(address) => write!(f, ", address {address:#x}"),
            None => Ok(()),
        }
    }
}

/// Loads an IDT for the 32 exception vectors on this CPU (the kernel's own entry stubs, which
/// send them to [`report`] while [`active`]), then runs `f(arg)`, which never returns: the table
/// lives in this frame, which therefore outlives its use until `f` loads the real IDT.
pub fn with_installed(f: fn(u32) -> !, arg: u32) -> ! {
    let selector = SegmentSelector::new(KERNEL_CS >> 3, Ring::Ring0);
    // SAFETY: the stub table is immutable data (trap.rs).
    let stubs = unsafe { &trap::trap_stubs };
    let table: [Descriptor64; 32] = core::array::from_fn(|vector| {
        DescriptorBuilder::interrupt_descriptor(selector, stubs[vector])
            .present()
            .dpl(Ring::Ring0)
            .finish()
    });
    let pointer = DescriptorTablePointer::new_from_slice(&table);
    ACTIVE.store(true, Ordering::Relaxed);
    // SAFETY: `table` lives in this frame, which stays alive while `f` runs and `f` never
    // returns; every gate points at one of trap.rs's stubs with the kernel code selector. Vectors above
    // 31 are not in the table (a hardware interrupt is masked this early).
    unsafe { lidt(&pointer) };
    f(arg)
}
