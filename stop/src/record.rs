//! One CPU's shared record: written by its owner, except the fields marked "stopper".
#![forbid(unsafe_code)]

use crate::message::PanicSlot;
use crate::state::{CpuState, StateWord, StopPath, TransitionError};
use crate::sync::{AtomicU32, AtomicU64, AtomicU8, Ordering};

/// Timestamp value meaning "not yet".
pub(crate) const NO_TIME: u64 = u64::MAX;

/// The stopper's verdict on a CPU after a stop (written by the stopper only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No stop has finished yet.
    Pending = 0,
    /// Offline when the stop began: not a target.
    NotTarget = 1,
    /// This CPU ran the stop.
    Stopper = 2,
    /// Halted, with every NMI sent to it accounted for.
    Stopped = 3,
    /// Did not finish in time and was parked with INIT.
    Parked = 4,
    /// Did not finish in time and was left alone: it may still be running.
    Stuck = 5,
}

impl Verdict {
    /// Decodes a stored verdict.
    pub(crate) const fn from_code(code: u8) -> Self {
        match code {
            1 => Self::NotTarget,
            2 => Self::Stopper,
            3 => Self::Stopped,
            4 => Self::Parked,
            5 => Self::Stuck,
            _ => Self::Pending,
        }
    }
}

/// One CPU's record (opaque: only the controller reads or writes it; a runtime allocates them,
/// [`RecordTable`](crate::RecordTable)). Aligned to 128 bytes: the fields plus the panic buffer exceed one 64-byte
/// line, and x86's adjacent-line prefetcher makes 128 bytes the false-sharing unit; the hot
/// fields (state, counters, timestamps) share the first line.
#[repr(align(128))]
pub struct CpuRecord {
    /// State and path, packed ([`StateWord`]). Owner only, by CAS.
    word: AtomicU8,
    /// [`Verdict`]. Stopper only.
    verdict: AtomicU8,
    /// Local APIC ID. Written once at registration, before the CPU starts.
    pub(crate) apic_id: AtomicU32,
    /// NMIs sent to this CPU. Stopper only.
    pub(crate) nmi_sent: AtomicU32,
    /// NMIs this CPU has accounted for; the NMI path's last store. Owner only.
    pub(crate) nmi_done: AtomicU32,
    /// When it entered `Acked` (ns), or [`NO_TIME`]. Owner only.
    pub(crate) acked_at: AtomicU64,
    /// When it entered `Halted` (ns), or [`NO_TIME`]. Owner only.
    pub(crate) halted_at: AtomicU64,
    /// Liveness counter bumped by the owner's normal code, for post-stop checks.
    pub(crate) heartbeat: AtomicU64,
    /// Panic message recorded when this CPU lost the election. Owner only.
    pub(crate) panic: PanicSlot,
    /// 1 once this CPU entered the stop path with a panic message: if it loses the election, it
    /// stores the message and then stops itself. Owner only.
    pub(crate) recording_panic: AtomicU8,
}

impl Default for CpuRecord {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuRecord {
    const_unless_loom! {
        /// An `Offline` record with no APIC ID yet.
        pub fn new() -> Self {
            Self {
                word: AtomicU8::new(CpuState::Offline as u8),
                verdict: AtomicU8::new(Verdict::Pending as u8),
                apic_id: AtomicU32::new(0),
                nmi_sent: AtomicU32::new(0),
                nmi_done: AtomicU32::new(0),
                acked_at: AtomicU64::new(NO_TIME),
                halted_at: AtomicU64::new(NO_TIME),
                heartbeat: AtomicU64::new(0),
                panic: PanicSlot::new(),
                recording_panic: AtomicU8::new(0),
            }
        }
    }

    /// Current state and path.
    pub(crate) fn word(&self) -> StateWord {
        StateWord(self.word.load(Ordering::SeqCst))
    }

    /// Current state.
    pub(crate) fn state(&self) -> CpuState {
        self.word().state()
    }

    /// Moves `from → to` (recording `path` if given) by CAS; rejects illegal moves without
    /// touching the record, and reports the actual state if the CPU was not in `from`.
    pub(crate) fn transition(
        &self,
        from: CpuState,
        to: CpuState,
        path: Option<StopPath>,
    ) -> Result<(), TransitionError> {
        if !from.can_move_to(to) {
            return Err(TransitionError::Illegal { from, to });
        }
        let current = self.word();
        if current.state() != from {
            return Err(TransitionError::NotIn {
                expected: from,
                actual: current.state(),
            });
        }
        let next = match path.or(current.path()) {
            Some(path) => StateWord::with_path(to, path),
            None => StateWord::of(to),
        };
        self.word
            .compare_exchange(current.0, next.0, Ordering::SeqCst, Ordering::SeqCst)
            .map(drop)
            .map_err(|actual| TransitionError::NotIn {
                expected: from,
                actual: StateWord(actual).state(),
            })
    }

    /// Makes the record fresh for a new stop round in `state` (`Offline`, or `Running` for the
    /// CPU that rearms), keeping its APIC ID and heartbeat. Only while no other CPU touches it
    /// (see [`StopController::rearm`](crate::StopController::rearm)).
    pub(crate) fn rearm(&self, state: CpuState) {
        self.word.store(StateWord::of(state).0, Ordering::SeqCst);
        self.set_verdict(Verdict::Pending);
        self.nmi_sent.store(0, Ordering::SeqCst);
        self.nmi_done.store(0, Ordering::SeqCst);
        self.acked_at.store(NO_TIME, Ordering::SeqCst);
        self.halted_at.store(NO_TIME, Ordering::SeqCst);
        self.panic.store(&crate::PanicText::EMPTY, || {});
        self.recording_panic.store(0, Ordering::SeqCst);
    }

    /// The stopper's verdict.
    pub(crate) fn verdict(&self) -> Verdict {
        Verdict::from_code(self.verdict.load(Ordering::SeqCst))
    }

    /// Records the stopper's verdict.
    pub(crate) fn set_verdict(&self, verdict: Verdict) {
        self.verdict.store(verdict as u8, Ordering::SeqCst);
    }

    /// Whether this CPU is `Halted` with every NMI sent to it accounted for.
    pub(crate) fn finished(&self) -> bool {
        self.state() == CpuState::Halted
            && self.nmi_done.load(Ordering::SeqCst) == self.nmi_sent.load(Ordering::SeqCst)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_state_machine() {
        let r = CpuRecord::new();
        assert_eq!(r.state(), CpuState::Offline);
        r.transition(CpuState::Offline, CpuState::Booting, None)
            .unwrap();
        r.transition(CpuState::Booting, CpuState::Running, None)
            .unwrap();
        r.transition(CpuState::Running, CpuState::Acked, Some(StopPath::Vector))
            .unwrap();
        r.transition(CpuState::Acked, CpuState::Halted, None)
            .unwrap();
        assert_eq!(r.word().state(), CpuState::Halted);
        assert_eq!(
            r.word().path(),
            Some(StopPath::Vector),
            "path survives Halted"
        );
    }

    #[test]
    fn illegal_moves_are_rejected_and_leave_the_record_alone() {
        let r = CpuRecord::new();
        let err = r.transition(CpuState::Offline, CpuState::Running, None);
        assert_eq!(
            err,
            Err(TransitionError::Illegal {
                from: CpuState::Offline,
                to: CpuState::Running
            })
        );
        assert_eq!(r.state(), CpuState::Offline);
        let err = r.transition(CpuState::Halted, CpuState::Running, None);
        assert!(matches!(err, Err(TransitionError::Illegal { .. })));
    }

    #[test]
    fn a_move_from_the_wrong_state_reports_the_actual_one() {
        let r = CpuRecord::new();
        let err = r.transition(CpuState::Booting, CpuState::Running, None);
        assert_eq!(
            err,
            Err(TransitionError::NotIn {
                expected: CpuState::Booting,
                actual: CpuState::Offline
            })
        );
    }

    #[test]
    fn finished_needs_halted_and_every_nmi_accounted() {
        let r = CpuRecord::new();
        r.transition(CpuState::Offline, CpuState::Booting, None)
            .unwrap();
        r.transition(CpuState::Booting, CpuState::Acked, Some(StopPath::SelfStop))
            .unwrap();
        assert!(!r.finished());
        r.transition(CpuState::Acked, CpuState::Halted, None)
            .unwrap();
        assert!(r.finished());
        r.nmi_sent.store(1, Ordering::SeqCst);
        assert!(!r.finished(), "an NMI in flight keeps it unfinished");
        r.nmi_done.store(1, Ordering::SeqCst);
        assert!(r.finished());
    }

    #[test]
    fn verdict_round_trips() {
        let r = CpuRecord::new();
        assert_eq!(r.verdict(), Verdict::Pending);
        for v in [
            Verdict::NotTarget,
            Verdict::Stopper,
            Verdict::Stopped,
            Verdict::Parked,
            Verdict::Stuck,
        ] {
            r.set_verdict(v);
            assert_eq!(r.verdict(), v);
        }
    }
}
