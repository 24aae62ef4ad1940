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

// Built everywhere: pure logic that host unit tests cover.
pub mod acpi_check;
mod app;
pub mod cmdline;
pub mod memory;
pub mod per_cpu;
pub mod sleep_type;
pub mod time;
pub mod topology;
pub mod tsc_rate;

// The Hermit ABI and the std app's start (their logic is host-tested too).
#[cfg(any(test, target_os = "none"))]
mod hermit;
#[cfg(any(test, target_os = "none"))]
mod rtc;
// Where the other CPUs were at a crash, kept across warm restarts.
#[cfg(any(test, target_os = "none"))]
mod crash_places;

kernel_only! {
    mod arch;
    mod boot;
    mod panic;
    mod sched;
    pub mod bench;
    pub mod console;
    pub mod inject;
    pub mod power;
    pub mod restart;
    pub mod smp;
    pub mod stopping;

    mod upcalls;
    mod core_dump;
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
