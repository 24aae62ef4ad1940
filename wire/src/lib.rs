//! The console lines the allstop kernel prints and xtask reads, each defined once.
//!
//! The kernel side (the `stop` crate, the runtime, the apps) writes each line with its type's
//! `Display`; xtask reads it back with the same type's `parse`. A line's prefix, its keys and
//! their order exist only here, so producer and consumer cannot drift apart, and each type's
//! tests format values and parse them back.
//!
//! - [`summary`]: `stop-summary: stopper=.. targets=.. vector=.. ...`, printed once per stop;
//!   [`paths`]: its per-path counts, which the bench sums;
//! - [`heartbeat`]: `heartbeat-check: ok (...)` / `heartbeat-check: FAILED: ...`;
//! - [`kept_report`]: the lines around the panic report a warm restart carries and prints
//!   after it;
//! - [`exit`]: how the runtime announces the end of a run (`allstop: exit status N`, ...) and
//!   the statuses it ends with;
//! - [`bench`](mod@bench): the bench app's `bench: ...` lines and metric names; [`stats`]: the
//!   sample statistics (nearest-rank median, p99) that both the guest and the host compute;
//! - [`frames`]: backtrace lines and the stop report's per-CPU blocks (heading, registers,
//!   interrupted instruction, a cut-short walk); [`core_dump`]: the core-dump handshake;
//!   [`place`]: where a CPU was at the last crash, as an app reports it after a warm restart;
//! - [`split`]: the one `key=value` word splitter, under every parser here and also under the
//!   runtime's boot options and the apps' arguments; [`Error`]: what is wrong with a line, for
//!   every parser.
//!
//! `no_std`, allocation-free and dependency-free, so that the `stop` crate can use it.
//!
//! # Examples
//!
//! A runner reading the summary line a stop printed:
//!
//! ```
//! use wire::summary::StopSummary;
//!
//! let line = "stop-summary: stopper=3 targets=3 vector=2 nmi=1 self=0 init=0 stuck=0 total_us=28694";
//! let summary = StopSummary::parse(line).unwrap();
//! assert_eq!((summary.stopper, summary.nmi, summary.stuck), (3, 1, 0));
//! // The kernel writes it with the same type, so the two sides agree by construction.
//! assert_eq!(summary.to_string(), line);
//! // A line that is not one is an error naming what is wrong.
//! assert!(StopSummary::parse("stop-summary: stopper=3").is_err());
//! ```
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod bench;
pub mod core_dump;
mod error;
pub mod exit;
mod fields;
pub mod frames;
pub mod heartbeat;
pub mod kept_report;
pub mod paths;
pub mod place;
pub mod split;
pub mod stats;
pub mod summary;

pub use error::{Error, Missing};
