//! State every CPU keeps apart, in one shape: a [`PerCpu<T>`] holds one `T` per CPU index, in
//! a static array, and `PerCpu::current` (in the kernel) is the calling CPU's. (The hardware's own per-CPU
//! block, reached through GS, is `arch::percpu`; it only tells each CPU its index.)

use core::ops::Index;

use stop::CpuIndex;

pub use crate::topology::MAX_CPUS;

/// One `T` per CPU, indexed by CPU index (0 is the boot CPU).
pub struct PerCpu<T>([T; MAX_CPUS]);

impl<T> PerCpu<T> {
    /// The per-CPU values, by index (write `[const { ... }; MAX_CPUS]` in a `static`).
    pub const fn new(values: [T; MAX_CPUS]) -> Self {
        Self(values)
    }

    /// The calling CPU's value.
    #[cfg(target_os = "none")]
    pub fn current(&self) -> &T {
        &self[crate::arch::percpu::current_index()]
    }
}

impl<T> Index<CpuIndex> for PerCpu<T> {
    type Output = T;

    /// CPU `cpu`'s value; panics if `cpu` is not below [`MAX_CPUS`].
    fn index(&self, cpu: CpuIndex) -> &T {
        &self.0[cpu.get()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn each_cpu_has_its_own_value() {
        static COUNTS: PerCpu<AtomicU32> = PerCpu::new([const { AtomicU32::new(0) }; MAX_CPUS]);
        COUNTS[CpuIndex::new(3)].fetch_add(1, Ordering::Relaxed);
        COUNTS[CpuIndex::new(MAX_CPUS - 1)].fetch_add(2, Ordering::Relaxed);
        let counts: [u32; 3] =
            [3, 4, MAX_CPUS - 1].map(|i| COUNTS[CpuIndex::new(i)].load(Ordering::Relaxed));
        assert_eq!(counts, [1, 0, 2]);
    }

    #[test]
    #[should_panic(expected = "index out of bounds")]
    fn an_index_past_the_last_cpu_panics() {
        let flags = PerCpu::new([false; MAX_CPUS]);
        let _ = flags[CpuIndex::new(MAX_CPUS)];
    }
}
