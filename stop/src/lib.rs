//! The allstop stop protocol: stop every other CPU, provably, and report how.
//!
//! - [`x86`]: typed ICR values (host-tested) and, on `x86_64-unknown-none`, the ICR writer.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

pub mod x86;
