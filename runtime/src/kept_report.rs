//! The panic report, off a warm restart's critical path. With `panic=restart` the panicking CPU
//! prints nothing and writes its report (what `restart.report` selects: all of it, or the
//! `PANIC on cpu N` lines and the `stop-summary:` line) into the survivor record ([`keep`]):
//! memory, not the serial port, so the restart takes no longer for a longer message or report.
//! The rest of a full report (backtrace, table, the stopped CPUs' contexts) is kept captured
//! rather than as text (`kept_parts`) and written into the text after the restart, by whoever
//! prints it.
//! The restarted run prints it once every CPU is online again ([`start_printing`]): an AP, line
//! by line from its idle loop once the app has printed its first line (or 10 ms after the
//! restart), or the boot CPU before `main` when it runs alone.
//! Each line goes out whole under the console lock: the app's lines may come between the
//! report's lines, never inside one.
//!
//! Never lost: what is left unwritten or unprinted is written and printed first ([`flush`]) by
//! the next stop that ends or restarts the run (a panic, power-off, reset), after that stop has
//! stopped the printer.

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;

use stop::{CpuIndex, TableWords};
use wire::frames::Backtrace;

use crate::arch::survivor::SURVIVOR;
use crate::kept_parts::{Progress, Returns, TableParts, PARTS_BEFORE_CONTEXTS};
use crate::kept_text::TextWriter;
use crate::stopping::{self, ContextWriter, Report};
use crate::{arch, console, time};

/// `CPU index + 1` of the AP that is to print the kept report; 0: none.
static PRINTER: AtomicUsize = AtomicUsize::new(0);
/// [`console::written`] when the report was handed to the printer.
static HANDED_AT: AtomicU64 = AtomicU64::new(0);
/// How long the printer waits for the app's first line before it starts anyway.
const FIRST_LINE_WAIT: Duration = Duration::from_millis(10);
/// `inject.stall_kept_contexts=1`: the printer stalls in the middle of the second context.
static STALL_CONTEXTS: AtomicBool = AtomicBool::new(false);

/// Arms (or disarms) `inject.stall_kept_contexts`.
pub(crate) fn set_stall_contexts(on: bool) {
    STALL_CONTEXTS.store(on, Ordering::Relaxed);
}

/// Who writes the kept parts into the text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// The printer AP, with interrupts on between two parts (a stop vector lands there), and
    /// stalling as `inject.stall_kept_contexts` says.
    Printer,
    /// A CPU running alone: the boot CPU of a one-CPU machine, or a stopper.
    Alone,
}

/// Keeps the report of a panic on `cpu`: what `head` writes through the function it is given,
/// then, with `full` (its stop's report and the CPU's return addresses), the rest of a full
/// report, captured to be written after the restart (`kept_parts`): the backtrace, the table
/// with its summary, and the contexts of the CPUs it stopped (`stop.report=full`); as text at
/// once if there are too many CPUs to keep. Returns false, keeping nothing, if another CPU is
/// writing the text (a CPU the stop stopped while it kept a report or wrote its parts: the
/// caller then prints the report itself).
pub(crate) fn keep(
    cpu: CpuIndex,
    full: Option<(&Report, &Returns)>,
    head: impl FnOnce(&mut dyn FnMut(fmt::Arguments<'_>)),
) -> bool {
    let Some(mut text) = SURVIVOR.kept_report.writer() else {
        return false;
    };
    text.begin(cpu.get() as u64);
    head(&mut into(&mut text));
    let parts = &SURVIVOR.kept_parts;
    parts.forget();
    if let Some((report, backtrace)) = full {
        let mut rows = report.cpus().map(|row| row.to_words());
        let table = TableParts {
            heading: report.heading_words(),
            grouped: stopping::table_grouped(report),
            rows: &mut rows,
        };
        let (fold, contexts) = (stopping::folds(report), stopping::contexts(report));
        if parts.keep(text.len(), backtrace, table, fold, contexts) {
            // Closed once the parts are written.
            return true;
        }
        stopping::write_rest(report, backtrace, &mut into(&mut text));
    }
    text.close();
    true
}

/// A sink that appends to `text` (which never fails a write: what does not fit is counted).
fn into<'a, 'b>(text: &'a mut TextWriter<'b>) -> impl FnMut(fmt::Arguments<'_>) + use<'a, 'b> {
    |args| {
        let _ = fmt::Write::write_fmt(text, args);
    }
}

/// Writes the kept parts not yet in the text into it, in order (the backtrace, the table with
/// its summary, one stopped CPU's context at a time), then closes the text and forgets them.
/// Goes on where a writer that was stopped left off: what that writer wrote of the part it was
/// in the middle of is dropped and written again. (Until they are forgotten, [`pending`]
/// holds: the report is not printed.)
fn write_parts(text: &mut TextWriter<'_>, by: Writer) {
    let parts = &SURVIVOR.kept_parts;
    if text.is_closed() {
        // A writer stopped between closing the text and forgetting the parts.
        parts.forget();
        return;
    }
    let progress = parts.progress();
    text.truncate(progress.text_len);
    let mut contexts = ContextWriter::new(parts.fold());
    for part in 0..PARTS_BEFORE_CONTEXTS + parts.contexts() {
        if part < progress.written {
            // A context written already is written again into nothing: whether the next one
            // folds depends on it.
            if part >= PARTS_BEFORE_CONTEXTS {
                write_part(part, &mut contexts, &mut |_| {});
            }
            continue;
        }
        let stall = by == Writer::Printer
            && part == PARTS_BEFORE_CONTEXTS + 1
            && STALL_CONTEXTS.load(Ordering::Relaxed);
        {
            let mut append = into(text);
            write_part(part, &mut contexts, &mut |args| {
                append(args);
                if stall {
                    // `inject.stall_kept_contexts=1`: the second context's first lines are in.
                    loop {
                        core::hint::spin_loop();
                    }
                }
            });
        }
        parts.record(Progress {
            written: part + 1,
            text_len: text.len(),
        });
        if by == Writer::Printer {
            arch::irq::enable();
            arch::irq::disable();
        }
    }
    contexts.finish(&mut into(text));
    text.close();
    parts.forget();
}

/// Writes part `part` of the kept parts to `out`: the backtrace, the table with its summary,
/// or a stopped CPU's context (through `contexts`, which folds CPUs interrupted alike).
fn write_part(part: usize, contexts: &mut ContextWriter, out: &mut dyn FnMut(fmt::Arguments<'_>)) {
    let parts = &SURVIVOR.kept_parts;
    match part {
        0 => out(format_args!("{}", Backtrace(parts.backtrace().addresses()))),
        1 => {
            let row = |i| parts.row(i);
            let table = TableWords::new(parts.heading(), parts.rows(), row, parts.grouped());
            stopping::write_kept_table(&table, out);
        }
        context => {
            if let Some(context) = parts.context(context - PARTS_BEFORE_CONTEXTS) {
                contexts.write(&context, out);
            }
        }
    }
}

/// Prints whatever is left of the kept report at once, even over a console lock a stopped CPU
/// holds. Every other CPU must be stopped (the printer among them).
pub(crate) fn flush() {
    if SURVIVOR.kept_parts.pending() {
        write_parts(&mut SURVIVOR.kept_report.take_over_writer(), Writer::Alone);
    }
    let rest = SURVIVOR.kept_report.take_rest();
    if !rest.is_empty() {
        console::write_fmt_breaking_lock(format_args!("{rest}"));
    }
}

/// Whether some of the kept report is still to be printed.
pub(crate) fn pending() -> bool {
    SURVIVOR.kept_parts.pending() || SURVIVOR.kept_report.pending()
}

/// After a warm restart, once every CPU is online: hands the kept report to `printer` (an AP
/// that is online; the caller wakes it) and returns true, or with no AP prints it here at
/// once. False if nothing is kept.
pub(crate) fn start_printing(printer: Option<CpuIndex>) -> bool {
    if !pending() {
        return false;
    }
    match printer {
        Some(cpu) => {
            HANDED_AT.store(console::written(), Ordering::Relaxed);
            PRINTER.store(cpu.get() + 1, Ordering::Release);
            true
        }
        None => {
            if let Some(mut text) = SURVIVOR.kept_report.writer() {
                write_parts(&mut text, Writer::Alone);
            }
            console::write_fmt(format_args!("{}", SURVIVOR.kept_report.take_rest()));
            false
        }
    }
}

/// Whether CPU `cpu` is to print the kept report (its idle loop then calls [`print_if_mine`]).
pub(crate) fn is_printer(cpu: CpuIndex) -> bool {
    PRINTER.load(Ordering::Acquire) == cpu.get() + 1
}

/// On the AP [`start_printing`] chose: prints the kept report a line at a time, each behind
/// any other console writer (the app's lines go first: the report is not on its way) and with
/// interrupts off (a stop vector lands between lines, never while this CPU holds the console),
/// then returns with interrupts off, as its idle loop calls it. It takes no lock over the text
/// (`kept_text`): a stop that comes by NMI in the middle of a line (a line that took longer
/// than the vector timeout) leaves the rest of the line to [`flush`], which goes on where this
/// CPU stopped. (With a lock per byte, a printer stopped while holding it kept [`flush`] from
/// the rest: the report's end was lost, seen under KVM at the 1,000-restart soak's power-off.)
pub(crate) fn print_if_mine(cpu: CpuIndex) {
    if PRINTER
        .compare_exchange(cpu.get() + 1, 0, Ordering::AcqRel, Ordering::Relaxed)
        .is_err()
    {
        return;
    }
    // The app's first line goes first (at most FIRST_LINE_WAIT later). Under TCG every serial
    // byte takes QEMU's big lock, which the printer would otherwise keep from the starting app
    // (seen: 2-5 ms from the restart to `main` while the report went out).
    let handed = HANDED_AT.load(Ordering::Relaxed);
    arch::irq::enable();
    time::spin_until(FIRST_LINE_WAIT, || console::written() != handed);
    arch::irq::disable();
    if let Some(mut text) = SURVIVOR.kept_report.writer() {
        write_parts(&mut text, Writer::Printer);
    }
    while SURVIVOR.kept_report.pending() {
        let written = console::try_write_behind_others(|send| {
            while let Some(byte) = SURVIVOR.kept_report.next_byte() {
                send(byte);
                SURVIVOR.kept_report.printed_byte();
                if byte == b'\n' {
                    break;
                }
            }
        });
        // Between lines, interrupts on: a stop vector lands here. Behind the app's lines, it
        // waits so.
        arch::irq::enable();
        if !written {
            console::wait_for_other_writers();
        }
        arch::irq::disable();
    }
}
