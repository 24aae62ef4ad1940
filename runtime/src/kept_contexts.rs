//! The stopped CPUs' contexts of a panic report that a warm restart carries, captured instead of
//! written as text. Written as text before the restart they took ~45 us per CPU under TCG here,
//! the bulk of the report and all of it on the restart's path. Captured (each CPU's interrupted
//! registers and the return addresses walked from them, while the stacks still hold them), they
//! are written into the kept report's text after the restart by whoever prints it
//! (`kept_report`).
//!
//! A fixed table in `.persistent`: every field is valid as all-zero bytes (nothing kept), and
//! nothing read back from it can index out of bounds. It names nothing else in the crate (the
//! survivor record in `arch` holds it), so it is generic over the register words `W` of the
//! architecture's interrupt frame.
//!
//! One CPU at a time writes it: the panicking CPU keeps the contexts while every other CPU is
//! stopped; after the restart only the holder of the kept text's writer records progress.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// Stopped CPUs whose contexts can be kept captured; a report with more writes its contexts as
/// text at once (reports above 32 CPUs fold the CPUs interrupted alike, so those cost a line
/// per run of CPUs there).
pub const KEPT_CONTEXTS: usize = 64;
/// Return addresses kept per CPU: as many as a walk reads.
pub const KEPT_RETURNS: usize = 32;

/// What the report shows of one stopped CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Captured<const W: usize> {
    /// The CPU's index.
    pub cpu: u32,
    /// Where it was.
    pub place: Place<W>,
}

/// Where a stopped CPU was, as far as it saved it.
// Plain data, kept in a fixed table with no heap behind it: no boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place<const W: usize> {
    /// The interrupted registers (the frame's words) and the walk from them.
    Saved {
        /// The interrupted registers, as the interrupt frame's words.
        frame: [u64; W],
        /// The return addresses of the interrupted code.
        returns: Returns,
    },
    /// The CPU began saving but did not finish (an NMI stopped it during the save).
    Incomplete,
    /// Nothing saved: the CPU stopped itself.
    None,
}

/// Return addresses walked from a saved context, innermost first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Returns {
    addresses: [u64; KEPT_RETURNS],
    len: usize,
    /// Where the chain of frame pointers broke, if it did: a frame pointer outside the stack.
    pub bad_frame: Option<u64>,
}

impl Returns {
    /// The first [`KEPT_RETURNS`] addresses of `walk` (no more are read); the chain did not
    /// break until [`Returns::bad_frame`] is set.
    pub fn new(walk: impl IntoIterator<Item = u64>) -> Self {
        let mut returns = Self {
            addresses: [0; KEPT_RETURNS],
            len: 0,
            bad_frame: None,
        };
        for (slot, address) in returns.addresses.iter_mut().zip(walk) {
            *slot = address;
            returns.len += 1;
        }
        returns
    }

    /// The addresses, innermost first.
    pub fn addresses(&self) -> &[u64] {
        &self.addresses[..self.len.min(KEPT_RETURNS)]
    }
}

/// [`Slot::kind`]: nothing saved.
const NONE: u8 = 0;
/// [`Slot::kind`]: the save was cut short.
const INCOMPLETE: u8 = 1;
/// [`Slot::kind`]: a whole context.
const SAVED: u8 = 2;

/// One kept context, as atomics so that the table can live in a `static` with no lock.
struct Slot<const W: usize> {
    cpu: AtomicU32,
    /// [`NONE`], [`INCOMPLETE`] or [`SAVED`]; anything else reads as [`NONE`].
    kind: AtomicU8,
    frame: [AtomicU64; W],
    returns: [AtomicU64; KEPT_RETURNS],
    return_count: AtomicU8,
    /// `bad_frame + 1` if the chain broke (0: it did not).
    bad_frame_plus_one: AtomicU64,
}

impl<const W: usize> Slot<W> {
    const fn empty() -> Self {
        Self {
            cpu: AtomicU32::new(0),
            kind: AtomicU8::new(NONE),
            frame: [const { AtomicU64::new(0) }; W],
            returns: [const { AtomicU64::new(0) }; KEPT_RETURNS],
            return_count: AtomicU8::new(0),
            bad_frame_plus_one: AtomicU64::new(0),
        }
    }

    fn store(&self, captured: &Captured<W>) {
        self.cpu.store(captured.cpu, Ordering::Relaxed);
        let kind = match &captured.place {
            Place::Saved { frame, returns } => {
                for (cell, &word) in self.frame.iter().zip(frame) {
                    cell.store(word, Ordering::Relaxed);
                }
                for (cell, &address) in self.returns.iter().zip(returns.addresses()) {
                    cell.store(address, Ordering::Relaxed);
                }
                self.return_count
                    .store(returns.addresses().len() as u8, Ordering::Relaxed);
                let bad = returns.bad_frame.map_or(0, |at| at.wrapping_add(1));
                self.bad_frame_plus_one.store(bad, Ordering::Relaxed);
                SAVED
            }
            Place::Incomplete => INCOMPLETE,
            Place::None => NONE,
        };
        self.kind.store(kind, Ordering::Relaxed);
    }

    fn load(&self) -> Captured<W> {
        let place = match self.kind.load(Ordering::Relaxed) {
            SAVED => {
                let count = usize::from(self.return_count.load(Ordering::Relaxed));
                let mut returns = Returns::new(
                    self.returns[..count.min(KEPT_RETURNS)]
                        .iter()
                        .map(|cell| cell.load(Ordering::Relaxed)),
                );
                returns.bad_frame = match self.bad_frame_plus_one.load(Ordering::Relaxed) {
                    0 => None,
                    plus_one => Some(plus_one.wrapping_sub(1)),
                };
                Place::Saved {
                    frame: core::array::from_fn(|i| self.frame[i].load(Ordering::Relaxed)),
                    returns,
                }
            }
            INCOMPLETE => Place::Incomplete,
            _ => Place::None,
        };
        Captured {
            cpu: self.cpu.load(Ordering::Relaxed),
            place,
        }
    }
}

/// How far the kept contexts have been written into the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Contexts written.
    pub written: usize,
    /// The text's length right after them: a writer stopped in the middle of the next one left
    /// its start there.
    pub text_len: usize,
}

/// Captured contexts of a kept report, and how many are in its text already.
pub struct KeptContexts<const W: usize> {
    /// Contexts kept (Release: after them).
    count: AtomicUsize,
    /// Whether the report folds CPUs interrupted alike into one line.
    fold: AtomicBool,
    /// [`Progress`], as `written << 32 | text_len`: one store, so a writer stopped between
    /// two contexts leaves the two halves consistent.
    progress: AtomicU64,
    slots: [Slot<W>; KEPT_CONTEXTS],
}

impl<const W: usize> KeptContexts<W> {
    /// Nothing kept (all zero).
    pub const fn empty() -> Self {
        Self {
            count: AtomicUsize::new(0),
            fold: AtomicBool::new(false),
            progress: AtomicU64::new(0),
            slots: [const { Slot::empty() }; KEPT_CONTEXTS],
        }
    }

    /// Keeps `contexts` for a report that folds (`fold`) or not, whose text is `text_len`
    /// bytes so far, forgetting what was kept before. False, keeping nothing, if there are
    /// none or more than [`KEPT_CONTEXTS`] (no more than one past the limit is taken).
    pub fn keep(
        &self,
        fold: bool,
        text_len: usize,
        contexts: impl IntoIterator<Item = Captured<W>>,
    ) -> bool {
        self.forget();
        let mut count = 0;
        for captured in contexts {
            let Some(slot) = self.slots.get(count) else {
                return false;
            };
            slot.store(&captured);
            count += 1;
        }
        self.fold.store(fold, Ordering::Relaxed);
        self.record(Progress {
            written: 0,
            text_len,
        });
        self.count.store(count, Ordering::Release);
        count > 0
    }

    /// Forgets what is kept.
    pub fn forget(&self) {
        self.count.store(0, Ordering::Release);
    }

    /// Contexts kept.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Acquire).min(KEPT_CONTEXTS)
    }

    /// Whether some are kept: the text they go into is not closed yet (they are forgotten
    /// once it is).
    pub fn pending(&self) -> bool {
        self.len() > 0
    }

    /// Whether the report folds CPUs interrupted alike.
    pub fn fold(&self) -> bool {
        self.fold.load(Ordering::Relaxed)
    }

    /// The `i`th context kept, by CPU index.
    pub fn get(&self, i: usize) -> Option<Captured<W>> {
        (i < self.len()).then(|| self.slots[i].load())
    }

    /// How far they are written.
    pub fn progress(&self) -> Progress {
        let packed = self.progress.load(Ordering::Acquire);
        Progress {
            written: (packed >> 32) as usize,
            text_len: (packed & u64::from(u32::MAX)) as usize,
        }
    }

    /// Records how far they are written (the text's length fits 32 bits: it is bounded).
    pub fn record(&self, progress: Progress) {
        let packed = (progress.written as u64) << 32 | progress.text_len as u64 & 0xffff_ffff;
        self.progress.store(packed, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(cpu: u32, rip: u64, returns: &[u64], bad_frame: Option<u64>) -> Captured<3> {
        Captured {
            cpu,
            place: Place::Saved {
                frame: [rip, 1, 2],
                returns: Returns {
                    bad_frame,
                    ..Returns::new(returns.iter().copied())
                },
            },
        }
    }

    #[test]
    fn nothing_is_kept_in_an_empty_table() {
        let table = KeptContexts::<3>::empty();
        assert_eq!(table.len(), 0);
        assert!(!table.pending());
        assert_eq!(table.get(0), None);
    }

    #[test]
    fn kept_contexts_read_back_as_captured() {
        let table = KeptContexts::<3>::empty();
        let contexts = [
            saved(1, 0x10, &[0x11, 0x12], None),
            Captured {
                cpu: 2,
                place: Place::Incomplete,
            },
            Captured {
                cpu: 3,
                place: Place::None,
            },
            saved(4, 0x40, &[], Some(0xdead)),
            saved(5, 0x50, &[0; KEPT_RETURNS], Some(u64::MAX - 1)),
        ];
        assert!(table.keep(true, 100, contexts));
        assert!(table.fold());
        assert_eq!(table.len(), contexts.len());
        for (i, want) in contexts.iter().enumerate() {
            assert_eq!(table.get(i).as_ref(), Some(want));
        }
        assert_eq!(
            table.progress(),
            Progress {
                written: 0,
                text_len: 100
            }
        );
        assert!(table.pending());
    }

    #[test]
    fn progress_reaches_the_end() {
        let table = KeptContexts::<3>::empty();
        assert!(table.keep(false, 7, [saved(1, 1, &[], None), saved(2, 2, &[], None)]));
        table.record(Progress {
            written: 1,
            text_len: 300,
        });
        assert!(table.pending());
        assert_eq!(table.progress().text_len, 300);
        table.record(Progress {
            written: 2,
            text_len: 32 * 1024,
        });
        assert!(table.pending(), "until forgotten");
        assert_eq!(
            table.progress(),
            Progress {
                written: 2,
                text_len: 32 * 1024
            }
        );
        table.forget();
        assert!(!table.pending());
    }

    #[test]
    fn too_many_or_none_keep_nothing() {
        let table = KeptContexts::<3>::empty();
        let mut taken = 0;
        let many = (0..).map(|cpu| {
            taken += 1;
            saved(cpu, 0, &[], None)
        });
        assert!(!table.keep(false, 0, many.take(KEPT_CONTEXTS + 10)));
        assert_eq!(
            taken,
            KEPT_CONTEXTS + 1,
            "read one past the limit, no further"
        );
        assert_eq!(table.len(), 0);
        assert!(!table.pending());
        assert!(!table.keep(false, 0, []));
        assert!(!table.pending());
    }

    #[test]
    fn a_walk_longer_than_kept_is_cut() {
        let returns = Returns::new(0..);
        assert_eq!(returns.addresses().len(), KEPT_RETURNS);
        assert_eq!(
            returns.addresses()[KEPT_RETURNS - 1],
            KEPT_RETURNS as u64 - 1
        );
    }
}
