//! Where an app's pointers may point: the one check every `sys_*` makes on a pointer argument
//! before it reads or writes through it.
//!
//! A range `(address, len)` passes when it is empty (nothing is touched, so std's dangling
//! pointers for empty slices are fine), or when it is at most `isize::MAX` bytes, not null,
//! aligned as its type needs, does not wrap past the end of the address space, lies outside
//! page 0 and lies wholly inside one piece of RAM by the boot memory map (E820 type 1),
//! clipped to the identity map. MMIO (the local APIC page at 0xFEE0_0000, the IOAPIC), firmware
//! holes and anything unmapped are refused, so an app cannot make the runtime touch a device
//! register or fault on its behalf.
//!
//! The RAM table is set once per boot from the memory map ([`set_ram`]); a warm restart zeroes
//! `.bss`, so it is set again, from the same map the cold boot kept.

use alloc::vec::Vec;
use spin::Once;

use super::errno::Errno;
use crate::memory::{self, MemoryRegion, PAGE_ZERO_END};

/// Why a pointer argument was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadPointer {
    /// Longer than `isize::MAX` bytes: no Rust object is that large.
    TooLong,
    /// Null with a non-zero length.
    Null,
    /// Not a multiple of the alignment its type needs.
    Misaligned,
    /// `address + len` overflows the address space.
    Wraps,
    /// Touches page 0.
    PageZero,
    /// Not wholly inside one piece of RAM.
    OutsideRam,
}

impl From<BadPointer> for Errno {
    /// `EINVAL` for sizes and alignments no valid argument has, `EFAULT` for bad addresses.
    fn from(bad: BadPointer) -> Errno {
        match bad {
            BadPointer::TooLong | BadPointer::Misaligned => Errno::Invalid,
            BadPointer::Null
            | BadPointer::Wraps
            | BadPointer::PageZero
            | BadPointer::OutsideRam => Errno::Fault,
        }
    }
}

/// RAM the app may point into: sorted, disjoint, non-adjacent `[start, end)` ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RamMap {
    ranges: Vec<(u64, u64)>,
}

impl RamMap {
    /// The RAM of `map` that no reserved entry overlaps ([`memory::free_ram`], as the heap's
    /// choice uses), clipped to `[PAGE_ZERO_END, ceiling)`, sorted and merged where pieces touch
    /// or overlap (so a buffer may span two adjacent entries).
    pub fn new(map: &[MemoryRegion], ceiling: u64) -> Self {
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        memory::free_ram(map, PAGE_ZERO_END, ceiling, |start, end| {
            pieces.push((start, end))
        });
        pieces.sort_unstable();
        let mut ranges: Vec<(u64, u64)> = Vec::with_capacity(pieces.len());
        for (start, end) in pieces {
            match ranges.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => ranges.push((start, end)),
            }
        }
        Self { ranges }
    }

    /// Whether `[start, end)` lies inside one range.
    fn contains(&self, start: u64, end: u64) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= start && end <= hi)
    }

    /// Checks the `len` bytes at `address`, which hold values aligned to `align` (a power of
    /// two; 1 for bytes).
    pub fn check(&self, address: usize, len: usize, align: usize) -> Result<(), BadPointer> {
        if len == 0 {
            return Ok(());
        }
        if len > isize::MAX as usize {
            return Err(BadPointer::TooLong);
        }
        if address == 0 {
            return Err(BadPointer::Null);
        }
        if !address.is_multiple_of(align) {
            return Err(BadPointer::Misaligned);
        }
        let end = address.checked_add(len).ok_or(BadPointer::Wraps)?;
        let (start, end) = (address as u64, end as u64);
        if start < PAGE_ZERO_END {
            return Err(BadPointer::PageZero);
        }
        if self.contains(start, end) {
            Ok(())
        } else {
            Err(BadPointer::OutsideRam)
        }
    }
}

/// The RAM app pointers may point into, from this boot's memory map.
static RAM: Once<RamMap> = Once::new();

/// Records the boot memory map's RAM below `ceiling` (the end of the identity map) as what app
/// pointers may point into. The first call of a boot sets it; later calls change nothing.
pub fn set_ram(map: &[MemoryRegion], ceiling: u64) {
    RAM.call_once(|| RamMap::new(map, ceiling));
}

/// [`RamMap::check`] against this boot's RAM ([`set_ram`]), then whether every page of the
/// range is mapped now (RAM that is not: a thread stack's guard page); before the RAM is set,
/// every non-empty range is refused.
pub fn check(address: usize, len: usize, align: usize) -> Result<(), Errno> {
    match RAM.get() {
        Some(ram) => {
            ram.check(address, len, align)?;
            if pages(address, len).all(is_mapped) {
                Ok(())
            } else {
                Err(Errno::Fault)
            }
        }
        None if len == 0 => Ok(()),
        None => Err(Errno::Fault),
    }
}

/// The start of each page the `len` bytes at `address` touch (none when empty). The range has
/// passed [`RamMap::check`], so it does not wrap.
fn pages(address: usize, len: usize) -> impl Iterator<Item = usize> {
    const PAGE: usize = 4096;
    let first = address & !(PAGE - 1);
    let end = if len == 0 { first } else { address + len };
    (first..end).step_by(PAGE)
}

/// Whether the page at `page` is mapped: the live page tables in the kernel; host tests run in
/// a process whose memory the tests own, so everything is.
#[cfg(target_os = "none")]
fn is_mapped(page: usize) -> bool {
    crate::arch::is_mapped(page)
}

#[cfg(not(target_os = "none"))]
fn is_mapped(_page: usize) -> bool {
    true
}

/// Lets host unit tests hand the ABI pointers to their own memory: all of it, except page 0,
/// counts as RAM.
#[cfg(test)]
pub fn allow_everything_for_tests() {
    set_ram(
        &[MemoryRegion {
            start: 0,
            len: u64::MAX,
            kind: memory::RegionKind::Ram,
        }],
        u64::MAX,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::RegionKind;

    const MIB: u64 = 1 << 20;
    /// QEMU's local APIC page.
    const APIC: usize = 0xFEE0_0000;

    fn region(start: u64, len: u64, kind: RegionKind) -> MemoryRegion {
        MemoryRegion { start, len, kind }
    }

    /// QEMU's `pc` map with 128 MiB: low RAM, the BIOS hole, RAM from 1 MiB, and a reserved
    /// window at the top of 4 GiB.
    fn qemu_pc() -> RamMap {
        RamMap::new(
            &[
                region(0, 0x9_fc00, RegionKind::Ram),
                region(0x9_fc00, 0x400, RegionKind::Reserved),
                region(0xf_0000, 0x1_0000, RegionKind::Reserved),
                region(MIB, 127 * MIB, RegionKind::Ram),
                region(0xfffc_0000, 0x4_0000, RegionKind::Reserved),
            ],
            4 << 30,
        )
    }

    #[test]
    fn buffers_inside_ram_pass() {
        let ram = qemu_pc();
        assert_eq!(ram.check(0x1000, 16, 1), Ok(()));
        assert_eq!(ram.check(2 * MIB as usize, 4096, 8), Ok(()));
        // The very last bytes of RAM.
        assert_eq!(ram.check((128 * MIB - 16) as usize, 16, 16), Ok(()));
        assert_eq!(ram.check(0x9_fbff, 1, 1), Ok(()));
    }

    #[test]
    fn empty_ranges_pass_at_any_address() {
        let ram = qemu_pc();
        for address in [0, 1, 3, 0x10, APIC, usize::MAX, 0x9_fc00 + 7] {
            assert_eq!(ram.check(address, 0, 1), Ok(()), "{address:#x}");
            assert_eq!(ram.check(address, 0, 8), Ok(()), "{address:#x} aligned");
        }
        assert_eq!(RamMap::default().check(1, 0, 1), Ok(()));
    }

    #[test]
    fn sizes_beyond_isize_max_are_too_long() {
        let ram = qemu_pc();
        for len in [isize::MAX as usize + 1, usize::MAX] {
            assert_eq!(ram.check(0x1000, len, 1), Err(BadPointer::TooLong));
            assert_eq!(ram.check(0, len, 1), Err(BadPointer::TooLong));
        }
    }

    #[test]
    fn null_with_a_length_is_null() {
        assert_eq!(qemu_pc().check(0, 1, 1), Err(BadPointer::Null));
        assert_eq!(qemu_pc().check(0, 16, 8), Err(BadPointer::Null));
    }

    #[test]
    fn a_range_that_wraps_is_refused() {
        let ram = qemu_pc();
        assert_eq!(ram.check(usize::MAX, 2, 1), Err(BadPointer::Wraps));
        assert_eq!(ram.check(usize::MAX - 15, 32, 16), Err(BadPointer::Wraps));
        // Its last byte is the second-to-last address: no wrap, but not RAM either.
        assert_eq!(
            ram.check(usize::MAX - 15, 15, 1),
            Err(BadPointer::OutsideRam)
        );
        // Its last byte is the very last address: the end is past the address space.
        assert_eq!(ram.check(usize::MAX - 15, 16, 1), Err(BadPointer::Wraps));
    }

    #[test]
    fn page_zero_is_refused_even_where_the_map_says_ram() {
        let ram = qemu_pc();
        // null + offset: a field of a struct at null, the AP trampoline's page is further up.
        assert_eq!(ram.check(0x10, 8, 8), Err(BadPointer::PageZero));
        assert_eq!(ram.check(1, 1, 1), Err(BadPointer::PageZero));
        assert_eq!(ram.check(0xff8, 16, 8), Err(BadPointer::PageZero));
        // A map whose first RAM entry starts at 0 still keeps page 0 out.
        assert_eq!(ram.check(0x1000, 1, 1), Ok(()));
    }

    #[test]
    fn misaligned_typed_pointers_are_refused() {
        let ram = qemu_pc();
        assert_eq!(ram.check(0x2001, 16, 8), Err(BadPointer::Misaligned));
        assert_eq!(ram.check(0x2004, 16, 8), Err(BadPointer::Misaligned));
        assert_eq!(ram.check(0x2002, 4, 4), Err(BadPointer::Misaligned));
        assert_eq!(ram.check(0x2008, 16, 8), Ok(()));
        // Bytes need no alignment.
        assert_eq!(ram.check(0x2001, 3, 1), Ok(()));
    }

    #[test]
    fn pages_are_those_the_range_touches() {
        let pages: Vec<usize> = super::pages(0x1ff8, 16).collect();
        assert_eq!(pages, [0x1000, 0x2000]);
        assert_eq!(super::pages(0x2000, 4096).collect::<Vec<_>>(), [0x2000]);
        assert_eq!(super::pages(0x2000, 0).count(), 0);
        assert_eq!(super::pages(0x2fff, 1).collect::<Vec<_>>(), [0x2000]);
    }

    #[test]
    fn reserved_entries_inside_ram_are_outside_ram() {
        // A host that lists a reserved window inside a RAM entry: the window is not RAM.
        let ram = RamMap::new(
            &[
                region(MIB, 127 * MIB, RegionKind::Ram),
                region(64 * MIB, MIB, RegionKind::Reserved),
            ],
            4 << 30,
        );
        assert_eq!(
            ram.check((64 * MIB) as usize, 8, 8),
            Err(BadPointer::OutsideRam)
        );
        assert_eq!(
            ram.check((64 * MIB - 8) as usize, 16, 8),
            Err(BadPointer::OutsideRam)
        );
        assert_eq!(ram.check((63 * MIB) as usize, 8, 8), Ok(()));
        assert_eq!(ram.check((65 * MIB) as usize, 8, 8), Ok(()));
    }

    #[test]
    fn mmio_and_holes_are_outside_ram() {
        let ram = qemu_pc();
        assert_eq!(ram.check(APIC, 4, 4), Err(BadPointer::OutsideRam));
        assert_eq!(ram.check(APIC + 0xb0, 4, 4), Err(BadPointer::OutsideRam));
        assert_eq!(ram.check(0xb_8000, 2, 1), Err(BadPointer::OutsideRam));
        assert_eq!(ram.check(0xf_0000, 1, 1), Err(BadPointer::OutsideRam));
        assert_eq!(ram.check(0x9_fc00, 1, 1), Err(BadPointer::OutsideRam));
        assert_eq!(
            ram.check((128 * MIB) as usize, 1, 1),
            Err(BadPointer::OutsideRam)
        );
    }

    #[test]
    fn a_range_straddling_the_end_of_ram_is_refused() {
        let ram = qemu_pc();
        assert_eq!(
            ram.check((128 * MIB - 8) as usize, 16, 8),
            Err(BadPointer::OutsideRam)
        );
        assert_eq!(ram.check(0x9_fbff, 2, 1), Err(BadPointer::OutsideRam));
        // From low RAM across the BIOS hole into RAM above 1 MiB.
        assert_eq!(
            ram.check(0x9_0000, MIB as usize, 1),
            Err(BadPointer::OutsideRam)
        );
    }

    #[test]
    fn adjacent_ram_entries_merge_and_ram_past_the_ceiling_is_cut() {
        let ram = RamMap::new(
            &[
                region(8 * MIB, 8 * MIB, RegionKind::Ram),
                region(MIB, 7 * MIB, RegionKind::Ram),
                region(4 * MIB, MIB, RegionKind::Ram),
                region(32 * MIB, 32 * MIB, RegionKind::Ram),
            ],
            48 * MIB,
        );
        assert_eq!(ram.ranges, [(MIB, 16 * MIB), (32 * MIB, 48 * MIB)]);
        assert_eq!(ram.check((8 * MIB - 4) as usize, 8, 4), Ok(()));
        assert_eq!(
            ram.check((48 * MIB - 4) as usize, 8, 4),
            Err(BadPointer::OutsideRam)
        );
    }

    #[test]
    fn an_entry_that_would_wrap_ends_at_the_top() {
        let ram = RamMap::new(&[region(u64::MAX - 4095, 8192, RegionKind::Ram)], u64::MAX);
        assert_eq!(ram.ranges, [(u64::MAX - 4095, u64::MAX)]);
    }

    #[test]
    fn errnos_are_einval_for_sizes_and_alignment_efault_for_addresses() {
        assert_eq!(Errno::from(BadPointer::TooLong), Errno::Invalid);
        assert_eq!(Errno::from(BadPointer::Misaligned), Errno::Invalid);
        for bad in [
            BadPointer::Null,
            BadPointer::Wraps,
            BadPointer::PageZero,
            BadPointer::OutsideRam,
        ] {
            assert_eq!(Errno::from(bad), Errno::Fault, "{bad:?}");
        }
    }

    #[test]
    fn an_empty_ram_map_admits_only_empty_ranges() {
        let none = RamMap::default();
        assert_eq!(none.check(0x1000, 1, 1), Err(BadPointer::OutsideRam));
        assert_eq!(none.check(0x1000, 0, 1), Ok(()));
    }
}
