//! QEMU: the command line and one supervised boot, the accelerator, guest memory sizes, the
//! guest's exit status, backtrace symbolization, core dumps, and a user's boot of one image.

pub mod accel;
mod boot;
pub mod core_dump;
pub mod exit_status;
mod mem_size;
mod run;
pub mod symbolize;

pub use boot::{Boot, Machine, OnReset, Outcome, QemuRun, QEMU};
pub use mem_size::MemSize;
pub use run::{boot, BootArgs};
pub use symbolize::Symbolizer;
