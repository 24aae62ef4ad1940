//! How many CPUs an app may use.

/// CPUs online (at least 1).
#[unsafe(no_mangle)]
pub extern "C" fn sys_available_parallelism() -> usize {
    crate::smp::cpu_count().max(1)
}

/// The same as [`sys_available_parallelism`] (Hermit's older name).
#[unsafe(no_mangle)]
pub extern "C" fn sys_get_processor_count() -> usize {
    sys_available_parallelism()
}
