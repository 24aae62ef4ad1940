//! What a warm restart's kept report still lacks, captured instead of written as text: the
//! panicking CPU's return addresses, the stop report's table (as `stop::TableWords` words), and
//! the stopped CPUs' contexts (each CPU's interrupted registers and the return addresses walked
//! from them, taken while the stacks still hold them). Written as text before the restart they
//! were most of the report and all on the restart's path (the contexts ~45 us per CPU, the
//! table ~15 us per row under TCG here); captured, they are written into the kept report's text
//! after the restart by whoever prints it (`kept_report`), part by part: the backtrace, the
//! table with its summary, then one part per context.
//!
//! A fixed table in `.persistent`: every field is valid as all-zero bytes (nothing kept), and
//! nothing read back from it can index out of bounds. It names nothing else in the crate (the
//! survivor record in `arch` holds it), so it is generic over the register words `W` of the
//! architecture's interrupt frame.
//!
//! One CPU at a time writes it: the panicking CPU keeps the parts while every other CPU is
//! stopped; after the restart only the holder of the kept text's writer records progress.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use stop::{HEADING_WORDS, ROW_WORDS};

/// Stopped CPUs whose contexts can be kept captured, and rows of the table; a larger report is
/// written as text at once (reports above 32 CPUs group their rows and fold the CPUs
/// interrupted alike, so those cost a line per run of CPUs there).
pub const KEPT_CPUS: usize = 64;
/// Return addresses kept per backtrace: as many as a walk reads.
pub const KEPT_RETURNS: usize = 32;
/// Parts before the contexts: the backtrace, then the table with its summary.
pub const PARTS_BEFORE_CONTEXTS: usize = 2;

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

/// How far the kept parts have been written into the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Parts written ([`PARTS_BEFORE_CONTEXTS`] before the first context).
    pub written: usize,
    /// The text's length right after them: a writer stopped in the middle of the next one left
    /// its start there.
    pub text_len: usize,
}

/// The stop report's table, as `stop::TableWords` words.
pub struct TableParts<'a> {
    /// The heading's words.
    pub heading: [u64; HEADING_WORDS],
    /// Whether it is printed grouped.
    pub grouped: bool,
    /// Rows by CPU index.
    pub rows: &'a mut dyn Iterator<Item = [u64; ROW_WORDS]>,
}

/// What a kept report still lacks, and how much of it is in its text already.
pub struct KeptParts<const W: usize> {
    /// Whether parts are kept: set once they all are, cleared once the text is closed.
    kept: AtomicBool,
    /// The panicking CPU's return addresses.
    backtrace: [AtomicU64; KEPT_RETURNS],
    /// How many of them.
    backtrace_len: AtomicUsize,
    /// The table's heading words.
    heading: [AtomicU64; HEADING_WORDS],
    /// Whether the table is printed grouped.
    grouped: AtomicBool,
    /// The table's rows' words, by CPU index.
    rows: [[AtomicU64; ROW_WORDS]; KEPT_CPUS],
    /// How many rows.
    row_count: AtomicUsize,
    /// Contexts kept.
    count: AtomicUsize,
    /// Whether the report folds CPUs interrupted alike into one line.
    fold: AtomicBool,
    /// [`Progress`], as `written << 32 | text_len`: one store, so a writer stopped between
    /// two parts leaves the two halves consistent.
    progress: AtomicU64,
    slots: [Slot<W>; KEPT_CPUS],
}

impl<const W: usize> KeptParts<W> {
    /// Nothing kept (all zero).
    pub const fn empty() -> Self {
        Self {
            kept: AtomicBool::new(false),
            backtrace: [const { AtomicU64::new(0) }; KEPT_RETURNS],
            backtrace_len: AtomicUsize::new(0),
            heading: [const { AtomicU64::new(0) }; HEADING_WORDS],
            grouped: AtomicBool::new(false),
            rows: [const { [const { AtomicU64::new(0) }; ROW_WORDS] }; KEPT_CPUS],
            row_count: AtomicUsize::new(0),
            count: AtomicUsize::new(0),
            fold: AtomicBool::new(false),
            progress: AtomicU64::new(0),
            slots: [const { Slot::empty() }; KEPT_CPUS],
        }
    }

    /// Keeps a report's `backtrace`, `table` and `contexts` (folded with `fold`) for a text
    /// `text_len` bytes long so far, forgetting what was kept before. False, keeping nothing,
    /// if the table has more than [`KEPT_CPUS`] rows or there are more contexts (no more than
    /// one past the limit is taken of either).
    pub fn keep(
        &self,
        text_len: usize,
        backtrace: &Returns,
        table: TableParts<'_>,
        fold: bool,
        contexts: impl IntoIterator<Item = Captured<W>>,
    ) -> bool {
        self.forget();
        for (cell, &address) in self.backtrace.iter().zip(backtrace.addresses()) {
            cell.store(address, Ordering::Relaxed);
        }
        self.backtrace_len
            .store(backtrace.addresses().len(), Ordering::Relaxed);
        for (cell, &word) in self.heading.iter().zip(&table.heading) {
            cell.store(word, Ordering::Relaxed);
        }
        self.grouped.store(table.grouped, Ordering::Relaxed);
        let mut rows = 0;
        for words in table.rows {
            let Some(row) = self.rows.get(rows) else {
                return false;
            };
            for (cell, word) in row.iter().zip(words) {
                cell.store(word, Ordering::Relaxed);
            }
            rows += 1;
        }
        self.row_count.store(rows, Ordering::Relaxed);
        let mut count = 0;
        for captured in contexts {
            let Some(slot) = self.slots.get(count) else {
                return false;
            };
            slot.store(&captured);
            count += 1;
        }
        self.count.store(count, Ordering::Relaxed);
        self.fold.store(fold, Ordering::Relaxed);
        self.record(Progress {
            written: 0,
            text_len,
        });
        self.kept.store(true, Ordering::Release);
        true
    }

    /// Forgets what is kept.
    pub fn forget(&self) {
        self.kept.store(false, Ordering::Release);
    }

    /// Whether parts are kept: the text they go into is not closed yet (they are forgotten
    /// once it is).
    pub fn pending(&self) -> bool {
        self.kept.load(Ordering::Acquire)
    }

    /// The panicking CPU's return addresses.
    pub fn backtrace(&self) -> Returns {
        let len = self.backtrace_len.load(Ordering::Relaxed).min(KEPT_RETURNS);
        Returns::new(
            self.backtrace[..len]
                .iter()
                .map(|cell| cell.load(Ordering::Relaxed)),
        )
    }

    /// The table's heading words.
    pub fn heading(&self) -> [u64; HEADING_WORDS] {
        core::array::from_fn(|i| self.heading[i].load(Ordering::Relaxed))
    }

    /// Whether the table is printed grouped.
    pub fn grouped(&self) -> bool {
        self.grouped.load(Ordering::Relaxed)
    }

    /// How many rows the table has.
    pub fn rows(&self) -> usize {
        self.row_count.load(Ordering::Relaxed).min(KEPT_CPUS)
    }

    /// Row `i`'s words (all zero past the rows kept).
    pub fn row(&self, i: usize) -> [u64; ROW_WORDS] {
        match self.rows.get(i).filter(|_| i < self.rows()) {
            Some(row) => core::array::from_fn(|w| row[w].load(Ordering::Relaxed)),
            None => [0; ROW_WORDS],
        }
    }

    /// Contexts kept.
    pub fn contexts(&self) -> usize {
        self.count.load(Ordering::Relaxed).min(KEPT_CPUS)
    }

    /// Whether the report folds CPUs interrupted alike.
    pub fn fold(&self) -> bool {
        self.fold.load(Ordering::Relaxed)
    }

    /// The `i`th context kept, by CPU index.
    pub fn context(&self, i: usize) -> Option<Captured<W>> {
        (i < self.contexts()).then(|| self.slots[i].load())
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

    /// Keeps `rows` rows (row `i` all `i`) and `contexts` into `parts`.
    fn keep(parts: &KeptParts<3>, rows: usize, contexts: Vec<Captured<3>>) -> bool {
        let mut rows = (0..rows).map(|i| [i as u64; ROW_WORDS]);
        let table = TableParts {
            heading: [7; HEADING_WORDS],
            grouped: true,
            rows: &mut rows,
        };
        parts.keep(100, &Returns::new([0xb1, 0xb2]), table, false, contexts)
    }

    #[test]
    fn nothing_is_kept_in_an_empty_table() {
        let parts = KeptParts::<3>::empty();
        assert!(!parts.pending());
        assert_eq!((parts.rows(), parts.contexts()), (0, 0));
        assert_eq!(parts.context(0), None);
        assert_eq!(parts.row(0), [0; ROW_WORDS]);
        assert_eq!(parts.backtrace().addresses(), &[] as &[u64]);
    }

    #[test]
    fn kept_parts_read_back_as_captured() {
        let parts = KeptParts::<3>::empty();
        let contexts = vec![
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
        assert!(keep(&parts, 6, contexts.clone()));
        assert!(parts.pending());
        assert_eq!(parts.backtrace().addresses(), &[0xb1, 0xb2]);
        assert_eq!(parts.heading(), [7; HEADING_WORDS]);
        assert!(parts.grouped() && !parts.fold());
        assert_eq!(parts.rows(), 6);
        assert_eq!(parts.row(5), [5; ROW_WORDS]);
        assert_eq!(parts.row(6), [0; ROW_WORDS], "past the rows kept");
        assert_eq!(parts.contexts(), contexts.len());
        for (i, want) in contexts.iter().enumerate() {
            assert_eq!(parts.context(i).as_ref(), Some(want));
        }
        assert_eq!(
            parts.progress(),
            Progress {
                written: 0,
                text_len: 100
            }
        );
    }

    #[test]
    fn progress_is_recorded_and_pending_holds_until_forgotten() {
        let parts = KeptParts::<3>::empty();
        assert!(keep(&parts, 2, vec![saved(1, 1, &[], None)]));
        let done = Progress {
            written: PARTS_BEFORE_CONTEXTS + 1,
            text_len: 32 * 1024,
        };
        parts.record(done);
        assert_eq!(parts.progress(), done);
        assert!(parts.pending(), "until forgotten");
        parts.forget();
        assert!(!parts.pending());
    }

    #[test]
    fn too_many_rows_or_contexts_keep_nothing() {
        let parts = KeptParts::<3>::empty();
        assert!(!keep(&parts, KEPT_CPUS + 1, Vec::new()));
        assert!(!parts.pending());
        let mut taken = 0;
        let many = (0..).map(|cpu| {
            taken += 1;
            saved(cpu, 0, &[], None)
        });
        let mut rows = core::iter::empty();
        let table = TableParts {
            heading: [0; HEADING_WORDS],
            grouped: false,
            rows: &mut rows,
        };
        let kept = parts.keep(
            0,
            &Returns::new([]),
            table,
            false,
            many.take(KEPT_CPUS + 10),
        );
        assert!(!kept);
        assert_eq!(taken, KEPT_CPUS + 1, "read one past the limit, no further");
        assert!(!parts.pending());
        // No contexts is still a report to finish: its backtrace and table.
        assert!(keep(&parts, 1, Vec::new()));
        assert!(parts.pending());
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
