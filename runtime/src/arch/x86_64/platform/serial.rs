//! The COM1 16550 UART that carries the console.

use uart_16550::SerialPort;

/// I/O port base of COM1.
const COM1: u16 = 0x3F8;

/// A byte received on COM1, if one is waiting.
pub fn try_read() -> Option<u8> {
    com1().try_receive().ok()
}

/// Returns a handle to COM1.
pub fn com1() -> SerialPort {
    // SAFETY: COM1 is the console UART on every machine type we boot (pc, q35, microvm); its
    // ports belong to this driver only.
    unsafe { SerialPort::new(COM1) }
}
