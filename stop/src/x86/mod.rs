//! The x86 side of the stop path: typed IPIs ([`icr`]) and, on the kernel target only, the ICR
//! writer that sends them and the `X86Platform` built on it.

pub mod icr;

#[cfg(all(target_arch = "x86_64", target_os = "none"))]
mod platform;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
mod writer;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub use platform::X86Platform;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub use writer::{ApicMode, IcrWriter, SendError};

/// The IDT vector of the stop IPI.
///
/// The local APIC serves pending fixed interrupts by priority class `vector >> 4`, highest first,
/// and blocks classes at or below the task/processor priority (SDM Vol. 3A §11.8.3). Class 0xF is
/// the highest, so the stop vector is taken ahead of any device or timer interrupt and is never
/// masked by a raised TPR. 0xF2 leaves 0xFF free for the spurious vector and 0xF0/0xF1 for other
/// runtime IPIs; it is also distinct from the 0x00–0x1F exception range.
pub const STOP_VECTOR: u8 = 0xF2;
