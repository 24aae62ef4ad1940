//! QEMU (from the runner's library: the command line and one supervised boot, the accelerator,
//! guest memory sizes, the guest's exit status, backtrace symbolization), and `cargo xtask run`.

mod run;

pub(crate) use cargo_allstop::qemu::{accel, core_dump, exit_status};
pub(crate) use cargo_allstop::qemu::{
    Boot, Machine, MemSize, OnReset, Outcome, QemuRun, Symbolizer,
};
pub(crate) use run::{run, RunArgs};
