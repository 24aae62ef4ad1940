//! The allstop unikernel runtime.
//!
//! An app is its own `no_std`, `no_main` crate that depends on this one and names its entry
//! point with [`entry!`]. The runtime owns the PVH entry, the linker script (`allstop.ld`) and
//! the panic handler. `unsafe` code lives in two places only: hardware code in `arch`, and the
//! Hermit ABI's C boundary in `hermit` (raw pointers from apps).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

mod app;
pub mod cmdline;
pub mod memory;

#[cfg(target_os = "none")]
mod arch;
#[cfg(target_os = "none")]
pub mod bench;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
pub mod console;
#[cfg(target_os = "none")]
pub mod cpu;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(any(test, target_os = "none"))]
mod hermit;
#[cfg(target_os = "none")]
pub mod inject;
#[cfg(target_os = "none")]
pub mod irq;
#[cfg(target_os = "none")]
mod panic;
#[cfg(target_os = "none")]
pub mod power;
#[cfg(target_os = "none")]
pub mod restart;
#[cfg(target_os = "none")]
mod sched;
pub mod sleep_type;
#[cfg(target_os = "none")]
pub mod smp;
#[cfg(all(target_os = "none", feature = "std-app"))]
mod std_app;
#[cfg(target_os = "none")]
pub mod stopping;
pub mod time;
pub mod topology;

#[cfg(target_os = "none")]
pub use boot::{app_args, cmdline};
#[cfg(target_os = "none")]
pub use panic::{DOUBLE_PANIC_EXIT_STATUS, PANIC_EXIT_STATUS};
#[cfg(target_os = "none")]
pub use power::{halt, poweroff, reboot};
