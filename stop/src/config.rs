//! Run-time settings of a stop (boot options): plain values in atomics, readable from any context.
#![forbid(unsafe_code)]

use core::time::Duration;

use crate::strategy::StopStrategy;
use crate::sync::{AtomicU64, AtomicU8, Ordering};

/// Default wait for the stop vector under [`StopStrategy::Vector`]: 1 ms (Linux waits 1 s; a
/// stopped CPU never resumes, so an NMI is as safe here as the vector, and waiting longer only
/// delays the report).
pub const DEFAULT_VECTOR_TIMEOUT: Duration = Duration::from_millis(1);
/// Default wait after the NMIs: 10 ms, as Linux.
pub const DEFAULT_NMI_TIMEOUT: Duration = Duration::from_millis(10);
/// Wait after sending INIT to stragglers before reporting them parked. INIT is accepted within
/// microseconds by a responsive APIC; this is a generous margin, not a measured figure.
pub const INIT_SETTLE: Duration = Duration::from_micros(100);

/// Whether CPUs that answer neither the vector nor the NMI are parked with INIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitPark {
    /// Leave stragglers alone and report them stuck (bare-metal default: INIT parking hung
    /// machines in SMM on Linux).
    Off = 0,
    /// Send INIT to stragglers (default under a hypervisor).
    On = 1,
}

/// Strategy, timeouts and INIT policy. Defaults: [`StopStrategy::Vector`],
/// [`DEFAULT_VECTOR_TIMEOUT`], [`DEFAULT_NMI_TIMEOUT`], [`InitPark::Off`] (the runtime turns it
/// on under a hypervisor, and sets the strategy and timeouts from its boot options).
///
/// ```
/// # use core::time::Duration;
/// let config = stop::StopConfig::new();
/// config.set_vector_timeout(Duration::from_micros(250));
/// config.set_init_park(stop::InitPark::On);
/// assert_eq!(config.vector_timeout(), Duration::from_micros(250));
/// ```
#[derive(Debug)]
pub struct StopConfig {
    /// [`StopStrategy`] as u8.
    strategy: AtomicU8,
    /// Vector timeout in ns.
    vector_timeout_ns: AtomicU64,
    /// NMI timeout in ns.
    nmi_timeout_ns: AtomicU64,
    /// [`InitPark`] as u8.
    init_park: AtomicU8,
    /// Extra wait for a late boot CPU, in ns.
    boot_cpu_grace_ns: AtomicU64,
}

impl Default for StopConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Nanoseconds in `d`, saturating at `u64::MAX`.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl StopConfig {
    const_unless_loom! {
        /// The defaults.
        pub fn new() -> Self {
            Self {
                strategy: AtomicU8::new(StopStrategy::Vector as u8),
                vector_timeout_ns: AtomicU64::new(DEFAULT_VECTOR_TIMEOUT.as_nanos() as u64),
                nmi_timeout_ns: AtomicU64::new(DEFAULT_NMI_TIMEOUT.as_nanos() as u64),
                init_park: AtomicU8::new(InitPark::Off as u8),
                boot_cpu_grace_ns: AtomicU64::new(0),
            }
        }
    }

    /// How the stopper signals the targets (boot option `stop.strategy`).
    pub fn strategy(&self) -> StopStrategy {
        StopStrategy::from_code(self.strategy.load(Ordering::Relaxed))
    }

    /// Sets the strategy; a stop already under way keeps the one it began with.
    pub fn set_strategy(&self, strategy: StopStrategy) {
        self.strategy.store(strategy as u8, Ordering::Relaxed);
    }

    /// How long the stopper waits for the stop vector before sending NMIs
    /// ([`StopStrategy::Vector`] only).
    pub fn vector_timeout(&self) -> Duration {
        Duration::from_nanos(self.vector_timeout_ns.load(Ordering::Relaxed))
    }

    /// Sets the vector timeout (boot option `stop.vector_timeout_us`).
    pub fn set_vector_timeout(&self, timeout: Duration) {
        self.vector_timeout_ns
            .store(nanos(timeout), Ordering::Relaxed);
    }

    /// How long the stopper waits after the NMIs.
    pub fn nmi_timeout(&self) -> Duration {
        Duration::from_nanos(self.nmi_timeout_ns.load(Ordering::Relaxed))
    }

    /// Sets the NMI timeout (boot option `stop.nmi_timeout_us`).
    pub fn set_nmi_timeout(&self, timeout: Duration) {
        self.nmi_timeout_ns.store(nanos(timeout), Ordering::Relaxed);
    }

    /// The INIT-park policy.
    pub fn init_park(&self) -> InitPark {
        match self.init_park.load(Ordering::Relaxed) {
            0 => InitPark::Off,
            _ => InitPark::On,
        }
    }

    /// Sets the INIT-park policy (boot option `stop.init_park`, resolved by the runtime).
    pub fn set_init_park(&self, policy: InitPark) {
        self.init_park.store(policy as u8, Ordering::Relaxed);
    }

    /// How much longer than the NMI timeout the stopper waits for the boot CPU (index 0), the
    /// one target INIT may never park, before it names it stuck. Default zero.
    pub fn boot_cpu_grace(&self) -> Duration {
        Duration::from_nanos(self.boot_cpu_grace_ns.load(Ordering::Relaxed))
    }

    /// Sets the boot CPU's grace (the runtime sets one under a hypervisor, where a vCPU the host
    /// does not schedule answers its NMI late).
    pub fn set_boot_cpu_grace(&self, grace: Duration) {
        self.boot_cpu_grace_ns
            .store(nanos(grace), Ordering::Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_setters() {
        let c = StopConfig::new();
        assert_eq!(c.vector_timeout(), Duration::from_millis(1));
        assert_eq!(c.nmi_timeout(), Duration::from_millis(10));
        assert_eq!(c.init_park(), InitPark::Off);
        assert_eq!(c.strategy(), StopStrategy::Vector);
        c.set_strategy(StopStrategy::NmiFirst);
        assert_eq!(c.strategy(), StopStrategy::NmiFirst);
        c.set_nmi_timeout(Duration::from_micros(3));
        c.set_init_park(InitPark::On);
        assert_eq!(c.nmi_timeout(), Duration::from_micros(3));
        assert_eq!(c.init_park(), InitPark::On);
        c.set_vector_timeout(Duration::MAX);
        assert_eq!(c.vector_timeout().as_nanos(), u128::from(u64::MAX));
    }
}
