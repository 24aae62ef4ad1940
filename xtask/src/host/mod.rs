//! What every command needs of the host (from the runner's library): child processes under
//! supervision, the workspace and how to call cargo, and the prerequisites.

pub(crate) use cargo_allstop::host::{child, setup, workspace};
