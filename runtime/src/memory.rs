//! The physical memory map and the choice of the heap region.

/// What a memory-map region holds. (`Reserved` is 0 so that zeroed memory is a valid region.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RegionKind {
    /// Anything else (firmware, ACPI, MMIO holes).
    Reserved = 0,
    /// Usable RAM.
    Ram = 1,
}

/// One physical memory region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// What it holds.
    pub kind: RegionKind,
}

impl MemoryRegion {
    /// An empty placeholder entry.
    pub const EMPTY: Self = Self {
        start: 0,
        len: 0,
        kind: RegionKind::Reserved,
    };
}

/// Alignment of the heap's bounds.
const HEAP_ALIGN: u64 = 4096;

/// The largest piece of RAM in `map` that lies in `[floor, ceiling)`, page-aligned, as
/// `(start, len)`. `floor` keeps the heap above the kernel image and low memory; `ceiling` is the
/// end of the identity map.
pub fn heap_region(map: &[MemoryRegion], floor: u64, ceiling: u64) -> Option<(u64, u64)> {
    map.iter()
        .filter(|r| r.kind == RegionKind::Ram)
        .filter_map(|r| {
            let start = r.start.max(floor).next_multiple_of(HEAP_ALIGN);
            let end = (r.start.saturating_add(r.len)).min(ceiling) / HEAP_ALIGN * HEAP_ALIGN;
            (end > start).then(|| (start, end - start))
        })
        .max_by_key(|&(_, len)| len)
}

/// Total RAM in `map`, in bytes.
pub fn total_ram(map: &[MemoryRegion]) -> u64 {
    map.iter()
        .filter(|r| r.kind == RegionKind::Ram)
        .map(|r| r.len)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn ram(start: u64, len: u64) -> MemoryRegion {
        MemoryRegion {
            start,
            len,
            kind: RegionKind::Ram,
        }
    }

    #[test]
    fn heap_starts_above_the_floor_and_is_page_aligned() {
        let map = [ram(0, 640 * 1024), ram(MIB, 127 * MIB)];
        let (start, len) = heap_region(&map, 2 * MIB + 123, 4096 * MIB).unwrap();
        assert_eq!(start, 2 * MIB + 4096);
        assert_eq!(start + len, 128 * MIB);
    }

    #[test]
    fn picks_the_largest_ram_piece_and_ignores_reserved() {
        let map = [
            ram(MIB, 16 * MIB),
            MemoryRegion {
                start: 64 * MIB,
                len: 512 * MIB,
                kind: RegionKind::Reserved,
            },
            ram(32 * MIB, 24 * MIB),
        ];
        assert_eq!(
            heap_region(&map, 2 * MIB, 4096 * MIB),
            Some((32 * MIB, 24 * MIB))
        );
    }

    #[test]
    fn clips_at_the_ceiling_and_finds_nothing_when_all_is_below_the_floor() {
        let map = [ram(MIB, 8 * MIB)];
        assert_eq!(
            heap_region(&map, 2 * MIB, 6 * MIB),
            Some((2 * MIB, 4 * MIB))
        );
        assert_eq!(heap_region(&map, 9 * MIB, 4096 * MIB), None);
        assert_eq!(total_ram(&map), 8 * MIB);
    }
}
