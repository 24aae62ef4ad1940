//! The text of a panic report kept across a warm restart: a fixed buffer of whole lines, written
//! by the panicking CPU, closed with the `wire::kept_report` lines, then handed out byte by byte
//! to whoever prints it after the restart (and the rest at once to whoever must finish it). A warm restart keeps it in `.persistent`: every field
//! is valid as all-zero bytes (empty), and nothing read back from it can index out of bounds.
//!
//! Bounded: a line that does not fit is dropped with everything after it, and the closing
//! `kept report truncated (N bytes dropped)` line counts them. Only whole lines are kept, so
//! what is printed is never cut inside a line and is always UTF-8.

use core::fmt::{self, Write};

use wire::kept_report::{Heading, Truncated, END};

/// Bytes kept, closing lines included.
pub const KEPT_TEXT_MAX: usize = 32 * 1024;
/// Room left for the closing lines: the truncation line (at most 47 bytes with a 20-digit
/// count) and [`END`], each with its newline.
const CLOSING_ROOM: usize = 48 + END.len() + 1;

/// A kept report's text (all zero: empty).
pub struct KeptText {
    bytes: [u8; KEPT_TEXT_MAX],
    /// Bytes written.
    len: usize,
    /// Where the line being written began (`len` after a newline).
    line_start: usize,
    /// Bytes that did not fit; once non-zero, nothing more is kept.
    dropped: u64,
    /// Whether the closing lines are written: only a closed text is handed out.
    closed: bool,
    /// Bytes handed out and printed.
    printed: usize,
}

impl KeptText {
    /// Empty (all zero).
    pub const EMPTY: Self = Self {
        bytes: [0; KEPT_TEXT_MAX],
        len: 0,
        line_start: 0,
        dropped: 0,
        closed: false,
        printed: 0,
    };

    /// Starts a new text for a panic on `cpu`, with its heading line; anything not yet
    /// printed of the old one is forgotten.
    pub fn begin(&mut self, cpu: u64) {
        self.len = 0;
        self.line_start = 0;
        self.dropped = 0;
        self.closed = false;
        self.printed = 0;
        let _ = writeln!(self, "{}", Heading { cpu });
    }

    /// Ends the text: a half-written last line is dropped, then come the truncation line (if
    /// anything was dropped) and the end line. From then on it is handed out.
    pub fn close(&mut self) {
        self.dropped += (self.len - self.line_start) as u64;
        self.len = self.line_start;
        let dropped = self.dropped;
        if dropped > 0 {
            self.append_closing(format_args!("{}\n", Truncated { dropped }));
        }
        self.append_closing(format_args!("{END}\n"));
        self.closed = true;
    }

    /// Whether a closed text has lines not yet printed.
    pub fn pending(&self) -> bool {
        self.closed && self.printed < self.len
    }

    /// The next byte to print, if any; [`KeptText::printed_byte`] says it went out. Printing
    /// byte by byte, a printer stopped in the middle of a line leaves exactly the rest of it
    /// (and of the text) for [`KeptText::take_rest`].
    pub fn next_byte(&self) -> Option<u8> {
        self.pending().then(|| self.bytes[self.printed])
    }

    /// Records that the byte [`KeptText::next_byte`] gave was printed.
    pub fn printed_byte(&mut self) {
        if self.pending() {
            self.printed += 1;
        }
    }

    /// Everything not yet printed (empty unless closed), and marks it printed.
    pub fn take_rest(&mut self) -> &str {
        if !self.pending() {
            return "";
        }
        let from = self.printed;
        self.printed = self.len;
        core::str::from_utf8(&self.bytes[from..self.len]).unwrap_or("(kept text not UTF-8)\n")
    }

    /// Appends a closing line into the room kept for it.
    fn append_closing(&mut self, line: fmt::Arguments<'_>) {
        let mut room = Room {
            bytes: &mut self.bytes[self.len..],
            len: 0,
        };
        let _ = room.write_fmt(line);
        self.len += room.len;
        self.line_start = self.len;
    }
}

/// Appends report text; past [`KEPT_TEXT_MAX`] less the closing lines' room, it counts bytes
/// instead (see the module docs). Never fails.
impl Write for KeptText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.closed {
            return Ok(());
        }
        if self.dropped > 0 || self.len + s.len() > KEPT_TEXT_MAX - CLOSING_ROOM {
            // The line being written and everything after it go.
            self.dropped += (self.len - self.line_start + s.len()) as u64;
            self.len = self.line_start;
            return Ok(());
        }
        self.bytes[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        if let Some(at) = s.rfind('\n') {
            self.line_start = self.len - s.len() + at + 1;
        }
        Ok(())
    }
}

/// A writer into the closing lines' room.
struct Room<'a> {
    bytes: &'a mut [u8],
    len: usize,
}

impl Write for Room<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let take = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> Box<KeptText> {
        // On the heap: the buffer is larger than a test thread's comfortable stack frame.
        let mut text = Box::new(KeptText::EMPTY);
        text.begin(1);
        text
    }

    /// The text's lines, printed byte by byte as the printer does.
    fn lines(text: &mut KeptText) -> Vec<String> {
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
        let mut text = text();
        write!(text, "backtrace:\n  #0 0x{:016x}\n", 0x10_020a).unwrap();
        assert!(!text.pending(), "nothing is handed out before close");
        text.close();
        assert_eq!(
            lines(&mut text),
            [
                "kept report of cpu 1's panic:\n",
                "backtrace:\n",
                "  #0 0x000000000010020a\n",
                "end of the kept report\n",
            ]
        );
        assert!(!text.pending());
        assert_eq!(text.take_rest(), "");
    }

    #[test]
    fn an_overflow_drops_whole_lines_and_says_how_many_bytes() {
        let mut text = text();
        let line = "x".repeat(99) + "\n";
        let mut written = 0u64;
        for _ in 0..KEPT_TEXT_MAX / 100 + 10 {
            // In two pieces, as `write!` would write it.
            text.write_str(&line[..50]).unwrap();
            text.write_str(&line[50..]).unwrap();
            written += 100;
        }
        text.close();
        let out = lines(&mut text);
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
        let mut text = text();
        text.write_str("whole\nhalf").unwrap();
        text.close();
        assert_eq!(
            text.take_rest(),
            "kept report of cpu 1's panic:\nwhole\nkept report truncated (4 bytes dropped)\n\
             end of the kept report\n"
        );
        assert!(!text.pending());
    }

    #[test]
    fn the_rest_after_a_printer_stopped_mid_line_is_the_rest_only() {
        let mut text = text();
        text.write_str("one\ntwo\n").unwrap();
        text.close();
        // The heading, "one" and "tw".
        let printed = "kept report of cpu 1's panic:\none\ntw".len();
        for _ in 0..printed {
            text.printed_byte();
        }
        assert_eq!(text.next_byte(), Some(b'o'));
        assert_eq!(text.take_rest(), "o\nend of the kept report\n");
        assert_eq!(text.next_byte(), None);
    }

    #[test]
    fn a_new_text_forgets_the_old_one() {
        let mut text = text();
        text.write_str("old\n").unwrap();
        text.close();
        text.begin(2);
        assert!(!text.pending());
        text.close();
        assert_eq!(
            text.take_rest(),
            "kept report of cpu 2's panic:\nend of the kept report\n"
        );
    }
}
