//! Which TSC rates the runtime believes when CPUID or a hypervisor states one.

/// TSC rates (kHz) believed when stated: 100 MHz to 20 GHz. Anything else is a broken or hostile
/// host; the rate is then measured.
pub const PLAUSIBLE_TSC_KHZ: core::ops::RangeInclusive<u64> = 100_000..=20_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsc_rates_outside_100_mhz_to_20_ghz_are_implausible() {
        for khz in [0, 1, 99_999, 20_000_001, u64::from(u32::MAX)] {
            assert!(!PLAUSIBLE_TSC_KHZ.contains(&khz), "{khz}");
        }
        for khz in [100_000, 2_451_000, 20_000_000] {
            assert!(PLAUSIBLE_TSC_KHZ.contains(&khz), "{khz}");
        }
    }
}
