//! Building the apps: finding them and building them (kernel apps and std apps, with the
//! runner's library), and `cargo xtask build`.

pub(crate) mod apps;
mod command;

pub(crate) use cargo_allstop::build::std_app;
pub(crate) use command::{build, BuildArgs};
