//! The allstop unikernel runtime.
#![cfg_attr(not(test), no_std)]
