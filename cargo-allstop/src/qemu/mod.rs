//! QEMU: the command line and one supervised boot, the accelerator, guest memory sizes, the
//! guest's exit status, backtrace symbolization and core dumps.

pub mod accel;
mod boot;
pub mod core_dump;
pub mod exit_status;
mod mem_size;
pub mod symbolize;

pub use boot::{Boot, Machine, OnReset, Outcome, QemuRun, QEMU};
pub use mem_size::MemSize;
pub use symbolize::Symbolizer;
