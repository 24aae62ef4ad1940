//! The survivor record: what a warm restart keeps while it restores everything else (restart
//! counts, the last crash and where the other CPUs were, its report, the boot information, the
//! TSC rate, what ACPI said, a few words for the app). It lives
//! in `.persistent`, which only a cold boot zeroes; every field is valid as all-zero bytes, which
//! is what a cold boot leaves.

use core::sync::atomic::AtomicU64;

use spinning_top::Spinlock;
use stop::StopSummary;

use super::kept_acpi::KeptAcpi;
use super::pvh::StartInfo;
use crate::arch::TrapFrame;
use crate::crash_places::CrashPlaces;
use crate::kept_parts::KeptParts;
use crate::kept_text::KeptText;

/// Longest crash message kept.
pub const CRASH_MESSAGE_MAX: usize = 256;
/// Words the app may keep across warm restarts.
pub const APP_WORDS: usize = 4;

/// The last crash before a warm restart.
#[derive(Clone, Copy)]
pub struct CrashRecord {
    /// Whether a crash was recorded.
    pub present: bool,
    /// The CPU that panicked (and stopped the others).
    pub cpu: u32,
    /// The panic message (location and text), cut at [`CRASH_MESSAGE_MAX`] bytes.
    pub message: [u8; CRASH_MESSAGE_MAX],
    /// Valid bytes in `message`.
    pub message_len: u16,
    /// The stop's summary.
    pub summary: StopSummary,
    /// Where each CPU the stop stopped was.
    pub places: CrashPlaces,
}

impl CrashRecord {
    /// No crash (all zero).
    pub const NONE: Self = Self {
        present: false,
        cpu: 0,
        message: [0; CRASH_MESSAGE_MAX],
        message_len: 0,
        summary: StopSummary {
            stopper: 0,
            targets: 0,
            vector: 0,
            nmi: 0,
            self_stop: 0,
            init: 0,
            stuck: 0,
            total_us: 0,
        },
        places: CrashPlaces::NONE,
    };
}

/// Everything a warm restart keeps.
pub struct Survivor {
    /// Warm restarts since the cold boot.
    pub restarts: AtomicU64,
    /// Start of the crash-loop window (ns since boot).
    pub window_start_ns: AtomicU64,
    /// Restarts inside the current window.
    pub restarts_in_window: AtomicU64,
    /// When the crash that caused the current restart happened (ns since boot), 0 if none.
    pub crash_ns: AtomicU64,
    /// Time from the last crash to all CPUs online again (ns), 0 before any restart.
    pub last_restart_ns: AtomicU64,
    /// TSC rate found at the cold boot (kHz), 0 before it is known.
    pub tsc_khz: AtomicU64,
    /// Words the app keeps across restarts (`restart::app_word`).
    pub app_words: [AtomicU64; APP_WORDS],
    /// The last crash.
    pub crash: Spinlock<CrashRecord>,
    /// The loader's boot information, kept from the cold boot.
    pub start_info: Spinlock<StartInfo>,
    /// The last panic's report, printed after the warm restart.
    pub kept_report: KeptText,
    /// What that report still lacks: backtrace, table and contexts, to be written into it.
    pub kept_parts: KeptParts<{ TrapFrame::WORDS }>,
    /// What the cold boot read of ACPI.
    pub acpi: Spinlock<KeptAcpi>,
}

/// The machine's survivor record.
#[unsafe(link_section = ".persistent.survivor")]
pub static SURVIVOR: Survivor = Survivor {
    restarts: AtomicU64::new(0),
    window_start_ns: AtomicU64::new(0),
    restarts_in_window: AtomicU64::new(0),
    crash_ns: AtomicU64::new(0),
    last_restart_ns: AtomicU64::new(0),
    tsc_khz: AtomicU64::new(0),
    app_words: [const { AtomicU64::new(0) }; APP_WORDS],
    crash: Spinlock::new(CrashRecord::NONE),
    start_info: Spinlock::new(StartInfo::EMPTY),
    kept_report: KeptText::empty(),
    kept_parts: KeptParts::empty(),
    acpi: Spinlock::new(KeptAcpi::NONE),
};
