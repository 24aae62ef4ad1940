//! Reading the ACPI tables the runtime needs: the MADT's processors and the FADT's PM timer.
//! The tables sit in identity-mapped low memory, so mapping a region is the identity. Nothing
//! reads them before `acpi_check` has validated the whole chain.

use alloc::vec::Vec;
use core::fmt;
use core::ptr::NonNull;

use acpi::address::{AddressSpace, GenericAddress};
use acpi::fadt::Fadt;
use acpi::{AcpiError, AcpiHandler, AcpiTable, AcpiTables, PhysicalMapping};

use crate::acpi_check::{self, Rejected};
use crate::memory::MemoryRegion;
use crate::sleep_type::{find_s5, S5};
use crate::topology::MadtCpu;

/// Maps ACPI tables where they are: everything below 4 GiB is identity-mapped.
#[derive(Clone, Copy)]
struct IdentityMapped;

impl AcpiHandler for IdentityMapped {
    unsafe fn map_physical_region<T>(
        &self,
        physical_address: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        let virtual_start =
            NonNull::new(physical_address as *mut T).expect("ACPI asked to map physical address 0");
        // SAFETY: the identity map covers the low 4 GiB where the firmware puts its tables, so
        // the virtual address equals the physical one and `size` bytes are mapped.
        unsafe { PhysicalMapping::new(physical_address, virtual_start, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// The ACPI PM timer: a 3.579545 MHz counter in I/O space.
#[derive(Clone, Copy, Debug)]
pub struct PmTimer {
    /// Its I/O port.
    pub port: u16,
    /// Whether it counts 32 bits (else 24).
    pub is_32_bit: bool,
}

/// A register the FADT names for power control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Register {
    /// An I/O port.
    Port(u16),
    /// A memory-mapped register (identity-mapped).
    Memory(u64),
}

/// Where sleep states are entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepControl {
    /// PM1a and (optionally) PM1b control registers, I/O ports.
    Pm1 {
        /// PM1a control.
        a: u16,
        /// PM1b control, when present.
        b: Option<u16>,
    },
    /// The sleep control register of hardware-reduced ACPI (FADT revision 5 and later).
    HardwareReduced(Register),
}

/// How to power off and reset through ACPI.
#[derive(Clone, Copy, Debug, Default)]
pub struct PowerControl {
    /// Where to write, and the S5 sleep types.
    pub s5: Option<(SleepControl, S5)>,
    /// The FADT reset register and the value to write (FADT revision 2 and later only).
    pub reset: Option<(Register, u8)>,
}

/// What the runtime takes from ACPI.
#[derive(Debug, Default)]
pub struct AcpiInfo {
    /// The MADT's processor entries (empty without a MADT).
    pub cpus: Vec<MadtCpu>,
    /// The FADT's PM timer, if it has one in I/O space.
    pub pm_timer: Option<PmTimer>,
    /// Power-off and reset registers.
    pub power: PowerControl,
}

fn register(block: &GenericAddress) -> Option<Register> {
    match block.address_space {
        _ if block.address == 0 => None,
        AddressSpace::SystemIo => u16::try_from(block.address).ok().map(Register::Port),
        AddressSpace::SystemMemory => Some(Register::Memory(block.address)),
        _ => None,
    }
}

fn io_port(block: &GenericAddress) -> Option<u16> {
    match register(block)? {
        Register::Port(port) => Some(port),
        Register::Memory(_) => None,
    }
}

/// Why the runtime goes without ACPI.
#[derive(Debug)]
pub enum Unusable {
    /// The loader gave no RSDP and the BIOS areas hold none (e.g. `-machine ...,acpi=off`).
    NoRsdp,
    /// A table failed validation.
    Rejected(Rejected),
    /// The `acpi` crate refused the (validated) tables.
    Crate(AcpiError),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::NoRsdp => write!(f, "ACPI: no RSDP found"),
            Unusable::Rejected(r) => write!(f, "ACPI tables rejected: {r}"),
            Unusable::Crate(e) => write!(f, "ACPI tables unusable ({e:?})"),
        }
    }
}

/// Reads low memory for the validator.
fn read_physical(addr: u64, out: &mut [u8]) {
    // SAFETY: `acpi_check` asks only for ranges inside the identity map (checked, without
    // wrapping): ones the memory map lists, or, for the RSDP and its search, the BIOS data
    // area, the EBDA and the BIOS area, all below 1 MiB. Reading them has no side effects, and
    // nothing writes the firmware's tables while the runtime reads them.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, out.len()) };
    out.copy_from_slice(bytes);
}

/// Validates the tables from `rsdp` (given by the loader) or, without one, from a BIOS-area
/// search, against the memory map `map`; then reads them.
pub fn read(rsdp: Option<usize>, map: &[MemoryRegion]) -> Result<AcpiInfo, Unusable> {
    let rsdp = match rsdp {
        Some(address) => address as u64,
        None => acpi_check::find_rsdp(&read_physical).ok_or(Unusable::NoRsdp)?,
    };
    let valid = acpi_check::validate(&read_physical, map, rsdp).map_err(Unusable::Rejected)?;
    // SAFETY: `acpi_check::validate` checked the RSDP and every table it leads to (addresses
    // inside the identity map and the memory map, lengths, checksums, MADT entries, the DSDT);
    // the tables are never written.
    let tables = unsafe { AcpiTables::from_rsdp(IdentityMapped, valid.rsdp as usize) }
        .map_err(Unusable::Crate)?;
    let mut info = AcpiInfo::default();
    match valid.madt {
        Some(madt) => {
            let cpus = acpi_check::madt_cpus(&madt);
            if cpus.broadcast > 0 {
                log::warn!(
                    "ACPI: MADT lists {} processor(s) with the broadcast APIC ID; left out",
                    cpus.broadcast
                );
            }
            info.cpus = cpus.cpus;
        }
        None => log::warn!("ACPI: no MADT; running on the boot CPU only"),
    }
    if let Ok(fadt) = tables.find_table::<Fadt>() {
        info.pm_timer = fadt
            .pm_timer_block()
            .ok()
            .flatten()
            .as_ref()
            .and_then(io_port)
            .map(|port| PmTimer {
                port,
                is_32_bit: { fadt.flags }.pm_timer_is_32_bit(),
            });
        let pm1a = fadt.pm1a_control_block().ok().as_ref().and_then(io_port);
        let pm1b = fadt
            .pm1b_control_block()
            .ok()
            .flatten()
            .as_ref()
            .and_then(io_port);
        let s5 = tables.dsdt().ok().and_then(|dsdt| {
            // SAFETY: the DSDT's AML stream lies in identity-mapped firmware memory that nothing
            // writes; `length` comes from its checksummed header.
            let aml = unsafe {
                core::slice::from_raw_parts(dsdt.address as *const u8, dsdt.length as usize)
            };
            find_s5(aml)
        });
        let control = match pm1a {
            Some(a) => Some(SleepControl::Pm1 { a, b: pm1b }),
            None => fadt
                .sleep_control_register()
                .ok()
                .flatten()
                .as_ref()
                .and_then(register)
                .map(SleepControl::HardwareReduced),
        };
        info.power.s5 = control.zip(s5);
        // The reset register exists from FADT revision 2 on, when the flags say it works.
        if fadt.header().revision >= 2 && { fadt.flags }.supports_system_reset_via_fadt() {
            info.power.reset = fadt
                .reset_register()
                .ok()
                .as_ref()
                .and_then(register)
                .map(|r| (r, fadt.reset_value));
        }
    }
    Ok(info)
}
