//! What every command needs of the host: child processes under supervision, the workspace and
//! how to call cargo, and the prerequisites (the kernel target, QEMU).

pub(crate) mod child;
pub(crate) mod setup;
pub(crate) mod workspace;
