//! Heap statistics for apps (the heap itself is the global allocator: use `alloc`).

/// Bytes currently allocated on the heap (a warm restart brings it back to the cold-boot value).
pub fn allocated_bytes() -> usize {
    crate::arch::heap::allocated_bytes()
}
