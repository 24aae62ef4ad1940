//! Build, boot and test allstop apps in QEMU: the library behind `cargo allstop` and `cargo xtask`.
//!
//! - `build/`: building kernel apps for the kernel target, std apps for Hermit (the soft-float
//!   target spec, std's sources).
//! - `qemu/`: the QEMU command line and one supervised boot, the accelerator, guest memory sizes,
//!   the guest's exit status, backtrace symbolization, core dumps.
//! - `host/`: supervised child processes, the project and how to call cargo, the prerequisites.
//! - `project`: the crate `cargo allstop` works on; `template`: the crates `cargo allstop new`
//!   writes.

pub mod build;
pub mod host;
pub mod project;
pub mod qemu;
pub mod template;
