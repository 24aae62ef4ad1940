//! The boot CPU's path from the first Rust code to the app's `main`.

use alloc::string::String;
use spin::Once;

use crate::arch::{self, pvh::StartInfo};
use crate::cmdline::{BootOptions, CommandLine};
use crate::{console, memory};

static CMDLINE: Once<String> = Once::new();

/// The whole boot command line.
pub fn cmdline() -> &'static str {
    CMDLINE.get().map_or("", String::as_str)
}

/// The app's part of the command line: everything after ` -- `.
pub fn app_args() -> &'static str {
    CommandLine::split(cmdline()).app_args
}

/// Boots the runtime, runs the app, and exits with its status. The heap `(start, len)` is ready.
pub fn main(info: StartInfo, (heap_start, heap_len): (u64, u64)) -> ! {
    console::init(BootOptions::default().log);
    let raw = &info.cmdline[..info.cmdline_len];
    let line = match core::str::from_utf8(raw) {
        Ok(line) => line,
        Err(e) => {
            log::warn!(
                "boot command line is not UTF-8 after byte {}; ignoring the rest",
                e.valid_up_to()
            );
            core::str::from_utf8(&raw[..e.valid_up_to()]).unwrap_or_default()
        }
    };
    if info.cmdline_truncated {
        log::warn!(
            "boot command line longer than {} bytes; the rest is ignored",
            raw.len()
        );
    }
    let opts = BootOptions::parse(CommandLine::split(line).kernel, |w| log::warn!("{w}"));
    console::set_level(opts.log);

    let map = &info.memmap[..info.memmap_len];
    log::debug!("memory map: {map:?}; ACPI RSDP at {:?}", info.rsdp);
    CMDLINE.call_once(|| String::from(line));
    log::info!(
        "allstop {}: {} MiB RAM, heap {} MiB at {heap_start:#x}",
        env!("CARGO_PKG_VERSION"),
        memory::total_ram(map) >> 20,
        heap_len >> 20,
    );

    let status = arch::app_entry::run_app();
    log::info!("app exited with status {status}");
    arch::exit::exit(status as u32)
}
