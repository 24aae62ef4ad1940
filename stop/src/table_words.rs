//! A stop report's table as plain words, to print where the controller's records are gone: a
//! warm restart keeps the words of a panic's report and prints the table after the restart, the
//! same text the report would have printed. Words read back from anything (all zero included)
//! give some table, never a fault.
#![forbid(unsafe_code)]

use core::fmt;
use core::time::Duration;

use wire::summary::StopSummary;

use crate::cpu::{ApicId, CpuIndex};
use crate::message::{PanicText, PANIC_MESSAGE_CAPACITY};
use crate::platform::Platform;
use crate::record::Verdict;
use crate::report::{summarize, write_table, CpuReport, Heading, StopReport, StopTally};
use crate::state::StopPath;
use crate::strategy::StopStrategy;
use crate::table::RecordTable;

/// Words of a table's heading.
pub const HEADING_WORDS: usize = 8;
/// Words of a panic message in a row.
const MESSAGE_WORDS: usize = PANIC_MESSAGE_CAPACITY / 8;
/// Words of one row.
pub const ROW_WORDS: usize = 6 + MESSAGE_WORDS;

/// The reasons a heading can give, by code (anything else reads as the first).
const REASONS: [&str; 5] = ["panic", "reboot", "poweroff", "halt", "request"];

impl<P: Platform, T: RecordTable> StopReport<'_, P, T> {
    /// The table's heading as words ([`TableWords`] reads them back).
    pub fn heading_words(&self) -> [u64; HEADING_WORDS] {
        let h = self.heading();
        let reason = REASONS.iter().position(|r| *r == h.reason).unwrap_or(0);
        [
            h.stopper as u64,
            reason as u64,
            h.strategy as u64,
            h.tally.cpus as u64,
            h.tally.targets as u64,
            h.tally.nmis_sent as u64,
            h.tally.ipi_failures as u64,
            h.tally.total_ns,
        ]
    }
}

impl CpuReport {
    /// The row as words ([`CpuReport::from_words`] reads them back).
    pub fn to_words(&self) -> [u64; ROW_WORDS] {
        let latency = |d: Option<Duration>| {
            d.map_or(0, |d| {
                u64::try_from(d.as_nanos())
                    .unwrap_or(u64::MAX)
                    .saturating_add(1)
            })
        };
        let message = self.panic_message.as_str().as_bytes();
        let mut words = [0; ROW_WORDS];
        words[0] = self.index.get() as u64;
        words[1] = u64::from(self.apic_id.get());
        words[2] = self.verdict as u64
            | (self.path.map_or(0, |p| p as u64) << 8)
            | (u64::from(self.nmis) << 32);
        words[3] = latency(self.ack_latency);
        words[4] = latency(self.halt_latency);
        words[5] = message.len() as u64;
        for (word, chunk) in words[6..].iter_mut().zip(message.chunks(8)) {
            let mut bytes = [0; 8];
            bytes[..chunk.len()].copy_from_slice(chunk);
            *word = u64::from_le_bytes(bytes);
        }
        words
    }

    /// A row from its words.
    pub fn from_words(words: [u64; ROW_WORDS]) -> Self {
        let latency = |w: u64| (w != 0).then(|| Duration::from_nanos(w - 1));
        let mut panic_message = PanicText::EMPTY;
        let mut bytes = [0; PANIC_MESSAGE_CAPACITY];
        for (chunk, word) in bytes.chunks_mut(8).zip(&words[6..]) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        let len = usize::try_from(words[5]).unwrap_or(usize::MAX);
        panic_message.set_bytes(&bytes[..len.min(PANIC_MESSAGE_CAPACITY)]);
        CpuReport {
            index: CpuIndex::new(usize::try_from(words[0]).unwrap_or(usize::MAX)),
            apic_id: ApicId::new(words[1] as u32),
            verdict: Verdict::from_code(words[2] as u8),
            path: StopPath::from_code((words[2] >> 8) as u8),
            ack_latency: latency(words[3]),
            halt_latency: latency(words[4]),
            nmis: (words[2] >> 32) as u32,
            panic_message,
        }
    }
}

/// A stop report's table read back from its words: `Display` prints what the report printed
/// (grouped as [`StopReport::grouped`] with `grouped`); [`TableWords::summary`] gives its
/// `stop-summary:` counts. `row(i)` gives row `i`'s words, for `i` below `rows`.
pub struct TableWords<F> {
    heading: Heading,
    rows: usize,
    row: F,
    grouped: bool,
}

impl<F: Fn(usize) -> [u64; ROW_WORDS]> TableWords<F> {
    /// The table of `heading`'s words over `rows` rows, which `row` gives.
    pub fn new(heading: [u64; HEADING_WORDS], rows: usize, row: F, grouped: bool) -> Self {
        let count = |w: u64| usize::try_from(w).unwrap_or(usize::MAX);
        let heading = Heading {
            stopper: count(heading[0]),
            reason: REASONS
                .get(count(heading[1]))
                .copied()
                .unwrap_or(REASONS[0]),
            strategy: StopStrategy::from_code(heading[2] as u8),
            tally: StopTally {
                cpus: count(heading[3]),
                targets: count(heading[4]),
                nmis_sent: count(heading[5]),
                ipi_failures: count(heading[6]),
                total_ns: heading[7],
            },
        };
        Self {
            heading,
            rows,
            row,
            grouped,
        }
    }

    /// The rows, by CPU index.
    fn rows(&self) -> impl Iterator<Item = CpuReport> + '_ {
        (0..self.rows).map(|i| CpuReport::from_words((self.row)(i)))
    }

    /// What the `stop-summary:` line counts.
    pub fn summary(&self) -> StopSummary {
        summarize(&self.heading, self.rows())
    }
}

impl<F: Fn(usize) -> [u64; ROW_WORDS]> fmt::Display for TableWords<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_table(f, &self.heading, self.rows(), self.grouped)
    }
}

#[cfg(test)]
mod tests {
    use core::fmt::Write;

    use super::*;

    #[test]
    fn a_row_reads_back_as_it_was() {
        let mut panic_message = PanicText::EMPTY;
        write!(panic_message, "cpu 7 lost the election: {}", "x".repeat(60)).unwrap();
        let rows = [
            CpuReport {
                index: CpuIndex::new(7),
                apic_id: ApicId::new(300),
                verdict: Verdict::Stopped,
                path: Some(StopPath::Nmi),
                ack_latency: Some(Duration::from_nanos(12_345)),
                halt_latency: Some(Duration::ZERO),
                nmis: 2,
                panic_message,
            },
            CpuReport {
                index: CpuIndex::new(0),
                apic_id: ApicId::new(0),
                verdict: Verdict::Stuck,
                path: None,
                ack_latency: None,
                halt_latency: None,
                nmis: u32::MAX,
                panic_message: PanicText::EMPTY,
            },
        ];
        for row in rows {
            assert_eq!(CpuReport::from_words(row.to_words()), row);
        }
    }

    #[test]
    fn all_zero_words_read_as_some_table() {
        let table = TableWords::new([0; HEADING_WORDS], 1, |_| [0; ROW_WORDS], false);
        let text = table.to_string();
        assert!(text.starts_with("stop report: stopper cpu 0, reason panic, 0 targets"));
        assert_eq!(text.lines().count(), 3);
        let junk = TableWords::new(
            [u64::MAX; HEADING_WORDS],
            1,
            |_| [u64::MAX; ROW_WORDS],
            true,
        );
        assert!(junk.to_string().contains("reason panic"));
    }
}
