//! The AP start-up trampoline: real mode → protected mode → long mode, then into Rust on the
//! AP's own stack. The boot CPU copies it to [`TRAMPOLINE_ADDR`] (below 1 MiB, page-aligned, as
//! a STARTUP IPI requires) and fills in [`TrampolineData`].
//!
//! Every AP starts at once, so the code takes no lock and shares nothing writable: each AP finds
//! its CPU index by looking its own APIC ID up in the table the boot CPU wrote.

use core::arch::global_asm;
use core::mem::{offset_of, size_of};

use super::low_page::write_changed;

/// Physical address the trampoline runs at; the STARTUP IPI names its page.
pub const TRAMPOLINE_ADDR: usize = 0x8000;

/// Parameters the boot CPU writes after the code. Keep the asm in sync (offsets are passed in as
/// `const` operands).
#[repr(C)]
pub struct TrampolineData {
    /// CR3 to load (the boot page tables, below 4 GiB).
    pub cr3: u64,
    /// Address of `count` APIC IDs (`u32`), by CPU index.
    pub apic_ids: u64,
    /// Address of `count` stack tops (`u64`), by CPU index.
    pub stack_tops: u64,
    /// Number of entries in both tables.
    pub count: u64,
    /// The Rust entry, `extern "C" fn(index: usize) -> !`.
    pub entry: u64,
}

global_asm!(
    r#"
    .section .rodata.ap_trampoline, "a"
    .global ap_trampoline_start
ap_trampoline_start:
    .code16
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    lgdtl (ap_gdt_pointer - ap_trampoline_start)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl ${code32}, ${base} + (ap_pm32 - ap_trampoline_start)

    .code32
ap_pm32:
    mov ${data}, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov ${base} + (ap_trampoline_data - ap_trampoline_start), %ebx
    mov %cr4, %eax
    or $(1 << 5), %eax
    mov %eax, %cr4
    mov {cr3}(%ebx), %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    rdmsr
    or $(1 << 8), %eax
    wrmsr
    mov %cr0, %eax
    or $0x80010001, %eax
    mov %eax, %cr0
    ljmp ${code64}, ${base} + (ap_lm64 - ap_trampoline_start)

    .code64
ap_lm64:
    /* Own APIC ID into r8d: CPUID 0xB (x2APIC ID) when valid, else CPUID 1 EBX[31:24]. */
    xor %eax, %eax
    cpuid
    cmp $0xB, %eax
    jb 2f
    mov $0xB, %eax
    xor %ecx, %ecx
    cpuid
    mov %edx, %r8d
    test %ebx, %ebx
    jnz 3f
2:
    mov $1, %eax
    cpuid
    shr $24, %ebx
    mov %ebx, %r8d
3:
    mov ${base} + (ap_trampoline_data - ap_trampoline_start), %r12d
    mov {apic_ids}(%r12), %rsi
    mov {count}(%r12), %rcx
    xor %edx, %edx
4:
    cmp %rcx, %rdx
    jae 5f
    cmp %r8d, (%rsi, %rdx, 4)
    je 6f
    inc %rdx
    jmp 4b
5:
    /* Not a CPU the boot CPU asked for: park. */
    cli
    hlt
    jmp 5b
6:
    mov {stack_tops}(%r12), %rsi
    mov (%rsi, %rdx, 8), %rsp
    mov %rdx, %rdi
    xor %ebp, %ebp
    mov {entry}(%r12), %rax
    call *%rax
    ud2

    .balign 8
ap_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF
    .quad 0x00CF92000000FFFF
    .quad 0x00AF9A000000FFFF
ap_gdt_end:
ap_gdt_pointer:
    .word ap_gdt_end - ap_gdt - 1
    .long {base} + (ap_gdt - ap_trampoline_start)
    .balign 8
    .global ap_trampoline_data
ap_trampoline_data:
    .skip {data_size}
    .global ap_trampoline_end
ap_trampoline_end:
"#,
    base = const TRAMPOLINE_ADDR,
    code32 = const 0x08,
    data = const 0x10,
    code64 = const 0x18,
    cr3 = const offset_of!(TrampolineData, cr3),
    apic_ids = const offset_of!(TrampolineData, apic_ids),
    stack_tops = const offset_of!(TrampolineData, stack_tops),
    count = const offset_of!(TrampolineData, count),
    entry = const offset_of!(TrampolineData, entry),
    data_size = const size_of::<TrampolineData>(),
    options(att_syntax),
);

unsafe extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_data: u8;
    static ap_trampoline_end: u8;
}

/// Copies the trampoline to [`TRAMPOLINE_ADDR`] (the bytes that changed) with `data` filled in.
///
/// # Safety
/// The page at [`TRAMPOLINE_ADDR`] must be identity-mapped RAM that nothing else uses, and no AP
/// may be running the trampoline.
pub unsafe fn install(data: TrampolineData) {
    let start = &raw const ap_trampoline_start;
    let len = &raw const ap_trampoline_end as usize - start as usize;
    let data_offset = &raw const ap_trampoline_data as usize - start as usize;
    assert!(len <= 4096, "trampoline larger than a page");
    // SAFETY: 1. the source is the trampoline image in .rodata, `len` bytes long. 2. the caller
    // guarantees the destination page is free RAM that no AP executes; the two do not overlap
    // (the image is above 1 MiB). 3. `data_offset` is 8-aligned (`.balign 8`) inside the page.
    unsafe {
        let image = core::slice::from_raw_parts(start, len);
        write_changed(image, TRAMPOLINE_ADDR);
        ((TRAMPOLINE_ADDR + data_offset) as *mut TrampolineData).write(data);
    }
}
