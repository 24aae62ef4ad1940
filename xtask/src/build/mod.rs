//! Building the apps: finding them, kernel apps for the kernel target, std apps for Hermit (the
//! soft-float target spec, std's sources), and `cargo xtask build`.

pub(crate) mod apps;
mod command;
pub(crate) mod std_app;
mod std_source;
mod std_target;

pub(crate) use command::{build, BuildArgs};
