//! The panic report, off a warm restart's critical path. With `panic=restart` the panicking CPU
//! prints nothing and writes its report (what `restart.report` selects: all of it, or the
//! `PANIC on cpu N` lines and the `stop-summary:` line) into the survivor record ([`keep`]):
//! memory, not the serial port, so the restart takes no longer for a longer message or report.
//! The stopped CPUs' contexts, most of a full report, are kept captured rather than as text
//! (`kept_contexts`) and written into the text after the restart, by whoever prints it.
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

use stop::CpuIndex;

use crate::arch::survivor::SURVIVOR;
use crate::kept_contexts::Progress;
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

/// Who writes the kept contexts into the text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// The printer AP, with interrupts on between two CPUs' contexts (a stop vector lands
    /// there), and stalling as `inject.stall_kept_contexts` says.
    Printer,
    /// A CPU running alone: the boot CPU of a one-CPU machine, or a stopper.
    Alone,
}

/// Keeps the report of a panic on `cpu`: what `write` writes through the function it is given,
/// then, with `contexts_of`, the contexts of the CPUs that stop stopped (`stop.report=full`),
/// captured to be written after the restart (as text at once if there are too many to keep).
/// Returns false, keeping nothing, if another CPU is writing the text (a CPU the stop stopped
/// while it kept a report or wrote its contexts: the caller then prints the report itself).
pub(crate) fn keep(
    cpu: CpuIndex,
    contexts_of: Option<&Report>,
    write: impl FnOnce(&mut dyn FnMut(fmt::Arguments<'_>)),
) -> bool {
    let Some(mut text) = SURVIVOR.kept_report.writer() else {
        return false;
    };
    text.begin(cpu.get() as u64);
    write(&mut into(&mut text));
    let kept = &SURVIVOR.kept_contexts;
    kept.forget();
    if let Some(report) = contexts_of {
        let fold = stopping::folds(report);
        if kept.keep(fold, text.len(), stopping::contexts(report)) {
            // Closed once the contexts are written.
            return true;
        }
        stopping::write_contexts(report, &mut into(&mut text));
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

/// Writes the kept contexts not yet in the text into it, one CPU at a time, then closes the
/// text and forgets them. Goes on where a writer that was stopped
/// left off: what that writer wrote of the context it was in the middle of is dropped and
/// written again. (Until they are forgotten, [`pending`] holds: the report is not printed.)
fn write_contexts(text: &mut TextWriter<'_>, by: Writer) {
    let kept = &SURVIVOR.kept_contexts;
    if text.is_closed() {
        // A writer stopped between closing the text and forgetting the contexts.
        kept.forget();
        return;
    }
    let progress = kept.progress();
    text.truncate(progress.text_len);
    let mut writer = ContextWriter::new(kept.fold());
    // The contexts written already, again, writing nothing: whether the next one folds
    // depends on them.
    for i in 0..progress.written {
        if let Some(context) = kept.get(i) {
            writer.write(&context, &mut |_| {});
        }
    }
    for i in progress.written..kept.len() {
        let stall = by == Writer::Printer && i == 1 && STALL_CONTEXTS.load(Ordering::Relaxed);
        if let Some(context) = kept.get(i) {
            let mut append = into(text);
            writer.write(&context, &mut |args| {
                append(args);
                if stall {
                    // `inject.stall_kept_contexts=1`: the context's first lines are written.
                    loop {
                        core::hint::spin_loop();
                    }
                }
            });
        }
        kept.record(Progress {
            written: i + 1,
            text_len: text.len(),
        });
        if by == Writer::Printer {
            arch::irq::enable();
            arch::irq::disable();
        }
    }
    writer.finish(&mut into(text));
    text.close();
    kept.forget();
}

/// Prints whatever is left of the kept report at once, even over a console lock a stopped CPU
/// holds. Every other CPU must be stopped (the printer among them).
pub(crate) fn flush() {
    if SURVIVOR.kept_contexts.pending() {
        write_contexts(&mut SURVIVOR.kept_report.take_over_writer(), Writer::Alone);
    }
    let rest = SURVIVOR.kept_report.take_rest();
    if !rest.is_empty() {
        console::write_fmt_breaking_lock(format_args!("{rest}"));
    }
}

/// Whether some of the kept report is still to be printed.
pub(crate) fn pending() -> bool {
    SURVIVOR.kept_contexts.pending() || SURVIVOR.kept_report.pending()
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
                write_contexts(&mut text, Writer::Alone);
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
        write_contexts(&mut text, Writer::Printer);
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
