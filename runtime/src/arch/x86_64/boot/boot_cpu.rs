//! The boot CPU's per-CPU block, over whichever stack it runs on: the boot stack after a cold
//! boot, the restart stack after a warm restart.

use stop::{ApicId, CpuIndex};

use super::paging::{unmap_page, PAGE_SIZE};
use super::warm::restart_stack;
use crate::arch::x86_64::cpu::percpu::CpuBlock;

unsafe extern "C" {
    /// Lowest byte of the boot CPU's stack (`pvh_entry.rs`); its first page becomes the guard
    /// page.
    static boot_stack_bottom: u8;
    static boot_stack_top: u8;
}

/// Sets up and activates the boot CPU's block (index 0): GDT, TSS, IST stacks, and a guard page
/// under the stack it runs on. Unmaps page 0 too, so a null pointer plus an offset below 4 KiB
/// faults instead of reading or writing low memory (the ACPI tables were read already: a BIOS
/// search for them reads page 0; the AP trampoline and the park stub live at pages 8 and 9).
pub fn set_up(apic_id: u32) -> &'static CpuBlock {
    unmap_page(0);
    let (bottom, top) = current_stack();
    unmap_page(bottom);
    let block = CpuBlock::new(CpuIndex::BOOT, ApicId::new(apic_id), Some(bottom + PAGE_SIZE..top));
    block.activate();
    block
}

/// The stack the boot CPU runs on, `(lowest address, top)`.
fn current_stack() -> (usize, usize) {
    let rsp: usize;
    // SAFETY: reads the stack pointer only.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack)) };
    let (bottom, top) = restart_stack();
    if (bottom..top).contains(&rsp) {
        (bottom, top)
    } else {
        (
            &raw const boot_stack_bottom as usize,
            &raw const boot_stack_top as usize,
        )
    }
}
