//! The interrupt vectors the runtime uses besides the CPU exceptions (0–31).

/// Spurious-interrupt vector programmed into every local APIC (low nibble all ones, as older
/// xAPICs hard-wire those bits).
pub const SPURIOUS_VECTOR: u8 = 0xFF;
/// Fixed IPI that wakes idle APs to look for work (`smp::on_each_cpu`).
pub const WAKE_VECTOR: u8 = 0xF0;
/// Stop IPI, owned by the stop protocol.
pub const STOP_VECTOR: u8 = stop::x86::STOP_VECTOR;
/// Fixed IPI of the benchmark's round-trip probe.
pub const PROBE_VECTOR: u8 = 0xF1;
