//! Warm restart: with every other CPU stopped, the boot CPU switches to the restart stack, parks
//! the others with INIT, restores `.data` from the copy taken at the cold boot, zeroes `.bss`,
//! resets the identity map, and runs the boot path again (heap, per-CPU state, bring-up, app).
//! What survives is in `.persistent` (the survivor record, the boot page tables, this stack).

use core::arch::{asm, global_asm};
use core::time::Duration;

use crate::time;

use super::gdt::{KERNEL_CS, KERNEL_DS};
use super::nmi_requests::{self, Request};
use super::survivor::SURVIVOR;
use super::{apic, heap, paging, percpu, smp, tsc};

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

/// Starts the warm restart on the calling CPU, which must be the boot CPU (index 0) with every
/// other CPU stopped. The jump is an IRET, so NMIs are unblocked even when this runs inside an
/// NMI handler (a revived boot CPU, or a panic in NMI context).
pub fn restart_here() -> ! {
    let (_, top) = restart_stack();
    // SAFETY: builds an interrupt frame for `warm_main` on the restart stack, with the kernel
    // selectors and interrupts off, and IRETs to it; nothing on the old stack is used again.
    // RBP is cleared so that backtraces end at `warm_main` instead of running on into the
    // frames of the run that panicked.
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
            rip = in(reg) warm_main as *const () as u64,
            options(noreturn),
        )
    }
}

/// Asks the boot CPU (stopped by the stop vector or by itself, so NMIs normally reach it) to run
/// the warm restart: an NMI whose handler jumps to [`restart_here`]. Waits up to `timeout` for
/// it to take the request; false (request withdrawn) if it did not, as when it halted with NMIs
/// blocked. The wait compares raw TSC ticks with a deadline fixed before the NMI and reads only
/// the request, which reads as taken both when the boot CPU takes it and once the restore has
/// zeroed `.bss`, so it stays right while the boot CPU restores the image under it.
pub fn revive_boot_cpu(timeout: Duration) -> bool {
    let ticks = time::ns_to_ticks(timeout.as_nanos() as u64, time::tsc_khz());
    let deadline = tsc::read().saturating_add(ticks);
    nmi_requests::request(0, Request::Restart);
    let bsp = smp::apic_id_of(0).expect("CPU 0 exists");
    smp::send(stop::x86::icr::Icr::nmi(bsp));
    loop {
        if !nmi_requests::is_pending(0, Request::Restart) {
            return true;
        }
        if tsc::read() > deadline {
            return !nmi_requests::withdraw(0, Request::Restart);
        }
        core::hint::spin_loop();
    }
}

/// The warm restart proper, on the restart stack, interrupts off.
extern "C" fn warm_main() -> ! {
    // A stop vector taken and never acknowledged would block every lower vector from now on.
    apic::end_all_in_service();
    if let Err(not_parked) = smp::park_others() {
        crate::console::write_fmt_breaking_lock(format_args!(
            "restart: {not_parked}, so some may still run; resetting the machine instead of \
             restoring memory under them\n"
        ));
        crate::power::reset_machine();
    }
    // SAFETY: every other CPU is proven parked (reset by INIT, halted in the park stub) and this
    // code holds no reference into `.data` or `.bss`; after the call every static is at its
    // initial value.
    unsafe { restore_image() };
    percpu::init_boot_cpu_early();
    super::gdt::load_boot_gdt();
    paging::reset_identity_map();
    let info = *SURVIVOR.start_info.lock();
    let heap = heap::init_from_memory_map(&info.memmap[..info.memmap_len]);
    crate::boot::main(info, heap)
}
