//! Building apps: kernel apps for the kernel target, std apps for Hermit (the soft-float target
//! spec, std's sources).

pub mod kernel_app;
pub mod std_app;
mod std_source;
mod std_target;
