//! Leaving the machine: power-off (QEMU's debug-exit device with a status, else ACPI S5), reset
//! (FADT reset register, port 0xCF9, the 8042, a triple fault) and halting.

use spin::Once;
use x86::io::{outb, outl, outw};

use super::acpi::{PowerControl, Register, SleepControl};

/// Port of QEMU's `isa-debug-exit` device (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`).
/// Writing `v` makes QEMU exit with status `(v << 1) | 1`.
const DEBUG_EXIT_PORT: u16 = 0xF4;
/// PM1 control: SLP_EN, and the shift of SLP_TYP (ACPI 6.5 §4.8.3.2.1).
const PM1_SLP_EN: u16 = 1 << 13;
const PM1_SLP_TYP_SHIFT: u16 = 10;
/// Hardware-reduced sleep control register: SLP_EN and the shift of SLP_TYP (ACPI 6.5 §4.8.3.7).
const SLEEP_CONTROL_SLP_EN: u8 = 1 << 5;
const SLEEP_CONTROL_SLP_TYP_SHIFT: u8 = 2;
/// Reset control register of PIIX/ICH chipsets, and its "full hard reset" value
/// (SYS_RST | RST_CPU | FULL_RST).
const RESET_CONTROL_PORT: u16 = 0xCF9;
const RESET_CONTROL_FULL_RESET: u8 = 0x0E;
/// 8042 keyboard controller command port, and its "pulse reset line" command.
const KBC_COMMAND_PORT: u16 = 0x64;
const KBC_PULSE_RESET: u8 = 0xFE;

static POWER: Once<PowerControl> = Once::new();

/// Records the ACPI power registers (boot CPU, once).
pub fn init(power: PowerControl) {
    POWER.call_once(|| power);
}

/// Says `what` on COM1 as one `allstop: ` line, then the exit announcement, and ends the run
/// with `status` (under QEMU the debug-exit device takes it; elsewhere the CPU halts): for the
/// paths that run before the console exists.
pub fn exit_before_console(status: u32, what: core::fmt::Arguments<'_>) -> ! {
    let _ = core::fmt::Write::write_fmt(
        &mut super::serial::com1(),
        format_args!("allstop: {what}\n{}\n", wire::exit::Ending::Status(status)),
    );
    poweroff(status, || {})
}

/// Powers the machine off. Under QEMU with `isa-debug-exit` the process exits with `status`;
/// else ACPI S5 (the status is lost); else halts. `before_acpi` runs just before an ACPI
/// power-off (the status did not get out).
pub fn poweroff(status: u32, before_acpi: impl FnOnce()) -> ! {
    // SAFETY: port 0xF4 is QEMU's debug-exit device or unused; writing it has no other effect.
    unsafe { outl(DEBUG_EXIT_PORT, status) };
    let s5 = POWER.get().and_then(|p| p.s5);
    if s5.is_some() {
        before_acpi();
    }
    match s5 {
        // SAFETY: the FADT names these ports as PM1 control and the DSDT gives S5's sleep
        // types; writing SLP_EN with them powers the machine off.
        Some((SleepControl::Pm1 { a, b }, s5)) => unsafe {
            outw(a, u16::from(s5.a) << PM1_SLP_TYP_SHIFT | PM1_SLP_EN);
            if let Some(b) = b {
                outw(b, u16::from(s5.b) << PM1_SLP_TYP_SHIFT | PM1_SLP_EN);
            }
        },
        Some((SleepControl::HardwareReduced(register), s5)) => write_register(
            register,
            s5.a << SLEEP_CONTROL_SLP_TYP_SHIFT | SLEEP_CONTROL_SLP_EN,
        ),
        None => {}
    }
    halt_forever()
}

/// Resets the machine: the FADT reset register, then port 0xCF9, then the 8042, then a triple
/// fault.
pub fn reset() -> ! {
    if let Some((register, value)) = POWER.get().and_then(|p| p.reset) {
        write_register(register, value);
    }
    // SAFETY: on PIIX/ICH chipsets 0xCF9 is the reset control register and 0x64 the 8042's
    // command port; elsewhere the writes go nowhere. Either resets or does nothing.
    unsafe {
        outb(RESET_CONTROL_PORT, RESET_CONTROL_FULL_RESET);
        outb(KBC_COMMAND_PORT, KBC_PULSE_RESET);
    }
    triple_fault()
}

/// Writes a byte to an ACPI power-control register.
fn write_register(register: Register, value: u8) {
    match register {
        // SAFETY: the FADT names this port for power control (reset or sleep); the write is
        // what the firmware asks for to reset or power off.
        Register::Port(port) => unsafe { outb(port, value) },
        // SAFETY: as above, for a memory-mapped register inside the identity map.
        Register::Memory(address) => unsafe { (address as *mut u8).write_volatile(value) },
    }
}

/// Loads an empty IDT and raises an exception: the CPU cannot deliver it and resets.
fn triple_fault() -> ! {
    let empty = x86::dtables::DescriptorTablePointer::<u64> {
        limit: 0,
        base: core::ptr::null(),
    };
    // SAFETY: resetting the machine is the point; nothing runs afterwards.
    unsafe {
        x86::dtables::lidt(&empty);
        core::arch::asm!("int3", options(nomem, nostack));
    }
    halt_forever()
}

/// Disables interrupts and halts this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: `cli; hlt` only stops this CPU; no memory is touched.
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) };
    }
}
