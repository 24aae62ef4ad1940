//! The allstop stop protocol: stop every other CPU, provably, and report how.
//!
//! # The protocol
//! Each CPU has a record it alone writes (the stopper writes only the verdict and the NMI count):
//! its state moves `Offline → Booting → Running → Acked → Halted`. A CPU that wants every other
//! CPU stopped (a panic, a reboot) wins an election, sends the stop vector to all, waits, sends an
//! NMI to each target not yet done (never to one `Offline` or `Booting`), waits again, and then,
//! if policy allows, parks the rest with INIT. A target is done only when it is `Halted` and has
//! accounted for every NMI sent to it: the NMI path's last store copies the number of NMIs sent
//! into its record. That closes the race Linux leaves open, a CPU that takes the vector late
//! while its NMI is still in flight. The invariants this crate is checked against:
//! - **I1**: a CPU reported stopped enters no stop handler and makes no store after the report.
//! - **I2**: concurrent stoppers elect exactly one; the others stop themselves, their panic
//!   messages kept for the report.
//! - **I3**: `stop_others` returns within its timeouts, whatever the other CPUs do.
//! - **I4**: no NMI goes to a CPU that is `Offline` or `Booting`.
//! - **I5**: each stopped CPU is counted once, by the path that stopped it; the summary adds up.
//!
//! # Strategies
//! [`StopConfig::set_strategy`] picks how the stopper first signals the targets (the runtime's
//! boot option `stop.strategy`; its default is NMI-first). [`StopStrategy::Vector`] (the
//! crate's default) is the protocol above.
//! [`StopStrategy::NmiFirst`] skips the stop vector and its wait: every `Running` target gets
//! its NMI at once, with the same accounting (`nmi_sent` raised before the NMI, a target done
//! only once it has accounted for it), the same NMI timeout and INIT policy, and never an NMI
//! to a CPU `Offline` or `Booting` (I4: a `Booting` target stops itself when it comes online).
//! The runtime's `adaptive` is `Vector` with the timeout [`adaptive_vector_timeout`] derives
//! from an IPI round trip it measured at boot. The trade-off (module `strategy`): a vector
//! lets an interrupts-off CPU finish its section (a half-written device command) before it
//! stops; an NMI stops it mid-section, but within one NMI round trip instead of the vector
//! timeout.
//!
//! This crate implements it for any [`Platform`]; [`x86`] holds the typed ICR and, on
//! `x86_64-unknown-none` only, the ICR writer — the only `unsafe` code here.
//!
//! # Using it
//! The runtime keeps one `static` [`StopController`], registers CPUs at boot
//! ([`StopController::register_cpu`]), moves each CPU through
//! [`boot_cpu`](StopController::boot_cpu) and [`online_cpu`](StopController::online_cpu), wires
//! its stop-vector and NMI handlers to [`on_stop_vector`](StopController::on_stop_vector) and
//! [`on_nmi`](StopController::on_nmi), and calls [`stop_others`](StopController::stop_others)
//! from its panic, reboot and power-off paths. It prints the returned [`StopReport`] and its
//! [`summary`](StopReport::summary) line.
//!
//! # What a report promises
//! Each target's verdict in a [`StopReport`] is a promise about that CPU from the moment
//! [`stop_others`](StopController::stop_others) returns:
//! - **stopped**: it is `Halted` and has accounted for every NMI sent to it; it enters no stop
//!   handler and makes no store from then on (invariant I1), and it executes nothing but its
//!   halt loop. The one exception is the boot CPU on x86, which leaves the NMI handler into its
//!   `cli; hlt` loop (below) and can be woken by an NMI on purpose (warm restart).
//! - **parked**: it did not finish within the timeouts and was sent INIT (only where
//!   `stop.init_park` allows it, never to the boot CPU). INIT lands asynchronously, so the
//!   report promises only that INIT was sent before it returned; whoever goes on over such a CPU
//!   must first prove it landed (the runtime's warm restart does, with a park stub).
//! - **stuck**: neither; it may still be running. The runtime never restores memory under a
//!   stuck CPU: it powers off, resets, or parks it (where allowed) with proof first.
//! - **not a target**: it was `Offline` when the stop began: it had not been started (a CPU
//!   given its start-up IPI is `Booting`, a target, from before the IPI;
//!   [`start_cpu`](StopController::start_cpu)).
//!
//! # Deviations from the contract, with reasons
//! - A CPU record is 128 bytes (aligned), not one 64-byte line: the panic-message buffer does
//!   not fit one line. The hot fields share the first line, and 128 bytes is the false-sharing
//!   unit on x86 (adjacent-line prefetch).
//! - State and path are packed in one byte so `Running → Acked` and the path are one CAS: an NMI
//!   can never find a CPU `Acked` without knowing how.
//! - A CPU that finishes an unrelated NMI during a stop and halts with NMIs blocked cannot
//!   account for a later stop NMI; the stopper then reports it stuck (a safe false alarm).
//! - "The NMI path halts in place and never IRETs": on x86 the boot CPU (index 0) is the
//!   exception. After its last store (`nmi_done`) it IRETs into a `cli; hlt` loop, so that a
//!   warm restart can wake it with an NMI: INIT, the only other way, resets real machines when
//!   sent to the boot CPU. No store follows the IRET; a later stop NMI finds it `Halted` with
//!   `nmi_done == nmi_sent` and stores nothing (`on_nmi` skips a store that would not change
//!   the value), so I1 holds.
//!
//! - A stop NMI that finds its CPU storing the panic message of a lost election accounts for
//!   itself and returns, so the message is not cut off; the CPU then stops itself (bounded code,
//!   interrupts off). It is not `Halted` before that, so the stopper cannot report it stopped
//!   earlier, and I1 holds (the loom election model checks the message arrives whole).
//!
//! # Model checking
//! `--cfg loom` swaps the atomics for loom's (module `sync`); the models in `tests/loom.rs` run
//! with `LOOM_MAX_PREEMPTIONS=3`: exhaustive over every schedule with at most three preemptions
//! (the highest bound that keeps the run under a minute on 2 cores: 17 s; bound 4 took 85 s before the NMI-first models). I1 is checked at every
//! store of a stopping CPU and at every NMI and stop-vector entry. Models: late vector (I1, and
//! that some execution finishes the NMI path); late vector with three CPUs (without preemption:
//! one preemption exceeds loom's branch budget); double delivery (I5); a CPU `Booting` when the
//! stop begins (I4); a CPU started while the stop runs (never `NotTarget` once it ran); election
//! with two CPUs (I2, and the loser's message arrives whole); the boot CPU as a target, leaving
//! the NMI handler by IRET (nothing lands on it after the report); and a second stop after
//! `rearm` and a restart of the AP; under NMI-first: a target with interrupts on late (never sent
//! the vector, stopped by its NMI), the election, and a `Booting` target. Negative controls, each a
//! `LoomVariant` (`--cfg loom` only) the models must catch: Linux as it is (its completion rule,
//! no accounting store) and Linux's rule with the store kept both violate I1; the real rule
//! without the store never finishes an NMI stop; Linux's rule under NMI-first violates I1 too (a
//! loser of the election halts while its NMI is in flight). Loom is exhaustive only up to the bound, and
//! it models `SeqCst` loads and stores as `AcqRel` (only fences are `SeqCst`).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

#[macro_use]
mod sync;

mod config;
mod controller;
#[cfg(all(test, not(loom)))]
mod controller_tests;
mod cpu;
mod hooks;
mod message;
mod platform;
mod record;
mod report;
mod state;
mod strategy;
mod table;
mod table_words;
pub mod x86;

pub use config::{InitPark, StopConfig, DEFAULT_NMI_TIMEOUT, DEFAULT_VECTOR_TIMEOUT, INIT_SETTLE};
#[cfg(loom)]
pub use controller::LoomVariant;
pub use controller::{CpusFull, RecordSnapshot, StopController, StopError, StopReason};
pub use cpu::{ApicId, CpuIndex};
pub use hooks::{HooksFull, StopHook, MAX_STOP_HOOKS};
pub use message::{PanicText, PANIC_MESSAGE_CAPACITY};
pub use platform::{IpiFailed, Platform};
pub use record::{CpuRecord, Verdict};
pub use report::{CpuReport, GroupedReport, StopReport, StopTally};
pub use state::{CpuState, StopPath, TransitionError};
pub use strategy::{
    adaptive_vector_timeout, StopStrategy, ADAPTIVE_MAX_VECTOR_TIMEOUT,
    ADAPTIVE_MIN_VECTOR_TIMEOUT, ADAPTIVE_ROUND_TRIPS,
};
pub use table::RecordTable;
pub use table_words::{TableWords, HEADING_WORDS, ROW_WORDS};
pub use wire::summary::StopSummary;
