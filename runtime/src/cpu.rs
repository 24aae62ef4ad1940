//! Which CPU is running.

/// Index of the running CPU (0 is the boot CPU). Until SMP bring-up only the boot CPU runs.
pub fn current_index() -> usize {
    0
}
