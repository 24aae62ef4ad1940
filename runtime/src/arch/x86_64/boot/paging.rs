//! Changes to the boot identity map: unmapping 4 KiB guard pages below stacks.
//! The boot code maps the low 4 GiB with 2 MiB pages; a guard page splits its 2 MiB page into a
//! page table of 4 KiB entries first.

use alloc::boxed::Box;

/// Page-table entry bits.
const PRESENT: u64 = 1 << 0;
const HUGE_PAGE: u64 = 1 << 7;
/// Bits 51:12 of an entry: the physical address it points to.
const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
/// Size of a small and a large page.
pub const PAGE_SIZE: usize = 4096;
const LARGE_PAGE_SIZE: usize = 2 << 20;

/// One 4 KiB page table.
#[repr(C, align(4096))]
struct PageTable([u64; 512]);

unsafe extern "C" {
    /// The four page directories behind it (boot.rs): 2048 entries of 2 MiB.
    static mut boot_pd: [u64; 2048];
}

/// Present | writable | 2 MiB page, and the uncached bits (PWT | PCD) for the top 64 MiB: the
/// identity map's entries, written by boot.rs at a cold boot and by `reset_identity_map`.
pub const LARGE_PAGE_FLAGS: u64 = PRESENT | (1 << 1) | HUGE_PAGE;
pub const UNCACHED: u64 = (1 << 3) | (1 << 4);
/// First 2 MiB page (index into the four page directories) that is mapped uncached:
/// 0xFC00_0000 and up holds the I/O APIC, the local APIC and the firmware hole.
pub const FIRST_UNCACHED_2M_PAGE: u32 = 0xFC00_0000 >> 21;

/// End of the identity map the boot code builds.
const MAPPED_END: usize = 4 << 30;

/// The page-directory entry that maps `addr` (below [`MAPPED_END`]): the boot code's four page
/// directories lie back to back in `boot_pd`, one 2 MiB entry each, in address order.
fn pd_entry(addr: usize) -> *mut u64 {
    debug_assert!(addr < MAPPED_END);
    (&raw mut boot_pd).cast::<u64>().wrapping_add(addr >> 21)
}

/// The page-table entry for `addr` in the page table that a split directory entry points to.
fn pt_entry(pd_entry: u64, addr: usize) -> *mut u64 {
    ((pd_entry & ADDRESS_MASK) as *mut u64).wrapping_add((addr >> 12) & 511)
}

/// Unmaps the 4 KiB page at `addr` so any access to it faults (a stack guard).
///
/// Only the boot CPU calls this, before the APs start (they load the same CR3 afterwards, so no
/// other TLB holds the old mapping).
pub fn unmap_guard_page(addr: usize) {
    assert!(
        addr.is_multiple_of(PAGE_SIZE) && addr < MAPPED_END,
        "guard page {addr:#x} not in the map"
    );
    let entry = pd_entry(addr);
    // SAFETY: 1. the boot code built this hierarchy and nothing frees it; page-table pages are
    // identity-mapped, so their physical addresses are usable pointers. 2. only the boot CPU
    // changes it, with the APs not yet running (see above), so there is no concurrent walker
    // besides this CPU's MMU, which `invlpg` resynchronises.
    unsafe {
        let large = *entry;
        assert!(large & PRESENT != 0, "guard page {addr:#x} is not mapped");
        if large & HUGE_PAGE != 0 {
            let base = large & ADDRESS_MASK;
            let flags = large & !ADDRESS_MASK & !HUGE_PAGE;
            let mut table = Box::new(PageTable([0; 512]));
            for (i, e) in table.0.iter_mut().enumerate() {
                *e = (base + (i * PAGE_SIZE) as u64) | flags;
            }
            let table = Box::leak(table) as *mut PageTable;
            *entry = (table as u64) | (flags & 0xFFF);
            x86::tlb::flush(addr & !(LARGE_PAGE_SIZE - 1));
        }
        *pt_entry(*entry, addr) = 0;
        x86::tlb::flush(addr);
    }
}

/// Whether the 8 bytes at `addr` are mapped (walks the live page tables; used to follow frame
/// pointers without faulting).
pub fn is_mapped(addr: usize) -> bool {
    if addr >= MAPPED_END || !addr.is_multiple_of(8) {
        return false;
    }
    // SAFETY: reads only; the hierarchy is identity-mapped and never freed, and entries are
    // replaced whole (a racing split shows either the old or the new entry).
    unsafe {
        let large = *pd_entry(addr);
        if large & PRESENT == 0 {
            return false;
        }
        large & HUGE_PAGE != 0 || *pt_entry(large, addr) & PRESENT != 0
    }
}

/// Puts the identity map back as the boot code built it (2 MiB pages everywhere, guard pages
/// gone) and flushes the TLB. Warm restart only: the page tables that guard pages split off live
/// in the heap, which is about to be reset. The mapping of every address stays the same.
pub fn reset_identity_map() {
    // SAFETY: boot_pd is the live page directory array; each entry is rewritten whole with the
    // mapping it had at boot (same physical page), so every translation stays valid; only the
    // boot CPU runs (the others are parked) and the CR3 reload flushes its stale entries.
    unsafe {
        let pd = &raw mut boot_pd;
        for (i, entry) in (*pd).iter_mut().enumerate() {
            let uncached = if i >= FIRST_UNCACHED_2M_PAGE as usize {
                UNCACHED
            } else {
                0
            };
            *entry = ((i * LARGE_PAGE_SIZE) as u64) | LARGE_PAGE_FLAGS | uncached;
        }
        x86::controlregs::cr3_write(x86::controlregs::cr3());
    }
}
