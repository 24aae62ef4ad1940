//! Guest memory sizes for `--mem`: `512M`, `1G`, `2GiB`, or a plain number of MiB (as QEMU's `-m`).

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Context};

/// A guest RAM size, a whole number of MiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemSize {
    mib: u64,
}

impl MemSize {
    /// The default guest RAM.
    pub const DEFAULT: MemSize = MemSize { mib: 256 };
    /// The least RAM the runtime is given (page tables, stacks and heap must fit).
    const MIN_MIB: u64 = 16;
}

impl FromStr for MemSize {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Self> {
        let digits_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits_end);
        if number.is_empty() {
            bail!("'{text}' does not start with a number");
        }
        let kib_per_unit: u64 = match unit.to_ascii_uppercase().as_str() {
            "K" | "KB" | "KIB" => 1,
            "" | "M" | "MB" | "MIB" => 1 << 10,
            "G" | "GB" | "GIB" => 1 << 20,
            "T" | "TB" | "TIB" => 1 << 30,
            _ => bail!("unknown unit '{unit}' in '{text}' (use K, M, G or T)"),
        };
        let kib = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(kib_per_unit))
            .with_context(|| format!("'{text}' is too large"))?;
        if kib % 1024 != 0 {
            bail!("'{text}' is not a whole number of MiB");
        }
        let mib = kib / 1024;
        if mib < Self::MIN_MIB {
            bail!("'{text}' is too small (at least {}M)", Self::MIN_MIB);
        }
        Ok(MemSize { mib })
    }
}

impl fmt::Display for MemSize {
    /// QEMU's `-m` syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}M", self.mib)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mib(text: &str) -> u64 {
        text.parse::<MemSize>().unwrap().mib
    }

    #[test]
    fn units_and_plain_numbers() {
        assert_eq!(mib("512"), 512);
        assert_eq!(mib("512M"), 512);
        assert_eq!(mib("512mib"), 512);
        assert_eq!(mib("1G"), 1024);
        assert_eq!(mib("2GiB"), 2048);
        assert_eq!(mib("1t"), 1 << 20);
        assert_eq!(mib("65536K"), 64);
    }

    #[test]
    fn bad_sizes_are_rejected_with_a_reason() {
        for (text, why) in [
            ("", "does not start with a number"),
            ("M", "does not start with a number"),
            ("-5M", "does not start with a number"),
            ("12X", "unknown unit 'X'"),
            ("1.5G", "unknown unit '.5G'"),
            ("1000K", "not a whole number of MiB"),
            ("8M", "too small"),
            ("99999999999999999999T", "too large"),
            ("9999999999999T", "too large"),
        ] {
            let err = text.parse::<MemSize>().unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn displays_as_qemu_mebibytes() {
        assert_eq!(MemSize::DEFAULT.to_string(), "256M");
        assert_eq!("2G".parse::<MemSize>().unwrap().to_string(), "2048M");
    }
}
