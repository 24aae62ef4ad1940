//! The boot GDT: a flat 64-bit code segment and a data segment.
//! Keep the asm in sync: `boot.rs` loads it through `boot_gdt_pointer` and uses the selectors below.

use core::arch::global_asm;

/// Selector of the 64-bit kernel code segment.
pub const KERNEL_CS: u16 = 0x08;
/// Selector of the kernel data segment.
pub const KERNEL_DS: u16 = 0x10;

/// Long-mode code segment: present, ring 0, executable, readable, L=1.
pub const CODE64_DESCRIPTOR: u64 = 0x00AF_9A00_0000_FFFF;
/// Flat data segment: present, ring 0, writable, 4 GiB limit.
pub const DATA_DESCRIPTOR: u64 = 0x00CF_9200_0000_FFFF;

// The GDT lives in .data: the CPU writes the accessed bit of descriptors it loads.
global_asm!(
    r#"
    .section .data.boot_gdt, "aw"
    .balign 16
boot_gdt:
    .quad 0
    .quad {code64}
    .quad {data}
boot_gdt_end:
    .balign 8
    .global boot_gdt_pointer
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt
"#,
    code64 = const CODE64_DESCRIPTOR,
    data = const DATA_DESCRIPTOR,
);

unsafe extern "C" {
    static boot_gdt_pointer: x86::dtables::DescriptorTablePointer<u64>;
}

/// Loads the boot GDT again and reloads the segment registers (warm restart: the per-CPU GDTs
/// are about to be freed with the heap).
pub fn load_boot_gdt() {
    use x86::segmentation::{load_ds, load_es, load_ss, SegmentSelector};
    // SAFETY: the boot GDT is a `.data` static with the same selectors as every per-CPU GDT;
    // reloading the segment registers with them keeps their meaning.
    unsafe {
        x86::dtables::lgdt(&boot_gdt_pointer);
        x86::bits64::segmentation::load_cs(SegmentSelector::from_raw(KERNEL_CS));
        load_ds(SegmentSelector::from_raw(KERNEL_DS));
        load_es(SegmentSelector::from_raw(KERNEL_DS));
        load_ss(SegmentSelector::from_raw(KERNEL_DS));
    }
}
