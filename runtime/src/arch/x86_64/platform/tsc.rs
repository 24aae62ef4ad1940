//! The TSC: reading it and finding its frequency (CPUID, else measured against the ACPI PM timer
//! or PIT channel 0).

use raw_cpuid::CpuId;
use x86::io::{inb, inl, outb};

use super::acpi::PmTimer;
use crate::tsc_rate::PLAUSIBLE_TSC_KHZ;

/// How the TSC frequency was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrequencySource {
    /// CPUID leaf 0x15 (TSC/crystal ratio and crystal clock).
    CpuidTscLeaf,
    /// CPUID leaf 0x40000010 (hypervisor timing information).
    HypervisorLeaf,
    /// Measured against the ACPI PM timer.
    AcpiPmTimer,
    /// Measured against PIT channel 0.
    Pit,
    /// CPUID leaf 0x16 base frequency (nominal, least exact).
    CpuidBaseFrequency,
}

/// ACPI PM timer frequency in Hz.
const PM_TIMER_HZ: u64 = 3_579_545;
/// PIT input clock in Hz.
const PIT_HZ: u64 = 1_193_182;
/// PIT ports: channel 0 data and mode/command.
const PIT_CHANNEL0: u16 = 0x40;
const PIT_COMMAND: u16 = 0x43;
/// PIT command: channel 0, lobyte/hibyte access, mode 2 (rate generator), binary.
const PIT_CH0_RATE_GENERATOR: u8 = 0x34;
/// PIT command: latch channel 0's count.
const PIT_CH0_LATCH: u8 = 0x00;
/// How long a calibration measures, in milliseconds.
const CALIBRATION_MS: u64 = 10;
/// A reference timer that does not move within this many TSC ticks is taken as absent.
const REFERENCE_STALL_TICKS: u64 = 1 << 30;

/// Reads the time-stamp counter.
pub fn read() -> u64 {
    // SAFETY: RDTSC has no side effects; every x86_64 CPU has it.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Whether CPUID reports an invariant TSC (constant rate in all P-, C- and T-states).
pub fn is_invariant() -> bool {
    CpuId::new()
        .get_advanced_power_mgmt_info()
        .is_some_and(|p| p.has_invariant_tsc())
}

/// `khz` as stated by `source`, if it is plausible; else a warning and `None`.
fn stated(khz: Option<u64>, source: FrequencySource) -> Option<(u64, FrequencySource)> {
    let khz = khz?;
    if PLAUSIBLE_TSC_KHZ.contains(&khz) {
        return Some((khz, source));
    }
    log::warn!(
        "TSC: {source:?} states {khz} kHz, outside {}..={} kHz; not used",
        PLAUSIBLE_TSC_KHZ.start(),
        PLAUSIBLE_TSC_KHZ.end()
    );
    None
}

/// Finds the TSC frequency in kHz: a plausible rate CPUID or the hypervisor states, else a
/// measurement.
pub fn frequency_khz(pm_timer: Option<PmTimer>) -> Option<(u64, FrequencySource)> {
    let cpuid = CpuId::new();
    let leaf_15 = cpuid.get_tsc_info().and_then(|t| t.tsc_frequency());
    if let Some(found) = stated(leaf_15.map(|hz| hz / 1000), FrequencySource::CpuidTscLeaf) {
        return Some(found);
    }
    let hypervisor = cpuid.get_hypervisor_info().and_then(|h| h.tsc_frequency());
    if let Some(found) = stated(hypervisor.map(u64::from), FrequencySource::HypervisorLeaf) {
        return Some(found);
    }
    if let Some(khz) = pm_timer.and_then(calibrate_with_pm_timer) {
        return Some((khz, FrequencySource::AcpiPmTimer));
    }
    if let Some(khz) = calibrate_with_pit() {
        return Some((khz, FrequencySource::Pit));
    }
    let mhz = cpuid
        .get_processor_frequency_info()?
        .processor_base_frequency();
    // 0: the leaf states nothing.
    let khz = (mhz != 0).then(|| u64::from(mhz) * 1000);
    stated(khz, FrequencySource::CpuidBaseFrequency)
}

/// Counts TSC ticks while a reference counter advances `reference_ticks`. `elapsed` returns how
/// far the reference moved since its previous call. `None` if the reference stalls.
fn measure(reference_ticks: u64, mut elapsed: impl FnMut() -> u64) -> Option<u64> {
    elapsed();
    let start = read();
    let mut last_progress = start;
    let mut counted = 0;
    while counted < reference_ticks {
        let step = elapsed();
        let now = read();
        if step != 0 {
            counted += step;
            last_progress = now;
        } else if now - last_progress > REFERENCE_STALL_TICKS {
            return None;
        }
    }
    Some(read() - start)
}

fn calibrate_with_pm_timer(timer: PmTimer) -> Option<u64> {
    let mask: u32 = if timer.is_32_bit {
        u32::MAX
    } else {
        0x00FF_FFFF
    };
    // SAFETY: the port is the FADT's PM timer block; reading it has no side effects.
    let read_pm = || unsafe { inl(timer.port) } & mask;
    let mut previous = read_pm();
    let ticks = measure(PM_TIMER_HZ * CALIBRATION_MS / 1000, || {
        let now = read_pm();
        let step = now.wrapping_sub(previous) & mask;
        previous = now;
        step.into()
    })?;
    Some(ticks / CALIBRATION_MS)
}

fn calibrate_with_pit() -> Option<u64> {
    // SAFETY: programs PIT channel 0 as a free-running rate generator with the longest period;
    // nothing else uses the PIT and its interrupt is masked at the PIC.
    unsafe {
        outb(PIT_COMMAND, PIT_CH0_RATE_GENERATOR);
        outb(PIT_CHANNEL0, 0);
        outb(PIT_CHANNEL0, 0);
    }
    let read_pit = || {
        // SAFETY: latching and reading channel 0's count has no other effect.
        unsafe {
            outb(PIT_COMMAND, PIT_CH0_LATCH);
            u16::from_le_bytes([inb(PIT_CHANNEL0), inb(PIT_CHANNEL0)])
        }
    };
    let mut previous = read_pit();
    let ticks = measure(PIT_HZ * CALIBRATION_MS / 1000, || {
        let now = read_pit();
        // The count runs down and wraps at 0.
        let step = previous.wrapping_sub(now);
        previous = now;
        step.into()
    })?;
    Some(ticks / CALIBRATION_MS)
}
