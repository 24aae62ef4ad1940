//! PVH entry: QEMU's `-kernel` loader jumps to `pvh_start32` in 32-bit protected mode with paging
//! off and `ebx` holding the physical address of `hvm_start_info`. The code below reads the TSC
//! (for the boot-time figure, [`entry_tsc`]), zeroes `.bss`,
//! identity-maps the low 4 GiB with 2 MiB pages, enters long mode and calls [`boot_main`].
//!
//! The page tables and the GDT defined here stay in use for the whole run; the AP trampoline
//! (SMP bring-up) loads the same CR3.

use core::arch::global_asm;

use crate::arch::x86_64::cpu::gdt::{KERNEL_CS, KERNEL_DS};

/// `XEN_ELFNOTE_PHYS32_ENTRY`: the ELF note type that gives the PVH 32-bit entry point.
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
/// Size of the boot CPU's stack.
pub const BOOT_STACK_SIZE: usize = 64 * 1024;

global_asm!(
    r#"
    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 4
    .long {note_type}
    .asciz "Xen"
    .balign 4
    .long pvh_start32
    .balign 4

    .section .persistent.boot, "aw", @nobits
    .balign 4096
    .global boot_pml4
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
    .global boot_pd
boot_pd:
    .skip 4 * 4096
    .balign 4096
    .global boot_stack_bottom
boot_stack_bottom:
    .skip {stack_size}
    .global boot_stack_top
boot_stack_top:

    /* The TSC at the first instruction of a cold boot (0 after a warm restart, which zeroes
       .bss again). */
    .section .bss.pvh_entry_tsc, "aw", @nobits
    .balign 8
    .global pvh_entry_tsc
pvh_entry_tsc:
    .skip 8

    .section .text.boot, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    mov esi, ebx
    /* The TSC first, kept in ebp:ebx (high:low) while .bss is zeroed. */
    rdtsc
    mov ebx, eax
    mov ebp, edx

    /* .bss and .persistent are not part of the file: zero them before anything lives there. */
    mov edi, offset __bss_start
    mov ecx, offset __persistent_end
    sub ecx, edi
    xor eax, eax
    rep stosb
    mov dword ptr [pvh_entry_tsc], ebx
    mov dword ptr [pvh_entry_tsc + 4], ebp

    /* PML4[0] -> PDPT; PDPT[0..4] -> the four page directories. */
    mov eax, offset boot_pdpt
    or eax, 0x3
    mov dword ptr [boot_pml4], eax
    mov eax, offset boot_pd
    or eax, 0x3
    xor ecx, ecx
1:
    mov dword ptr [boot_pdpt + ecx * 8], eax
    add eax, 4096
    inc ecx
    cmp ecx, 4
    jb 1b

    /* 2048 present, writable 2 MiB pages; the top 64 MiB uncached (PWT | PCD). */
    xor ecx, ecx
2:
    mov eax, ecx
    shl eax, 21
    or eax, {large_page}
    cmp ecx, {first_uncached}
    jb 3f
    or eax, {uncached}
3:
    mov dword ptr [boot_pd + ecx * 8], eax
    inc ecx
    cmp ecx, 2048
    jb 2b

    /* CR4.PAE, CR3, EFER.LME, then CR0.PG | CR0.WP | CR0.PE. */
    mov eax, cr4
    or eax, 1 << 5
    mov cr4, eax
    mov eax, offset boot_pml4
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 1 << 8
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | (1 << 16) | 1
    mov cr0, eax

    lgdt [boot_gdt_pointer]
    mov eax, {kernel_cs}
    push eax
    mov eax, offset pvh_start64
    push eax
    retf

    .code64
pvh_start64:
    mov ax, {kernel_ds}
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    lea rsp, [rip + boot_stack_top]
    mov edi, esi
    xor ebp, ebp
    call {boot_main}
    ud2
"#,
    note_type = const XEN_ELFNOTE_PHYS32_ENTRY,
    stack_size = const BOOT_STACK_SIZE,
    first_uncached = const super::paging::FIRST_UNCACHED_2M_PAGE,
    large_page = const super::paging::LARGE_PAGE_FLAGS,
    uncached = const super::paging::UNCACHED,
    kernel_cs = const KERNEL_CS,
    kernel_ds = const KERNEL_DS,
    boot_main = sym boot_main,
);

unsafe extern "C" {
    static pvh_entry_tsc: u64;
}

/// The TSC at the PVH entry's first instructions, at a cold boot; `None` after a warm restart.
pub fn entry_tsc() -> Option<u64> {
    // SAFETY: `pvh_entry_tsc` is an aligned 8-byte slot in `.bss`, written only by the entry
    // code above before any Rust code runs (and zeroed by a warm restart's image restore).
    let tsc = unsafe { core::ptr::read_volatile(&raw const pvh_entry_tsc) };
    (tsc != 0).then_some(tsc)
}

/// First Rust code on the boot CPU, called by the assembly above with the physical address of
/// `hvm_start_info`.
extern "C" fn boot_main(start_info: u32) -> ! {
    // First: nothing has written `.data` yet, so this is the copy warm restarts restore.
    super::warm::save_pristine();
    // Next: a fault from here to the real IDT says so on COM1 instead of a triple fault.
    crate::arch::x86_64::interrupts::early_idt::with_installed(boot_with_early_idt, start_info)
}

/// The rest of [`boot_main`], under the early IDT.
fn boot_with_early_idt(start_info: u32) -> ! {
    crate::arch::x86_64::cpu::percpu::init_boot_cpu_early();
    // SAFETY: `start_info` is the `ebx` value the PVH loader passed; low memory is identity-mapped
    // and nothing has been written yet except `.bss`, which holds no loader data.
    match unsafe { super::pvh::read(start_info as usize) } {
        Ok(info) => {
            *super::survivor::SURVIVOR.start_info.lock() = info;
            let heap = crate::arch::x86_64::platform::heap::init_from_memory_map(&info.memmap[..info.memmap_len]);
            crate::upcalls::boot(info, heap)
        }
        // Nothing else is set up: say why on COM1 and end the run with its own status.
        Err(bad) => crate::arch::x86_64::platform::power::exit_before_console(
            wire::exit::BAD_BOOT_INFO,
            format_args!("{bad}"),
        ),
    }
}
