//! The test stages: `cargo test` runs and the loom models, the pass/fail tally each stage ends
//! with, the out-of-tree runner check, and `cargo xtask test`, which runs every stage (qemu-test
//! too).

mod cargo_test;
mod command;
mod loom;
mod out_of_tree;
mod tally;

pub(crate) use command::{test, TestArgs};
pub(crate) use loom::loom;
pub(crate) use out_of_tree::{out_of_tree, OutOfTreeArgs};
pub(crate) use tally::Tally;
