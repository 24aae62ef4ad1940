//! Which CPU is running.

/// Index of the running CPU (0 is the boot CPU).
pub fn current_index() -> usize {
    crate::arch::percpu::current_index()
}
