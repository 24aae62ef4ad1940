//! What a simulated run looks like: per-CPU behaviour, timeouts, policy.

use std::time::Duration;

use stop::{InitPark, StopStrategy};

/// Most CPUs a scenario may have (the simulated controller's capacity).
pub const MAX_SIM_CPUS: usize = 16;

/// How one simulated CPU behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Running with interrupts on.
    Idle,
    /// Running; interrupts off from `start` for `len` after the run begins (a fixed IPI waits).
    IrqOff {
        /// When the window opens, from the start of the run.
        start: Duration,
        /// How long it stays open.
        len: Duration,
    },
    /// Running; calls `stop_others` with a panic message after `after`.
    Stopper {
        /// When it calls, from the start of the run.
        after: Duration,
    },
    /// Starts `Booting` (interrupts off) and calls `online_cpu` after `after`.
    Booting {
        /// When it tries to enter `Running`.
        after: Duration,
    },
    /// Running but wedged: takes neither the vector nor NMIs (SMM, a hung bus...).
    NeverAnswers,
    /// Never started: `Offline` for the whole run.
    Offline,
}

/// One simulated run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Behaviour of each CPU, by index (APIC ID = 2 × index + 1, sparse on purpose).
    pub cpus: Vec<Behaviour>,
    /// How the stopper signals the targets (adaptive is `Vector` with a derived timeout).
    pub strategy: StopStrategy,
    /// Vector timeout.
    pub vector_timeout: Duration,
    /// NMI timeout.
    pub nmi_timeout: Duration,
    /// INIT-park policy.
    pub init_park: InitPark,
    /// Delay between the stopper's NMI write and the NMI landing on the target (real APICs
    /// take time; this is what lets a late vector finish before the NMI lands).
    pub nmi_latency: Duration,
    /// How long the machine keeps running after the stop returns, to catch late stores.
    pub after_stop: Duration,
}

impl Scenario {
    /// A scenario with these CPUs, the vector strategy, 200 µs vector timeout, 50 ms NMI timeout, INIT parking off,
    /// 20 µs NMI latency, and 2 ms of watching after the stop. A simulated CPU takes its NMI
    /// only when its thread runs, and the test harness runs many CPU threads on few cores
    /// (alongside builds): with 5 ms, an idle CPU was once reported stuck on a loaded host.
    pub fn new(cpus: Vec<Behaviour>) -> Self {
        Self {
            cpus,
            strategy: StopStrategy::Vector,
            vector_timeout: Duration::from_micros(200),
            nmi_timeout: Duration::from_millis(50),
            init_park: InitPark::Off,
            nmi_latency: Duration::from_micros(20),
            after_stop: Duration::from_millis(2),
        }
    }

    /// The APIC ID of CPU `index`.
    pub fn apic_id(index: usize) -> u32 {
        2 * index as u32 + 1
    }
}
