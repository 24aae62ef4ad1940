//! The bench app's metric names, as its metric lines give them.

use core::fmt;

use crate::Error;

/// What the bench app measures; each has its own `bench: <metric> ...` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// `bringup_boot`: AP bring-up at boot (one sample).
    BringupBoot,
    /// `raw_ipi`: the fixed-IPI round trip to every other CPU.
    RawIpi,
    /// `raw_nmi`: the NMI round trip to one interrupts-off CPU.
    RawNmi,
    /// `raw_nmi_restarted`: the same, right after the APs were stopped and restarted.
    RawNmiRestarted,
    /// `stop_vector`: a stop, all others idle.
    StopVector,
    /// `stop_nmi`: a stop, all others interrupts-off (the default vector timeout).
    StopNmi,
    /// `stop_nmi_short`: the same after a short vector timeout.
    StopNmiShort,
    /// `stop_mixed`: a stop, odd CPUs interrupts-off, even ones idle.
    StopMixed,
    /// `stop_nmi_first_idle`: a stop under NMI-first, all others idle.
    StopNmiFirstIdle,
    /// `raw_ipi_before_stop`: the fixed-IPI round trip to every other CPU right before each
    /// `stop_nmi_first_idle` stop (the state that stop meets).
    RawIpiBeforeStop,
    /// `stop_nmi_first_irqoff`: a stop under NMI-first, all others interrupts-off.
    StopNmiFirstIrqOff,
    /// `raw_nmi_before_stop`: the NMI round trip to each interrupts-off CPU right before each
    /// `stop_nmi_first_irqoff` stop, the slowest CPU's (the state that stop meets).
    RawNmiBeforeStop,
    /// `stop_adaptive_idle`: a stop under the adaptive strategy, all others idle.
    StopAdaptiveIdle,
    /// `stop_adaptive_irqoff`: a stop under the adaptive strategy, all others interrupts-off.
    StopAdaptiveIrqOff,
    /// `stop_default_irqoff`: a stop under the boot's own strategy and timeouts (a boot with
    /// no `stop.*` option: the defaults), all others interrupts-off.
    StopDefaultIrqOff,
    /// `restart`: parking the others with INIT and starting them again.
    Restart,
    /// `restart_bringup`: the bring-up part of a restart.
    RestartBringup,
}

/// The names, in the order of [`Metric::ALL`].
const NAMES: [&str; 17] = [
    "bringup_boot",
    "raw_ipi",
    "raw_nmi",
    "raw_nmi_restarted",
    "stop_vector",
    "stop_nmi",
    "stop_nmi_short",
    "stop_mixed",
    "stop_nmi_first_idle",
    "raw_ipi_before_stop",
    "stop_nmi_first_irqoff",
    "raw_nmi_before_stop",
    "stop_adaptive_idle",
    "stop_adaptive_irqoff",
    "stop_default_irqoff",
    "restart",
    "restart_bringup",
];

impl Metric {
    /// Every metric, in the order the bench app prints them.
    pub const ALL: [Metric; 17] = [
        Metric::BringupBoot,
        Metric::RawIpi,
        Metric::RawNmi,
        Metric::RawNmiRestarted,
        Metric::StopVector,
        Metric::StopNmi,
        Metric::StopNmiShort,
        Metric::StopMixed,
        Metric::StopNmiFirstIdle,
        Metric::RawIpiBeforeStop,
        Metric::StopNmiFirstIrqOff,
        Metric::RawNmiBeforeStop,
        Metric::StopAdaptiveIdle,
        Metric::StopAdaptiveIrqOff,
        Metric::StopDefaultIrqOff,
        Metric::Restart,
        Metric::RestartBringup,
    ];

    /// The name on the line.
    pub fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    /// The metric called `name`.
    pub(crate) fn parse(name: &str) -> Result<Metric, Error<'_>> {
        Metric::ALL
            .into_iter()
            .find(|metric| metric.name() == name)
            .ok_or(Error::Unknown {
                what: "metric",
                name,
            })
    }
}

/// The name.
impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for metric in Metric::ALL {
            assert_eq!(Metric::parse(metric.name()), Ok(metric));
            assert_eq!(metric.to_string(), metric.name());
        }
        assert_eq!(Metric::StopNmiShort.name(), "stop_nmi_short");
        let err = Metric::parse("stop_nmi_long").unwrap_err();
        assert_eq!(err.to_string(), "unknown metric 'stop_nmi_long'");
    }
}
