//! The simulated local APICs: per-CPU pending stop vector and NMI, interrupt flag, NMI blocking.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

/// `nmi_at` value when no NMI is in flight.
pub(crate) const NO_NMI: u64 = u64::MAX;

/// One CPU's interrupt lines and the observations the checks need.
pub(crate) struct Lines {
    /// A stop vector is pending (waits while `irq_on` is false).
    pub(crate) vector: AtomicBool,
    /// When an NMI in flight lands (ns since the start), or [`NO_NMI`]; once landed it waits
    /// only while `nmi_blocked`.
    pub(crate) nmi_at: AtomicU64,
    /// RFLAGS.IF.
    pub(crate) irq_on: AtomicBool,
    /// Inside the NMI handler, which never IRETs: further NMIs are never taken.
    pub(crate) nmi_blocked: AtomicBool,
    /// Wedged: takes nothing.
    pub(crate) wedged: AtomicBool,
    /// Parked by INIT: does nothing more.
    pub(crate) parked: AtomicBool,
    /// NMIs sent to this CPU while it was `Offline` or `Booting` (I4).
    pub(crate) nmis_to_unready: AtomicUsize,
    /// Stores this CPU made after the stop returned (I1).
    pub(crate) stores_after_return: AtomicUsize,
    /// It entered the stop-vector handler during the stop (I5).
    pub(crate) took_vector: AtomicBool,
    /// It entered the NMI handler during the stop (I5).
    pub(crate) took_nmi: AtomicBool,
    /// It called `stop_others` (I2).
    pub(crate) called_stop: AtomicBool,
    /// Stop-vector or NMI handler entries after the stop returned (I1).
    pub(crate) entries_after_return: AtomicUsize,
    /// It entered the stop-vector handler while an NMI to it was in flight: the race window
    /// Linux leaves open.
    pub(crate) vector_during_nmi: AtomicBool,
}

impl Default for Lines {
    fn default() -> Self {
        Self {
            vector: AtomicBool::new(false),
            nmi_at: AtomicU64::new(NO_NMI),
            irq_on: AtomicBool::new(false),
            nmi_blocked: AtomicBool::new(false),
            wedged: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            nmis_to_unready: AtomicUsize::new(0),
            stores_after_return: AtomicUsize::new(0),
            took_vector: AtomicBool::new(false),
            took_nmi: AtomicBool::new(false),
            called_stop: AtomicBool::new(false),
            entries_after_return: AtomicUsize::new(0),
            vector_during_nmi: AtomicBool::new(false),
        }
    }
}
