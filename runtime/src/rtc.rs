//! The CMOS real-time clock's date and time registers, decoded into seconds since the Unix
//! epoch (UTC, as QEMU's default `-rtc base=utc` keeps it).

/// Status register B: hours run 0–23 (else 1–12 with [`HOUR_PM`]).
const STATUS_B_24_HOUR: u8 = 1 << 1;
/// Status register B: registers hold binary numbers (else BCD).
const STATUS_B_BINARY: u8 = 1 << 2;
/// The hour register's PM flag in 12-hour mode.
const HOUR_PM: u8 = 1 << 7;
/// The RTC counts years within a century; the century register's index differs between
/// machines (the FADT names it), so the 21st century is assumed: years 2000–2099.
const CENTURY_START: u64 = 2000;
/// The Unix epoch's year.
const EPOCH_YEAR: u64 = 1970;
const SECONDS_PER_MINUTE: u64 = 60;
const SECONDS_PER_HOUR: u64 = 60 * SECONDS_PER_MINUTE;
const SECONDS_PER_DAY: u64 = 24 * SECONDS_PER_HOUR;

/// The RTC's date and time registers as read, before decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtcRegisters {
    /// Register 0x00.
    pub second: u8,
    /// Register 0x02.
    pub minute: u8,
    /// Register 0x04.
    pub hour: u8,
    /// Register 0x07 (day of the month).
    pub day: u8,
    /// Register 0x08.
    pub month: u8,
    /// Register 0x09 (year within the century).
    pub year: u8,
    /// Register 0x0B: tells BCD from binary and 12- from 24-hour mode.
    pub status_b: u8,
}

impl RtcRegisters {
    /// Seconds since the Unix epoch; `None` if a field is out of its range (a missing RTC
    /// reads as all ones).
    pub fn unix_seconds(&self) -> Option<u64> {
        let binary = self.status_b & STATUS_B_BINARY != 0;
        let decode = |raw: u8| if binary { Some(raw) } else { from_bcd(raw) };
        let second = decode(self.second).filter(|&s| s < 60)?;
        let minute = decode(self.minute).filter(|&m| m < 60)?;
        let hour = if self.status_b & STATUS_B_24_HOUR != 0 {
            decode(self.hour).filter(|&h| h < 24)?
        } else {
            let hour = decode(self.hour & !HOUR_PM).filter(|h| (1..=12).contains(h))?;
            // 12 AM is hour 0, 12 PM hour 12.
            hour % 12 + if self.hour & HOUR_PM != 0 { 12 } else { 0 }
        };
        let year = CENTURY_START + u64::from(decode(self.year).filter(|&y| y < 100)?);
        let month = decode(self.month).filter(|m| (1..=12).contains(m))?;
        let day = decode(self.day).filter(|&d| d >= 1 && d <= days_in_month(year, month))?;
        Some(
            days_since_epoch(year, month, day) * SECONDS_PER_DAY
                + u64::from(hour) * SECONDS_PER_HOUR
                + u64::from(minute) * SECONDS_PER_MINUTE
                + u64::from(second),
        )
    }
}

/// A two-digit BCD byte's value; `None` if a nibble is not a decimal digit.
fn from_bcd(raw: u8) -> Option<u8> {
    let (tens, ones) = (raw >> 4, raw & 0x0F);
    (tens < 10 && ones < 10).then_some(tens * 10 + ones)
}

/// Gregorian leap years: every fourth, except centuries not divisible by 400.
fn is_leap_year(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// Days in `month` (1–12) of `year`.
fn days_in_month(year: u64, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date (on or after it).
fn days_since_epoch(year: u64, month: u8, day: u8) -> u64 {
    // Leap years in 1..year.
    let leap_years_before = |year: u64| (year - 1) / 4 - (year - 1) / 100 + (year - 1) / 400;
    let whole_years =
        365 * (year - EPOCH_YEAR) + leap_years_before(year) - leap_years_before(EPOCH_YEAR);
    let whole_months: u64 = (1..month).map(|m| u64::from(days_in_month(year, m))).sum();
    whole_years + whole_months + u64::from(day - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BCD, 24-hour: QEMU's default register format.
    const BCD_24H: u8 = STATUS_B_24_HOUR;

    /// Registers holding `[year, month, day, hour, minute, second]`.
    fn registers(status_b: u8, fields: [u8; 6]) -> RtcRegisters {
        let [year, month, day, hour, minute, second] = fields;
        RtcRegisters {
            second,
            minute,
            hour,
            day,
            month,
            year,
            status_b,
        }
    }

    // Expected values from `date -u -d '<date>' +%s`.
    #[test]
    fn bcd_24_hour_dates_match_unix_time() {
        let cases = [
            ([0x00, 0x01, 0x01, 0x00, 0x00, 0x00], 946_684_800),
            ([0x24, 0x02, 0x29, 0x12, 0x34, 0x56], 1_709_210_096),
            ([0x23, 0x12, 0x31, 0x23, 0x59, 0x59], 1_704_067_199),
            ([0x25, 0x03, 0x01, 0x00, 0x00, 0x00], 1_740_787_200),
            ([0x99, 0x12, 0x31, 0x23, 0x59, 0x59], 4_102_444_799),
        ];
        for (fields, expected) in cases {
            let got = registers(BCD_24H, fields).unix_seconds();
            assert_eq!(got, Some(expected), "{fields:x?}");
        }
    }

    #[test]
    fn binary_mode_reads_plain_numbers() {
        let status_b = STATUS_B_24_HOUR | STATUS_B_BINARY;
        let got = registers(status_b, [24, 2, 29, 12, 34, 56]).unix_seconds();
        assert_eq!(got, Some(1_709_210_096));
    }

    #[test]
    fn twelve_hour_mode_maps_am_and_pm() {
        let at = |hour| registers(0, [0x24, 0x02, 0x29, hour, 0x34, 0x56]).unix_seconds();
        // 2024-02-29 00:00:00, and 00:34:56 past the hour.
        let midnight = 1_709_164_800;
        let past = 34 * 60 + 56;
        assert_eq!(at(0x12), Some(midnight + past), "12 AM");
        assert_eq!(at(0x01), Some(midnight + 3600 + past), "1 AM");
        assert_eq!(
            at(0x12 | HOUR_PM),
            Some(midnight + 12 * 3600 + past),
            "12 PM"
        );
        assert_eq!(
            at(0x11 | HOUR_PM),
            Some(midnight + 23 * 3600 + past),
            "11 PM"
        );
        assert_eq!(at(0x00), None, "hour 0 does not exist in 12-hour mode");
    }

    #[test]
    fn impossible_registers_are_rejected() {
        let bad = [
            ([0x23, 0x02, 0x29, 0x00, 0x00, 0x00], "2023 is no leap year"),
            ([0x24, 0x04, 0x31, 0x00, 0x00, 0x00], "April has 30 days"),
            ([0x24, 0x13, 0x01, 0x00, 0x00, 0x00], "month 13"),
            ([0x24, 0x00, 0x01, 0x00, 0x00, 0x00], "month 0"),
            ([0x24, 0x01, 0x00, 0x00, 0x00, 0x00], "day 0"),
            ([0x24, 0x01, 0x01, 0x24, 0x00, 0x00], "hour 24"),
            ([0x24, 0x01, 0x01, 0x00, 0x60, 0x00], "minute 60"),
            ([0x24, 0x01, 0x01, 0x00, 0x00, 0x1A], "not BCD"),
            ([0xFF; 6], "no RTC: the bus reads all ones"),
        ];
        for (fields, why) in bad {
            assert_eq!(registers(BCD_24H, fields).unix_seconds(), None, "{why}");
        }
    }

    #[test]
    fn centuries_follow_the_gregorian_leap_rule() {
        assert!(is_leap_year(2000) && is_leap_year(2024));
        assert!(!is_leap_year(2100) && !is_leap_year(2023));
        // 2100-03-01 (2100 is no leap year): `date -u -d 2100-03-01 +%s` = 4107542400.
        assert_eq!(
            days_since_epoch(2100, 3, 1) * SECONDS_PER_DAY,
            4_107_542_400
        );
        assert_eq!(days_since_epoch(1970, 1, 1), 0);
    }
}
