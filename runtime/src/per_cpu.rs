//! State every CPU keeps apart, in one shape: a [`PerCpu<T>`] holds one `T` per CPU index, and
//! `PerCpu::current` (in the kernel) is the calling CPU's. (The hardware's own per-CPU block,
//! reached through GS, is `arch::percpu`; it only tells each CPU its index.)
//!
//! Memory follows the machine, not [`MAX_CPUS`]: the boot CPU's value is static, usable from
//! the first instruction, and the other CPUs' values are allocated once, at boot, when the
//! MADT has told how many CPUs there are ([`PerCpu::allocate`]). A warm restart restores the
//! statics and allocates again from the fresh heap.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ops::Index;

use spin::Once;
use stop::CpuIndex;

pub use crate::topology::MAX_CPUS;

/// One `T` per CPU, indexed by CPU index (0 is the boot CPU). Declare with `per_cpu!`, and
/// have the owning module's `allocate_per_cpu` (called from `boot::allocate_per_cpu`) allocate
/// it: another CPU's value read before that panics.
pub struct PerCpu<T: 'static> {
    /// The boot CPU's value.
    boot: T,
    /// Every other CPU's value, from index 1 on; filled by [`PerCpu::allocate`].
    others: BootTable<T>,
    /// Makes the initial value of one CPU.
    make: fn() -> T,
}

/// A [`PerCpu`] whose every CPU starts with `$value` (a const expression).
#[cfg(any(target_os = "none", test))]
macro_rules! per_cpu {
    ($value:expr) => {
        $crate::per_cpu::PerCpu::new($value, || $value)
    };
}
#[cfg(target_os = "none")]
pub(crate) use per_cpu;

impl<T> PerCpu<T> {
    /// The boot CPU starts with `boot`, every other CPU with what `make` returns (use
    /// `per_cpu!`).
    pub const fn new(boot: T, make: fn() -> T) -> Self {
        Self {
            boot,
            others: BootTable::new(),
            make,
        }
    }

    /// Allocates the values of CPUs `1..cpus`. Call once, at boot, before any other CPU runs;
    /// a second call changes nothing.
    pub fn allocate(&self, cpus: usize) {
        self.others.fill(cpus.saturating_sub(1), self.make);
    }

    /// The calling CPU's value.
    #[cfg(target_os = "none")]
    pub fn current(&self) -> &T {
        &self[crate::arch::percpu::current_index()]
    }
}

impl<T> Index<CpuIndex> for PerCpu<T> {
    type Output = T;

    /// CPU `cpu`'s value; panics if `cpu` is past the CPUs allocated for.
    fn index(&self, cpu: CpuIndex) -> &T {
        match cpu.get() {
            0 => &self.boot,
            i => {
                let others = self
                    .others
                    .filled()
                    .expect("per-CPU values of the other CPUs are allocated at boot");
                &others[i - 1]
            }
        }
    }
}

/// A table of `T`s whose length is known only at boot: empty until [`BootTable::fill`], then
/// the same memory until the next boot (heap memory, never freed).
pub struct BootTable<T: 'static>(Once<&'static [T]>);

impl<T> BootTable<T> {
    /// An empty table.
    pub const fn new() -> Self {
        Self(Once::new())
    }

    /// Fills the table with `len` values from `make`; a second call changes nothing.
    pub fn fill(&self, len: usize, mut make: impl FnMut() -> T) {
        self.0.call_once(|| {
            let values: Vec<T> = (0..len).map(|_| make()).collect();
            Box::leak(values.into_boxed_slice())
        });
    }

    /// The values, once filled.
    pub fn filled(&self) -> Option<&'static [T]> {
        self.0.get().copied()
    }

    /// The values; empty before [`BootTable::fill`].
    pub fn all(&self) -> &'static [T] {
        self.filled().unwrap_or_default()
    }
}

impl<T> Default for BootTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn each_cpu_has_its_own_value() {
        static COUNTS: PerCpu<AtomicU32> = per_cpu!(AtomicU32::new(7));
        COUNTS[CpuIndex::new(0)].fetch_add(1, Ordering::Relaxed);
        COUNTS.allocate(5);
        COUNTS.allocate(9);
        COUNTS[CpuIndex::new(3)].fetch_add(1, Ordering::Relaxed);
        COUNTS[CpuIndex::new(4)].fetch_add(2, Ordering::Relaxed);
        let counts: [u32; 5] =
            [0, 1, 2, 3, 4].map(|i| COUNTS[CpuIndex::new(i)].load(Ordering::Relaxed));
        assert_eq!(counts, [8, 7, 7, 8, 9]);
    }

    #[test]
    fn the_boot_cpu_needs_no_allocation() {
        let flags = per_cpu!(true);
        assert!(flags[CpuIndex::BOOT]);
    }

    #[test]
    #[should_panic(expected = "per-CPU values of the other CPUs are allocated at boot")]
    fn another_cpu_before_allocation_panics() {
        let flags = per_cpu!(false);
        let _ = flags[CpuIndex::new(1)];
    }

    #[test]
    #[should_panic(expected = "index out of bounds: the len is 3 but the index is 3")]
    fn an_index_past_the_last_cpu_panics() {
        let flags = per_cpu!(false);
        flags.allocate(4);
        let _ = flags[CpuIndex::new(4)];
    }
}
