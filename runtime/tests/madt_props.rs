//! Property tests of the MADT walker and the ACPI validator on arbitrary bytes: they never
//! panic or loop, and every entry the walker yields lies inside the table.

use allstop::acpi_check::{self, madt_entries, MadtEntry, MADT_HEADER_LEN, MAX_MADT_ENTRIES};
use allstop::memory::{MemoryRegion, RegionKind};
use proptest::prelude::*;

/// A table: a header-sized prefix of arbitrary bytes, then entries that are mostly
/// well-formed (type, length, filler) with arbitrary bytes mixed in.
fn table() -> impl Strategy<Value = Vec<u8>> {
    let entry = prop_oneof![
        (any::<u8>(), 0u8..40).prop_map(|(kind, len)| {
            let mut e = vec![kind, len];
            e.resize(usize::from(len).max(2), 0xAA);
            e
        }),
        prop::collection::vec(any::<u8>(), 0..8),
    ];
    (
        prop::collection::vec(any::<u8>(), 0..=MADT_HEADER_LEN as usize),
        prop::collection::vec(entry, 0..64),
    )
        .prop_map(|(mut head, entries)| {
            head.extend(entries.into_iter().flatten());
            head
        })
}

proptest! {
    #[test]
    fn the_walker_stays_inside_the_table_and_ends(table in table()) {
        let mut expected_offset = MADT_HEADER_LEN as usize;
        let mut steps = 0;
        let mut failed = false;
        for item in madt_entries(&table) {
            steps += 1;
            prop_assert!(steps <= MAX_MADT_ENTRIES + 1, "too many steps");
            prop_assert!(!failed, "an item after an error");
            match item {
                Ok(MadtEntry { offset, len, .. }) => {
                    prop_assert_eq!(offset as usize, expected_offset);
                    prop_assert!(len >= 2);
                    prop_assert!(offset as usize + usize::from(len) <= table.len());
                    expected_offset += usize::from(len);
                }
                Err(_) => failed = true,
            }
        }
        // Without an error the walk covered the whole table.
        if !failed && table.len() >= MADT_HEADER_LEN as usize {
            prop_assert_eq!(expected_offset, table.len());
        }
        let cpus = acpi_check::madt_cpus(&table);
        prop_assert!(cpus.cpus.len() + cpus.broadcast <= steps);
    }

    #[test]
    fn the_validator_never_panics_on_arbitrary_memory(
        memory in prop::collection::vec(any::<u8>(), 0..512),
        rsdp_offset in 0u64..600,
    ) {
        const BASE: u64 = 0x10_0000;
        let map = [MemoryRegion { start: BASE, len: 512, kind: RegionKind::Reserved }];
        let read = |addr: u64, out: &mut [u8]| {
            for (i, byte) in out.iter_mut().enumerate() {
                let at = (addr + i as u64).checked_sub(BASE);
                *byte = at.and_then(|at| memory.get(at as usize)).copied().unwrap_or(0);
            }
        };
        let _ = acpi_check::validate(&read, &map, BASE + rsdp_offset);
    }
}
