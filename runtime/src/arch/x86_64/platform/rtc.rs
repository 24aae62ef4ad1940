//! The CMOS real-time clock: reading its date and time registers.

use x86::io::{inb, outb};

use crate::rtc::RtcRegisters;

/// CMOS index and data ports. Bit 7 of the index masks NMIs; every index written here keeps it
/// clear, as the stop path relies on NMIs.
const CMOS_INDEX: u16 = 0x70;
const CMOS_DATA: u16 = 0x71;
/// Register indexes.
const SECONDS: u8 = 0x00;
const MINUTES: u8 = 0x02;
const HOURS: u8 = 0x04;
const DAY_OF_MONTH: u8 = 0x07;
const MONTH: u8 = 0x08;
const YEAR: u8 = 0x09;
const STATUS_A: u8 = 0x0A;
const STATUS_B: u8 = 0x0B;
/// Status register A: an update is under way (the registers may be mid-change).
const STATUS_A_UPDATE_IN_PROGRESS: u8 = 1 << 7;

/// One reading of the date and time registers, or `None` during an update (the registers may
/// be mid-change). Concurrent callers would race on the index port: call it from one CPU at a
/// time.
pub fn read_once() -> Option<RtcRegisters> {
    if register(STATUS_A) & STATUS_A_UPDATE_IN_PROGRESS != 0 {
        return None;
    }
    Some(RtcRegisters {
        second: register(SECONDS),
        minute: register(MINUTES),
        hour: register(HOURS),
        day: register(DAY_OF_MONTH),
        month: register(MONTH),
        year: register(YEAR),
        status_b: register(STATUS_B),
    })
}

/// Reads CMOS register `index` (below 0x80, so NMIs stay unmasked).
fn register(index: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 are the CMOS index and data registers on PC-compatible machines;
    // selecting and reading a clock register changes nothing but the index, and bit 7 (NMI
    // mask) stays clear because every index used here is below 0x80.
    unsafe {
        outb(CMOS_INDEX, index);
        inb(CMOS_DATA)
    }
}
