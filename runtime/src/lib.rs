//! The allstop unikernel runtime.
//!
//! An app is its own `no_std`, `no_main` crate that depends on this one and names its entry
//! point with [`entry!`]. The runtime owns the PVH entry, the linker script (`allstop.ld`) and
//! the panic handler. `unsafe` code lives in two places only: hardware code in `arch`, and the
//! Hermit ABI's C boundary in `hermit` (raw pointers from apps).
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
mod app;
pub mod cmdline;
pub mod memory;
pub mod sleep_type;
pub mod time;
pub mod topology;

// The Hermit ABI (its logic is host-tested too) and the std-app glue.
#[cfg(any(test, target_os = "none"))]
mod hermit;
#[cfg(all(target_os = "none", feature = "std-app"))]
mod std_app;

kernel_only! {
    mod arch;
    mod boot;
    mod panic;
    mod sched;
    pub mod bench;
    pub mod console;
    pub mod cpu;
    pub mod heap;
    pub mod inject;
    pub mod irq;
    pub mod power;
    pub mod restart;
    pub mod smp;
    pub mod stopping;

    // The app-facing functions and constants at the crate root.
    pub use boot::{app_args, cmdline};
    pub use panic::{DOUBLE_PANIC_EXIT_STATUS, PANIC_EXIT_STATUS};
    pub use power::{halt, poweroff, reboot};
}
