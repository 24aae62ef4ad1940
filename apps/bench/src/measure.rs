//! The measurements. Raw round trips run with the APs in place; every stop sample is followed by
//! a restart of the APs (INIT, then SIPI), which is itself a restart sample. Before each stop,
//! the APs answer two round trips: a restarted vCPU starts with an empty emulated TLB (under TCG
//! its first NMI costs `raw_nmi_restarted`, not `raw_nmi`), while a real stop meets CPUs that
//! have long been running. The second round trip (an IPI to all when every AP is idle, an NMI
//! to each when every AP has interrupts off) is kept with the stop: the raw signal in the state, and at
//! the moment, the stop meets, which a shared 2-core host makes differ from a loop of round
//! trips by up to 20x (both vCPUs on host cores at once, or taking turns).

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::time::Duration;

use allstop::stopping::{self, StopReason};
use allstop::{bench, irq, smp, time};
use spin::Mutex;
use wire::paths::Paths;

/// What an AP does while cpu 0 stops the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Asleep in `hlt`, interrupts on: the stop vector reaches it.
    Idle,
    /// Spinning with interrupts off: only an NMI reaches it.
    IrqOff,
}

/// Samples of one series of stops, in ns.
#[derive(Default)]
pub struct StopSeries {
    /// Request to all Halted and every NMI accounted (the report's total).
    pub stop: Vec<u64>,
    /// The round trip right before each stop ([`Before`]), where every AP answered it.
    pub before: Vec<u64>,
    /// How the targets stopped, summed over the series.
    pub paths: Paths,
}

/// Samples of the restarts that follow the stops, in ns.
#[derive(Default)]
pub struct Restarts {
    /// The whole `restart_others` call: INIT, settle, SIPI, every AP back.
    pub total: Vec<u64>,
    /// Its bring-up part (first INIT-SIPI to the last check-in), as at boot.
    pub bringup: Vec<u64>,
}

/// Why a measurement could not go on.
pub type Failure = &'static str;

/// APs that have set themselves up for the current stop.
static READY: AtomicUsize = AtomicUsize::new(0);
/// Lets the AP spinning for the NMI round trip go.
static RELEASE: AtomicBool = AtomicBool::new(false);

/// Nanoseconds in `d` (saturating).
pub fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `iters` fixed-IPI round trips to every other CPU (all idle). Returns the samples and how
/// many probes got no answer.
pub fn raw_ipi(iters: usize) -> (Vec<u64>, usize) {
    let answered: Vec<u64> = (0..iters)
        .filter_map(|_| bench::ipi_round_trip().map(ns))
        .collect();
    let lost = iters - answered.len();
    (answered, lost)
}

/// `iters` NMI round trips to cpu 1 while it spins with interrupts off. Returns the samples and
/// how many probes got no answer.
pub fn raw_nmi(iters: usize) -> (Vec<u64>, usize) {
    let samples = Mutex::new(Vec::with_capacity(iters));
    READY.store(0, Ordering::SeqCst);
    RELEASE.store(false, Ordering::SeqCst);
    smp::on_each_cpu(|cpu| match cpu.get() {
        0 => {
            wait_ready(1);
            let mut samples = samples.lock();
            samples.extend(
                (0..iters).filter_map(|_| bench::nmi_round_trip(smp::CpuIndex::new(1)).map(ns)),
            );
            RELEASE.store(true, Ordering::SeqCst);
        }
        1 => {
            irq::disable();
            READY.fetch_add(1, Ordering::SeqCst);
            while !RELEASE.load(Ordering::SeqCst) {
                core::hint::spin_loop();
            }
            irq::enable();
        }
        _ => {}
    });
    let samples = samples.into_inner();
    let lost = iters - samples.len();
    (samples, lost)
}

/// `iters` NMI round trips to cpu 1 (interrupts off), each right after the APs were stopped
/// and restarted: the state a stop's NMI meets when it follows a restart. Returns the samples
/// and how many probes got no answer; the restarts are not recorded.
pub fn raw_nmi_after_restart(iters: usize) -> Result<(Vec<u64>, usize), Failure> {
    let (mut samples, mut lost) = (Vec::with_capacity(iters), 0);
    for _ in 0..iters {
        stop_and_restart()?;
        let (one, missed) = raw_nmi(1);
        samples.extend(one);
        lost += missed;
    }
    Ok((samples, lost))
}

/// `iters` stops with each AP doing what `role(cpu)` says, each followed by a restart (recorded
/// in `restarts`).
pub fn stops(
    iters: usize,
    role: impl Fn(usize) -> Role + Sync,
    restarts: &mut Restarts,
) -> Result<StopSeries, Failure> {
    let mut series = StopSeries::default();
    let aps = smp::cpu_count() - 1;
    for _ in 0..iters {
        let outcome = Mutex::new(Err("the stop did not run"));
        READY.store(0, Ordering::SeqCst);
        let before = Mutex::new(None);
        smp::on_each_cpu(|cpu| {
            let cpu = cpu.get();
            if cpu == 0 {
                wait_ready(aps);
                // An unanswered round trip is withdrawn, and the stop goes on.
                *before.lock() = round_trip_before(aps, &role);
                *outcome.lock() = stop_and_restart();
                return;
            }
            if role(cpu) == Role::Idle {
                // Back to the idle loop's `hlt`.
                READY.fetch_add(1, Ordering::SeqCst);
                return;
            }
            // Interrupts off before the signal, so that the stop vector cannot reach it.
            irq::disable();
            READY.fetch_add(1, Ordering::SeqCst);
            loop {
                core::hint::spin_loop();
            }
        });
        let one = outcome.into_inner()?;
        series.stop.push(one.stop_ns);
        series.before.extend(before.into_inner().map(ns));
        series.paths += one.paths;
        restarts.total.push(one.restart_ns);
        restarts.bringup.push(one.bringup_ns);
    }
    Ok(series)
}

/// The round trip before a stop, by what the APs do: an IPI to all when every AP is idle, an
/// NMI to each when every AP has interrupts off (the slowest one's). Each is the second of two:
/// the first warms the restarted CPUs up, as the round trip warms them for the stop. `None`
/// when some AP did not answer, or when the APs do different things (each still gets NMIs, to
/// warm it up).
fn round_trip_before(aps: usize, role: impl Fn(usize) -> Role) -> Option<Duration> {
    if (1..=aps).all(|ap| role(ap) == Role::Idle) {
        let _ = bench::ipi_round_trip();
        return bench::ipi_round_trip();
    }
    let nmis: Option<Vec<Duration>> = (1..=aps)
        .map(|ap| {
            let ap = smp::CpuIndex::new(ap);
            let _ = bench::nmi_round_trip(ap);
            bench::nmi_round_trip(ap)
        })
        .collect();
    let all_irq_off = (1..=aps).all(|ap| role(ap) == Role::IrqOff);
    nmis?.into_iter().max().filter(|_| all_irq_off)
}

/// One stop and the restart after it.
struct OneStop {
    stop_ns: u64,
    paths: Paths,
    restart_ns: u64,
    bringup_ns: u64,
}

/// Stops the others, then restarts them (boot CPU only).
fn stop_and_restart() -> Result<OneStop, Failure> {
    let report =
        stopping::stop_others(StopReason::Request).ok_or("this CPU was already the stopper")?;
    let paths = report.summary().paths();
    let stop_ns = report.tally().total_ns;
    let start = time::now();
    let bringup = smp::restart_others().map_err(|e| match e {
        smp::RestartError::NotBootCpu => "restart_others refused: not the boot CPU",
        smp::RestartError::NotStopper => "restart_others refused: not the stopper",
        smp::RestartError::NotParked(_) => "restart_others refused: an AP not proven parked",
    })?;
    let restart_ns = ns(time::now() - start);
    if bringup.online != smp::cpu_count() {
        return Err("not every CPU came back after a restart");
    }
    Ok(OneStop {
        stop_ns,
        paths,
        restart_ns,
        bringup_ns: ns(bringup.duration),
    })
}

/// Waits until `n` APs are ready.
fn wait_ready(n: usize) {
    while READY.load(Ordering::SeqCst) < n {
        core::hint::spin_loop();
    }
}
