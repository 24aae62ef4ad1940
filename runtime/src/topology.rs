//! Which CPUs the machine has, from the ACPI MADT, in the order the runtime numbers them.

use alloc::vec::Vec;

/// Most CPUs the runtime runs. Per-CPU memory is allocated at boot for the CPUs the machine has
/// (`per_cpu`), so this limit costs a small machine nothing.
pub const MAX_CPUS: usize = wire::exit::MAX_CPUS;

/// `Enabled` flag of a MADT processor entry: the CPU is usable.
pub const MADT_ENABLED: u32 = 1 << 0;
/// `Online Capable` flag: the CPU is disabled now but could be brought online (hot-plug).
pub const MADT_ONLINE_CAPABLE: u32 = 1 << 1;

/// One processor entry of the MADT (local APIC or local x2APIC structure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MadtCpu {
    /// Its APIC ID.
    pub apic_id: u32,
    /// The entry's flags ([`MADT_ENABLED`], [`MADT_ONLINE_CAPABLE`]).
    pub flags: u32,
}

/// The CPUs to run on and what was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// APIC IDs by CPU index: the boot CPU is index 0, then the MADT's order.
    pub apic_ids: Vec<u32>,
    /// Disabled entries that could be brought online later (not started).
    pub online_capable: usize,
    /// Enabled CPUs dropped because the runtime supports at most `max_cpus`.
    pub over_limit: usize,
    /// Enabled CPUs dropped because their APIC ID is above `max_apic_id` (xAPIC mode can
    /// address only IDs up to 254: a wider one would wrap in the 8-bit destination field).
    pub unaddressable: usize,
}

/// Highest APIC ID an xAPIC-mode IPI can name (0xFF is the broadcast ID).
pub const MAX_XAPIC_ID: u32 = 0xFE;

/// Orders the enabled CPUs with the boot CPU first, drops duplicates (a firmware may list a CPU
/// both as local APIC and local x2APIC), leaves out APIC IDs above `max_apic_id`, and keeps at
/// most `max_cpus`. The boot CPU is always in, even if the MADT forgot it.
pub fn from_madt(
    entries: &[MadtCpu],
    boot_apic_id: u32,
    max_cpus: usize,
    max_apic_id: u32,
) -> Topology {
    let mut apic_ids = Vec::with_capacity(entries.len() + 1);
    apic_ids.push(boot_apic_id);
    // Sorted IDs seen so far: duplicates found in O(log n) even with a thousand CPUs.
    let mut seen = alloc::collections::BTreeSet::from([boot_apic_id]);
    let (mut online_capable, mut over_limit, mut unaddressable) = (0, 0, 0);
    for e in entries {
        if e.flags & MADT_ENABLED == 0 {
            online_capable += usize::from(e.flags & MADT_ONLINE_CAPABLE != 0);
        } else if !seen.insert(e.apic_id) {
            // A duplicate.
        } else if e.apic_id > max_apic_id {
            unaddressable += 1;
        } else if apic_ids.len() < max_cpus {
            apic_ids.push(e.apic_id);
        } else {
            over_limit += 1;
        }
    }
    Topology {
        apic_ids,
        online_capable,
        over_limit,
        unaddressable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xapic_mode_leaves_out_ids_it_cannot_address() {
        let madt = [cpu(0, 1), cpu(254, 1), cpu(255, 1), cpu(300, 1), cpu(1, 1)];
        let t = from_madt(&madt, 0, 256, MAX_XAPIC_ID);
        assert_eq!(t.apic_ids, vec![0, 254, 1]);
        assert_eq!((t.unaddressable, t.over_limit), (2, 0));
        let t = from_madt(&madt, 0, 256, u32::MAX);
        assert_eq!(t.apic_ids, vec![0, 254, 255, 300, 1]);
        assert_eq!(t.unaddressable, 0);
    }

    fn cpu(apic_id: u32, flags: u32) -> MadtCpu {
        MadtCpu { apic_id, flags }
    }

    #[test]
    fn boot_cpu_first_then_madt_order() {
        let t = from_madt(&[cpu(0, 1), cpu(1, 1), cpu(2, 1)], 1, 256, u32::MAX);
        assert_eq!(t.apic_ids, vec![1, 0, 2]);
    }

    #[test]
    fn disabled_entries_are_skipped_and_online_capable_counted() {
        let t = from_madt(
            &[cpu(0, 1), cpu(5, 0), cpu(6, MADT_ONLINE_CAPABLE)],
            0,
            256,
            u32::MAX,
        );
        assert_eq!(t.apic_ids, vec![0]);
        assert_eq!(t.online_capable, 1);
    }

    #[test]
    fn duplicates_and_sparse_x2apic_ids() {
        let t = from_madt(
            &[cpu(0, 1), cpu(300, 1), cpu(300, 1), cpu(0, 1)],
            0,
            256,
            u32::MAX,
        );
        assert_eq!(t.apic_ids, vec![0, 300]);
    }

    #[test]
    fn limit_keeps_the_boot_cpu_and_counts_the_rest() {
        let t = from_madt(
            &[cpu(0, 1), cpu(1, 1), cpu(2, 1), cpu(3, 1)],
            3,
            2,
            u32::MAX,
        );
        assert_eq!(t.apic_ids, vec![3, 0]);
        assert_eq!(t.over_limit, 2);
    }

    #[test]
    fn missing_madt_means_boot_cpu_only() {
        assert_eq!(from_madt(&[], 7, 256, u32::MAX).apic_ids, vec![7]);
    }
}
