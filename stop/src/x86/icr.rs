//! A typed Interrupt Command Register (ICR) value and its encodings.
//!
//! Layout facts come from the Intel SDM, Vol. 3A, §11.6.1 "Interrupt Command Register (ICR)"
//! and §11.12.9 "ICR Operation in x2APIC Mode" (numbered §10.6.1 and §10.12.9 in editions
//! before 2022):
//!
//! | bits  | field             | values used here                                        |
//! |-------|-------------------|---------------------------------------------------------|
//! | 7:0   | vector            | the IDT vector, or the start-up page for `StartUp`      |
//! | 10:8  | delivery mode     | 000 Fixed, 100 NMI, 101 INIT, 110 Start Up              |
//! | 11    | destination mode  | 0 physical, 1 logical                                   |
//! | 12    | delivery status   | read-only (xAPIC only); ignored by x2APIC WRMSR         |
//! | 14    | level             | 0 de-assert, 1 assert                                   |
//! | 15    | trigger mode      | 0 edge, 1 level                                         |
//! | 19:18 | shorthand         | 00 none, 01 self, 10 all incl. self, 11 all excl. self  |
//!
//! The destination is bits 63:32 of the 64-bit x2APIC MSR value, and bits 31:24 of the xAPIC
//! `ICR_HIGH` register (bits 63:56 of the 64-bit xAPIC ICR), which holds only 8 bits.
#![forbid(unsafe_code)]

use core::fmt;

/// How the target APIC delivers the interrupt (ICR bits 10:8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryMode {
    /// Deliver the interrupt on the given vector (0b000).
    Fixed = 0b000,
    /// Non-maskable interrupt; the vector field is ignored (0b100).
    Nmi = 0b100,
    /// INIT: reset the target to its wait-for-SIPI state (0b101). Vector must be 0.
    Init = 0b101,
    /// Start-up IPI: the target starts in real mode at `vector << 12` (0b110).
    StartUp = 0b110,
}

/// How the destination field is interpreted (ICR bit 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DestinationMode {
    /// The destination is an APIC ID (0).
    Physical = 0,
    /// The destination is a logical-destination bit set (1).
    Logical = 1,
}

/// The level bit (ICR bit 14); only INIT level de-assert uses `Deassert`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// De-assert (0): used only by the legacy INIT level de-assert message.
    Deassert = 0,
    /// Assert (1): every other IPI.
    Assert = 1,
}

/// The trigger mode (ICR bit 15); only INIT level de-assert uses `Level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerMode {
    /// Edge-triggered (0).
    Edge = 0,
    /// Level-triggered (1).
    Level = 1,
}

/// The destination shorthand (ICR bits 19:18); anything but `None` ignores the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shorthand {
    /// No shorthand: the destination field names the target (0b00).
    None = 0b00,
    /// The sending CPU itself (0b01).
    SelfOnly = 0b01,
    /// Every CPU, the sender included (0b10).
    AllIncludingSelf = 0b10,
    /// Every CPU but the sender (0b11).
    AllExcludingSelf = 0b11,
}

/// Bit position of the delivery mode field.
const DELIVERY_MODE_SHIFT: u32 = 8;
/// Bit position of the destination mode bit.
const DESTINATION_MODE_SHIFT: u32 = 11;
/// Bit position of the level bit.
const LEVEL_SHIFT: u32 = 14;
/// Bit position of the trigger mode bit.
const TRIGGER_MODE_SHIFT: u32 = 15;
/// Bit position of the shorthand field.
const SHORTHAND_SHIFT: u32 = 18;
/// Bit position of the destination inside the xAPIC `ICR_HIGH` register.
const XAPIC_DESTINATION_SHIFT: u32 = 24;
/// Largest destination the 8-bit xAPIC destination field can hold.
const XAPIC_MAX_DESTINATION: u32 = 0xFF;

/// Delivery-status bit (12) of the xAPIC `ICR_LOW` register: 1 while a previous IPI is pending.
pub const XAPIC_DELIVERY_STATUS_PENDING: u32 = 1 << 12;

/// One IPI request, built from typed fields; encode it with [`Icr::x2apic_value`] or
/// [`Icr::xapic_registers`].
///
/// ```
/// use stop::x86::icr::Icr;
/// // NMI to APIC ID 3 (x2APIC): destination in bits 63:32, delivery mode NMI, level assert.
/// assert_eq!(Icr::nmi(3).x2apic_value(), 0x0000_0003_0000_4400);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icr {
    /// Vector (bits 7:0), or start-up page for [`DeliveryMode::StartUp`].
    pub vector: u8,
    /// Delivery mode (bits 10:8).
    pub delivery_mode: DeliveryMode,
    /// Destination mode (bit 11).
    pub destination_mode: DestinationMode,
    /// Level (bit 14).
    pub level: Level,
    /// Trigger mode (bit 15).
    pub trigger_mode: TriggerMode,
    /// Destination shorthand (bits 19:18).
    pub shorthand: Shorthand,
    /// Destination APIC ID; ignored by the hardware when `shorthand` is not `None`.
    pub destination: u32,
}

/// The two 32-bit xAPIC registers for one IPI: write `high` (offset 0x310) first, then `low`
/// (offset 0x300), whose write sends the IPI (SDM Vol. 3A §11.6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XapicRegisters {
    /// `ICR_HIGH` (offset 0x310): destination in bits 31:24.
    pub high: u32,
    /// `ICR_LOW` (offset 0x300): everything else.
    pub low: u32,
}

/// An ICR that cannot be encoded for the requested APIC mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcrError {
    /// The destination APIC ID does not fit the 8-bit xAPIC destination field.
    DestinationTooWide(u32),
}

impl fmt::Display for IcrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DestinationTooWide(id) => {
                write!(
                    f,
                    "APIC ID {id} does not fit the 8-bit xAPIC destination field"
                )
            }
        }
    }
}

impl Icr {
    /// An edge-triggered, asserted, physical-mode IPI: the shape of every IPI but INIT de-assert.
    const fn asserted(
        delivery_mode: DeliveryMode,
        vector: u8,
        shorthand: Shorthand,
        destination: u32,
    ) -> Self {
        Self {
            vector,
            delivery_mode,
            destination_mode: DestinationMode::Physical,
            level: Level::Assert,
            trigger_mode: TriggerMode::Edge,
            shorthand,
            destination,
        }
    }

    /// A fixed interrupt on `vector` to the CPU with APIC ID `apic_id`.
    pub const fn fixed(vector: u8, apic_id: u32) -> Self {
        Self::asserted(DeliveryMode::Fixed, vector, Shorthand::None, apic_id)
    }

    /// A fixed interrupt on `vector` to every CPU but the sender (the stop broadcast).
    pub const fn fixed_all_excluding_self(vector: u8) -> Self {
        Self::asserted(DeliveryMode::Fixed, vector, Shorthand::AllExcludingSelf, 0)
    }

    /// An NMI to the CPU with APIC ID `apic_id` (vector field 0: ignored for NMI).
    pub const fn nmi(apic_id: u32) -> Self {
        Self::asserted(DeliveryMode::Nmi, 0, Shorthand::None, apic_id)
    }

    /// An INIT (level assert) to the CPU with APIC ID `apic_id`: first step of AP start-up,
    /// and the straggler park of the stop protocol (SDM Vol. 3A §9.4.4.1, §8.4.4.1 before 2022).
    pub const fn init_assert(apic_id: u32) -> Self {
        Self::asserted(DeliveryMode::Init, 0, Shorthand::None, apic_id)
    }

    /// The INIT level de-assert message (level 0, level-triggered) that old discrete xAPICs
    /// (before Pentium 4) need after an INIT assert; later processors ignore it.
    pub const fn init_deassert(apic_id: u32) -> Self {
        Self {
            level: Level::Deassert,
            trigger_mode: TriggerMode::Level,
            ..Self::asserted(DeliveryMode::Init, 0, Shorthand::None, apic_id)
        }
    }

    /// A start-up IPI to `apic_id`: the target starts in real mode at physical address
    /// `page << 12` (so the trampoline must be 4 KiB-aligned and below 1 MiB).
    pub const fn startup(apic_id: u32, page: u8) -> Self {
        Self::asserted(DeliveryMode::StartUp, page, Shorthand::None, apic_id)
    }

    /// The low 32 bits, identical in x2APIC and xAPIC mode (delivery status left 0).
    pub const fn low_word(&self) -> u32 {
        self.vector as u32
            | (self.delivery_mode as u32) << DELIVERY_MODE_SHIFT
            | (self.destination_mode as u32) << DESTINATION_MODE_SHIFT
            | (self.level as u32) << LEVEL_SHIFT
            | (self.trigger_mode as u32) << TRIGGER_MODE_SHIFT
            | (self.shorthand as u32) << SHORTHAND_SHIFT
    }

    /// The 64-bit value for a WRMSR to the x2APIC ICR (MSR 0x830): destination in bits 63:32.
    pub const fn x2apic_value(&self) -> u64 {
        (self.destination as u64) << 32 | self.low_word() as u64
    }

    /// The xAPIC `ICR_HIGH`/`ICR_LOW` pair, or an error if the destination needs more than the
    /// 8 bits xAPIC has. A shorthand IPI encodes destination 0 whatever `destination` holds.
    ///
    /// ```
    /// use stop::x86::icr::{Icr, IcrError};
    /// let regs = Icr::startup(2, 0x08).xapic_registers().unwrap();
    /// assert_eq!((regs.high, regs.low), (0x0200_0000, 0x0000_4608));
    /// assert_eq!(Icr::nmi(300).xapic_registers(), Err(IcrError::DestinationTooWide(300)));
    /// ```
    pub const fn xapic_registers(&self) -> Result<XapicRegisters, IcrError> {
        let destination = match self.shorthand {
            Shorthand::None => self.destination,
            _ => 0,
        };
        if destination > XAPIC_MAX_DESTINATION {
            return Err(IcrError::DestinationTooWide(destination));
        }
        Ok(XapicRegisters {
            high: destination << XAPIC_DESTINATION_SHIFT,
            low: self.low_word(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed, vector 0xF2, to APIC ID 5: vector in 7:0, everything else zero but level assert.
    #[test]
    fn fixed_to_one_cpu() {
        let icr = Icr::fixed(0xF2, 5);
        assert_eq!(icr.x2apic_value(), 0x0000_0005_0000_40F2);
        let regs = icr.xapic_registers().unwrap();
        assert_eq!(regs.high, 0x0500_0000);
        assert_eq!(regs.low, 0x0000_40F2);
    }

    /// Shorthand 11 in bits 19:18 (0xC0000); destination field is 0 in both encodings.
    #[test]
    fn fixed_all_excluding_self_uses_shorthand_bits() {
        let icr = Icr::fixed_all_excluding_self(0xF2);
        assert_eq!(icr.low_word(), 0x000C_40F2);
        assert_eq!(icr.x2apic_value(), 0x0000_0000_000C_40F2);
        assert_eq!(icr.xapic_registers().unwrap().high, 0);
    }

    /// A shorthand IPI ignores a stale wide destination instead of failing in xAPIC mode.
    #[test]
    fn shorthand_ignores_destination_in_xapic() {
        let icr = Icr {
            destination: 0x1234,
            ..Icr::fixed_all_excluding_self(0xF2)
        };
        assert_eq!(icr.xapic_registers().unwrap().high, 0);
    }

    /// NMI: delivery mode 100 (0x400), vector 0, level assert (0x4000).
    #[test]
    fn nmi_bits() {
        let icr = Icr::nmi(0x1_0000);
        assert_eq!(icr.low_word(), 0x0000_4400);
        assert_eq!(icr.x2apic_value(), 0x0001_0000_0000_4400);
    }

    /// The SDM's MP start-up example uses 0x4500 for INIT and 0x46XX for SIPI (§9.4.4.1).
    #[test]
    fn init_and_startup_match_sdm_example() {
        assert_eq!(Icr::init_assert(1).low_word(), 0x0000_4500);
        assert_eq!(Icr::startup(1, 0x9A).low_word(), 0x0000_469A);
    }

    /// INIT de-assert: level 0, level-triggered (bit 15), delivery mode INIT: 0x8500.
    #[test]
    fn init_deassert_bits() {
        assert_eq!(Icr::init_deassert(7).low_word(), 0x0000_8500);
        assert_eq!(
            Icr::init_deassert(7).xapic_registers().unwrap().high,
            0x0700_0000
        );
    }

    /// Every enum lands on its documented bits.
    #[test]
    fn every_field_encodes_in_place() {
        let icr = Icr {
            vector: 0xAB,
            delivery_mode: DeliveryMode::Fixed,
            destination_mode: DestinationMode::Logical,
            level: Level::Deassert,
            trigger_mode: TriggerMode::Level,
            shorthand: Shorthand::SelfOnly,
            destination: 0xFFFF_FFFF,
        };
        assert_eq!(icr.low_word(), 0xAB | 1 << 11 | 1 << 15 | 0b01 << 18);
        assert_eq!(icr.x2apic_value() >> 32, 0xFFFF_FFFF);
        let all = Icr {
            shorthand: Shorthand::AllIncludingSelf,
            ..icr
        };
        assert_eq!(all.low_word() >> 18 & 0b11, 0b10);
    }

    /// The delivery-status bit is never set by an encoder (it is read-only in xAPIC and ignored
    /// by x2APIC), and bits outside the documented fields stay zero.
    #[test]
    fn reserved_bits_stay_clear() {
        let documented = 0xFF | 0b111 << 8 | 1 << 11 | 1 << 14 | 1 << 15 | 0b11 << 18;
        for icr in [
            Icr::fixed(0xFF, 0xFF),
            Icr::fixed_all_excluding_self(0xFF),
            Icr::nmi(0xFF),
            Icr::init_assert(0xFF),
            Icr::init_deassert(0xFF),
            Icr::startup(0xFF, 0xFF),
        ] {
            assert_eq!(icr.low_word() & !documented, 0, "{icr:?}");
            assert_eq!(icr.low_word() & XAPIC_DELIVERY_STATUS_PENDING, 0);
        }
    }

    /// xAPIC has 8 destination bits: 255 fits, 256 is a clear error.
    #[test]
    fn xapic_destination_limit() {
        assert_eq!(Icr::nmi(255).xapic_registers().unwrap().high, 0xFF00_0000);
        let err = Icr::nmi(256).xapic_registers().unwrap_err();
        assert_eq!(err, IcrError::DestinationTooWide(256));
        assert!(err.to_string().contains("APIC ID 256"));
    }
}
