//! The bench's results: per-boot figures, the ratios with their targets (from medians),
//! the aligned table on stdout and the JSON document.

use std::fmt::Write as _;

use serde::Serialize;

use wire::bench::Metric;

use crate::bench::boot_time::BootTimes;
use crate::bench::output::{Figures, GuestReport};
use crate::bench::restart::RestartFigures;

/// The guest's metrics in table (and plot) order, with what each one times.
pub const METRICS: [(Metric, &str); 17] = [
    (
        Metric::RawIpi,
        "fixed IPI to all other CPUs until each answered by a store",
    ),
    (
        Metric::RawNmi,
        "NMI to one interrupts-off CPU until it answered by a store",
    ),
    (
        Metric::RawNmiRestarted,
        "the same, each right after the APs were stopped and restarted",
    ),
    (
        Metric::StopVector,
        "stop, all others idle: the vector stops them",
    ),
    (
        Metric::StopNmi,
        "stop, all others interrupts-off: NMIs after the default vector timeout",
    ),
    (
        Metric::StopNmiShort,
        "stop, all others interrupts-off: NMIs after the short vector timeout",
    ),
    (
        Metric::StopMixed,
        "stop, odd CPUs interrupts-off, even ones idle",
    ),
    (
        Metric::StopNmiFirstIdle,
        "stop.strategy=nmi, all others idle: NMIs at once, no vector",
    ),
    (
        Metric::RawIpiBeforeStop,
        "raw_ipi right before each stop_nmi_first_idle stop (its state and moment)",
    ),
    (
        Metric::StopNmiFirstIrqOff,
        "stop.strategy=nmi, all others interrupts-off",
    ),
    (
        Metric::RawNmiBeforeStop,
        "NMI to each interrupts-off CPU right before each stop_nmi_first_irqoff stop, slowest",
    ),
    (
        Metric::StopAdaptiveIdle,
        "stop.strategy=adaptive, all others idle: the vector",
    ),
    (
        Metric::StopAdaptiveIrqOff,
        "stop.strategy=adaptive, all others interrupts-off: NMIs after the adaptive timeout",
    ),
    (
        Metric::StopDefaultIrqOff,
        "the boot's own stop strategy (the defaults), all others interrupts-off",
    ),
    (
        Metric::Restart,
        "park the others with INIT and start them again (SIPI)",
    ),
    (
        Metric::RestartBringup,
        "the bring-up part of a restart (first INIT-SIPI to last check-in)",
    ),
    (
        Metric::BringupBoot,
        "AP bring-up at boot (first INIT-SIPI to last check-in), one sample",
    ),
];

/// The row name of the host-side measurement.
pub const PANIC_TO_EXIT: &str = "panic_to_exit";

/// Warm restart, host-timed.
const WARM_HOST: &str = "restart_warm_host";
/// Warm restart, timed by the runtime.
const WARM_GUEST: &str = "restart_warm_guest";
/// Warm restart with `restart.report=brief`, host-timed.
const BRIEF_HOST: &str = "restart_brief_host";
/// Warm restart with `restart.report=brief`, timed by the runtime.
const BRIEF_GUEST: &str = "restart_brief_guest";
/// Full VM reboot, host-timed.
const REBOOT_HOST: &str = "reboot_vm_host";

/// The restart-latency rows in table (and plot) order, with what each one times; their figures
/// are [`BootResult::restart_metric`].
pub const RESTART_METRICS: &[(&str, &str)] = &[
    (
        WARM_HOST,
        "host-side: panic=restart (full report, printed after the restart), trigger line before \
         the panic to the next app-entry line",
    ),
    (
        WARM_GUEST,
        "the same restarts timed by the runtime: panic to every CPU online again",
    ),
    (
        BRIEF_HOST,
        "the same with restart.report=brief (only the message and the summary kept)",
    ),
    (BRIEF_GUEST, "restart_warm_guest with restart.report=brief"),
    (
        REBOOT_HOST,
        "host-side: panic=reboot, QEMU resets; trigger line to the next app-entry line",
    ),
];

/// The boot-time rows in table (and plot) order, with what each one times; their figures are
/// [`BootResult::boot_metric`] (`boot_<clock>_<machine>`).
pub const BOOT_METRICS: &[(&str, &str)] = &[
    (
        "boot_pvh_pc",
        "-machine pc: PVH entry (TSC at the kernel's first instruction) to main, guest-timed",
    ),
    (
        "boot_qemu_pc",
        "-machine pc: spawning QEMU to the app-entry line, host-side",
    ),
    ("boot_pvh_microvm", "the same on -machine microvm"),
    ("boot_qemu_microvm", "the same on -machine microvm"),
];

/// One boot's results.
#[derive(Clone, Debug, Serialize)]
pub struct BootResult {
    /// `-smp`.
    pub smp: u32,
    /// Wall-clock time of the boot, in seconds.
    pub wall_s: f64,
    /// Fraction of the host's CPU time busy just before the boot (`None`: not readable):
    /// other work that competed with the vCPUs.
    pub host_busy: Option<f64>,
    /// From the trigger line reaching xtask to QEMU's exit, in ns (`None`: no trigger line).
    pub panic_to_exit_ns: Option<u64>,
    /// What the guest reported.
    #[serde(flatten)]
    pub guest: GuestReport,
    /// Restart latency at this CPU count (`None`: not measured, `--restarts 0`).
    pub restart: Option<RestartFigures>,
    /// Boot time at this CPU count, per machine type (empty: not measured, `--boot-samples 0`).
    pub boot_times: Vec<BootTimes>,
}

impl BootResult {
    /// A metric's median, if it was measured.
    fn median(&self, metric: Metric) -> Option<u64> {
        self.guest.metric(metric).map(|f| f.median_ns)
    }

    /// The figures of one of [`RESTART_METRICS`], if measured.
    pub fn restart_metric(&self, metric: &str) -> Option<&Figures> {
        let r = self.restart.as_ref()?;
        let at = RESTART_METRICS.iter().position(|&(m, _)| m == metric)?;
        Some(
            [
                &r.warm_host,
                &r.warm_guest,
                &r.warm_brief_host,
                &r.warm_brief_guest,
                &r.reboot_host,
            ][at],
        )
    }
}

impl BootResult {
    /// The figures of one of [`BOOT_METRICS`], if measured.
    pub fn boot_metric(&self, metric: &str) -> Option<&Figures> {
        let (clock, machine) = metric.strip_prefix("boot_")?.split_once('_')?;
        let times = self.boot_times.iter().find(|t| t.machine == machine)?;
        match clock {
            "pvh" => Some(&times.pvh_to_main),
            "qemu" => Some(&times.qemu_to_main),
            _ => None,
        }
    }
}

/// The ratios at one CPU count, from medians.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ratios {
    /// `-smp`.
    pub smp: u32,
    /// `stop_vector / raw_ipi`.
    pub stop_vector_over_raw_ipi: Option<f64>,
    /// `stop_nmi` minus the default vector timeout, in ns: the NMI path's own cost.
    pub stop_nmi_beyond_timeout_ns: Option<i64>,
    /// That over `raw_nmi`.
    pub stop_nmi_beyond_timeout_over_raw_nmi: Option<f64>,
    /// `stop_nmi_short` minus the short vector timeout, in ns.
    pub stop_nmi_short_beyond_timeout_ns: Option<i64>,
    /// That over `raw_nmi`.
    pub stop_nmi_short_beyond_timeout_over_raw_nmi: Option<f64>,
    /// A full VM reboot over a warm restart, both timed from the host.
    pub vm_reboot_over_warm_restart: Option<f64>,
    /// The adaptive strategy's vector timeout on this machine, in ns.
    pub adaptive_vector_timeout_ns: Option<u64>,
    /// `stop_default_irqoff`, in ns: how long the defaults take to stop interrupts-off CPUs
    /// (target ≤ 200 µs at 2 CPUs).
    pub default_irqoff_ns: Option<u64>,
    /// `stop_nmi_first_irqoff / raw_nmi_before_stop` (target ≤ 4): the stop against the raw
    /// NMI round trip taken in the same state, right before each stop.
    pub nmi_first_irqoff_over_nmi_before_stop: Option<f64>,
    /// `stop_nmi_first_irqoff / raw_nmi`: against a loop of round trips instead.
    pub nmi_first_irqoff_over_raw_nmi: Option<f64>,
    /// `stop_nmi_first_idle / raw_ipi_before_stop` (target ≤ 1.5).
    pub nmi_first_idle_over_ipi_before_stop: Option<f64>,
    /// `stop_nmi_first_idle / raw_ipi`: against a loop of round trips instead.
    pub nmi_first_idle_over_raw_ipi: Option<f64>,
    /// `stop_adaptive_idle / raw_ipi` (target ≤ 1.5).
    pub adaptive_idle_over_raw_ipi: Option<f64>,
    /// `stop_adaptive_irqoff` minus the adaptive vector timeout, in ns.
    pub adaptive_irqoff_beyond_timeout_ns: Option<i64>,
}

/// Bring-up at the largest CPU count over bring-up at 2 CPUs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BringUpScaling {
    /// The CPU count compared (the largest measured).
    pub smp: u32,
    /// Its bring-up time over bring-up at `-smp 2`.
    pub over_smp2: f64,
}

/// The whole JSON document.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The accelerator QEMU ran with.
    pub accel: String,
    /// Host CPUs (vCPUs beyond this are time-sliced).
    pub host_cpus: usize,
    /// Samples per metric the guest aimed for.
    pub iters: u32,
    /// One entry per CPU count, in the order booted.
    pub boots: Vec<BootResult>,
    /// One entry per CPU count that has at least one ratio.
    pub ratios: Vec<Ratios>,
    /// `None` without boots at 2 CPUs and at more.
    pub bringup_scaling: Option<BringUpScaling>,
}

impl BenchReport {
    /// Collects the boots and works out the ratios.
    pub fn new(accel: String, host_cpus: usize, iters: u32, boots: Vec<BootResult>) -> Self {
        let ratios = boots.iter().filter_map(ratios).collect();
        let bringup_scaling = bringup_scaling(&boots);
        BenchReport {
            accel,
            host_cpus,
            iters,
            boots,
            ratios,
            bringup_scaling,
        }
    }

    /// The aligned tables: every metric per CPU count, then the ratios.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<19} {:>4} {:>6} {:>11} {:>11} {:>11} {:>11}  notes\n",
            "metric", "cpus", "n", "min_us", "median_us", "p99_us", "max_us"
        );
        for (metric, _) in METRICS {
            let metric = metric.name();
            for boot in &self.boots {
                if let Some(f) = boot.guest.metrics.get(metric) {
                    out += &figures_row(metric, boot.smp, f, &[]);
                } else if let Some(why) = boot.guest.skipped.get(metric) {
                    let _ = writeln!(
                        out,
                        "{metric:<19} {:>4} {:>6}  skipped: {why}",
                        boot.smp, "-"
                    );
                }
            }
        }
        for (metric, _) in RESTART_METRICS {
            for boot in &self.boots {
                if let Some(f) = boot.restart_metric(metric) {
                    out += &figures_row(metric, boot.smp, f, &restart_notes(boot, metric));
                }
            }
        }
        for (metric, _) in BOOT_METRICS {
            for boot in &self.boots {
                if let Some(f) = boot.boot_metric(metric) {
                    out += &figures_row(metric, boot.smp, f, &[]);
                }
            }
        }
        for boot in &self.boots {
            if let Some(ns) = boot.panic_to_exit_ns {
                let _ = writeln!(
                    out,
                    "{PANIC_TO_EXIT:<19} {:>4} {:>6} {:>11} {:>11.1}  host-side, one sample",
                    boot.smp,
                    1,
                    "",
                    us(ns)
                );
            }
        }
        out += "\nratios (medians)\n";
        let _ = writeln!(
            out,
            "{:>4} {:>20} {:>18} {:>9} {:>24} {:>9} {:>12}",
            "cpus",
            "stop_vector/raw_ipi",
            "stop_nmi-timeout",
            "/raw_nmi",
            "stop_nmi_short-timeout",
            "/raw_nmi",
            "reboot/warm"
        );
        for r in &self.ratios {
            let _ = writeln!(
                out,
                "{:>4} {:>20} {:>18} {:>9} {:>24} {:>9} {:>12}",
                r.smp,
                ratio(r.stop_vector_over_raw_ipi),
                signed_us(r.stop_nmi_beyond_timeout_ns),
                ratio(r.stop_nmi_beyond_timeout_over_raw_nmi),
                signed_us(r.stop_nmi_short_beyond_timeout_ns),
                ratio(r.stop_nmi_short_beyond_timeout_over_raw_nmi),
                ratio(r.vm_reboot_over_warm_restart),
            );
        }
        out += "\nstrategies (medians; targets: default irqoff <= 200 us at 2 CPUs, \
                nmi_first irqoff/nmi_before <= 4, nmi_first idle/ipi_before <= 1.5; \
                *_before: the raw round trip right before each of those stops, /raw_*: \
                a loop of round trips)\n";
        let _ = writeln!(
            out,
            "{:>4} {:>17} {:>15} {:>27} {:>9} {:>25} {:>9} {:>18} {:>24}",
            "cpus",
            "adaptive_timeout",
            "default_irqoff",
            "nmi_first_irqoff/nmi_before",
            "/raw_nmi",
            "nmi_first_idle/ipi_before",
            "/raw_ipi",
            "adaptive_idle/ipi",
            "adaptive_irqoff-timeout"
        );
        for r in &self.ratios {
            let _ = writeln!(
                out,
                "{:>4} {:>17} {:>15} {:>27} {:>9} {:>25} {:>9} {:>18} {:>24}",
                r.smp,
                signed_us(r.adaptive_vector_timeout_ns.map(|ns| ns as i64)),
                signed_us(r.default_irqoff_ns.map(|ns| ns as i64)),
                ratio(r.nmi_first_irqoff_over_nmi_before_stop),
                ratio(r.nmi_first_irqoff_over_raw_nmi),
                ratio(r.nmi_first_idle_over_ipi_before_stop),
                ratio(r.nmi_first_idle_over_raw_ipi),
                ratio(r.adaptive_idle_over_raw_ipi),
                signed_us(r.adaptive_irqoff_beyond_timeout_ns),
            );
        }
        if let Some(s) = &self.bringup_scaling {
            let _ = writeln!(
                out,
                "bring-up at smp {} / bring-up at smp 2: {:.2}",
                s.smp, s.over_smp2
            );
        }
        out += "\nwhat each metric times\n";
        for (metric, what) in METRICS {
            let _ = writeln!(out, "  {:<19} {what}", metric.name());
        }
        let _ = writeln!(
            out,
            "  {PANIC_TO_EXIT:<19} host-side: the guest's trigger line reaching xtask to QEMU's exit"
        );
        for (metric, what) in RESTART_METRICS.iter().chain(BOOT_METRICS) {
            let _ = writeln!(out, "  {metric:<19} {what}");
        }
        out
    }
}

/// The notes of a restart-latency row: the serial console's estimated part of a warm restart,
/// the VM-reboot run's length.
fn restart_notes(boot: &BootResult, metric: &str) -> Vec<String> {
    let Some(r) = &boot.restart else {
        return Vec::new();
    };
    match metric {
        WARM_GUEST => vec![format!(
            "serial output ~{:.1} us ({} lines at {:.1} us, {} B at {:.2} us) = {:.0}% of the median",
            us(r.serial.estimate_ns),
            r.serial.lines,
            r.serial.ns_per_line / 1e3,
            r.serial.bytes,
            r.serial.ns_per_byte / 1e3,
            r.serial.of_guest_median * 100.0
        )],
        REBOOT_HOST => vec![format!("in a {:.1} s run", r.reboot_window_s)],
        _ => Vec::new(),
    }
}

/// One table row, with `extra` notes after the paths and lost probes.
fn figures_row(metric: &str, smp: u32, f: &Figures, extra: &[String]) -> String {
    let mut notes = Vec::new();
    if let Some(p) = f.paths {
        for (name, count) in p.counts() {
            if count > 0 {
                notes.push(format!("{name}={count}"));
            }
        }
    }
    if f.lost > 0 {
        notes.push(format!("lost={}", f.lost));
    }
    notes.extend_from_slice(extra);
    format!(
        "{metric:<19} {smp:>4} {:>6} {:>11.1} {:>11.1} {:>11.1} {:>11.1}  {}\n",
        f.n,
        us(f.min_ns),
        us(f.median_ns),
        us(f.p99_ns),
        us(f.max_ns),
        notes.join(" ")
    )
}

/// Nanoseconds as microseconds.
fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

/// A ratio for the table, `-` when not measured.
fn ratio(r: Option<f64>) -> String {
    r.map_or("-".to_string(), |r| format!("{r:.2}"))
}

/// A signed duration for the table, `-` when not measured.
fn signed_us(ns: Option<i64>) -> String {
    ns.map_or("-".to_string(), |ns| format!("{:.1} us", ns as f64 / 1e3))
}

/// `a / b`, unless either is missing or `b` is zero.
fn over(a: Option<f64>, b: Option<u64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (b > 0).then(|| a / b as f64)
}

/// The ratios of one boot; `None` if it has none (one CPU without restart figures).
fn ratios(boot: &BootResult) -> Option<Ratios> {
    let raw_nmi = boot.median(Metric::RawNmi);
    let beyond = |metric: Metric, timeout_ns: u64| {
        boot.median(metric)
            .map(|m| m as i64 - i64::try_from(timeout_ns).unwrap_or(i64::MAX))
    };
    let nmi = beyond(Metric::StopNmi, boot.guest.vector_timeout_ns);
    let short = beyond(Metric::StopNmiShort, boot.guest.short_vector_timeout_ns);
    let adaptive_timeout = Some(boot.guest.adaptive_vector_timeout_ns).filter(|&ns| ns > 0);
    let raw_ipi = boot.median(Metric::RawIpi);
    let over_median =
        |metric: Metric, base: Option<u64>| over(boot.median(metric).map(|m| m as f64), base);
    let r = Ratios {
        smp: boot.smp,
        stop_vector_over_raw_ipi: over_median(Metric::StopVector, raw_ipi),
        stop_nmi_beyond_timeout_ns: nmi,
        stop_nmi_beyond_timeout_over_raw_nmi: over(nmi.map(|n| n as f64), raw_nmi),
        stop_nmi_short_beyond_timeout_ns: short,
        stop_nmi_short_beyond_timeout_over_raw_nmi: over(short.map(|n| n as f64), raw_nmi),
        vm_reboot_over_warm_restart: boot.restart.as_ref().and_then(|r| {
            over(
                Some(r.reboot_host.median_ns as f64),
                Some(r.warm_host.median_ns),
            )
        }),
        adaptive_vector_timeout_ns: adaptive_timeout,
        default_irqoff_ns: boot.median(Metric::StopDefaultIrqOff),
        nmi_first_irqoff_over_nmi_before_stop: over_median(
            Metric::StopNmiFirstIrqOff,
            boot.median(Metric::RawNmiBeforeStop),
        ),
        nmi_first_irqoff_over_raw_nmi: over_median(Metric::StopNmiFirstIrqOff, raw_nmi),
        nmi_first_idle_over_ipi_before_stop: over_median(
            Metric::StopNmiFirstIdle,
            boot.median(Metric::RawIpiBeforeStop),
        ),
        nmi_first_idle_over_raw_ipi: over_median(Metric::StopNmiFirstIdle, raw_ipi),
        adaptive_idle_over_raw_ipi: over_median(Metric::StopAdaptiveIdle, raw_ipi),
        adaptive_irqoff_beyond_timeout_ns: adaptive_timeout
            .and_then(|timeout| beyond(Metric::StopAdaptiveIrqOff, timeout)),
    };
    let any = r.stop_vector_over_raw_ipi.is_some()
        || nmi.is_some()
        || short.is_some()
        || r.vm_reboot_over_warm_restart.is_some()
        || r.default_irqoff_ns.is_some()
        || r.nmi_first_irqoff_over_raw_nmi.is_some()
        || r.nmi_first_irqoff_over_nmi_before_stop.is_some();
    any.then_some(r)
}

/// Boot bring-up at the largest CPU count over that at 2 CPUs.
fn bringup_scaling(boots: &[BootResult]) -> Option<BringUpScaling> {
    let at = |smp: u32| {
        boots
            .iter()
            .find(|b| b.smp == smp)
            .and_then(|b| b.median(Metric::BringupBoot))
    };
    let largest = boots.iter().map(|b| b.smp).max().filter(|&n| n > 2)?;
    Some(BringUpScaling {
        smp: largest,
        over_smp2: over(at(largest).map(|n| n as f64), at(2))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::output::parse;
    use crate::bench::restart::SerialShare;

    /// A boot at `smp` CPUs whose metrics have the given medians (other figures around them).
    fn boot(smp: u32, medians: &[(&str, u64)]) -> BootResult {
        let mut serial = format!(
            "bench: start cpus={smp} iters=10 vector_timeout_ns=1000000 \
             short_vector_timeout_ns=50000 adaptive_vector_timeout_ns=120000 \
             nmi_timeout_ns=10000000\n"
        );
        for (metric, m) in medians {
            serial += &format!(
                "bench: {metric} n=10 min_ns={} median_ns={m} p99_ns={} max_ns={}\n",
                m / 2,
                m * 2,
                m * 3
            );
        }
        serial += "bench: stop_mixed skipped: needs two APs\n";
        BootResult {
            smp,
            wall_s: 1.0,
            host_busy: Some(0.0),
            panic_to_exit_ns: Some(2_500_000),
            guest: parse(&serial).unwrap(),
            restart: None,
            boot_times: Vec::new(),
        }
    }

    /// Figures with this median (the others around it).
    fn around(median: u64) -> Figures {
        Figures::of(&mut [median / 2, median, median * 2]).unwrap()
    }

    /// Restart figures: warm restarts with these host and runtime medians (brief ones 10% less),
    /// VM reboots with this one.
    fn restart(warm_host: u64, warm_guest: u64, reboot: u64) -> RestartFigures {
        RestartFigures {
            warm_host: around(warm_host),
            warm_guest: around(warm_guest),
            warm_brief_host: around(warm_host / 10 * 9),
            warm_brief_guest: around(warm_guest / 10 * 9),
            reboot_host: around(reboot),
            reboot_window_s: 3.0,
            serial: SerialShare {
                lines: 17,
                bytes: 640,
                ns_per_byte: 1_500.0,
                ns_per_line: 0.0,
                estimate_ns: 960_000,
                of_guest_median: 0.48,
            },
        }
    }

    #[test]
    fn restart_rows_ratio_and_notes() {
        let mut b = boot(1, &[]);
        b.restart = Some(restart(2_500_000, 2_000_000, 200_000_000));
        let r = ratios(&b).expect("a restart ratio even at one CPU");
        assert_eq!(r.vm_reboot_over_warm_restart, Some(80.0));
        assert_eq!(r.stop_vector_over_raw_ipi, None);
        assert_eq!(
            b.restart_metric("restart_warm_guest").unwrap().median_ns,
            2_000_000
        );
        assert_eq!(
            b.restart_metric("reboot_vm_host").unwrap().median_ns,
            200_000_000
        );
        assert_eq!(
            b.restart_metric("restart_brief_host").unwrap().median_ns,
            2_250_000
        );
        assert!(b.restart_metric("raw_ipi").is_none());
        let table = BenchReport::new("tcg".into(), 2, 10, vec![b, boot(2, &[])]).table();
        let words = |prefix: &str| {
            let line = table.lines().find(|l| l.starts_with(prefix)).unwrap();
            line.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        assert_eq!(
            words("restart_warm_host"),
            "restart_warm_host 1 3 1250.0 2500.0 5000.0 5000.0"
        );
        assert_eq!(
            words("restart_warm_guest"),
            "restart_warm_guest 1 3 1000.0 2000.0 4000.0 4000.0 serial output ~960.0 us \
             (17 lines at 0.0 us, 640 B at 1.50 us) = 48% of the median"
        );
        assert!(
            words("reboot_vm_host").ends_with(" in a 3.0 s run"),
            "{table}"
        );
        // The boot without restart figures has no restart rows and no ratio row.
        assert_eq!(table.matches("restart_warm_host ").count(), 2, "{table}");
        let ratio_row = table
            .lines()
            .find(|l| l.trim_start().starts_with("1 "))
            .unwrap();
        assert_eq!(
            ratio_row.split_whitespace().last(),
            Some("80.00"),
            "{table}"
        );
        assert!(!table.lines().any(|l| l.trim_start().starts_with("2 ")));
    }

    #[test]
    fn boot_rows_come_per_machine_and_clock() {
        let mut b = boot(2, &[]);
        b.boot_times = vec![BootTimes {
            machine: "microvm".into(),
            pvh_to_main: around(8_000_000),
            qemu_to_main: around(90_000_000),
        }];
        assert_eq!(
            b.boot_metric("boot_pvh_microvm").unwrap().median_ns,
            8_000_000
        );
        assert_eq!(
            b.boot_metric("boot_qemu_microvm").unwrap().median_ns,
            90_000_000
        );
        assert!(b.boot_metric("boot_pvh_pc").is_none());
        assert!(b.boot_metric("restart_warm_host").is_none());
        let table = BenchReport::new("tcg".into(), 2, 10, vec![b]).table();
        let row = table
            .lines()
            .find(|l| l.starts_with("boot_qemu_microvm "))
            .unwrap();
        assert_eq!(
            row.split_whitespace().collect::<Vec<_>>().join(" "),
            "boot_qemu_microvm 2 3 45000.0 90000.0 180000.0 180000.0"
        );
        assert!(!table.lines().any(|l| l.starts_with("boot_pvh_pc ")));
    }

    #[test]
    fn the_table_lists_every_metric_once() {
        for metric in Metric::ALL {
            let rows = METRICS.iter().filter(|&&(m, _)| m == metric).count();
            assert_eq!(rows, 1, "{metric}");
        }
    }

    #[test]
    fn ratios_come_from_medians() {
        let b = boot(
            2,
            &[
                ("raw_ipi", 10_000),
                ("raw_nmi", 2_000),
                ("stop_vector", 15_000),
                ("stop_nmi", 1_003_000),
                ("stop_nmi_short", 49_000),
            ],
        );
        let r = ratios(&b).unwrap();
        assert_eq!(r.stop_vector_over_raw_ipi, Some(1.5));
        assert_eq!(r.stop_nmi_beyond_timeout_ns, Some(3_000));
        assert_eq!(r.stop_nmi_beyond_timeout_over_raw_nmi, Some(1.5));
        // Faster than the timeout: negative, said as it is.
        assert_eq!(r.stop_nmi_short_beyond_timeout_ns, Some(-1_000));
        assert_eq!(r.stop_nmi_short_beyond_timeout_over_raw_nmi, Some(-0.5));
        assert_eq!(r.nmi_first_irqoff_over_raw_nmi, None);
        assert_eq!(r.nmi_first_irqoff_over_nmi_before_stop, None);
    }

    #[test]
    fn strategy_ratios_come_from_medians_of_the_same_boot() {
        let b = boot(
            2,
            &[
                ("raw_ipi", 10_000),
                ("raw_nmi", 2_000),
                ("stop_nmi_first_idle", 12_000),
                ("raw_ipi_before_stop", 24_000),
                ("stop_nmi_first_irqoff", 7_000),
                ("raw_nmi_before_stop", 3_500),
                ("stop_adaptive_idle", 14_000),
                ("stop_adaptive_irqoff", 125_000),
                ("stop_default_irqoff", 130_000),
            ],
        );
        let r = ratios(&b).unwrap();
        assert_eq!(r.nmi_first_irqoff_over_nmi_before_stop, Some(2.0));
        assert_eq!(r.nmi_first_irqoff_over_raw_nmi, Some(3.5));
        assert_eq!(r.nmi_first_idle_over_ipi_before_stop, Some(0.5));
        assert_eq!(r.nmi_first_idle_over_raw_ipi, Some(1.2));
        assert_eq!(r.adaptive_idle_over_raw_ipi, Some(1.4));
        assert_eq!(r.adaptive_vector_timeout_ns, Some(120_000));
        assert_eq!(r.adaptive_irqoff_beyond_timeout_ns, Some(5_000));
        assert_eq!(r.default_irqoff_ns, Some(130_000));
        let table = BenchReport::new("tcg".into(), 2, 10, vec![b]).table();
        let row = table
            .lines()
            .skip_while(|l| !l.starts_with("strategies"))
            .nth(2)
            .unwrap();
        let words: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            words,
            [
                "2", "120.0", "us", "130.0", "us", "2.00", "3.50", "0.50", "1.20", "1.40", "5.0",
                "us"
            ],
            "{table}"
        );
    }

    #[test]
    fn one_cpu_has_no_ratios_and_missing_baselines_give_none() {
        assert_eq!(ratios(&boot(1, &[])), None);
        // Nothing to divide: no row.
        assert_eq!(ratios(&boot(2, &[("stop_vector", 15_000)])), None);
        assert_eq!(
            ratios(&boot(2, &[("raw_ipi", 0), ("stop_vector", 1)])),
            None
        );
        // The NMI path's cost without its baseline: the difference, not the multiple.
        let r = ratios(&boot(2, &[("stop_nmi", 1_010_000)])).unwrap();
        assert_eq!(r.stop_nmi_beyond_timeout_ns, Some(10_000));
        assert_eq!(r.stop_nmi_beyond_timeout_over_raw_nmi, None);
        assert_eq!(r.stop_vector_over_raw_ipi, None);
    }

    #[test]
    fn bringup_scaling_compares_the_largest_count_with_two() {
        let boots = vec![
            boot(1, &[]),
            boot(2, &[("bringup_boot", 1_000_000)]),
            boot(8, &[("bringup_boot", 3_000_000)]),
            boot(4, &[("bringup_boot", 2_000_000)]),
        ];
        let s = bringup_scaling(&boots).unwrap();
        assert_eq!((s.smp, s.over_smp2), (8, 3.0));
        assert_eq!(bringup_scaling(&boots[..2]), None);
        assert_eq!(bringup_scaling(&[boots[0].clone(), boots[2].clone()]), None);
    }

    #[test]
    fn the_table_lists_every_metric_skip_and_ratio() {
        let report = BenchReport::new(
            "tcg".into(),
            2,
            10,
            vec![
                boot(2, &[("raw_ipi", 10_000), ("stop_vector", 15_000)]),
                boot(4, &[("raw_ipi", 20_000)]),
            ],
        );
        let table = report.table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("metric") && lines[0].ends_with("notes"),
            "{table}"
        );
        // Rows in METRICS order, CPU counts within a metric in boot order.
        let raw = |smp: &str| {
            lines
                .iter()
                .position(|l| l.starts_with("raw_ipi") && l.split_whitespace().nth(1) == Some(smp))
                .unwrap()
        };
        assert!(raw("2") < raw("4"));
        let words = |prefix: &str| {
            let line = lines.iter().find(|l| l.starts_with(prefix)).unwrap();
            line.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        assert_eq!(words("stop_mixed"), "stop_mixed 2 - skipped: needs two APs");
        let row: Vec<&str> = lines[raw("2")].split_whitespace().collect();
        assert_eq!(row, ["raw_ipi", "2", "10", "5.0", "10.0", "20.0", "30.0"]);
        assert_eq!(
            words("panic_to_exit"),
            "panic_to_exit 2 1 2500.0 host-side, one sample"
        );
        let ratio_row = lines
            .iter()
            .find(|l| l.trim_start().starts_with("2 "))
            .unwrap();
        assert_eq!(ratio_row.split_whitespace().nth(1), Some("1.50"), "{table}");
        assert!(
            table.contains("\n  stop_nmi_short      stop, all others interrupts-off"),
            "{table}"
        );
    }
}
