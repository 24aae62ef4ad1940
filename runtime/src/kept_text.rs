//! The text of a panic report kept across a warm restart: a fixed buffer of whole lines, written
//! by the panicking CPU, closed with the `wire::kept_report` lines, then handed out byte by byte
//! to whoever prints it after the restart (and the rest at once to whoever must finish it),
//! without a lock. A warm restart keeps it in `.persistent`: every field is valid as all-zero
//! bytes (empty), and nothing read back from it can index out of bounds.
//!
//! Bounded: a line that does not fit is dropped with everything after it, and the closing
//! `kept report truncated (N bytes dropped)` line counts them. Only whole lines are kept, so
//! what is printed is never cut inside a line and is always UTF-8.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use wire::kept_report::{Heading, Truncated, END};

/// Bytes kept, closing lines included.
pub const KEPT_TEXT_MAX: usize = 32 * 1024;
/// Room left for the closing lines: the truncation line (at most 47 bytes with a 20-digit
/// count) and [`END`], each with its newline.
const CLOSING_ROOM: usize = 48 + END.len() + 1;

/// A kept report's text (all zero: empty). Printing it takes no lock: a printer the stop
/// stopped in the middle of a byte holds nothing that whoever prints the rest would need. One
/// writer at a time ([`KeptText::writer`]): the CPU that ran a stop, while every other CPU is
/// stopped, so the printer never meets a text being written.
pub struct KeptText {
    bytes: [AtomicU8; KEPT_TEXT_MAX],
    /// Bytes written.
    len: AtomicUsize,
    /// Where the line being written began (`len` after a newline).
    line_start: AtomicUsize,
    /// Bytes that did not fit; once non-zero, nothing more is kept.
    dropped: AtomicU64,
    /// Whether the closing lines are written: only a closed text is handed out (Release:
    /// publishes every byte written before).
    closed: AtomicBool,
    /// Bytes handed out and printed.
    printed: AtomicUsize,
    /// Whether a [`TextWriter`] exists.
    writing: AtomicBool,
}

impl KeptText {
    /// Empty (all zero).
    pub const fn empty() -> Self {
        Self {
            bytes: [const { AtomicU8::new(0) }; KEPT_TEXT_MAX],
            len: AtomicUsize::new(0),
            line_start: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            printed: AtomicUsize::new(0),
            writing: AtomicBool::new(false),
        }
    }

    /// The text's one writer; `None` while another exists.
    pub fn writer(&self) -> Option<TextWriter<'_>> {
        self.writing
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        Some(TextWriter { text: self })
    }

    /// The text's writer even while another exists, which is given up: every CPU but the
    /// caller is stopped for good, or the other writer was the caller's own, abandoned (a
    /// panic inside it). What that writer left half-written is the caller's to drop
    /// ([`TextWriter::truncate`]).
    pub fn take_over_writer(&self) -> TextWriter<'_> {
        self.writing.swap(true, Ordering::Acquire);
        TextWriter { text: self }
    }

    /// Whether a closed text has lines not yet printed.
    pub fn pending(&self) -> bool {
        self.closed.load(Ordering::Acquire)
            && self.printed.load(Ordering::Relaxed) < self.len.load(Ordering::Relaxed)
    }

    /// The next byte to print, if any; [`KeptText::printed_byte`] says it went out. Printing
    /// byte by byte, a printer stopped in the middle of a line leaves exactly the rest of it
    /// (and of the text) for [`KeptText::take_rest`].
    pub fn next_byte(&self) -> Option<u8> {
        if !self.closed.load(Ordering::Acquire) {
            return None;
        }
        let at = self.printed.load(Ordering::Relaxed);
        let byte = self.bytes.get(at)?.load(Ordering::Relaxed);
        (at < self.len.load(Ordering::Relaxed)).then_some(byte)
    }

    /// Records that the byte [`KeptText::next_byte`] gave was printed.
    pub fn printed_byte(&self) {
        if self.pending() {
            self.printed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Everything not yet printed (empty unless closed), marked printed.
    pub fn take_rest(&self) -> Rest<'_> {
        if !self.pending() {
            return Rest {
                text: self,
                from: 0,
                to: 0,
            };
        }
        let to = self.len.load(Ordering::Relaxed);
        let from = self.printed.swap(to, Ordering::Relaxed).min(to);
        Rest {
            text: self,
            from,
            to,
        }
    }
}

/// The part of a text [`KeptText::take_rest`] handed out; `Display` writes it.
pub struct Rest<'a> {
    text: &'a KeptText,
    from: usize,
    to: usize,
}

impl Rest<'_> {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.from >= self.to
    }
}

impl fmt::Display for Rest<'_> {
    /// The bytes as text, a chunk at a time; a character cut by a chunk's end goes with the
    /// next chunk (the text is whole lines of `str`, so UTF-8 throughout).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chunk = [0u8; 128];
        let mut held = 0;
        for at in self.from..self.to {
            chunk[held] = self.text.bytes[at].load(Ordering::Relaxed);
            held += 1;
            if held < chunk.len() && at + 1 < self.to {
                continue;
            }
            let valid = match core::str::from_utf8(&chunk[..held]) {
                Ok(all) => all.len(),
                // A byte that starts no character: say so, and skip it.
                Err(e) if e.error_len().is_some() && e.valid_up_to() == 0 => {
                    f.write_char(char::REPLACEMENT_CHARACTER)?;
                    1
                }
                Err(e) => e.valid_up_to(),
            };
            f.write_str(core::str::from_utf8(&chunk[..valid]).unwrap_or_default())?;
            chunk.copy_within(valid..held, 0);
            held -= valid;
        }
        if held > 0 {
            f.write_char(char::REPLACEMENT_CHARACTER)?;
        }
        Ok(())
    }
}

/// The one writer of a [`KeptText`]; dropping it lets the next one write.
pub struct TextWriter<'a> {
    text: &'a KeptText,
}

impl TextWriter<'_> {
    /// Starts a new text for a panic on `cpu`, with its heading line; anything not yet
    /// printed of the old one is forgotten.
    pub fn begin(&mut self, cpu: u64) {
        let text = self.text;
        text.closed.store(false, Ordering::Release);
        text.len.store(0, Ordering::Relaxed);
        text.line_start.store(0, Ordering::Relaxed);
        text.dropped.store(0, Ordering::Relaxed);
        text.printed.store(0, Ordering::Relaxed);
        let _ = writeln!(self, "{}", Heading { cpu });
    }

    /// Whether the text is closed (it takes no more).
    pub fn is_closed(&self) -> bool {
        self.text.closed.load(Ordering::Relaxed)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.text.len.load(Ordering::Relaxed)
    }

    /// Drops what was written after the first `len` bytes of an open text, which must end a
    /// line (a length [`TextWriter::len`] gave after a newline); a larger `len` changes nothing.
    pub fn truncate(&mut self, len: usize) {
        let text = self.text;
        if text.closed.load(Ordering::Relaxed) || len >= text.len.load(Ordering::Relaxed) {
            return;
        }
        text.len.store(len, Ordering::Relaxed);
        text.line_start.store(len, Ordering::Relaxed);
    }

    /// Ends the text: a half-written last line is dropped, then come the truncation line (if
    /// anything was dropped) and the end line. From then on it is handed out.
    pub fn close(&mut self) {
        let text = self.text;
        let (len, line_start) = (
            text.len.load(Ordering::Relaxed),
            text.line_start.load(Ordering::Relaxed),
        );
        let dropped = text.dropped.load(Ordering::Relaxed) + (len - line_start) as u64;
        text.len.store(line_start, Ordering::Relaxed);
        if dropped > 0 {
            self.append_closing(format_args!("{}\n", Truncated { dropped }));
        }
        self.append_closing(format_args!("{END}\n"));
        text.closed.store(true, Ordering::Release);
    }

    /// Appends a closing line into the room kept for it.
    fn append_closing(&mut self, line: fmt::Arguments<'_>) {
        let text = self.text;
        let mut room = Room {
            bytes: &text.bytes[..KEPT_TEXT_MAX],
            len: text.len.load(Ordering::Relaxed),
        };
        let _ = room.write_fmt(line);
        text.len.store(room.len, Ordering::Relaxed);
        text.line_start.store(room.len, Ordering::Relaxed);
    }
}

impl Drop for TextWriter<'_> {
    fn drop(&mut self) {
        self.text.writing.store(false, Ordering::Release);
    }
}

/// Appends report text; past [`KEPT_TEXT_MAX`] less the closing lines' room, it counts bytes
/// instead (see the module docs). Never fails.
impl Write for TextWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let text = self.text;
        if text.closed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let (len, line_start) = (
            text.len.load(Ordering::Relaxed),
            text.line_start.load(Ordering::Relaxed),
        );
        if text.dropped.load(Ordering::Relaxed) > 0 || len + s.len() > KEPT_TEXT_MAX - CLOSING_ROOM
        {
            // The line being written and everything after it go.
            text.dropped
                .fetch_add((len - line_start + s.len()) as u64, Ordering::Relaxed);
            text.len.store(line_start, Ordering::Relaxed);
            return Ok(());
        }
        for (cell, &byte) in text.bytes[len..len + s.len()].iter().zip(s.as_bytes()) {
            cell.store(byte, Ordering::Relaxed);
        }
        text.len.store(len + s.len(), Ordering::Relaxed);
        if let Some(at) = s.rfind('\n') {
            text.line_start.store(len + at + 1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// A writer into the closing lines' room, from byte `len` on, cutting at the buffer's end.
struct Room<'a> {
    bytes: &'a [AtomicU8],
    len: usize,
}

impl Write for Room<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &byte in s.as_bytes() {
            let Some(cell) = self.bytes.get(self.len) else {
                break;
            };
            cell.store(byte, Ordering::Relaxed);
            self.len += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> Box<KeptText> {
        // On the heap: the buffer is larger than a test thread's comfortable stack frame.
        let text = Box::new(KeptText::empty());
        text.writer().unwrap().begin(1);
        text
    }

    /// The text's lines, printed byte by byte as the printer does.
    fn lines(text: &KeptText) -> Vec<String> {
        let mut bytes = Vec::new();
        while let Some(byte) = text.next_byte() {
            bytes.push(byte);
            text.printed_byte();
        }
        String::from_utf8(bytes)
            .unwrap()
            .split_inclusive('\n')
            .map(String::from)
            .collect()
    }

    #[test]
    fn whole_lines_come_out_in_order_between_heading_and_end() {
        let text = text();
        let mut w = text.writer().unwrap();
        write!(w, "backtrace:\n  #0 0x{:016x}\n", 0x10_020a).unwrap();
        assert!(!text.pending(), "nothing is handed out before close");
        w.close();
        assert_eq!(
            lines(&text),
            [
                "kept report of cpu 1's panic:\n",
                "backtrace:\n",
                "  #0 0x000000000010020a\n",
                "end of the kept report\n",
            ]
        );
        assert!(!text.pending());
        assert_eq!(text.take_rest().to_string(), "");
    }

    #[test]
    fn an_overflow_drops_whole_lines_and_says_how_many_bytes() {
        let text = text();
        let mut w = text.writer().unwrap();
        let line = "x".repeat(99) + "\n";
        let mut written = 0u64;
        for _ in 0..KEPT_TEXT_MAX / 100 + 10 {
            // In two pieces, as `write!` would write it.
            w.write_str(&line[..50]).unwrap();
            w.write_str(&line[50..]).unwrap();
            written += 100;
        }
        w.close();
        let out = lines(&text);
        let kept = out.iter().filter(|l| **l == line).count() as u64;
        let truncated = Truncated {
            dropped: written - kept * 100,
        };
        assert!(truncated.dropped > 0);
        assert_eq!(out[out.len() - 2], format!("{truncated}\n"));
        assert_eq!(out[out.len() - 1], "end of the kept report\n");
        let total: usize = out.iter().map(String::len).sum();
        assert!(total <= KEPT_TEXT_MAX, "{total} bytes");
        // Every line but the closing ones is whole.
        assert!(out[1..out.len() - 2].iter().all(|l| *l == line));
    }

    #[test]
    fn a_half_written_last_line_is_dropped_at_close() {
        let text = text();
        let mut w = text.writer().unwrap();
        w.write_str("whole\nhalf").unwrap();
        w.close();
        assert_eq!(
            text.take_rest().to_string(),
            "kept report of cpu 1's panic:\nwhole\nkept report truncated (4 bytes dropped)\n\
             end of the kept report\n"
        );
        assert!(!text.pending());
    }

    #[test]
    fn the_rest_after_a_printer_stopped_mid_line_is_the_rest_only() {
        let text = text();
        let mut w = text.writer().unwrap();
        w.write_str("one\ntwo\n").unwrap();
        w.close();
        // The heading, "one" and "tw".
        let printed = "kept report of cpu 1's panic:\none\ntw".len();
        for _ in 0..printed {
            text.printed_byte();
        }
        assert_eq!(text.next_byte(), Some(b'o'));
        assert_eq!(text.take_rest().to_string(), "o\nend of the kept report\n");
        assert_eq!(text.next_byte(), None);
    }

    #[test]
    fn a_new_text_forgets_the_old_one() {
        let text = text();
        let mut w = text.writer().unwrap();
        w.write_str("old\n").unwrap();
        w.close();
        w.begin(2);
        assert!(!text.pending());
        w.close();
        assert_eq!(
            text.take_rest().to_string(),
            "kept report of cpu 2's panic:\nend of the kept report\n"
        );
    }

    #[test]
    fn a_truncated_text_goes_on_from_where_it_was_cut() {
        let text = text();
        let mut w = text.writer().unwrap();
        w.write_str("kept\n").unwrap();
        let cut = w.len();
        // A writer stopped in the middle of its second line.
        w.write_str("dropped\nhalf").unwrap();
        w.truncate(cut);
        w.write_str("again\n").unwrap();
        w.truncate(w.len() + 10);
        w.close();
        assert_eq!(
            text.take_rest().to_string(),
            "kept report of cpu 1's panic:\nkept\nagain\nend of the kept report\n"
        );
    }

    #[test]
    fn a_writer_given_up_is_taken_over_and_then_let_go() {
        let text = text();
        // A writer whose CPU stopped for good: never dropped.
        core::mem::forget(text.writer().unwrap());
        assert!(text.writer().is_none());
        let mut w = text.take_over_writer();
        w.write_str("taken over\n").unwrap();
        assert!(!w.is_closed());
        w.close();
        assert!(w.is_closed());
        drop(w);
        assert!(text.writer().is_some());
        assert!(text.take_rest().to_string().contains("\ntaken over\n"));
    }

    #[test]
    fn one_writer_at_a_time() {
        let text = text();
        let w = text.writer().unwrap();
        assert!(
            text.writer().is_none(),
            "a second writer while the first exists"
        );
        drop(w);
        assert!(text.writer().is_some());
    }

    #[test]
    fn the_rest_comes_out_whole_across_chunks_and_characters() {
        let text = text();
        let mut w = text.writer().unwrap();
        // 3-byte characters over several 128-byte chunks: some cross a chunk's end.
        let line = "ü€".repeat(100) + "\n";
        w.write_str(&line).unwrap();
        w.close();
        drop(w);
        let rest = text.take_rest().to_string();
        assert_eq!(
            rest,
            format!("kept report of cpu 1's panic:\n{line}end of the kept report\n")
        );
        assert!(text.take_rest().is_empty());
    }
}
