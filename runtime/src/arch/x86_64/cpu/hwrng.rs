//! The CPU's random number generator: RDRAND, else RDSEED, used only when CPUID lists it.

use core::arch::x86_64::{_rdrand64_step, _rdseed64_step};

use raw_cpuid::CpuId;
use spin::Once;

/// Draws per word before RDRAND counts as failed: Intel's DRNG guide takes 10 failures in a row
/// as a hardware fault.
const RDRAND_ATTEMPTS: u32 = 10;
/// Draws per word before RDSEED counts as failed: it runs dry far more often than RDRAND, as
/// each value needs fresh entropy.
const RDSEED_ATTEMPTS: u32 = 1000;

/// The instruction a [`Generator`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Instruction {
    Rdrand,
    Rdseed,
}

/// The CPU's random number generator; only [`Generator::detect`] makes one, after CPUID listed
/// its instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generator(Instruction);

impl Generator {
    /// RDRAND (a generator the hardware keeps reseeding) when CPUID lists it, else RDSEED;
    /// `None` without either. CPUID is asked once.
    pub fn detect() -> Option<Self> {
        static DETECTED: Once<Option<Generator>> = Once::new();
        *DETECTED.call_once(|| {
            let cpuid = CpuId::new();
            if cpuid.get_feature_info().is_some_and(|f| f.has_rdrand()) {
                Some(Generator(Instruction::Rdrand))
            } else if cpuid
                .get_extended_feature_info()
                .is_some_and(|f| f.has_rdseed())
            {
                Some(Generator(Instruction::Rdseed))
            } else {
                None
            }
        })
    }

    /// How many draws a word may take before the generator counts as failed.
    pub fn attempts(self) -> u32 {
        match self.0 {
            Instruction::Rdrand => RDRAND_ATTEMPTS,
            Instruction::Rdseed => RDSEED_ATTEMPTS,
        }
    }

    /// One draw: 64 random bits, or `None` if the generator had none ready.
    pub fn draw(self) -> Option<u64> {
        let mut value = 0;
        // SAFETY: calling a `target_feature` function needs the feature: a `Generator` exists
        // only after CPUID listed its instruction.
        let ok = unsafe {
            match self.0 {
                Instruction::Rdrand => rdrand(&mut value),
                Instruction::Rdseed => rdseed(&mut value),
            }
        };
        (ok == 1).then_some(value)
    }
}

/// RDRAND into `value`; 1 if it delivered. Callable only where the CPU supports RDRAND.
#[target_feature(enable = "rdrand")]
fn rdrand(value: &mut u64) -> i32 {
    _rdrand64_step(value)
}

/// RDSEED into `value`; 1 if it delivered. Callable only where the CPU supports RDSEED.
#[target_feature(enable = "rdseed")]
fn rdseed(value: &mut u64) -> i32 {
    _rdseed64_step(value)
}
