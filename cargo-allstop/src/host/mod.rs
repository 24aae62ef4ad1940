//! What every command needs of the host: child processes under supervision, the workspace and
//! how to call cargo, and the prerequisites (the kernel target, QEMU).

pub mod child;
pub mod setup;
pub mod workspace;
