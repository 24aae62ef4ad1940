//! Warm restart, the hardware half: the restart stack, the jump onto it, and the image restore
//! (`.data` from the copy taken at the cold boot, `.bss` zeroed, the identity map reset) after
//! which the boot path runs again. What survives is in `.persistent` (the survivor record, the
//! boot page tables, this stack). Parking the other CPUs first is the SMP layer's job.

use core::arch::{asm, global_asm};
use core::convert::Infallible;

use super::ap_start::{aps_parked, ApsMayRun};
use super::paging;
use super::survivor::SURVIVOR;
use crate::arch::x86_64::cpu::gdt::{self, KERNEL_CS, KERNEL_DS};
use crate::arch::x86_64::cpu::percpu;
use crate::arch::x86_64::platform::heap;

/// Size of the restart stack, the boot CPU's stack after a warm restart.
const RESTART_STACK_SIZE: usize = 64 * 1024;
/// RFLAGS for the jump to the restart path: interrupts off (bit 1 is always set).
const RFLAGS_INTERRUPTS_OFF: u64 = 0x2;

global_asm!(
    r#"
    .section .persistent.restart_stack, "aw", @nobits
    .balign 4096
    .global restart_stack_bottom
restart_stack_bottom:
    .skip {stack_size}
    .global restart_stack_top
restart_stack_top:

    .section .text.warm, "ax"
    /* Copies `.data` to its pristine copy (cold boot). */
    .global save_pristine_data
save_pristine_data:
    lea rsi, [rip + __data_start]
    lea rdi, [rip + __pristine_data]
    lea rcx, [rip + __data_end]
    sub rcx, rsi
    shr rcx, 3
    cld
    rep movsq
    ret

    /* Restores `.data` from the pristine copy and zeroes `.bss`, a quadword at a time (both
       are whole quadwords: allstop.ld; bytewise took ~340 us under TCG, this ~50 us). Uses no
       stack beyond its own return address, which lies on the restart stack in `.persistent`. */
    .global restore_image
restore_image:
    lea rsi, [rip + __pristine_data]
    lea rdi, [rip + __data_start]
    lea rcx, [rip + __data_end]
    sub rcx, rdi
    shr rcx, 3
    cld
    rep movsq
    lea rdi, [rip + __bss_start]
    lea rcx, [rip + __bss_end]
    sub rcx, rdi
    shr rcx, 3
    xor eax, eax
    rep stosq
    ret
"#,
    stack_size = const RESTART_STACK_SIZE,
);

unsafe extern "C" {
    fn save_pristine_data();
    fn restore_image();
    static restart_stack_bottom: u8;
    static restart_stack_top: u8;
}

/// The restart stack as `(lowest address, top)`.
pub fn restart_stack() -> (usize, usize) {
    (
        &raw const restart_stack_bottom as usize,
        &raw const restart_stack_top as usize,
    )
}

/// Keeps a pristine copy of `.data`. The cold boot calls it first, before anything writes there.
pub fn save_pristine() {
    // SAFETY: copies `.data` into the reserved area of the same size in `.persistent`
    // (allstop.ld); neither overlaps anything else.
    unsafe { save_pristine_data() };
}

/// Switches the calling CPU to the restart stack and runs `entry` there, interrupts off. The
/// jump is an IRET, so NMIs are unblocked even when this runs inside an NMI handler (a revived
/// boot CPU, or a panic in NMI context). Only the boot CPU may call it, with every other CPU
/// stopped: nothing else may be using the restart stack.
pub fn restart_here(entry: extern "C" fn() -> !) -> ! {
    let (_, top) = restart_stack();
    // SAFETY: builds an interrupt frame for `entry` on the restart stack, with the kernel
    // selectors and interrupts off, and IRETs to it; nothing on the old stack is used again.
    // RBP is cleared so that backtraces end at `entry` instead of running on into the frames
    // of the run that panicked.
    unsafe {
        asm!(
            "xor ebp, ebp",
            "push {ss}",
            "push {rsp}",
            "push {rflags}",
            "push {cs}",
            "push {rip}",
            "iretq",
            ss = in(reg) u64::from(KERNEL_DS),
            rsp = in(reg) top as u64,
            rflags = in(reg) RFLAGS_INTERRUPTS_OFF,
            cs = in(reg) u64::from(KERNEL_CS),
            rip = in(reg) entry as *const () as u64,
            options(noreturn),
        )
    }
}

/// Restores the image (`.data` from its pristine copy, `.bss` zeroed), the boot CPU's early
/// state and the identity map, and runs the boot path again with the start info and heap of
/// the cold boot. Runs on the restart stack ([`restart_here`]); refused unless every AP is
/// proven parked (`ap_start::confirm_parked`), since the others' code and data are restored
/// under them.
pub fn restore_image_and_boot() -> Result<Infallible, ApsMayRun> {
    if !aps_parked() {
        return Err(ApsMayRun);
    }
    // SAFETY: every other CPU is proven parked (reset by INIT, halted in the park stub), and
    // this function holds no reference into `.data` or `.bss`; after the call every static is
    // at its initial value.
    unsafe { restore_image() };
    percpu::init_boot_cpu_early();
    gdt::load_boot_gdt();
    paging::reset_identity_map();
    let info = *SURVIVOR.start_info.lock();
    let heap = heap::init_from_memory_map(&info.memmap[..info.memmap_len]);
    crate::upcalls::boot(info, heap)
}
