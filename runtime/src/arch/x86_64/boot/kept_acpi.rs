//! What the cold boot read of ACPI, kept in the survivor record for warm restarts: validating
//! and parsing the tables again (every checksum, the DSDT's AML for `\_S5`) took ~0.2 ms under
//! TCG here, a sixth of a warm restart at 2 CPUs. The firmware's tables do not change while the
//! machine runs; a warm restart keeps the TSC rate the same way.

use alloc::vec::Vec;

use crate::arch::x86_64::platform::acpi::{AcpiInfo, PmTimer, PowerControl};
use crate::topology::{MadtCpu, MAX_CPUS};

/// MADT processor entries kept: twice the CPUs the runtime runs, for disabled and
/// online-capable entries. A MADT with more is read again at every restart.
const KEPT_MADT_CPUS: usize = 2 * MAX_CPUS;

/// The kept reading. All zero bytes (a cold boot): nothing kept.
pub struct KeptAcpi {
    /// Whether the other fields hold the cold boot's reading.
    present: bool,
    /// The FADT's PM timer.
    pm_timer: Option<PmTimer>,
    /// Power-off and reset registers.
    power: PowerControl,
    /// Valid entries in `cpus`.
    cpu_count: usize,
    /// The MADT's processor entries.
    cpus: [MadtCpu; KEPT_MADT_CPUS],
}

impl KeptAcpi {
    /// Nothing kept.
    pub const NONE: Self = Self {
        present: false,
        pm_timer: None,
        power: PowerControl {
            s5: None,
            reset: None,
        },
        cpu_count: 0,
        cpus: [MadtCpu {
            apic_id: 0,
            flags: 0,
        }; KEPT_MADT_CPUS],
    };

    /// Keeps `info`; false (nothing kept) if its MADT lists more than [`KEPT_MADT_CPUS`]
    /// processors.
    pub fn keep(&mut self, info: &AcpiInfo) -> bool {
        let Some(cpus) = self.cpus.get_mut(..info.cpus.len()) else {
            self.present = false;
            return false;
        };
        cpus.copy_from_slice(&info.cpus);
        self.cpu_count = info.cpus.len();
        self.pm_timer = info.pm_timer;
        self.power = info.power;
        self.present = true;
        true
    }

    /// The kept reading, if there is one.
    pub fn info(&self) -> Option<AcpiInfo> {
        self.present.then(|| AcpiInfo {
            cpus: Vec::from(&self.cpus[..self.cpu_count]),
            pm_timer: self.pm_timer,
            power: self.power,
        })
    }
}
