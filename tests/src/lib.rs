//! Host simulation of the allstop stop protocol: each simulated CPU is a thread, a simulated
//! APIC delivers the stop vector only while the CPU has interrupts on and NMIs always (unless
//! NMIs are blocked because the CPU is inside its NMI handler). [`run`] plays a [`Scenario`] and
//! returns an [`Outcome`] whose [`Outcome::check`] verifies invariants I1–I5 and the report.

mod apic;
mod check;
mod machine;
mod scenario;

pub use check::{CpuObservation, Outcome, StopResult, Violation, SCHEDULING_SLACK};
pub use machine::run;
pub use scenario::{Behaviour, Scenario, MAX_SIM_CPUS};
