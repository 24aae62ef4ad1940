//! Leaving the machine: QEMU's debug-exit device, ACPI power-off, or a halt loop.

use x86::io::{outl, outw};

/// Port of QEMU's `isa-debug-exit` device (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`).
/// Writing `v` makes QEMU exit with status `(v << 1) | 1`.
const DEBUG_EXIT_PORT: u16 = 0xF4;
/// PM1a control block of QEMU's `pc` (PIIX4) and `q35` (ICH9) chipsets.
const QEMU_PM1A_CNT: u16 = 0x604;
/// SLP_EN with SLP_TYP 0: the S5 (soft-off) value QEMU's DSDT declares for both chipsets.
const PM1_SLP_EN_S5: u16 = 1 << 13;

/// Ends the run with `status`: through `isa-debug-exit` when QEMU has it, else an ACPI
/// power-off (which loses the status), else halts forever.
pub fn exit(status: u32) -> ! {
    // SAFETY: port 0xF4 is QEMU's debug-exit device or unused; writing it has no other effect.
    unsafe { outl(DEBUG_EXIT_PORT, status) };
    // SAFETY: on QEMU's chipsets this is PM1a_CNT and the write powers the machine off; elsewhere
    // the port is unused. Nothing runs after this point that could observe a half-done state.
    unsafe { outw(QEMU_PM1A_CNT, PM1_SLP_EN_S5) };
    halt_forever()
}

/// Disables interrupts and halts this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: `cli; hlt` only stops this CPU; no memory is touched.
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) };
    }
}
