//! `sys_futex_wait` and `sys_futex_wake`, over the scheduler's futex table.

#[cfg(target_os = "none")]
use core::sync::atomic::AtomicU32;

use hermit_abi::timespec;

use super::buffer;
#[cfg(target_os = "none")]
use super::errno::zero_or_errno;
use super::errno::Errno;
use super::time::duration_from;
#[cfg(target_os = "none")]
use crate::sched::{self, FutexError};

/// Whether `address` can be a futex word: `EINVAL` for null (as Hermit) or misaligned,
/// `EFAULT` outside RAM ([`buffer`]'s pointer check).
fn check_word(address: *mut u32) -> Result<(), Errno> {
    if address.is_null() {
        return Err(Errno::Invalid);
    }
    buffer::check_one(address.cast_const())
}

/// The deadline (monotonic ns) of a wait that starts at `now_ns` with `timeout`, absolute
/// unless `flags` holds `FUTEX_RELATIVE_TIMEOUT`; `EINVAL` for other flags or a bad timespec.
fn deadline(now_ns: u64, timeout: Option<timespec>, flags: u32) -> Result<Option<u64>, Errno> {
    if flags & !hermit_abi::FUTEX_RELATIVE_TIMEOUT != 0 {
        return Err(Errno::Invalid);
    }
    let Some(timeout) = timeout else {
        return Ok(None);
    };
    let ns = u64::try_from(duration_from(timeout)?.as_nanos()).unwrap_or(u64::MAX);
    Ok(Some(if flags & hermit_abi::FUTEX_RELATIVE_TIMEOUT != 0 {
        now_ns.saturating_add(ns)
    } else {
        ns
    }))
}

/// If `*address == expected`, blocks until `sys_futex_wake` on `address` (returns 0) or the
/// timeout (returns minus `ETIMEDOUT`). Returns minus `EAGAIN` when the word differs, `EINVAL`
/// for a null or misaligned address or timeout, unknown flags or a bad timeout value, `EFAULT`
/// for an address or timeout outside RAM.
///
/// # Safety
/// If they pass the pointer check ([`buffer`]): `address` points to a `u32` that stays
/// allocated during the call and is only accessed atomically; `timeout`, unless null, to an
/// initialized `timespec`.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sys_futex_wait(
    address: *mut u32,
    expected: u32,
    timeout: *const timespec,
    flags: u32,
) -> i32 {
    let result = check_word(address).and_then(|()| {
        let timeout = if timeout.is_null() {
            None
        } else {
            // SAFETY: the caller's promise is what `read` asks for.
            Some(unsafe { buffer::read(timeout) }?)
        };
        let deadline = deadline(crate::time::now_ns(), timeout, flags)?;
        // SAFETY: `address` passed the pointer check (not null, aligned, in RAM), and is live
        // and only accessed atomically during the call (the caller's promise).
        let word = unsafe { AtomicU32::from_ptr(address) };
        sched::futex_wait(word, expected, deadline).map_err(|e| match e {
            FutexError::ValueChanged => Errno::Again,
            FutexError::TimedOut => Errno::TimedOut,
        })
    });
    zero_or_errno(result)
}

/// Wakes up to `count` threads waiting on `address` (all of them for `i32::MAX`). Returns how
/// many, or minus `EINVAL` for a null or misaligned address or a negative count, `EFAULT` for
/// an address outside RAM.
///
/// # Safety
/// As for [`sys_futex_wait`]'s `address`.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sys_futex_wake(address: *mut u32, count: i32) -> i32 {
    let result = check_word(address).and_then(|()| {
        let count = usize::try_from(count).map_err(|_| Errno::Invalid)?;
        // SAFETY: as in `sys_futex_wait`.
        let word = unsafe { AtomicU32::from_ptr(address) };
        Ok(sched::futex_wake(word, count))
    });
    match result {
        Ok(woken) => i32::try_from(woken).unwrap_or(i32::MAX),
        Err(e) => zero_or_errno(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(tv_sec: i64, tv_nsec: i32) -> timespec {
        timespec { tv_sec, tv_nsec }
    }

    #[test]
    fn relative_timeouts_count_from_now_and_absolute_ones_do_not() {
        let relative = hermit_abi::FUTEX_RELATIVE_TIMEOUT;
        assert_eq!(
            deadline(500, Some(ts(1, 5)), relative),
            Ok(Some(1_000_000_505))
        );
        assert_eq!(deadline(500, Some(ts(1, 5)), 0), Ok(Some(1_000_000_005)));
        assert_eq!(deadline(500, None, relative), Ok(None));
        assert_eq!(
            deadline(u64::MAX - 1, Some(ts(9, 0)), relative),
            Ok(Some(u64::MAX))
        );
    }

    #[test]
    fn bad_flags_and_timeouts_are_invalid() {
        assert_eq!(deadline(0, None, 2), Err(Errno::Invalid));
        assert_eq!(deadline(0, Some(ts(-1, 0)), 1), Err(Errno::Invalid));
        assert_eq!(
            deadline(0, Some(ts(0, 1_000_000_000)), 0),
            Err(Errno::Invalid)
        );
    }

    #[test]
    fn futex_words_must_be_aligned_and_not_null() {
        super::super::app_memory::allow_everything_for_tests();
        let mut words = [0u32; 2];
        assert_eq!(check_word(words.as_mut_ptr()), Ok(()));
        assert_eq!(check_word(core::ptr::null_mut()), Err(Errno::Invalid));
        let misaligned = (words.as_mut_ptr() as usize + 1) as *mut u32;
        assert_eq!(check_word(misaligned), Err(Errno::Invalid));
        // Page 0: null plus an offset.
        assert_eq!(check_word(0x10 as *mut u32), Err(Errno::Fault));
    }
}
