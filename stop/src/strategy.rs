//! How the stopper first signals its targets, and the adaptive vector timeout.
//!
//! # The trade-off
//! The stop vector is an ordinary interrupt: a CPU takes it only with interrupts on, so a CPU in
//! an interrupts-off section (a half-written device command, a lock held with interrupts off)
//! finishes that section before it stops, and its context in the report is a clean one. An NMI
//! lands between any two instructions: it stops an interrupts-off CPU at once, but in the middle
//! of whatever it was doing. Waiting for the vector costs the vector timeout whenever a target
//! has interrupts off; NMI-first costs the clean stopping point.
//! - [`StopStrategy::Vector`] with a fixed timeout (1 ms by default) gives every section up to
//!   the timeout the chance to finish.
//! - [`StopStrategy::NmiFirst`] (the runtime's default) stops every target within one NMI
//!   round trip. A stopped CPU never resumes, so the clean stopping point matters only to code
//!   that goes on using what the stopped CPU was changing.
//! - Adaptive (the runtime's `stop.strategy=adaptive`) is `Vector` with the timeout derived
//!   from an IPI round trip measured at boot ([`adaptive_vector_timeout`]): idle CPUs still
//!   take the vector, and an interrupts-off CPU is waited for only a few round trips more than
//!   an idle one needs.
//!
//! NMI-first has one more cost: a target that halts with NMIs blocked (it panicked inside an
//! NMI handler) before its stop NMI lands can never account for it and is reported stuck (a
//! safe false alarm, crate docs); `Vector` sends no NMI to a target that stops within the
//! vector timeout.
#![forbid(unsafe_code)]

use core::time::Duration;

use crate::config::DEFAULT_VECTOR_TIMEOUT;

/// How the stopper signals the targets before it waits ([`StopConfig::strategy`](crate::StopConfig::strategy)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopStrategy {
    /// The stop vector to all, a wait of the vector timeout, then an NMI to each target still
    /// `Running`, a wait of the NMI timeout, then INIT by policy.
    Vector = 0,
    /// An NMI to every `Running` target at once, no stop vector and no vector wait; then the
    /// NMI timeout and INIT by policy, as with `Vector`. A target still `Booting` is never sent
    /// an NMI (I4): it stops itself when it comes online.
    NmiFirst = 1,
}

impl StopStrategy {
    /// Decodes [`StopStrategy`] `as u8`; anything unknown is `Vector`.
    pub(crate) const fn from_code(code: u8) -> Self {
        match code {
            1 => Self::NmiFirst,
            _ => Self::Vector,
        }
    }
}

/// How many measured IPI round trips the adaptive vector timeout allows, the round trip being
/// the fastest measured. With 8, idle CPUs took the vector in 392 of 400 stops (the runtime's
/// bench under TCG, 2 CPUs, eight runs on a loaded 2-core host, timeouts 110–403 µs), while an
/// interrupts-off CPU waits only that long.
pub const ADAPTIVE_ROUND_TRIPS: u32 = 8;
/// The shortest adaptive vector timeout: below it, an idle vCPU (under TCG: a stop of an idle
/// CPU took 23–95 µs at the median) often misses the vector and is stopped by NMI although it
/// had interrupts on.
pub const ADAPTIVE_MIN_VECTOR_TIMEOUT: Duration = Duration::from_micros(50);
/// The longest adaptive vector timeout: the fixed default, so adaptive never waits longer.
pub const ADAPTIVE_MAX_VECTOR_TIMEOUT: Duration = DEFAULT_VECTOR_TIMEOUT;

/// The vector timeout for a machine whose measured IPI round trip (stop vector to every other
/// CPU until each answered) is `round_trip`: [`ADAPTIVE_ROUND_TRIPS`] of them, within
/// [`ADAPTIVE_MIN_VECTOR_TIMEOUT`]..=[`ADAPTIVE_MAX_VECTOR_TIMEOUT`].
///
/// ```
/// use core::time::Duration;
/// let us = Duration::from_micros;
/// assert_eq!(stop::adaptive_vector_timeout(us(10)), us(80));
/// assert_eq!(stop::adaptive_vector_timeout(us(1)), us(50));
/// assert_eq!(stop::adaptive_vector_timeout(us(400)), us(1000));
/// ```
pub fn adaptive_vector_timeout(round_trip: Duration) -> Duration {
    round_trip
        .saturating_mul(ADAPTIVE_ROUND_TRIPS)
        .clamp(ADAPTIVE_MIN_VECTOR_TIMEOUT, ADAPTIVE_MAX_VECTOR_TIMEOUT)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn the_adaptive_timeout_is_round_trips_within_its_bounds() {
        for (round_trip, timeout) in [
            (Duration::ZERO, us(50)),
            (us(6), us(50)),
            (us(7), us(56)),
            (us(16), us(128)),
            (us(124), us(992)),
            (us(125), us(1000)),
            (us(126), us(1000)),
            (Duration::MAX, us(1000)),
        ] {
            assert_eq!(
                adaptive_vector_timeout(round_trip),
                timeout,
                "{round_trip:?}"
            );
        }
    }

    #[test]
    fn codes_round_trip() {
        for strategy in [StopStrategy::Vector, StopStrategy::NmiFirst] {
            assert_eq!(StopStrategy::from_code(strategy as u8), strategy);
        }
        assert_eq!(StopStrategy::from_code(9), StopStrategy::Vector);
    }
}
