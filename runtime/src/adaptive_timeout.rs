//! `stop.strategy=adaptive`: the vector timeout derived from this machine's IPI round trip,
//! measured once the APs are online (the stop crate's `adaptive_vector_timeout` does the
//! arithmetic).

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use crate::cmdline::{BootOptions, StopStrategyOption};
use crate::smp::{self, CpuIndex};
use crate::stopping::STOP;

/// The adaptive vector timeout, in ns, once measured (0: not yet).
static TIMEOUT_NS: AtomicU64 = AtomicU64::new(0);
/// IPI round trips measured; the fastest counts: it is what the machine's IPI path costs, and
/// a slower sample measures only that the host ran a vCPU late (or, the first after bring-up,
/// a cold emulated TLB).
const ROUND_TRIP_SAMPLES: usize = 5;

/// Once the APs are online: with `stop.strategy=adaptive`, measures the IPI round trip, sets
/// the vector timeout derived from it and logs both (info).
pub(crate) fn calibrate(opts: &BootOptions) {
    if opts.stop_strategy != StopStrategyOption::Adaptive {
        return;
    }
    match measure() {
        Some((round_trip, timeout)) => {
            STOP.config().set_vector_timeout(timeout);
            log::info!(
                "stop: IPI round trip {} ns (fastest of {ROUND_TRIP_SAMPLES}): adaptive vector \
                 timeout {} us",
                round_trip.as_nanos(),
                timeout.as_micros()
            );
        }
        None => log::info!(
            "stop: no IPI round trip to measure (one CPU, or no answer): vector timeout stays \
             {} us",
            STOP.config().vector_timeout().as_micros()
        ),
    }
}

/// The vector timeout `stop.strategy=adaptive` uses on this machine: the one [`calibrate`]
/// derived at boot, or (another strategy booted) one derived now, once. `None` with no other
/// CPU online to measure.
pub fn vector_timeout() -> Option<Duration> {
    match TIMEOUT_NS.load(Ordering::Relaxed) {
        0 => measure().map(|(_, timeout)| timeout),
        ns => Some(Duration::from_nanos(ns)),
    }
}

/// Measures the fastest of [`ROUND_TRIP_SAMPLES`] IPI round trips to every other online CPU and
/// derives (and keeps) the adaptive vector timeout from it.
fn measure() -> Option<(Duration, Duration)> {
    let online = (0..smp::cpu_count())
        .filter(|&cpu| smp::is_online(CpuIndex::new(cpu)))
        .count();
    if online < 2 {
        return None;
    }
    let mut round_trip = Duration::MAX;
    for _ in 0..ROUND_TRIP_SAMPLES {
        round_trip = round_trip.min(crate::bench::ipi_round_trip()?);
    }
    let timeout = stop::adaptive_vector_timeout(round_trip);
    TIMEOUT_NS.store(timeout.as_nanos() as u64, Ordering::Relaxed);
    Some((round_trip, timeout))
}
