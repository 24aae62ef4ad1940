//! The x87 FPU and SSE for std apps: the kernel itself is built soft-float and never touches
//! them, so an interrupt handler leaves an app's vector registers alone; std code (built for
//! `x86_64-unknown-hermit`) uses SSE2 freely once [`enable`] ran on its CPU. AVX stays off
//! (XCR0 is not enabled), so std's feature detection never picks it.

use x86::controlregs::{cr0, cr0_write, cr4, cr4_write, Cr0, Cr4};

/// Turns on the x87 FPU and SSE on the calling CPU, with the default control words
/// (`fninit`: all x87 exceptions masked; MXCSR keeps its reset value, all masked).
pub fn enable() {
    // SAFETY: 1. clearing CR0.EM/TS and setting MP/NE only lets FPU/SSE instructions run
    // natively instead of faulting (#UD/#NM), and makes x87 errors raise #MF, which has a
    // handler. 2. CR4.OSFXSR/OSXMMEXCPT enable SSE and route SIMD errors to #XM (handled).
    // 3. `fninit` resets only the x87 state, which no kernel code uses.
    unsafe {
        let mut c0 = cr0();
        c0.remove(Cr0::CR0_EMULATE_COPROCESSOR | Cr0::CR0_TASK_SWITCHED);
        c0.insert(Cr0::CR0_MONITOR_COPROCESSOR | Cr0::CR0_NUMERIC_ERROR);
        cr0_write(c0);
        cr4_write(cr4() | Cr4::CR4_ENABLE_SSE | Cr4::CR4_UNMASKED_SSE);
        core::arch::asm!("fninit", options(nomem, nostack));
    }
}
