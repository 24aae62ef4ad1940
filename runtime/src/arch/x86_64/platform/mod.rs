//! The machine around the CPUs: ACPI tables, power-off and reset, the TSC clock, the serial
//! console, the CMOS clock, and the heap over the loader's memory map.

pub mod acpi;
pub mod heap;
pub mod power;
pub mod rtc;
pub mod serial;
pub mod tsc;
