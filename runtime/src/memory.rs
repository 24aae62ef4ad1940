//! The physical memory map and the choice of the heap region. The map comes from the host, so
//! nothing here trusts it: ends are computed with checked arithmetic (an entry that would run
//! past 2^64 is clipped and reported), and RAM that a reserved entry also claims is not RAM.

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

    /// One past its last byte, or `None` when `start + len` runs past 2^64.
    pub fn end(&self) -> Option<u64> {
        self.start.checked_add(self.len)
    }

    /// One past its last byte, clipped at 2^64 - 1 for an entry that would wrap.
    fn clipped_end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }
}

/// End of page 0, which the kernel leaves unmapped so that a null pointer plus a small offset
/// faults, and which no app pointer may touch.
pub const PAGE_ZERO_END: u64 = 4096;

/// End of the identity map the boot code builds (the low 4 GiB): the kernel reads host data and
/// places its heap only below it.
pub const IDENTITY_MAP_END: u64 = 4 << 30;

/// Whether `len` bytes at `addr` lie inside the identity map (without wrapping).
pub fn identity_mapped(addr: u64, len: u64) -> bool {
    addr.checked_add(len)
        .is_some_and(|end| end <= IDENTITY_MAP_END)
}

/// Whether every byte of `[addr, addr + len)` lies in some entry of `map` (of any kind); for
/// `len == 0`, whether `addr` does. False for a range that runs past 2^64.
pub fn covered(map: &[MemoryRegion], addr: u64, len: u64) -> bool {
    let Some(end) = addr.checked_add(len) else {
        return false;
    };
    let mut at = addr;
    // Each step moves `at` past the end of an entry that contains it: at most one per entry.
    for _ in 0..map.len() {
        let Some(next) = map
            .iter()
            .filter(|r| r.start <= at && at < r.clipped_end())
            .map(MemoryRegion::clipped_end)
            .max()
        else {
            return false;
        };
        if next >= end {
            return true;
        }
        at = next;
    }
    false
}

/// The indexes of entries whose `start + len` runs past 2^64 (each is used clipped).
pub fn wrapping_entries(map: &[MemoryRegion]) -> impl Iterator<Item = usize> + '_ {
    map.iter()
        .enumerate()
        .filter(|(_, r)| r.end().is_none())
        .map(|(i, _)| i)
}

/// Calls `f` with each piece `[start, end)` of RAM in `map` that no reserved entry overlaps,
/// clipped to `[floor, ceiling)`. Overlapping RAM entries may give overlapping pieces.
pub fn free_ram(map: &[MemoryRegion], floor: u64, ceiling: u64, mut f: impl FnMut(u64, u64)) {
    let reserved = || {
        map.iter()
            .filter(|r| r.kind == RegionKind::Reserved && r.len > 0)
    };
    for ram in map.iter().filter(|r| r.kind == RegionKind::Ram) {
        let mut at = ram.start.max(floor);
        let end = ram.clipped_end().min(ceiling);
        // Each step passes one reserved entry: at most one step per entry, plus the last piece.
        while at < end {
            let next = reserved()
                .filter(|r| r.clipped_end() > at && r.start < end)
                .min_by_key(|r| r.start.max(at));
            match next {
                None => {
                    f(at, end);
                    break;
                }
                Some(r) => {
                    if r.start > at {
                        f(at, r.start);
                    }
                    at = r.clipped_end();
                }
            }
        }
    }
}

/// Alignment of the heap's bounds.
const HEAP_ALIGN: u64 = 4096;

/// The largest piece of RAM in `map` that lies in `[floor, ceiling)` and that no reserved entry
/// overlaps, page-aligned, as `(start, len)`. `floor` keeps the heap above the kernel image and
/// low memory; `ceiling` is the end of the identity map.
pub fn heap_region(map: &[MemoryRegion], floor: u64, ceiling: u64) -> Option<(u64, u64)> {
    let mut best: Option<(u64, u64)> = None;
    free_ram(map, floor, ceiling, |start, end| {
        let Some(start) = start.checked_next_multiple_of(HEAP_ALIGN) else {
            return;
        };
        let end = end / HEAP_ALIGN * HEAP_ALIGN;
        if end > start && best.is_none_or(|(_, len)| end - start > len) {
            best = Some((start, end - start));
        }
    });
    best
}

/// Total RAM in `map` that no reserved entry overlaps, in bytes (saturating).
pub fn total_ram(map: &[MemoryRegion]) -> u64 {
    let mut total = 0u64;
    free_ram(map, 0, u64::MAX, |start, end| {
        total = total.saturating_add(end - start);
    });
    total
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

    fn reserved(start: u64, len: u64) -> MemoryRegion {
        MemoryRegion {
            start,
            len,
            kind: RegionKind::Reserved,
        }
    }

    #[test]
    fn a_ram_entry_near_the_top_of_the_address_space_neither_wraps_nor_wins() {
        // Its start rounds up past 2^64 and its end wraps: the heap must stay in real RAM.
        let top = ram(u64::MAX - 100, 4096);
        let map = [ram(MIB, 64 * MIB), top];
        assert_eq!(
            heap_region(&map, 2 * MIB, u64::MAX),
            Some((2 * MIB, 63 * MIB))
        );
        assert_eq!(heap_region(&[top], 0, u64::MAX), None);
        assert_eq!(wrapping_entries(&map).collect::<Vec<_>>(), vec![1]);
        assert_eq!(
            total_ram(&[ram(u64::MAX - 100, 4096), ram(0, 10)]),
            100 + 10
        );
    }

    #[test]
    fn reserved_entries_overlapping_ram_are_cut_out() {
        // RAM 1..129 MiB with a reserved hole at 64..100 MiB and one over its start.
        let map = [
            ram(MIB, 128 * MIB),
            reserved(64 * MIB, 36 * MIB),
            reserved(0, 2 * MIB),
        ];
        assert_eq!(
            heap_region(&map, MIB, 4096 * MIB),
            Some((2 * MIB, 62 * MIB))
        );
        assert_eq!(total_ram(&map), 128 * MIB - 36 * MIB - MIB);
        // A reserved entry covering all of the RAM leaves nothing.
        assert_eq!(
            heap_region(&[ram(MIB, MIB), reserved(0, 8 * MIB)], 0, u64::MAX),
            None
        );
    }

    #[test]
    fn coverage_and_the_identity_map() {
        let map = [
            reserved(0xF0000, 0x10000),
            ram(MIB, MIB),
            reserved(2 * MIB, MIB),
        ];
        assert!(covered(&map, 0xF5250, 36));
        assert!(covered(&map, 0xFFFF0, 3 * MIB - 0xFFFF0));
        assert!(!covered(&map, 0xE0000, 16));
        assert!(!covered(&map, 2 * MIB, 2 * MIB));
        assert!(!covered(&map, u64::MAX, 2));
        assert!(!covered(&[], 0, 1));
        assert!(identity_mapped(0, 4 << 30));
        assert!(!identity_mapped((4 << 30) - 1, 2));
        assert!(!identity_mapped(u64::MAX, 2));
    }
}
