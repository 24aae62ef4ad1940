//! Building apps: kernel apps for the kernel target (and the settings they need), std apps for
//! Hermit (the soft-float target spec, std's sources).

pub mod image;
pub mod kernel_app;
pub mod kernel_config;
pub mod std_app;
mod std_source;
mod std_target;
