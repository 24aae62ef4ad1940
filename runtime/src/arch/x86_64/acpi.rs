//! Reading the ACPI tables the runtime needs: the MADT's processors and the FADT's PM timer.
//! The tables sit in identity-mapped low memory, so mapping a region is the identity.

use alloc::vec::Vec;
use core::ptr::NonNull;

use acpi::address::AddressSpace;
use acpi::fadt::Fadt;
use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiError, AcpiHandler, AcpiTables, PhysicalMapping};

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

/// What the runtime takes from ACPI.
#[derive(Debug, Default)]
pub struct AcpiInfo {
    /// The MADT's processor entries (empty without a MADT).
    pub cpus: Vec<MadtCpu>,
    /// The FADT's PM timer, if it has one in I/O space.
    pub pm_timer: Option<PmTimer>,
}

/// Reads the tables from `rsdp` (given by the loader) or, without one, from a BIOS-area search.
pub fn read(rsdp: Option<usize>) -> Result<AcpiInfo, AcpiError> {
    // SAFETY: the RSDP address comes from the PVH loader (or the BIOS-area search finds a
    // checksummed one); the tables it leads to are identity-mapped and never written.
    let tables = unsafe {
        match rsdp {
            Some(address) => AcpiTables::from_rsdp(IdentityMapped, address)?,
            None => AcpiTables::search_for_rsdp_bios(IdentityMapped)?,
        }
    };
    let mut info = AcpiInfo::default();
    match tables.find_table::<Madt>() {
        Ok(madt) => {
            for entry in madt.get().entries() {
                match entry {
                    MadtEntry::LocalApic(e) => info.cpus.push(MadtCpu {
                        apic_id: e.apic_id.into(),
                        flags: e.flags,
                    }),
                    MadtEntry::LocalX2Apic(e) => info.cpus.push(MadtCpu {
                        apic_id: e.x2apic_id,
                        flags: e.flags,
                    }),
                    _ => {}
                }
            }
        }
        Err(e) => log::warn!("ACPI: no usable MADT ({e:?}); running on the boot CPU only"),
    }
    if let Ok(fadt) = tables.find_table::<Fadt>() {
        info.pm_timer = match fadt.pm_timer_block() {
            Ok(Some(block)) if block.address_space == AddressSpace::SystemIo => {
                u16::try_from(block.address).ok().map(|port| PmTimer {
                    port,
                    is_32_bit: { fadt.flags }.pm_timer_is_32_bit(),
                })
            }
            _ => None,
        };
    }
    Ok(info)
}
