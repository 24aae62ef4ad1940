//! Changes to the boot identity map: unmapping 4 KiB pages (guard pages below stacks, page 0)
//! and mapping them again. The boot code maps the low 4 GiB with 2 MiB pages; unmapping a page
//! splits its 2 MiB page into a page table of 4 KiB entries first.

use alloc::boxed::Box;
use core::mem::MaybeUninit;

use spinning_top::Spinlock;

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

/// End of the identity map the boot code builds (`memory::IDENTITY_MAP_END`, the one place
/// that says so).
const MAPPED_END: usize = crate::memory::IDENTITY_MAP_END as usize;

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

/// The page tables splits take, reserved when the heap is set up ([`reserve_split_tables`]),
/// and how many are in use. Its lock serialises every change to the page tables.
struct SplitTables {
    /// Uninitialised until a split fills one whole: zeroing them at every boot would cost
    /// 1/512 of memory in stores, which a warm restart under an emulating hypervisor feels.
    tables: &'static mut [MaybeUninit<PageTable>],
    used: usize,
}

/// Reserving the tables up front means an unmap after boot never allocates: it cannot fail for
/// lack of memory, and the heap's counters come back to where they were when the stacks that
/// split pages are freed (a split stays: see [`unmap_page`]).
static SPLIT_TABLES: Spinlock<SplitTables> = Spinlock::new(SplitTables {
    tables: &mut [],
    used: 0,
});

/// Reserves, from the heap just set up at `start..start + len`, one page table for each 2 MiB
/// page from address 0 to the heap's end: every page that is ever unmapped (page 0, the guard
/// under the boot or restart stack in the kernel image, guards in the heap) lies there. That is
/// 1/512 of the memory covered. The boot CPU calls it once per boot (cold or warm), right after
/// the heap is set up; a warm restart forgets the old reservation with the rest of `.bss` and
/// the heap.
pub fn reserve_split_tables(start: usize, len: usize) {
    let count = (start + len).div_ceil(LARGE_PAGE_SIZE);
    let tables = Box::<[PageTable]>::new_uninit_slice(count);
    let mut split = SPLIT_TABLES.lock();
    assert!(split.tables.is_empty(), "page tables reserved twice");
    split.tables = Box::leak(tables);
    split.used = 0;
}

/// Unmaps the 4 KiB page at `addr` so any access to it faults (a stack guard, page 0), first
/// splitting its 2 MiB page into a page table of 4 KiB entries that map it the same way (a table
/// from [`reserve_split_tables`]; it stays, even once the page is mapped again: another CPU may
/// hold the table in its paging-structure caches, so it cannot be freed while others run).
///
/// Any CPU may call it, while the others run. Only the calling CPU's TLB is flushed: another CPU
/// may go on using a stale translation of the page (or of its 2 MiB page, which maps the same
/// way) until it flushes it (`invlpg`); a CPU that must fault on the page (the one that
/// runs on a stack over it) has to do that first. The split itself needs no flush elsewhere: the
/// old 2 MiB entry and the new 4 KiB entries translate every address alike.
pub fn unmap_page(addr: usize) {
    assert!(
        addr.is_multiple_of(PAGE_SIZE) && addr < MAPPED_END,
        "page {addr:#x} not in the map"
    );
    let mut split = SPLIT_TABLES.lock();
    let entry = pd_entry(addr);
    // SAFETY: 1. the boot code built this hierarchy and nothing frees it; page-table pages
    // (boot_pd and the reserved tables) are identity-mapped, so their physical addresses are
    // usable pointers. 2. every change is made under the `SPLIT_TABLES` lock, and each entry is
    // written whole, so a concurrent page walk sees either the old or the new entry, which map
    // every address but `addr` alike. 3. the reserved table taken is used by nothing else.
    unsafe {
        let large = entry.read_volatile();
        assert!(large & PRESENT != 0, "page {addr:#x} is not mapped");
        if large & HUGE_PAGE != 0 {
            let used = split.used;
            let table = split
                .tables
                .get_mut(used)
                .expect("no page table left for a split (reserve_split_tables)");
            let base = large & ADDRESS_MASK;
            let flags = large & !ADDRESS_MASK & !HUGE_PAGE;
            let table = table.write(PageTable(core::array::from_fn(|i| {
                (base + (i * PAGE_SIZE) as u64) | flags
            })));
            let table = table as *mut PageTable;
            split.used = used + 1;
            entry.write_volatile((table as u64) | (flags & 0xFFF));
            x86::tlb::flush(addr & !(LARGE_PAGE_SIZE - 1));
        }
        let small = pt_entry(entry.read_volatile(), addr);
        small.write_volatile(small.read_volatile() & !PRESENT);
        x86::tlb::flush(addr);
    }
}

/// Maps the page at `addr`, unmapped by [`unmap_page`], again (identity, as before). No CPU needs
/// a flush: x86 never caches a translation of a page that is not present, so each CPU's next
/// access walks the tables and finds the page.
pub fn remap_page(addr: usize) {
    let _split = SPLIT_TABLES.lock();
    // SAFETY: as in `unmap_page`: the hierarchy is identity-mapped and lives for good, the lock
    // serialises changes, and the entry is written whole. `unmap_page` split this 2 MiB page, so
    // the directory entry points to a page table.
    unsafe {
        let large = pd_entry(addr).read_volatile();
        assert!(
            large & PRESENT != 0 && large & HUGE_PAGE == 0,
            "page {addr:#x} was not unmapped"
        );
        let small = pt_entry(large, addr);
        small.write_volatile(small.read_volatile() | PRESENT);
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

/// Puts the identity map back as the boot code built it (2 MiB pages everywhere, guard pages and
/// the hole at page 0 gone) and flushes the TLB. Warm restart only: the page tables that splits
/// took live in the heap, which is about to be reset (and `.bss`, which held their reservation,
/// was restored already). Every mapped address keeps its mapping.
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
