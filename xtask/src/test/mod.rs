//! The test stages: `cargo test` runs and the loom models, the pass/fail tally each stage ends
//! with, and `cargo xtask test`, which runs every stage (qemu-test too).

mod cargo_test;
mod command;
mod loom;
mod tally;

pub(crate) use command::{test, TestArgs};
pub(crate) use loom::loom;
pub(crate) use tally::Tally;
