//! The kernel heap: `talc` over the largest free RAM region above the kernel image.

use talc::{source::Manual, TalcLock};

use crate::memory::{self, MemoryRegion};
use talc_spinlock::RawSpinlock;

#[global_allocator]
static HEAP: TalcLock<RawSpinlock, Manual> = TalcLock::new(Manual);

/// End of the identity map the boot code builds: the heap, and every pointer an app may pass
/// the Hermit ABI, stay below it.
pub const IDENTITY_MAP_END: u64 = 4 << 30;
/// Low memory (below 1 MiB) is kept for the loader's data and the AP trampoline.
const LOW_MEMORY_END: u64 = 1 << 20;

/// Gives the allocator the largest free RAM region above the kernel image and returns it as
/// `(start, len)`. Panics when there is none. Called once, by the boot CPU's entry code.
pub fn init_from_memory_map(map: &[MemoryRegion]) -> (u64, u64) {
    let floor = (crate::arch::x86_64::boot::image_end() as u64).max(LOW_MEMORY_END);
    let Some((start, len)) = memory::heap_region(map, floor, IDENTITY_MAP_END) else {
        panic!("no free RAM above the kernel image for the heap (memory map: {map:?})");
    };
    // SAFETY: 1. the region is RAM by the memory map, identity-mapped (below IDENTITY_MAP_END),
    // above the kernel image and low memory, so no code, data, stack or loader structure uses it.
    // 2. the boot CPU runs this once, before anything allocates.
    let claimed = unsafe { HEAP.lock().claim(start as *mut u8, len as usize) };
    assert!(
        claimed.is_some(),
        "heap region {start:#x}+{len:#x} too small for the allocator"
    );
    (start, len)
}

/// Bytes currently allocated on the heap.
pub fn allocated_bytes() -> usize {
    HEAP.lock().counters().allocated_bytes
}
