//! Saved CPU contexts and the switch between them, for the scheduler.
//!
//! Switches are cooperative: a thread gives up its CPU by calling [`switch`] (a plain function
//! call), so only what the SysV ABI makes callee-saved needs saving: rbx, rbp, r12–r15, the
//! stack pointer, MXCSR's control bits and the x87 control word. FS base (the thread pointer,
//! see [`super::tls`]) is switched too. Interrupt handlers never switch, so an interrupted
//! thread always resumes where it was.
//!
//! MXCSR and the x87 control word travel in an FXSAVE image, not through STMXCSR/LDMXCSR and
//! FNSTCW/FLDCW: a KVM without hardware virtualization (PVM, `kvm_pvm`) runs a batch of guest
//! instructions after each exit through KVM's instruction emulator, which has FXSAVE/FXRSTOR
//! but neither LDMXCSR/STMXCSR nor FLDCW, and ends the VM with an emulation failure on them.

use alloc::alloc::{alloc, dealloc, Layout};
use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use x86::msr::{wrmsr, IA32_FS_BASE};

use crate::arch::x86_64::boot::paging::{remap_page, unmap_page, PAGE_SIZE};

/// MXCSR at reset: all SIMD exceptions masked, round to nearest.
const MXCSR_DEFAULT: u32 = 0x1F80;
/// x87 control word after `fninit`: all exceptions masked, 64-bit precision.
const FCW_DEFAULT: u16 = 0x037F;
/// Offsets in the FXSAVE image (SDM Vol. 1 §10.5.1, table 10-2).
const FXSAVE_FCW: usize = 0;
const FXSAVE_MXCSR: usize = 24;

/// An FXSAVE/FXRSTOR image (512 bytes, 16-aligned).
#[repr(C, align(16))]
struct FxImage([u8; 512]);

/// What [`switch`] saves, lowest address first. Keep the asm in sync: `allstop_context_switch`
/// pushes rbp first, then reserves the FXSAVE image and the padding that keeps it 16-aligned;
/// a new context "returns" into `allstop_thread_start`, which flushes the stack's guard page
/// (r13) from this CPU's TLB and calls the entry in r12.
#[repr(C)]
struct SwitchFrame {
    /// The x87/SSE state; only its control words (FCW, MXCSR) matter across a switch.
    fpu: FxImage,
    padding: u64,
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    rbx: u64,
    rbp: u64,
    return_address: u64,
}

global_asm!(
    r#"
    .section .text.context, "ax"
    .global allstop_context_switch
allstop_context_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    sub rsp, {fpu_and_padding}
    fxsave64 [rsp]
    mov [rdi], rsp

    .global allstop_context_load
allstop_context_load:
    mov rsp, rsi
    fxrstor64 [rsp]
    add rsp, {fpu_and_padding}
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

    .global allstop_thread_start
allstop_thread_start:
    invlpg [r13]
    and rsp, -16
    call r12
    ud2
"#,
    fpu_and_padding = const core::mem::offset_of!(SwitchFrame, r15),
);

unsafe extern "C" {
    /// Saves the callee-saved state on the stack, stores the stack pointer at `save`, then
    /// loads the context whose saved stack pointer is `load` and returns into it.
    fn allstop_context_switch(save: *mut usize, load: usize);
    /// Loads the context whose saved stack pointer is `load` (its second argument), saving
    /// nothing.
    fn allstop_context_load(unused: usize, load: usize) -> !;
    /// Where a new context starts: flushes the page at r13 (the stack's guard) from this CPU's
    /// TLB, then calls the function in r12 on an aligned stack.
    fn allstop_thread_start();
}

/// A saved CPU context: a stack pointer (valid while the context is not running) and the FS
/// base it runs with.
pub struct Context {
    rsp: AtomicUsize,
    fs_base: AtomicU64,
}

impl Context {
    /// A context to save into: a CPU's idle loop, which runs on the stack it already has.
    pub const fn empty() -> Self {
        Self {
            rsp: AtomicUsize::new(0),
            fs_base: AtomicU64::new(0),
        }
    }

    /// A context that, when first switched to, runs `entry` on `stack` with FS base
    /// `fs_base`. The stack must outlive every run of the context (the scheduler keeps a
    /// thread's stack until the thread has switched away for the last time).
    pub fn new(stack: &Stack, entry: extern "C" fn() -> !, fs_base: u64) -> Self {
        let top = stack.top();
        // 16-aligned, as FXRSTOR needs (the frame is a multiple of 16 bytes, like `top`).
        let frame_at = top - size_of::<SwitchFrame>();
        let mut fpu = FxImage([0; 512]);
        fpu.0[FXSAVE_FCW..FXSAVE_FCW + 2].copy_from_slice(&FCW_DEFAULT.to_le_bytes());
        fpu.0[FXSAVE_MXCSR..FXSAVE_MXCSR + 4].copy_from_slice(&MXCSR_DEFAULT.to_le_bytes());
        let frame = SwitchFrame {
            fpu,
            padding: 0,
            r15: 0,
            r14: 0,
            r13: stack.guard() as u64,
            r12: entry as *const () as u64,
            rbx: 0,
            rbp: 0,
            return_address: allstop_thread_start as *const () as u64,
        };
        // SAFETY: `frame_at..top` lies inside the stack's allocation (it is far larger than a
        // frame), is 16-aligned, and no context runs on the fresh stack yet.
        unsafe { (frame_at as *mut SwitchFrame).write(frame) };
        Self {
            rsp: AtomicUsize::new(frame_at),
            fs_base: AtomicU64::new(fs_base),
        }
    }
}

/// Saves the running context into `from` and continues with `to`; returns when something
/// switches back to `from`.
///
/// Only the scheduler calls this, on the CPU that owns both contexts: `from` is the context
/// running now and `to` is one saved by an earlier switch (or fresh from [`Context::new`]),
/// not running anywhere, whose stack is still alive.
pub fn switch(from: &Context, to: &Context) {
    let load = to.rsp.load(Ordering::Acquire);
    assert!(load != 0, "switch to a context that was never saved");
    set_fs_base(to.fs_base.load(Ordering::Relaxed));
    // SAFETY: per this function's contract, `to` holds a stack pointer saved by
    // `allstop_context_switch` (or a frame laid out by `Context::new`) on a live stack that
    // nothing else runs on, and `from` is the running context, so saving into it loses nothing.
    unsafe { allstop_context_switch(from.rsp.as_ptr(), load) }
}

/// Continues with `to` and never comes back: the running context is abandoned (an exiting
/// thread). Same contract for `to` as [`switch`].
pub fn switch_away(to: &Context) -> ! {
    let load = to.rsp.load(Ordering::Acquire);
    assert!(load != 0, "switch to a context that was never saved");
    set_fs_base(to.fs_base.load(Ordering::Relaxed));
    // SAFETY: as in `switch`; nothing is saved, so nothing refers to the abandoned stack.
    unsafe { allstop_context_load(0, load) }
}

fn set_fs_base(value: u64) {
    // SAFETY: the kernel itself never uses FS; only the thread about to run reads it.
    unsafe { wrmsr(IA32_FS_BASE, value) };
}

/// A thread's stack over an unmapped 4 KiB guard page, so an overflow faults (reported as a
/// stack overflow) instead of running on through the heap below it; freed on drop, when the
/// guard is mapped again.
///
/// Why the guard faults on the CPU that runs the thread, although other CPUs run while it is
/// unmapped: before the unmap the page was ordinary heap memory, so any CPU may still hold a
/// translation of it (4 KiB, or of its 2 MiB page). A thread runs on one CPU only, and that CPU
/// first enters it through `allstop_thread_start`, whose `invlpg` drops any such translation
/// (of every page size, with the paging-structure caches) before the thread's first
/// instruction; from then on the CPU can only walk the tables, which say "not present" until
/// the stack is freed, after the thread's last switch away. Stale translations on the other
/// CPUs do no harm: nothing there touches the page (it belongs to this allocation, and the
/// thread never runs there), so no shootdown is needed. Mapping it again on free needs no flush
/// either (see `remap_page`).
pub struct Stack {
    /// The guard page; the stack proper starts one page above it.
    base: *mut u8,
    /// Guard page and stack together.
    layout: Layout,
}

// SAFETY: the stack is plain memory owned by this value.
unsafe impl Send for Stack {}
// SAFETY: shared references only read its bounds.
unsafe impl Sync for Stack {}

impl Stack {
    /// A stack of at least `size` bytes (rounded up to whole pages) over a guard page; `None`
    /// when the heap is exhausted or no allocation can be that large.
    pub fn new(size: usize) -> Option<Self> {
        let pages = size
            .checked_next_multiple_of(PAGE_SIZE)?
            .checked_add(PAGE_SIZE)?;
        let layout = Layout::from_size_align(pages, PAGE_SIZE).ok()?;
        // SAFETY: the size is at least two pages.
        let base = unsafe { alloc(layout) };
        if base.is_null() {
            return None;
        }
        unmap_page(base as usize);
        Some(Self { base, layout })
    }

    /// Its guard page's address.
    fn guard(&self) -> usize {
        self.base as usize
    }

    /// One past its highest byte (16-aligned).
    fn top(&self) -> usize {
        self.base as usize + self.layout.size()
    }

    /// The stack's bytes, lowest address..top (the guard page not included).
    pub fn range(&self) -> core::ops::Range<usize> {
        self.guard() + PAGE_SIZE..self.top()
    }

    /// Its guard page's bytes.
    pub fn guard_range(&self) -> core::ops::Range<usize> {
        self.guard()..self.guard() + PAGE_SIZE
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        remap_page(self.guard());
        // SAFETY: `base` came from `alloc` with `layout`, and its guard page is mapped again;
        // the scheduler drops a stack only after its thread switched away for good.
        unsafe { dealloc(self.base, self.layout) }
    }
}
