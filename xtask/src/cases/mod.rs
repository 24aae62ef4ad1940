//! `cargo xtask qemu-test`: the table of QEMU cases, what each expects (of the stop summary too),
//! judging a boot, the scenario matrix, and the time limits' pace under KVM.

mod crash;
mod hostile_abi;
mod hostile_boot_line;
mod hostile_host;
mod hostile_stack;
mod kept;
mod matrix;
mod pace;
mod places;
mod qemu_test;
mod restart;
mod scale;
mod std_apps;
mod stop;
mod stop_expect;
mod summary;
mod table;
mod verdict;

pub(crate) use qemu_test::{qemu_test, QemuTestArgs};
pub(crate) use summary::JsonFields;
