//! Monotonic time from the TSC: `now` and `delay` (in the kernel), and tick/nanosecond
//! conversion.

use core::sync::atomic::{AtomicU64, Ordering};
#[cfg(target_os = "none")]
use core::time::Duration;

/// TSC ticks per millisecond (= kHz), set once at boot by the clock set-up.
static TSC_KHZ: AtomicU64 = AtomicU64::new(0);

/// Records the TSC frequency; `now` and `delay` use it from then on.
pub fn set_tsc_khz(khz: u64) {
    TSC_KHZ.store(khz.max(1), Ordering::Relaxed);
}

/// TSC ticks per millisecond.
pub fn tsc_khz() -> u64 {
    TSC_KHZ.load(Ordering::Relaxed)
}

/// Converts TSC ticks to nanoseconds at `khz` ticks per millisecond.
pub fn ticks_to_ns(ticks: u64, khz: u64) -> u64 {
    (u128::from(ticks) * 1_000_000 / u128::from(khz.max(1))) as u64
}

/// Converts nanoseconds to TSC ticks at `khz` ticks per millisecond.
pub fn ns_to_ticks(ns: u64, khz: u64) -> u64 {
    (u128::from(ns) * u128::from(khz) / 1_000_000) as u64
}

#[cfg(target_os = "none")]
/// Time since the TSC started counting (roughly, since the machine started).
pub fn now() -> Duration {
    Duration::from_nanos(now_ns())
}

#[cfg(target_os = "none")]
/// [`now`] in nanoseconds; lock-free, usable from NMI context.
pub fn now_ns() -> u64 {
    ticks_to_ns(crate::arch::tsc::read(), tsc_khz())
}

#[cfg(target_os = "none")]
/// Busy-waits for at least `d`.
pub fn delay(d: Duration) {
    spin_until(d, || false);
}

#[cfg(target_os = "none")]
/// Busy-waits until `done()` or until `timeout` has passed; returns `done()`'s last answer.
pub fn spin_until(timeout: Duration, done: impl Fn() -> bool) -> bool {
    let start = crate::arch::tsc::read();
    let ticks = ns_to_ticks(timeout.as_nanos() as u64, tsc_khz());
    loop {
        if done() {
            return true;
        }
        if crate::arch::tsc::read().wrapping_sub(start) >= ticks {
            return done();
        }
        core::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip_at_common_frequencies() {
        for khz in [1_000_000, 2_400_000, 3_193_912] {
            assert_eq!(ticks_to_ns(khz, khz), 1_000_000);
            assert_eq!(ns_to_ticks(1_000_000, khz), khz);
            let ns = 123_456_789;
            let back = ticks_to_ns(ns_to_ticks(ns, khz), khz);
            assert!(ns - back <= 1, "{ns} -> {back} at {khz} kHz");
        }
    }

    #[test]
    fn large_tick_counts_do_not_overflow() {
        // 4 GHz: 4 ticks per nanosecond.
        assert_eq!(ticks_to_ns(u64::MAX / 2, 4_000_000), (u64::MAX / 2) / 4);
    }
}
