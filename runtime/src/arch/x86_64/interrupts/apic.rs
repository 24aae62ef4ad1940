//! Local APIC set-up on each CPU: x2APIC (MSRs) when CPUID offers it, else xAPIC (MMIO).
//! Sending IPIs is the job of the one ICR writer in the codebase, [`ICR`], which the stop
//! controller uses too; the mode chosen here is recorded there once and read back from it.

use raw_cpuid::CpuId;
use stop::x86::{ApicMode, IcrWriter};
use x86::io::outb;
use x86::msr::{rdmsr, wrmsr, IA32_APIC_BASE};

use super::vectors::SPURIOUS_VECTOR;

/// The machine's one ICR writer, shared with the stop controller; [`init_boot_cpu`] tells it
/// the APIC mode.
pub static ICR: IcrWriter = IcrWriter::new();

/// The machine's one ICR writer.
pub fn icr() -> &'static IcrWriter {
    &ICR
}

/// `IA32_APIC_BASE` bit 11: the local APIC is enabled.
const APIC_BASE_ENABLE: u64 = 1 << 11;
/// `IA32_APIC_BASE` bit 10: x2APIC mode.
const APIC_BASE_X2APIC: u64 = 1 << 10;
/// `IA32_APIC_BASE` bits 51:12: the xAPIC MMIO page.
const APIC_BASE_ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
/// Spurious-vector register bit 8: APIC software enable.
const SVR_APIC_ENABLE: u32 = 1 << 8;
/// LVT bit 16: masked.
const LVT_MASKED: u32 = 1 << 16;
/// LVT timer bits 18:17 = 01: periodic mode.
const LVT_TIMER_PERIODIC: u32 = 1 << 17;
/// Divide-configuration value for "divide by 16" (SDM Vol. 3A Figure 11-10).
const TIMER_DIVIDE_BY_16: u32 = 0b0011;
/// Initial count of the wake-up tick: about 1 ms at QEMU's 1 GHz APIC clock, about 10 ms at a
/// 100 MHz bus clock. It only bounds how late a sleeping CPU notices a time-out.
const TICK_INITIAL_COUNT: u32 = 60_000;
/// Data port of the master 8259 PIC.
const PIC_MASTER_DATA: u16 = 0x21;
/// Data port of the slave 8259 PIC.
const PIC_SLAVE_DATA: u16 = 0xA1;

/// Local APIC registers we program, named by their xAPIC MMIO offsets (SDM Vol. 3A Table 11-1).
/// In x2APIC mode register `offset` is MSR `0x800 + offset / 16` (SDM Vol. 3A §11.12.1.2).
#[derive(Clone, Copy)]
#[repr(usize)]
enum Register {
    Id = 0x20,
    TaskPriority = 0x80,
    Eoi = 0xB0,
    SpuriousVector = 0xF0,
    ErrorStatus = 0x280,
    LvtTimer = 0x320,
    LvtThermal = 0x330,
    LvtPerfMon = 0x340,
    LvtLint0 = 0x350,
    LvtLint1 = 0x360,
    LvtError = 0x370,
    InService0 = 0x100,
    TimerInitialCount = 0x380,
    TimerDivide = 0x3E0,
}

/// The LVT entries masked at set-up: no local interrupt source reaches a CPU unasked.
/// (The CMCI entry exists only where IA32_MCG_CAP says so, and is left alone.)
const MASKED_LVTS: [Register; 6] = [
    Register::LvtTimer,
    Register::LvtThermal,
    Register::LvtPerfMon,
    Register::LvtLint0,
    Register::LvtLint1,
    Register::LvtError,
];

impl Register {
    fn x2apic_msr(self) -> u32 {
        x2apic_msr_at(self as usize)
    }
}

fn mode() -> ApicMode {
    icr().mode().expect("local APIC used before init_boot_cpu")
}

fn read(reg: Register) -> u32 {
    read_offset(reg as usize)
}

/// The x2APIC MSR of the register at xAPIC offset `offset`.
fn x2apic_msr_at(offset: usize) -> u32 {
    0x800 + (offset >> 4) as u32
}

/// Reads the register at xAPIC offset `offset` (a readable register, 16-byte aligned).
fn read_offset(offset: usize) -> u32 {
    match mode() {
        // SAFETY: x2APIC mode is enabled on every CPU that runs this (enable_this_cpu); the MSR
        // is a readable local APIC register.
        ApicMode::X2Apic => unsafe { rdmsr(x2apic_msr_at(offset)) as u32 },
        // SAFETY: the xAPIC page is identity-mapped uncached (boot.rs) and `offset` names a
        // readable register inside it.
        ApicMode::Xapic { mmio_base } => unsafe {
            ((mmio_base + offset) as *const u32).read_volatile()
        },
    }
}

fn write(reg: Register, value: u32) {
    match mode() {
        // SAFETY: as in `read`; writing these registers changes only this CPU's local APIC.
        ApicMode::X2Apic => unsafe { wrmsr(reg.x2apic_msr(), value.into()) },
        // SAFETY: as in `read`; `reg` is a writable register.
        ApicMode::Xapic { mmio_base } => unsafe {
            ((mmio_base + reg as usize) as *mut u32).write_volatile(value)
        },
    }
}

/// Picks the APIC mode from CPUID, masks the 8259 PICs, records the mode in [`icr`] and enables
/// the boot CPU's local APIC. Returns the mode.
pub fn init_boot_cpu() -> ApicMode {
    // SAFETY: the PICs' data ports mask all their inputs; no PIC interrupt is wanted.
    unsafe {
        outb(PIC_MASTER_DATA, 0xFF);
        outb(PIC_SLAVE_DATA, 0xFF);
    }
    let x2apic = CpuId::new()
        .get_feature_info()
        .is_some_and(|f| f.has_x2apic());
    let mode = if x2apic {
        ApicMode::X2Apic
    } else {
        // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU.
        let base = unsafe { rdmsr(IA32_APIC_BASE) } & APIC_BASE_ADDRESS_MASK;
        ApicMode::Xapic {
            mmio_base: base as usize,
        }
    };
    switch_mode(mode);
    // SAFETY: 1. switch_mode just enabled this CPU's APIC in `mode`, and every AP enables the
    // same mode before it sends anything. 2. the xAPIC page lies in the uncached top of the
    // identity map, mapped for the whole run.
    unsafe { icr().init(mode) };
    program();
    mode
}

/// Enables the calling AP's local APIC in the mode the boot CPU chose.
pub fn init_this_ap() {
    switch_mode(mode());
    program();
}

/// Sets `IA32_APIC_BASE` for `mode` on the calling CPU.
fn switch_mode(mode: ApicMode) {
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU; setting EN (and EXTD where CPUID
    // reports x2APIC) keeps the base address and only changes this CPU's APIC mode.
    unsafe {
        let base = rdmsr(IA32_APIC_BASE);
        let extd = if mode == ApicMode::X2Apic {
            APIC_BASE_X2APIC
        } else {
            0
        };
        wrmsr(IA32_APIC_BASE, base | APIC_BASE_ENABLE | extd);
    }
}

/// Programs task priority, the spurious vector (explicitly: never 15) and the LVT masks.
fn program() {
    write(Register::TaskPriority, 0);
    for lvt in MASKED_LVTS {
        write(lvt, LVT_MASKED);
    }
    write(Register::ErrorStatus, 0);
    write(
        Register::SpuriousVector,
        SVR_APIC_ENABLE | u32::from(SPURIOUS_VECTOR),
    );
}

/// The calling CPU's APIC ID (32-bit in x2APIC mode, 8-bit in xAPIC mode).
pub fn id() -> u32 {
    match mode() {
        ApicMode::X2Apic => read(Register::Id),
        ApicMode::Xapic { .. } => read(Register::Id) >> 24,
    }
}

/// Signals the end of the interrupt being served.
pub fn eoi() {
    write(Register::Eoi, 0);
}

/// Starts a periodic local APIC timer interrupt on `vector`, so a CPU sleeping in `hlt` wakes
/// now and then to check a deadline.
pub fn start_tick(vector: u8) {
    write(Register::TimerDivide, TIMER_DIVIDE_BY_16);
    write(Register::LvtTimer, LVT_TIMER_PERIODIC | u32::from(vector));
    write(Register::TimerInitialCount, TICK_INITIAL_COUNT);
}

/// Stops and masks the local APIC timer.
pub fn stop_tick() {
    write(Register::TimerInitialCount, 0);
    write(Register::LvtTimer, LVT_MASKED);
}

/// Clears the APIC software-enable bit on the calling CPU: fixed interrupts are refused, NMI,
/// INIT and STARTUP still delivered (SDM Vol. 3A §11.4.7.2).
pub fn software_disable() {
    write(Register::SpuriousVector, u32::from(SPURIOUS_VECTOR));
}

/// Acknowledges every interrupt the calling CPU still has in service (a CPU stopped inside an
/// interrupt handler never sent its EOI, and an in-service vector blocks all lower ones).
pub fn end_all_in_service() {
    /// The eight 32-bit in-service registers, 0x10 apart.
    const IN_SERVICE_REGISTERS: usize = 8;
    let in_service = || {
        (0..IN_SERVICE_REGISTERS).any(|i| {
            let offset = Register::InService0 as usize + i * 0x10;
            read_offset(offset) != 0
        })
    };
    // Each EOI retires the highest-priority vector in service; there are at most 256.
    for _ in 0..256 {
        if !in_service() {
            break;
        }
        eoi();
    }
}
