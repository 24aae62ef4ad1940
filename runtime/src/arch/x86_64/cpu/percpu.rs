//! Per-CPU blocks ([`CpuBlock`]): each CPU's index and APIC ID (reachable in O(1) through GS
//! base), GDT, TSS and stacks: a kernel stack and IST stacks for NMI, #DF, #MC and the
//! interrupt vectors, each over a guard page. The runtime's own per-CPU state is `crate::per_cpu`, indexed by this index.

use alloc::alloc::{alloc, Layout};
use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::mem::size_of;
use core::ops::Range;

use stop::{ApicId, CpuIndex};

use x86::bits64::segmentation::Descriptor64;
use x86::bits64::task::TaskStateSegment;
use x86::dtables::{lgdt, DescriptorTablePointer};
use x86::msr::{wrmsr, IA32_GS_BASE};
use x86::segmentation::{
    load_ds, load_es, load_ss, BuildDescriptor, DescriptorBuilder, GateDescriptorBuilder,
    SegmentSelector,
};
use x86::task::load_tr;
use x86::Ring;

use super::gdt::{CODE64_DESCRIPTOR, DATA_DESCRIPTOR, KERNEL_CS, KERNEL_DS};
use crate::arch::x86_64::boot::paging::{unmap_page, PAGE_SIZE};

/// IST slot (1-based, as in IDT gates) of the NMI stack.
pub const IST_NMI: u8 = 1;
/// IST slot of the double-fault stack.
pub const IST_DOUBLE_FAULT: u8 = 2;
/// IST slot of the machine-check stack.
pub const IST_MACHINE_CHECK: u8 = 3;
/// IST slot of the stack the interrupt vectors (wake, stop, probe, spurious) run on: never the
/// interrupted stack, which may be a thread's, exhausted. They are interrupt gates that do not
/// enable interrupts, so one never interrupts another on this stack.
pub const IST_INTERRUPT: u8 = 4;
/// Size of each AP's kernel stack (above its guard page).
const KERNEL_STACK_SIZE: usize = 64 * 1024;
/// Size of each IST stack.
const IST_STACK_SIZE: usize = 16 * 1024;
/// GDT selector of the TSS.
const TSS_SELECTOR: u16 = 0x18;

/// What GS base points at; [`local_word`] reads its fields GS-relative.
#[repr(C)]
struct CpuLocal {
    /// Address of this block.
    self_address: usize,
    /// The CPU's index (0 = boot CPU).
    index: usize,
}

/// Stand-in block for the boot CPU until its real one is set up, so that a panic that early
/// still reads index 0.
static BOOT_CPU_LOCAL: CpuLocal = CpuLocal {
    self_address: 0,
    index: 0,
};

/// The per-CPU GDT: null, kernel code, kernel data, TSS (two slots). Same selectors as the boot
/// GDT.
#[repr(C, align(16))]
struct Gdt {
    null: u64,
    code: u64,
    data: u64,
    tss: Descriptor64,
}

/// The stacks a block allocates, by name, for reports of an overflow.
const GUARDED_STACKS: [&str; 5] = ["kernel", "NMI", "double-fault", "machine-check", "interrupt"];

/// One CPU's block. `local` comes first: GS base points at the whole block.
#[repr(C)]
pub struct CpuBlock {
    local: CpuLocal,
    apic_id: ApicId,
    /// The kernel stack: lowest usable address..top (where RSP starts).
    stack: Range<usize>,
    /// The guard page under each of [`GUARDED_STACKS`] this block allocated (0: none).
    guard_pages: [usize; GUARDED_STACKS.len()],
    tss: TaskStateSegment,
    /// The CPU sets the busy bit of the TSS descriptor when it loads TR.
    gdt: UnsafeCell<Gdt>,
}

// SAFETY: after `new` returns, the only writes to a block are to its `gdt`, by the owning CPU
// alone (its TSS descriptor at each start, and the CPU's busy-bit update when it loads TR).
unsafe impl Sync for CpuBlock {}

/// Allocates `size` bytes of page-aligned stack over an unmapped guard page and returns the
/// guard page's address (the stack's lowest usable address is one page above it).
fn alloc_guarded_stack(size: usize) -> usize {
    let layout = Layout::from_size_align(size + PAGE_SIZE, PAGE_SIZE).expect("stack layout");
    // SAFETY: `layout` has a non-zero size.
    let base = unsafe { alloc(layout) } as usize;
    assert!(base != 0, "out of memory for a {size}-byte stack");
    unmap_page(base);
    base
}

impl CpuBlock {
    /// Creates the block for CPU `index` with its IST stacks and, unless `stack` names the
    /// stack it already runs on, a kernel stack. Runs on the boot CPU before the APs start (it
    /// changes the page tables for the guard page).
    pub fn new(index: CpuIndex, apic_id: ApicId, stack: Option<Range<usize>>) -> &'static Self {
        let mut guard_pages = [0; GUARDED_STACKS.len()];
        let stack = stack.unwrap_or_else(|| {
            guard_pages[0] = alloc_guarded_stack(KERNEL_STACK_SIZE);
            let bottom = guard_pages[0] + PAGE_SIZE;
            bottom..bottom + KERNEL_STACK_SIZE
        });
        let mut tss = TaskStateSegment::new();
        for ist in [IST_NMI, IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_INTERRUPT] {
            let guard = alloc_guarded_stack(IST_STACK_SIZE);
            guard_pages[usize::from(ist)] = guard;
            tss.set_ist(
                usize::from(ist - 1),
                (guard + PAGE_SIZE + IST_STACK_SIZE) as u64,
            );
        }
        let cpu = Box::leak(Box::new(CpuBlock {
            local: CpuLocal {
                self_address: 0,
                index: index.get(),
            },
            apic_id,
            stack,
            guard_pages,
            tss,
            gdt: UnsafeCell::new(Gdt {
                null: 0,
                code: CODE64_DESCRIPTOR,
                data: DATA_DESCRIPTOR,
                tss: Descriptor64::NULL,
            }),
        }));
        cpu.local.self_address = cpu as *const CpuBlock as usize;
        cpu
    }

    /// The CPU's APIC ID.
    pub fn apic_id(&self) -> ApicId {
        self.apic_id
    }

    /// Top of the kernel stack (where RSP starts).
    pub fn stack_top(&self) -> usize {
        self.stack.end
    }

    /// The kernel stack, lowest usable address..top.
    pub fn stack(&self) -> Range<usize> {
        self.stack.clone()
    }

    /// The GDT descriptor of this block's TSS, marked available (not busy).
    fn tss_descriptor(&self) -> Descriptor64 {
        <DescriptorBuilder as GateDescriptorBuilder<u64>>::tss_descriptor(
            &raw const self.tss as u64,
            size_of::<TaskStateSegment>() as u64 - 1,
            true,
        )
        .present()
        .dpl(Ring::Ring0)
        .finish()
    }

    /// Makes this block the calling CPU's: loads its GDT and TSS and points GS base at it. Runs
    /// on the CPU the block belongs to, at every start of that CPU (boot, and each restart after
    /// an INIT).
    pub fn activate(&'static self) {
        let gdt = self.gdt.get();
        // SAFETY: only the owning CPU touches its GDT, and it is not using it yet: `ltr` below
        // needs the descriptor "available", and the previous start left it "busy".
        unsafe { (*gdt).tss = self.tss_descriptor() };
        // SAFETY: `gdt` is a `'static`, complete GDT with the same code/data selectors as the
        // boot GDT, and the TSS it names is `'static` too.
        let pointer = unsafe {
            DescriptorTablePointer::new_from_slice(core::slice::from_raw_parts(
                gdt.cast::<u64>(),
                size_of::<Gdt>() / 8,
            ))
        };
        // SAFETY: 1. the GDT above is valid for as long as the CPU runs. 2. reloading the
        // segment registers with the same selectors keeps their meaning. 3. the TSS descriptor
        // is present and available (not yet loaded by any CPU). 4. GS base points at this
        // `'static` block, whose `CpuLocal` is what `current_index` reads.
        unsafe {
            lgdt(&pointer);
            x86::bits64::segmentation::load_cs(SegmentSelector::from_raw(KERNEL_CS));
            load_ds(SegmentSelector::from_raw(KERNEL_DS));
            load_es(SegmentSelector::from_raw(KERNEL_DS));
            load_ss(SegmentSelector::from_raw(KERNEL_DS));
            load_tr(SegmentSelector::from_raw(TSS_SELECTOR));
            wrmsr(IA32_GS_BASE, self as *const CpuBlock as u64);
        }
    }
}

/// Points the boot CPU's GS base at a stand-in block so [`current_index`] works from the first
/// line of Rust.
pub fn init_boot_cpu_early() {
    // SAFETY: BOOT_CPU_LOCAL is a `'static` `CpuLocal`.
    unsafe { wrmsr(IA32_GS_BASE, &raw const BOOT_CPU_LOCAL as u64) };
}

/// The word at byte `OFFSET` of the calling CPU's [`CpuLocal`], read GS-relative.
fn local_word<const OFFSET: usize>() -> usize {
    let word: usize;
    // SAFETY: GS base points at a `CpuLocal` on every CPU from its first Rust code on
    // (init_boot_cpu_early, or `activate` on an AP before anything else); callers pass the
    // `offset_of!` of one of its `usize` fields.
    unsafe {
        core::arch::asm!(
            "mov {}, gs:[{offset}]",
            out(reg) word,
            offset = const OFFSET,
            options(nostack, readonly, preserves_flags)
        )
    };
    word
}

/// The name of the calling CPU's stack whose guard page holds `address` ("NMI", "kernel", …),
/// if one does: for the report of a double fault, where CR2 still names the page the overflow
/// ran into. `None` also before the CPU's block is active.
pub fn guarded_stack_at(address: usize) -> Option<&'static str> {
    let block = current_block()?;
    let page = address & !(PAGE_SIZE - 1);
    block
        .guard_pages
        .iter()
        .position(|&guard| guard != 0 && guard == page)
        .map(|i| GUARDED_STACKS[i])
}

/// The calling CPU's block; `None` before it is active (the boot CPU's early stand-in).
fn current_block() -> Option<&'static CpuBlock> {
    // The address of the whole block, or 0 for the early stand-in.
    let block = local_word::<{ core::mem::offset_of!(CpuLocal, self_address) }>();
    // SAFETY: a non-zero `self_address` is that of a leaked, `'static` `CpuBlock`.
    (block != 0).then(|| unsafe { &*(block as *const CpuBlock) })
}

/// The calling CPU's interrupt stack (the IST stack of the wake, stop, probe and spurious
/// vectors): lowest usable address..top. `None` before the CPU's block is active.
pub fn interrupt_stack() -> Option<Range<usize>> {
    let block = current_block()?;
    let bottom = block.guard_pages[usize::from(IST_INTERRUPT)] + PAGE_SIZE;
    Some(bottom..bottom + IST_STACK_SIZE)
}

/// Index of the calling CPU.
pub fn current_index() -> CpuIndex {
    CpuIndex::new(local_word::<{ core::mem::offset_of!(CpuLocal, index) }>())
}
