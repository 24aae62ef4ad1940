//! A CPU's protocol state and stop path, and which moves between states are legal.
#![forbid(unsafe_code)]

use core::fmt;

/// Where a CPU is in its life, as seen by the stop protocol (its per-CPU record).
///
/// The only legal moves are `Offline → Booting → Running → Acked → Halted`, plus
/// `Booting → Acked` for a booting CPU that must stop itself. Never backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CpuState {
    /// Not started (or never checked in). Never a stop target.
    Offline = 0,
    /// Executing its start-up code; its IDT may not be live: never sent an NMI.
    Booting = 1,
    /// Running normal code with its IDT live.
    Running = 2,
    /// Has begun stopping (took a stop signal); waited for, never NMI'd.
    Acked = 3,
    /// Finished its stop work; it performs no further stop-path store except NMI accounting.
    Halted = 4,
}

/// How a CPU came to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopPath {
    /// The stop vector (fixed IPI).
    Vector = 1,
    /// The NMI fallback.
    Nmi = 2,
    /// It stopped itself: lost the stopper election, or was booting when a stop began.
    SelfStop = 3,
    /// The stopper parked it with INIT after it answered nothing (recorded by the stopper).
    Init = 4,
}

/// An attempted state change that the protocol forbids, or that lost a race.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransitionError {
    /// `from → to` is not a move of the state machine.
    Illegal {
        /// State the caller asked to leave.
        from: CpuState,
        /// State the caller asked to enter.
        to: CpuState,
    },
    /// The CPU was not in the expected state.
    NotIn {
        /// State the caller expected.
        expected: CpuState,
        /// State the CPU was in.
        actual: CpuState,
    },
    /// No CPU is registered at this index.
    NoSuchCpu(usize),
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Illegal { from, to } => write!(f, "illegal CPU state change {from:?} -> {to:?}"),
            Self::NotIn { expected, actual } => {
                write!(f, "CPU is {actual:?}, expected {expected:?}")
            }
            Self::NoSuchCpu(cpu) => write!(f, "no CPU registered at index {cpu}"),
        }
    }
}

impl CpuState {
    /// Whether the state machine allows `self → next`.
    ///
    /// ```
    /// use stop::CpuState::*;
    /// assert!(Running.can_move_to(Acked));
    /// assert!(!Halted.can_move_to(Running));
    /// ```
    pub const fn can_move_to(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Offline, Self::Booting)
                | (Self::Booting, Self::Running)
                | (Self::Booting, Self::Acked)
                | (Self::Running, Self::Acked)
                | (Self::Acked, Self::Halted)
        )
    }

    /// Decodes the low bits of a state word.
    const fn from_bits(bits: u8) -> Self {
        match bits & STATE_MASK {
            0 => Self::Offline,
            1 => Self::Booting,
            2 => Self::Running,
            3 => Self::Acked,
            _ => Self::Halted,
        }
    }
}

impl StopPath {
    /// Decodes a path code; 0 (or anything unknown) is "no path yet".
    pub(crate) const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Vector),
            2 => Some(Self::Nmi),
            3 => Some(Self::SelfStop),
            4 => Some(Self::Init),
            _ => None,
        }
    }

    /// Short name used in the report table.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Vector => "vector",
            Self::Nmi => "nmi",
            Self::SelfStop => "self",
            Self::Init => "init",
        }
    }
}

/// Bits of a state word holding the [`CpuState`].
const STATE_MASK: u8 = 0b111;
/// Shift of the [`StopPath`] code inside a state word.
const PATH_SHIFT: u32 = 4;

/// A CPU's state and stop path packed in one byte, so that entering `Acked` and recording how
/// happen in one compare-and-swap (an NMI can then never see `Acked` without a path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StateWord(pub(crate) u8);

impl StateWord {
    /// A word with `state` and no path.
    pub(crate) const fn of(state: CpuState) -> Self {
        Self(state as u8)
    }

    /// A word with `state` and `path`.
    pub(crate) const fn with_path(state: CpuState, path: StopPath) -> Self {
        Self(state as u8 | (path as u8) << PATH_SHIFT)
    }

    /// The state part.
    pub(crate) const fn state(self) -> CpuState {
        CpuState::from_bits(self.0)
    }

    /// The path part, if any.
    pub(crate) const fn path(self) -> Option<StopPath> {
        StopPath::from_code(self.0 >> PATH_SHIFT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [CpuState; 5] = [
        CpuState::Offline,
        CpuState::Booting,
        CpuState::Running,
        CpuState::Acked,
        CpuState::Halted,
    ];

    /// Exactly five moves are legal; every other pair (including staying put and every
    /// backwards move) is rejected.
    #[test]
    fn legal_moves_are_exactly_the_protocol_ones() {
        let legal: Vec<_> = ALL
            .iter()
            .flat_map(|&a| ALL.iter().map(move |&b| (a, b)))
            .filter(|&(a, b)| a.can_move_to(b))
            .collect();
        use CpuState::*;
        assert_eq!(
            legal,
            [
                (Offline, Booting),
                (Booting, Running),
                (Booting, Acked),
                (Running, Acked),
                (Acked, Halted)
            ]
        );
        for (a, b) in legal {
            assert!(a < b, "{a:?} -> {b:?} goes backwards");
        }
    }

    /// Packing keeps state and path apart for every combination.
    #[test]
    fn state_word_round_trips() {
        let paths = [
            StopPath::Vector,
            StopPath::Nmi,
            StopPath::SelfStop,
            StopPath::Init,
        ];
        for state in ALL {
            assert_eq!(StateWord::of(state).state(), state);
            assert_eq!(StateWord::of(state).path(), None);
            for path in paths {
                let word = StateWord::with_path(state, path);
                assert_eq!((word.state(), word.path()), (state, Some(path)));
            }
        }
    }

    #[test]
    fn errors_say_what_went_wrong() {
        let e = TransitionError::Illegal {
            from: CpuState::Halted,
            to: CpuState::Running,
        };
        assert_eq!(e.to_string(), "illegal CPU state change Halted -> Running");
        assert_eq!(
            TransitionError::NoSuchCpu(7).to_string(),
            "no CPU registered at index 7"
        );
    }
}
