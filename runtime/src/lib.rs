//! The allstop unikernel runtime.
//!
//! An app is its own `no_std`, `no_main` crate that depends on this one and names its entry
//! point with [`entry!`]. The runtime owns the PVH entry, the linker script (`allstop.ld`) and
//! the panic handler.
//!
//! Layers, each using only those below it: pure logic (`cmdline`, `memory`, `topology`, `time`,
//! ...), then `arch` (the hardware, which calls up only through `upcalls`), then the policy
//! modules (`stopping`, `sched`, `smp`, `restart`, `boot`, `hermit`, ...). `unsafe` code lives
//! in `arch` (hardware), in `hermit` (the C boundary: raw pointers from apps), and in one
//! lifetime erasure in `smp::work` (a job lent to every CPU, as scoped threads do).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

/// Items that exist only in the kernel build (`x86_64-unknown-none`), not in host unit tests.
macro_rules! kernel_only {
    ($($item:item)*) => {
        $(
            #[cfg(target_os = "none")]
            $item
        )*
    };
}

// Built everywhere: pure logic that host unit tests cover. Public for the property tests in
// `tests/`, not for apps: hidden from the docs.
#[doc(hidden)]
pub mod acpi_check;
mod app;
#[doc(hidden)]
pub mod cmdline;
#[doc(hidden)]
pub mod memory;
#[doc(hidden)]
pub mod per_cpu;
#[doc(hidden)]
pub mod sleep_type;
pub mod time;
#[doc(hidden)]
pub mod topology;
#[doc(hidden)]
pub mod tsc_rate;

// The Hermit ABI and the std app's start (their logic is host-tested too).
#[cfg(any(test, target_os = "none"))]
mod hermit;
#[cfg(any(test, target_os = "none"))]
mod rtc;
// Where the other CPUs were at a crash, kept across warm restarts.
#[cfg(any(test, target_os = "none"))]
mod crash_places;
// The panic report's text a warm restart carries, to print after it.
#[cfg(any(test, target_os = "none"))]
mod kept_text;
// What that report still lacks (backtrace, table, contexts), to write into it after the restart.
#[cfg(any(test, target_os = "none"))]
mod kept_parts;

kernel_only! {
    pub mod adaptive_timeout;
    mod arch;
    mod boot;
    mod panic;
    mod sched;
    // Test and measurement hooks for this repository's bench and faults apps.
    #[doc(hidden)]
    pub mod bench;
    pub mod console;
    #[doc(hidden)]
    pub mod inject;
    pub mod power;
    pub mod restart;
    pub mod smp;
    pub mod stopping;

    mod upcalls;
    mod kept_report;
    mod core_dump;
    #[doc(hidden)]
    pub mod interrupted;

    /// Interrupt control for apps: code that must not be interrupted, and test apps that want a
    /// CPU the stop vector cannot reach (so the stop path has to use an NMI).
    pub mod irq {
        pub use crate::arch::irq::{disable, enable, wait};
    }

    /// Heap statistics for apps (the heap itself is the global allocator: use `alloc`).
    pub mod heap {
        pub use crate::arch::heap::allocated_bytes;
    }

    // The app-facing functions and constants at the crate root.
    pub use boot::{app_args, cmdline};
    pub use panic::{DOUBLE_PANIC_EXIT_STATUS, PANIC_EXIT_STATUS};
    pub use power::{halt, poweroff, reboot};
}
