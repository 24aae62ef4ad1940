//! Clocks and sleeping: `sys_clock_gettime`, `sys_usleep`, `sys_nanosleep`.
//!
//! `CLOCK_MONOTONIC` is the TSC clock of [`crate::time`] (time since boot). `CLOCK_REALTIME` is
//! the CMOS RTC's Unix time, read once at the first `CLOCK_REALTIME` query and carried on by the
//! TSC; it has the RTC's one-second resolution. When the RTC cannot be read, `CLOCK_REALTIME`
//! counts from boot instead (a warning on the console says so). A scheduler thread (std apps)
//! that sleeps blocks; anything else busy-waits on the TSC clock with interrupts as they were,
//! so a stop still reaches a sleeping CPU.

use core::time::Duration;

use hermit_abi::{clockid_t, timespec};
#[cfg(target_os = "none")]
use spin::Once;

use super::errno::Errno;
#[cfg(target_os = "none")]
use super::{buffer, errno::zero_or_errno};

/// Nanoseconds in a second: a timespec's `tv_nsec` stays below it.
const NANOS_PER_SECOND: u32 = 1_000_000_000;

/// A clock `sys_clock_gettime` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clock {
    /// Unix time.
    Realtime,
    /// Time since boot.
    Monotonic,
}

impl Clock {
    /// The clock Hermit numbers `id`; [`Errno::Invalid`] for any other number.
    fn from_id(id: clockid_t) -> Result<Self, Errno> {
        match id {
            hermit_abi::CLOCK_REALTIME => Ok(Clock::Realtime),
            hermit_abi::CLOCK_MONOTONIC => Ok(Clock::Monotonic),
            _ => Err(Errno::Invalid),
        }
    }
}

/// `d` as a timespec (seconds saturate at `i64::MAX`, beyond any `u64` of nanoseconds).
fn timespec_from(d: Duration) -> timespec {
    timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // Below NANOS_PER_SECOND, so it fits.
        tv_nsec: d.subsec_nanos() as i32,
    }
}

/// A sleep request as a duration; [`Errno::Invalid`] for negative fields or `tv_nsec` of a
/// second or more.
pub(super) fn duration_from(ts: timespec) -> Result<Duration, Errno> {
    let secs = u64::try_from(ts.tv_sec).map_err(|_| Errno::Invalid)?;
    let nanos = u32::try_from(ts.tv_nsec)
        .ok()
        .filter(|&n| n < NANOS_PER_SECOND)
        .ok_or(Errno::Invalid)?;
    Ok(Duration::new(secs, nanos))
}

/// Unix time at monotonic time 0, in nanoseconds: the RTC's time (`rtc_unix_seconds`, if it
/// could be read) less the monotonic time `monotonic_ns` at which it was read.
fn boot_epoch_ns(rtc_unix_seconds: Option<u64>, monotonic_ns: u64) -> Option<u64> {
    let rtc_ns = rtc_unix_seconds?.checked_mul(u64::from(NANOS_PER_SECOND))?;
    Some(rtc_ns.saturating_sub(monotonic_ns))
}

/// Unix time at boot in nanoseconds, found once; 0 (so `CLOCK_REALTIME` counts from boot) if
/// the RTC cannot be read.
#[cfg(target_os = "none")]
fn boot_epoch() -> u64 {
    static BOOT_EPOCH_NS: Once<u64> = Once::new();
    *BOOT_EPOCH_NS.call_once(|| {
        let rtc = read_rtc().and_then(|r| r.unix_seconds());
        boot_epoch_ns(rtc, crate::time::now_ns()).unwrap_or_else(|| {
            log::warn!("CMOS RTC unreadable: CLOCK_REALTIME counts from boot, not from 1970");
            0
        })
    })
}

/// How long to wait for a stable RTC reading; an update takes under 2 ms once a second.
#[cfg(target_os = "none")]
const RTC_READ_TIMEOUT: Duration = Duration::from_millis(20);

/// Reads the RTC's date and time registers twice outside an update, until both readings agree;
/// `None` if that takes longer than [`RTC_READ_TIMEOUT`] (no RTC, or one that never settles).
#[cfg(target_os = "none")]
fn read_rtc() -> Option<crate::rtc::RtcRegisters> {
    let stable = core::cell::Cell::new(None);
    crate::time::spin_until(RTC_READ_TIMEOUT, || {
        let (first, second) = (crate::arch::rtc::read_once(), crate::arch::rtc::read_once());
        stable.set(first.filter(|_| first == second));
        stable.get().is_some()
    });
    stable.get()
}

/// Stores the time of clock `clock_id` (`CLOCK_REALTIME` or `CLOCK_MONOTONIC`) at `tp`.
/// Returns 0, or minus `EINVAL` for another clock, a null or misaligned `tp`, or `EFAULT` for
/// a `tp` outside RAM ([`buffer`]'s pointer check; nothing is written then).
///
/// # Safety
/// If it passes the pointer check, `tp` points to memory for a `timespec` that nothing else
/// accesses during the call.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sys_clock_gettime(clock_id: clockid_t, tp: *mut timespec) -> i32 {
    zero_or_errno(Clock::from_id(clock_id).and_then(|clock| {
        if tp.is_null() {
            return Err(Errno::Invalid);
        }
        let since = match clock {
            Clock::Realtime => boot_epoch(),
            Clock::Monotonic => 0,
        };
        let ns = since.saturating_add(crate::time::now_ns());
        // SAFETY: the caller's promise is what `write` asks for.
        unsafe { buffer::write(tp, timespec_from(Duration::from_nanos(ns))) }
    }))
}

/// Longest piece of a sleep handed to [`crate::time::delay`] at once, well within the range
/// its tick arithmetic handles.
#[cfg(target_os = "none")]
const SLEEP_STEP: Duration = Duration::from_secs(1);

/// Sleeps for at least `d`: a scheduler thread blocks (its CPU runs other threads or idles),
/// anything else busy-waits.
#[cfg(target_os = "none")]
fn sleep(d: Duration) {
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    if crate::sched::sleep_until(crate::time::now_ns().saturating_add(ns)) {
        return;
    }
    let mut left = d;
    while !left.is_zero() {
        let step = left.min(SLEEP_STEP);
        crate::time::delay(step);
        left -= step;
    }
}

/// Sleeps for at least `usecs` microseconds.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub extern "C" fn sys_usleep(usecs: u64) {
    sleep(Duration::from_micros(usecs));
}

/// Sleeps for at least `*req`. Returns 0, or minus `EINVAL` for a null, misaligned, negative
/// or out-of-range `req`, `EFAULT` for one outside RAM (without sleeping).
///
/// # Safety
/// If it passes the pointer check ([`buffer`]), `req` points to an initialized `timespec`.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sys_nanosleep(req: *const timespec) -> i32 {
    if req.is_null() {
        return zero_or_errno(Err(Errno::Invalid));
    }
    // SAFETY: the caller's promise is what `read` asks for.
    let req = unsafe { buffer::read(req) };
    zero_or_errno(req.and_then(duration_from).map(sleep))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(tv_sec: i64, tv_nsec: i32) -> timespec {
        timespec { tv_sec, tv_nsec }
    }

    #[test]
    fn hermit_clock_ids_select_the_clocks() {
        assert_eq!(Clock::from_id(1), Ok(Clock::Realtime));
        assert_eq!(Clock::from_id(4), Ok(Clock::Monotonic));
        // Linux's REALTIME (0), Linux's CPU-time clocks (2, 3), anything else.
        for id in [0, 2, 3, 5, -1, i32::MAX] {
            assert_eq!(Clock::from_id(id), Err(Errno::Invalid), "clock {id}");
        }
    }

    #[test]
    fn durations_split_into_seconds_and_nanoseconds() {
        let t = timespec_from(Duration::from_nanos(1_700_000_000_123_456_789));
        assert_eq!((t.tv_sec, t.tv_nsec), (1_700_000_000, 123_456_789));
        let t = timespec_from(Duration::from_nanos(999_999_999));
        assert_eq!((t.tv_sec, t.tv_nsec), (0, 999_999_999));
        let t = timespec_from(Duration::from_nanos(u64::MAX));
        assert_eq!((t.tv_sec, t.tv_nsec), (18_446_744_073, 709_551_615));
        let t = timespec_from(Duration::MAX);
        assert_eq!((t.tv_sec, t.tv_nsec), (i64::MAX, 999_999_999));
    }

    #[test]
    fn valid_sleep_requests_convert_exactly() {
        assert_eq!(duration_from(ts(0, 0)), Ok(Duration::ZERO));
        assert_eq!(duration_from(ts(2, 500)), Ok(Duration::new(2, 500)));
        assert_eq!(
            duration_from(ts(0, 999_999_999)),
            Ok(Duration::from_nanos(999_999_999))
        );
        assert_eq!(
            duration_from(ts(i64::MAX, 999_999_999)),
            Ok(Duration::new(i64::MAX as u64, 999_999_999))
        );
    }

    #[test]
    fn invalid_sleep_requests_are_rejected() {
        for (sec, nsec) in [
            (-1, 0),
            (i64::MIN, 0),
            (0, -1),
            (0, 1_000_000_000),
            (1, i32::MAX),
        ] {
            assert_eq!(
                duration_from(ts(sec, nsec)),
                Err(Errno::Invalid),
                "{sec} s {nsec} ns"
            );
        }
    }

    #[test]
    fn boot_epoch_subtracts_the_time_since_boot() {
        // RTC read at 2024-02-29 12:34:56, 3.5 s after boot.
        assert_eq!(
            boot_epoch_ns(Some(1_709_210_096), 3_500_000_000),
            Some(1_709_210_092_500_000_000)
        );
        assert_eq!(boot_epoch_ns(None, 3_500_000_000), None);
        // An RTC far past u64 nanoseconds (year 2554) is unusable, not wrapped.
        assert_eq!(boot_epoch_ns(Some(u64::MAX / 1_000), 0), None);
    }
}
