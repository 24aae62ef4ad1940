//! Finding the S5 (soft-off) sleep type in the DSDT's AML without an AML interpreter.
//!
//! Firmware declares `Name (_S5, Package () { SLP_TYPa, SLP_TYPb, ... })`, which encodes as
//! `NameOp '_S5_' PackageOp PkgLength NumElements <elements>` where each element is a
//! `ZeroOp`, `OneOp` or `BytePrefix value` (ACPI 6.5 §20.2). That shape is all we read.

/// AML `NameOp`.
const NAME_OP: u8 = 0x08;
/// AML `PackageOp`.
const PACKAGE_OP: u8 = 0x12;
/// AML `ZeroOp`, `OneOp`, `BytePrefix`.
const ZERO_OP: u8 = 0x00;
const ONE_OP: u8 = 0x01;
const BYTE_PREFIX: u8 = 0x0A;

/// The S5 sleep types for PM1a and PM1b control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct S5 {
    /// SLP_TYPa.
    pub a: u8,
    /// SLP_TYPb.
    pub b: u8,
}

/// Finds `_S5` in `aml`.
pub fn find_s5(aml: &[u8]) -> Option<S5> {
    let at = aml.windows(4).position(|w| w == b"_S5_")?;
    // The name may be preceded by a root (`\`) prefix; NameOp comes just before either way.
    let name_op = if at >= 2 && aml[at - 1] == b'\\' {
        at - 2
    } else {
        at.checked_sub(1)?
    };
    if aml[name_op] != NAME_OP {
        return None;
    }
    let mut rest = aml.get(at + 4..)?.iter().copied();
    if rest.next()? != PACKAGE_OP {
        return None;
    }
    // PkgLength: bits 7:6 of the lead byte say how many more bytes follow.
    let lead = rest.next()?;
    for _ in 0..(lead >> 6) {
        rest.next()?;
    }
    let _num_elements = rest.next()?;
    let mut element = || match rest.next()? {
        ZERO_OP => Some(0),
        ONE_OP => Some(1),
        BYTE_PREFIX => rest.next(),
        _ => None,
    };
    let a = element()?;
    let b = element()?;
    Some(S5 { a, b })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_ops_as_qemu_piix4_declares() {
        let aml = [
            0x10, 0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(find_s5(&aml), Some(S5 { a: 0, b: 0 }));
    }

    #[test]
    fn byte_prefixed_values_and_root_prefix() {
        let aml = [
            0x08, b'\\', b'_', b'S', b'5', b'_', 0x12, 0x0A, 0x04, 0x0A, 0x07, 0x0A, 0x05,
        ];
        assert_eq!(find_s5(&aml), Some(S5 { a: 7, b: 5 }));
    }

    #[test]
    fn long_pkg_length_is_skipped() {
        let aml = [
            0x08, b'_', b'S', b'5', b'_', 0x12, 0x40, 0x01, 0x02, 0x01, 0x0A, 0x03,
        ];
        assert_eq!(find_s5(&aml), Some(S5 { a: 1, b: 3 }));
    }

    #[test]
    fn missing_or_malformed_gives_none() {
        assert_eq!(find_s5(b"no sleep states here"), None);
        assert_eq!(
            find_s5(&[0x99, b'_', b'S', b'5', b'_', 0x12, 0x04, 0x02, 0x00, 0x00]),
            None
        );
        assert_eq!(
            find_s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x04, 0x02, 0x0A]),
            None
        );
    }
}
