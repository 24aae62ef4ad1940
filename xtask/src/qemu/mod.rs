//! QEMU: the command line and one supervised boot, the accelerator, guest memory sizes, the
//! guest's exit status, backtrace symbolization, and `cargo xtask run`.

pub(crate) mod accel;
mod boot;
pub(crate) mod core_dump;
pub(crate) mod exit_status;
mod mem_size;
mod run;
mod symbolize;

pub(crate) use boot::{Boot, Machine, OnReset, Outcome, QemuRun, QEMU};
pub(crate) use mem_size::MemSize;
pub(crate) use run::{run, RunArgs};
pub(crate) use symbolize::Symbolizer;
