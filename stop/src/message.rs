//! A fixed-size panic message: written with atomics by the CPU that lost the election, copied
//! out by the stopper for the report. No allocation.
#![forbid(unsafe_code)]

use core::fmt;

use crate::sync::{AtomicU64, AtomicU8, Ordering};

/// How many bytes of a panic message a CPU record keeps (longer messages are cut).
pub const PANIC_MESSAGE_CAPACITY: usize = 64;
/// Bytes per storage word.
const WORD_BYTES: usize = 8;
/// Storage words.
const WORDS: usize = PANIC_MESSAGE_CAPACITY / WORD_BYTES;

/// A copied-out panic message (possibly cut at [`PANIC_MESSAGE_CAPACITY`] bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PanicText {
    /// The bytes; only `len` of them count.
    bytes: [u8; PANIC_MESSAGE_CAPACITY],
    /// How many bytes count.
    len: usize,
}

impl PanicText {
    /// An empty text.
    pub const EMPTY: Self = Self {
        bytes: [0; PANIC_MESSAGE_CAPACITY],
        len: 0,
    };

    /// The message, cut back to the last whole UTF-8 character if truncation split one.
    ///
    /// ```
    /// use core::fmt::Write;
    /// let mut text = stop::PanicText::EMPTY;
    /// write!(text, "cpu {} failed", 3).unwrap();
    /// assert_eq!(text.as_str(), "cpu 3 failed");
    /// ```
    pub fn as_str(&self) -> &str {
        let bytes = &self.bytes[..self.len];
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
        }
    }

    /// Whether there is no message.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Replaces the text with `bytes` (cut at [`PANIC_MESSAGE_CAPACITY`]).
    pub(crate) fn set_bytes(&mut self, bytes: &[u8]) {
        let len = bytes.len().min(PANIC_MESSAGE_CAPACITY);
        self.bytes = [0; PANIC_MESSAGE_CAPACITY];
        self.bytes[..len].copy_from_slice(&bytes[..len]);
        self.len = len;
    }
}

/// Appends, silently cutting what does not fit (a panic path must not fail on a long message).
impl fmt::Write for PanicText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = PANIC_MESSAGE_CAPACITY - self.len;
        let take = s.len().min(room);
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

impl fmt::Debug for PanicText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for PanicText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The shared storage of one CPU's panic message.
pub(crate) struct PanicSlot {
    /// Message bytes, little-endian in words.
    words: [AtomicU64; WORDS],
    /// Length; stored last (Release) so a reader that sees it sees the bytes.
    len: AtomicU8,
}

impl PanicSlot {
    const_unless_loom! {
        /// An empty slot.
        pub(crate) fn new() -> Self {
            Self {
                words: array_of![AtomicU64::new(0); WORDS],
                len: AtomicU8::new(0),
            }
        }
    }

    /// Stores `text`; `before_store` runs before each shared store (see `Platform::on_cpu_store`).
    pub(crate) fn store(&self, text: &PanicText, mut before_store: impl FnMut()) {
        for (word, chunk) in self.words.iter().zip(text.bytes.chunks_exact(WORD_BYTES)) {
            let mut le = [0; WORD_BYTES];
            le.copy_from_slice(chunk);
            before_store();
            word.store(u64::from_le_bytes(le), Ordering::Relaxed);
        }
        before_store();
        // `len <= PANIC_MESSAGE_CAPACITY`, which fits a u8.
        self.len.store(text.len as u8, Ordering::Release);
    }

    /// Copies the message out.
    pub(crate) fn load(&self) -> PanicText {
        let len = usize::from(self.len.load(Ordering::Acquire)).min(PANIC_MESSAGE_CAPACITY);
        let mut text = PanicText::EMPTY;
        for (word, chunk) in self
            .words
            .iter()
            .zip(text.bytes.chunks_exact_mut(WORD_BYTES))
        {
            chunk.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
        }
        text.len = len;
        text
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let mut text = PanicText::EMPTY;
        write!(text, "{}é", "x".repeat(PANIC_MESSAGE_CAPACITY - 1)).unwrap();
        assert_eq!(text.as_str(), "x".repeat(PANIC_MESSAGE_CAPACITY - 1));
        write!(text, "more").unwrap();
        assert_eq!(text.as_str().len(), PANIC_MESSAGE_CAPACITY - 1);
    }

    #[test]
    fn slot_round_trips_and_counts_stores() {
        let slot = PanicSlot::new();
        assert!(slot.load().is_empty());
        let mut text = PanicText::EMPTY;
        write!(text, "allstop panic test").unwrap();
        let mut stores = 0;
        slot.store(&text, || stores += 1);
        assert_eq!(slot.load().as_str(), "allstop panic test");
        assert_eq!(stores, WORDS + 1);
    }
}
