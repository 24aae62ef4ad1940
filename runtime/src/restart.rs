//! Warm restart: after a panic (`panic=restart`) or on the app's request ([`restart`]), every
//! other CPU is stopped and parked, the kernel's memory image is restored (`.data` from a copy
//! taken at the cold boot, `.bss` zeroed), and the app runs again on every CPU, in about the time
//! of one bring-up instead of a whole VM reboot.
//!
//! What survives a warm restart (the survivor record, in `.persistent`): the restart count, the
//! last crash (CPU, message, stop summary, and where each CPU the stop stopped was: its
//! interrupted instruction and first [`PLACE_FRAMES`] return addresses), the rest of its report
//! until the restarted run has printed it (`kept_report`: nothing of a panic's report goes out
//! before the restart), the time the last restart took, the boot information, the TSC rate,
//! what the cold boot read of ACPI, and [`APP_WORDS`] words for the app ([`app_word`],
//! [`set_app_word`]).
//!
//! The boot CPU (index 0) always runs the restart. If another CPU panicked, it wakes the boot CPU
//! with an NMI once the stop is done: a stopped boot CPU halts with NMIs deliverable, whichever
//! way it was stopped (the x86 platform leaves the stop NMI handler for it). A boot CPU the stop
//! could not confirm stopped may not take that NMI, nor may one that stopped itself inside an NMI
//! handler (NMIs blocked; the stopper waits a bounded time for it to take the NMI), and INIT, the
//! other way, resets real machines when sent to the boot CPU: then the run ends with
//! [`RESTART_IMPOSSIBLE_STATUS`] and says so. More than `restart.max` restarts within
//! `restart.window_ms` is a crash loop: the run ends with [`CRASH_LOOP_STATUS`].
//!
//! Nothing is restored under a CPU that may still run. The boot CPU parks every AP with INIT and
//! proves each INIT landed (each AP acknowledges from a stub it can reach only after INIT; see
//! `smp::bringup::park_others`) before it restores memory; if one does not within a second, it
//! resets the machine instead. When the boot CPU ran the stop and no AP is stuck, it sends the
//! park IPIs right after the stop (`park_early`), so the APs park while it writes the report.
//! An AP the stop reported stuck may be parked that way only where INIT parking is allowed
//! (`stop.init_park`, off on bare metal by default); otherwise the machine is reset too. Each
//! fallback prints a `restart:` line first.

use stop::CpuIndex;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;

use stop::{InitPark, StopReason, Verdict};

use crate::arch::survivor::{CrashRecord, CRASH_MESSAGE_MAX, SURVIVOR};
use crate::cmdline::BootOptions;
use crate::crash_places::CrashPlaces;
use crate::stopping::{self, Report};
use crate::{arch, console, interrupted, kept_report, time};

pub use crate::arch::survivor::APP_WORDS;
pub use crate::crash_places::{CpuPlace, PLACE_CPUS, PLACE_FRAMES};


pub use wire::exit::{
    CRASH_LOOP as CRASH_LOOP_STATUS, RESTART_IMPOSSIBLE as RESTART_IMPOSSIBLE_STATUS,
};

/// How long a restart waits for the boot CPU to take the NMI that revives it.
const REVIVE_TIMEOUT: Duration = Duration::from_secs(1);

/// `restart.max`.
static MAX: AtomicU64 = AtomicU64::new(0);
/// `restart.report=brief`.
static BRIEF: AtomicBool = AtomicBool::new(false);
/// `restart.window_ms`, in ns.
static WINDOW_NS: AtomicU64 = AtomicU64::new(0);

/// Applies the `restart.*` boot options.
pub(crate) fn configure(opts: &BootOptions) {
    MAX.store(opts.restart_max, Ordering::Relaxed);
    BRIEF.store(opts.restart_brief_report, Ordering::Relaxed);
    WINDOW_NS.store(opts.restart_window.as_nanos() as u64, Ordering::Relaxed);
}

/// Whether a panic that restarts keeps only its message and the stop summary for the restarted
/// run to print (`restart.report=brief`): no backtrace, stop table or contexts.
pub(crate) fn brief_report() -> bool {
    BRIEF.load(Ordering::Relaxed)
}

/// Whether the restarted run is still printing the report the panic before the last warm
/// restart kept (with `panic=restart`, the backtrace and the stop table go out after the
/// restart, while the app runs). An app that ends or panics before then has the rest printed
/// first, but on its own critical path: one that wants to be quick waits for this to turn
/// false.
pub fn kept_report_pending() -> bool {
    kept_report::pending()
}

/// Warm restarts since the cold boot.
pub fn restart_count() -> u64 {
    SURVIVOR.restarts.load(Ordering::Relaxed)
}

/// How long the last warm restart took, from the crash (or [`restart`] call) to every CPU
/// running again; `None` before the first.
pub fn last_restart_latency() -> Option<Duration> {
    let ns = SURVIVOR.last_restart_ns.load(Ordering::Relaxed);
    (ns != 0).then(|| Duration::from_nanos(ns))
}

/// The crash that caused the last warm restart.
#[derive(Clone, Copy)]
pub struct LastCrash(CrashRecord);

impl LastCrash {
    /// The CPU that panicked.
    pub fn cpu(&self) -> u32 {
        self.0.cpu
    }

    /// Its panic message (location and text), possibly cut.
    pub fn message(&self) -> &str {
        let bytes = &self.0.message[..usize::from(self.0.message_len)];
        core::str::from_utf8(bytes).unwrap_or("(message not UTF-8)")
    }

    /// The `stop-summary:` of the stop before the restart.
    pub fn summary(&self) -> stop::StopSummary {
        self.0.summary
    }

    /// Where each CPU that stop called stopped was, by CPU index: the instruction its stop
    /// interrupted and its innermost return addresses (as the stop report's per-CPU blocks
    /// show them). A CPU that saved no context (it stopped itself, or was parked with INIT)
    /// has no place, nor has the panicking CPU, nor a CPU past the first
    /// [`PLACE_CPUS`].
    pub fn places(&self) -> impl Iterator<Item = CpuPlace<'_>> {
        self.0.places.iter()
    }
}

/// The crash before the last warm restart; `None` after a cold boot or an app-requested restart.
pub fn last_crash() -> Option<LastCrash> {
    let record = *SURVIVOR.crash.lock();
    record.present.then_some(LastCrash(record))
}

/// Word `i` (< [`APP_WORDS`]) the app keeps across warm restarts (0 after a cold boot).
pub fn app_word(i: usize) -> u64 {
    SURVIVOR.app_words[i].load(Ordering::Relaxed)
}

/// Sets word `i` (< [`APP_WORDS`]) kept across warm restarts.
pub fn set_app_word(i: usize, value: u64) {
    SURVIVOR.app_words[i].store(value, Ordering::Relaxed);
}

/// Stops every other CPU and restarts the app in place (no crash is recorded).
pub fn restart() -> ! {
    let requested_ns = time::now_ns();
    *SURVIVOR.crash.lock() = CrashRecord::NONE;
    let report = stopping::stop_others(StopReason::Request);
    // The rest of a kept report before this stop's line (the printer may have stopped
    // mid-line).
    kept_report::flush();
    if let Some(report) = &report {
        console::write_fmt_breaking_lock(format_args!("{}\n", report.summary()));
    }
    begin(requested_ns, report.as_ref())
}

/// The panic path's restart: records the crash and restarts. `panicked_ns` is when the panic
/// began; `report` is the stop this CPU ran (`None` if it was already the stopper).
pub(crate) fn after_panic(
    panicked_ns: u64,
    cpu: CpuIndex,
    message: fmt::Arguments<'_>,
    report: Option<&Report>,
) -> ! {
    // Filled in place: the record is large (a place per CPU), and a panic may run on a small
    // stack (an NMI's).
    let mut guard = SURVIVOR.crash.lock();
    let record = &mut *guard;
    *record = CrashRecord::NONE;
    record.present = true;
    record.cpu = cpu.get() as u32;
    let mut text = Cut {
        buf: &mut record.message,
        len: 0,
    };
    let _ = text.write_fmt(message);
    record.message_len = text.len as u16;
    if let Some(report) = report {
        record.summary = report.summary();
        record_places(&mut record.places, report);
    }
    drop(guard);
    begin(panicked_ns, report)
}

/// Right after a panic's stop, before its report is written: when this CPU is the boot CPU,
/// which runs the restart, and the stop left no CPU stuck, sends the APs the IPIs that park
/// them, so that they park while the report is written and the restart only checks that they
/// did (`smp::bringup::start_parking`; ~0.4 ms at 8 CPUs under TCG here). Not for a core dump,
/// which takes the CPUs as the stop left them.
pub(crate) fn park_early(report: Option<&Report>) {
    let none_stuck = report.is_some_and(|r| {
        !r.cpus()
            .any(|c| matches!(c.verdict, Verdict::Stuck | Verdict::Pending))
    });
    if none_stuck
        && crate::smp::current_cpu() == CpuIndex::BOOT
        && !crate::core_dump::enabled()
    {
        crate::smp::bringup::start_parking();
    }
}

/// Records where each CPU `report` calls stopped was, from the context it saved; each walk
/// reads only the frames kept. CPUs that are not stopped are not looked at.
fn record_places(places: &mut CrashPlaces, report: &Report) {
    for cpu in report.cpus().filter(|c| c.verdict == Verdict::Stopped) {
        if let interrupted::Context::Saved { frame, stack } = interrupted::context(cpu.index) {
            let walk = interrupted::frames(&frame, stack).map(|address| address as u64);
            places.record(cpu.index.get(), frame.rip, walk);
        }
    }
}

/// Crash-loop check, then hands the restart to the boot CPU.
fn begin(since_ns: u64, report: Option<&Report>) -> ! {
    let window = WINDOW_NS.load(Ordering::Relaxed);
    let start = SURVIVOR.window_start_ns.load(Ordering::Relaxed);
    let in_window = if start == 0 || since_ns.saturating_sub(start) > window {
        SURVIVOR.window_start_ns.store(since_ns, Ordering::Relaxed);
        1
    } else {
        SURVIVOR.restarts_in_window.load(Ordering::Relaxed) + 1
    };
    SURVIVOR
        .restarts_in_window
        .store(in_window, Ordering::Relaxed);
    let max = MAX.load(Ordering::Relaxed);
    if in_window > max {
        // The kept report before the reason the restart does not happen.
        kept_report::flush();
        console::write_fmt_breaking_lock(format_args!(
            "restart: crash loop: {in_window} restarts within {} ms (restart.max={max}); \
             powering off with status {CRASH_LOOP_STATUS}\n",
            window / 1_000_000
        ));
        crate::power::exit(CRASH_LOOP_STATUS);
    }
    // The restart parks every AP with INIT and proves it landed before it restores memory. An
    // AP the stop left running may be parked that way only where INIT parking is allowed.
    let stuck_aps = report.map_or(0, |r| {
        r.cpus()
            .filter(|c| c.index != CpuIndex::BOOT && c.verdict == Verdict::Stuck)
            .count()
    });
    if stuck_aps > 0 && stopping::STOP.config().init_park() == InitPark::Off {
        // The kept report before the reason the restart does not happen.
        kept_report::flush();
        console::write_fmt_breaking_lock(format_args!(
            "restart: {stuck_aps} AP(s) not confirmed stopped, and stop.init_park is off (INIT \
             may not park them), so a warm restart could run over them; resetting the machine\n"
        ));
        crate::power::reset_machine();
    }
    SURVIVOR.restarts.fetch_add(1, Ordering::Relaxed);
    SURVIVOR.crash_ns.store(since_ns.max(1), Ordering::Relaxed);
    if crate::smp::current_cpu() == CpuIndex::BOOT {
        crate::smp::warm::restart_here();
    }
    // A stopped boot CPU halts with NMIs deliverable (x86 platform). One reported stuck may only
    // be late (a vCPU the host did not schedule): it has its NMI, so give it time to finish.
    let boot_cpu = report.and_then(|r| r.cpus().find(|c| c.index == CpuIndex::BOOT));
    let stopped = boot_cpu.is_some_and(|c| c.verdict == Verdict::Stopped)
        || time::spin_until(stopping::BOOT_CPU_GRACE, || stopping::STOP.cpu_finished(CpuIndex::BOOT));
    if !stopped {
        // The kept report before the reason the restart does not happen.
        kept_report::flush();
        console::write_fmt_breaking_lock(format_args!(
            "restart: impossible: cpu 0 is still not confirmed stopped after {} ms more, so \
             an NMI may not reach it, and INIT to the boot CPU resets the machine; powering \
             off with status {RESTART_IMPOSSIBLE_STATUS}\n",
            stopping::BOOT_CPU_GRACE.as_millis()
        ));
        crate::power::exit(RESTART_IMPOSSIBLE_STATUS);
    }
    if !crate::smp::warm::revive_boot_cpu(REVIVE_TIMEOUT) {
        // The kept report before the reason the restart does not happen.
        kept_report::flush();
        console::write_fmt_breaking_lock(format_args!(
            "restart: impossible: cpu 0 did not take the restart NMI within {} ms (it halted \
             with NMIs blocked, as after a panic inside an NMI handler), and INIT to the boot \
             CPU resets the machine; powering off with status {RESTART_IMPOSSIBLE_STATUS}\n",
            REVIVE_TIMEOUT.as_millis()
        ));
        crate::power::exit(RESTART_IMPOSSIBLE_STATUS);
    }
    arch::power::halt_forever()
}

/// Records the end of a warm restart (every CPU running again), once bring-up is done.
pub(crate) fn finished() {
    let since = SURVIVOR.crash_ns.swap(0, Ordering::Relaxed);
    if since != 0 {
        let took = time::now_ns().saturating_sub(since);
        SURVIVOR.last_restart_ns.store(took, Ordering::Relaxed);
        log::info!("warm restart #{} took {} us", restart_count(), took / 1000);
    }
}

/// A writer into a fixed buffer that cuts at a character boundary.
struct Cut<'a> {
    buf: &'a mut [u8; CRASH_MESSAGE_MAX],
    len: usize,
}

impl Write for Cut<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = CRASH_MESSAGE_MAX - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}
