//! Turning the kernel's backtrace lines (`wire::frames::Frame`: return addresses after
//! `backtrace:` and in each stopped CPU's block, and the instruction a CPU was interrupted at)
//! into function and file:line, from the DWARF (or, without it, the symbol table) of the booted
//! ELF.

use std::ops::Range;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use anyhow::{anyhow, Context, Result};
use object::{Object, ObjectSection, SectionKind};
use wire::frames::Frame;

use crate::host::workspace;

/// Symbol lookups in one ELF. Shareable between threads (lookups take turns).
pub struct Symbolizer {
    loader: Mutex<addr2line::Loader>,
    /// The address ranges of the ELF's code sections: nothing else is looked up (DWARF
    /// describes functions the linker discarded as living at address 0).
    code: Vec<Range<u64>>,
    /// Source paths under this directory are shown relative to it.
    root: &'static Path,
}

impl Symbolizer {
    /// Opens `elf` (its debug information is read lazily, on the first lookup).
    pub fn load(elf: &Path) -> Result<Self> {
        let loader = addr2line::Loader::new(elf)
            .map_err(|err| anyhow!("cannot read symbols from {}: {err}", elf.display()))?;
        let data = std::fs::read(elf).with_context(|| format!("cannot read {}", elf.display()))?;
        let file = object::File::parse(&*data)
            .with_context(|| format!("{} is not an object file", elf.display()))?;
        let code = file
            .sections()
            .filter(|section| section.kind() == SectionKind::Text)
            .map(|section| section.address()..section.address() + section.size())
            .collect();
        Ok(Symbolizer {
            loader: Mutex::new(loader),
            code,
            root: workspace::root(),
        })
    }

    /// `<function> at <file>:<line>` for the call that `return_address` returns from (the
    /// address just before it), `<function>` alone without line information, `??` when
    /// nothing covers it. An inlined call names the function it was inlined into as well.
    pub fn describe_return_address(&self, return_address: u64) -> String {
        self.describe(return_address.saturating_sub(1))
    }

    /// [`describe_return_address`](Self::describe_return_address) for the instruction at
    /// `probe` itself.
    pub fn describe(&self, probe: u64) -> String {
        if !self.code.iter().any(|range| range.contains(&probe)) {
            return "?? (not in a code section)".to_string();
        }
        let loader = self.loader.lock().unwrap_or_else(PoisonError::into_inner);
        let mut names = Vec::new();
        let mut location = None;
        if let Ok(mut frames) = loader.find_frames(probe) {
            // Innermost (inlined) first, the real function last.
            while let Ok(Some(frame)) = frames.next() {
                if let Some(name) = frame.function.as_ref().and_then(|f| f.raw_name().ok()) {
                    names.push(demangle(&name));
                }
                if location.is_none() {
                    location = frame
                        .location
                        .and_then(|loc| Some((loc.file?.to_string(), loc.line?)));
                }
            }
        }
        if names.is_empty() {
            if let Some(symbol) = loader.find_symbol(probe) {
                names.push(demangle(symbol));
            }
        }
        let mut text = match names.first() {
            Some(name) => name.clone(),
            None => return "??".to_string(),
        };
        if let Some((file, line)) = location {
            text += &format!(" at {}:{line}", self.shorten(&file));
        }
        if let Some(outer) = names.last().filter(|_| names.len() > 1) {
            text += &format!(" (inlined into {outer})");
        }
        text
    }

    /// The text to append to `line` if it is a backtrace line: ` <function> at <file>:<line>`.
    pub fn annotate(&self, line: &str) -> Option<String> {
        let text = match Frame::parse(line)? {
            Frame::Return { address, .. } => self.describe_return_address(address),
            Frame::Rip { address } => self.describe(address),
        };
        Some(format!(" {text}"))
    }

    /// `text` with every backtrace line annotated (and line ends made `\n`).
    pub fn annotate_text(&self, text: &str) -> String {
        text.lines()
            .map(|line| match self.annotate(line) {
                Some(note) => format!("{}{note}\n", line.trim_end_matches('\r')),
                None => format!("{line}\n"),
            })
            .collect()
    }

    /// `file` relative to the workspace root when it is inside it.
    fn shorten<'a>(&self, file: &'a str) -> &'a str {
        Path::new(file)
            .strip_prefix(self.root)
            .ok()
            .and_then(Path::to_str)
            .unwrap_or(file)
    }
}

/// A Rust symbol name demangled without its hash; other names unchanged.
fn demangle(name: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(name))
}

#[cfg(test)]
mod tests {
    use object::ObjectSymbol;

    use super::*;

    #[inline(never)]
    fn lookup_target() -> u32 {
        line!()
    }

    /// Calls `lookup_target` through an opaque pointer, so the optimizer keeps it as a function.
    fn lookup_target_body_line() -> u32 {
        std::hint::black_box(lookup_target as fn() -> u32)()
    }

    /// The address of `lookup_target` in the test binary's own symbol table.
    fn lookup_target_address(elf: &Path) -> u64 {
        let data = std::fs::read(elf).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let mut found = file
            .symbols()
            .filter(|sym| {
                sym.name().is_ok_and(|name| {
                    demangle(name) == "cargo_allstop::qemu::symbolize::tests::lookup_target"
                })
            })
            .map(|sym| sym.address());
        let address = found.next().expect("lookup_target is in the symbol table");
        assert_eq!(found.next(), None, "one lookup_target symbol");
        address
    }

    #[test]
    fn a_return_address_is_looked_up_one_byte_before_it() {
        // The test binary is a real ELF with DWARF: a return address one past the start of
        // `lookup_target` must name it, this file (relative to the workspace), and one of its
        // lines (which one the first instruction gets depends on the optimisation level).
        let elf = std::env::current_exe().unwrap();
        let start = lookup_target_address(&elf);
        let body = lookup_target_body_line();
        let symbols = Symbolizer::load(&elf).unwrap();
        let text = symbols.describe_return_address(start + 1);
        let (function, location) = text.split_once(" at ").expect("a location");
        assert_eq!(
            function,
            "cargo_allstop::qemu::symbolize::tests::lookup_target"
        );
        let (file, line) = location.split_once(':').unwrap();
        assert_eq!(file, "cargo-allstop/src/qemu/symbolize.rs");
        let line: u32 = line.parse().unwrap();
        assert!((body - 1..=body + 1).contains(&line), "{text}");
        // Looked up at the address itself, the previous byte belongs to something else.
        assert!(!symbols
            .describe_return_address(start)
            .contains("lookup_target"));
    }

    #[test]
    fn backtrace_lines_get_their_function_appended_and_nothing_else_changes() {
        let elf = std::env::current_exe().unwrap();
        let start = lookup_target_address(&elf);
        let symbols = Symbolizer::load(&elf).unwrap();
        let text = format!(
            "backtrace:\r\n  #0 {:#018x}\r\n  #1 0x0000000000000001\n  rip {start:#018x}\nend",
            start + 1
        );
        let annotated = symbols.annotate_text(&text);
        let lines: Vec<&str> = annotated.lines().collect();
        assert_eq!(lines[0], "backtrace:");
        assert!(
            lines[1].starts_with(&format!(
                "  #0 {:#018x} cargo_allstop::qemu::symbolize::tests::lookup_target at ",
                start + 1
            )),
            "{}",
            lines[1]
        );
        assert_eq!(
            lines[2],
            "  #1 0x0000000000000001 ?? (not in a code section)"
        );
        // An interrupted instruction is looked up at its own address, not the byte before.
        assert!(
            lines[3].starts_with(&format!(
                "  rip {start:#018x} cargo_allstop::qemu::symbolize::tests::lookup_target at "
            )),
            "{}",
            lines[3]
        );
        assert_eq!(lines[4], "end");
        assert_eq!(symbols.annotate("end"), None);
    }

    #[test]
    fn a_missing_elf_is_a_clear_error() {
        let err = Symbolizer::load(Path::new("/nonexistent/kernel"))
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("cannot read symbols from /nonexistent/kernel: "),
            "{err}"
        );
    }

    #[test]
    fn rust_names_lose_their_hash() {
        assert_eq!(
            demangle("_ZN4core9panicking9panic_fmt17h0123456789abcdefE"),
            "core::panicking::panic_fmt"
        );
        assert_eq!(demangle("memcpy"), "memcpy");
    }
}
