//! The two ways a CPU is named: its index in the runtime's tables and its local APIC ID. Two
//! types, so that one is never passed where the other is meant.

use core::fmt;

/// A CPU's index: 0 is the boot CPU, then the others in the order they were registered (the
/// MADT's). Every per-CPU table is indexed by it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CpuIndex(usize);

impl CpuIndex {
    /// The boot CPU.
    pub const BOOT: Self = Self(0);

    /// The CPU at `index`.
    pub const fn new(index: usize) -> Self {
        Self(index)
    }

    /// The index as a number.
    pub const fn get(self) -> usize {
        self.0
    }
}

impl fmt::Display for CpuIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A local APIC ID, what IPIs are addressed to (8 bits in xAPIC mode, 32 in x2APIC mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApicId(u32);

impl ApicId {
    /// The APIC ID `id`.
    pub const fn new(id: u32) -> Self {
        Self(id)
    }

    /// The ID as a number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for ApicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
