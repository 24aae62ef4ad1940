//! `sys_read_entropy`: random bytes from the CPU's generator (RDRAND, else RDSEED), used only
//! when CPUID lists it.

use super::errno::Errno;
#[cfg(target_os = "none")]
use super::{buffer, errno::count_or_errno};

/// Bytes one generator draw delivers.
const WORD_BYTES: usize = 8;

/// Fills `buf` word by word from `draw`, giving each word `attempts` draws (the generator may
/// run dry for a moment). Returns how many bytes were filled: all, or fewer when a word kept
/// failing; [`Errno::Io`] when not even the first word came.
fn fill(
    buf: &mut [u8],
    attempts: u32,
    mut draw: impl FnMut() -> Option<u64>,
) -> Result<usize, Errno> {
    let mut filled = 0;
    for chunk in buf.chunks_mut(WORD_BYTES) {
        let word = (0..attempts).find_map(|_| {
            draw().or_else(|| {
                core::hint::spin_loop();
                None
            })
        });
        let Some(word) = word else { break };
        chunk.copy_from_slice(&word.to_le_bytes()[..chunk.len()]);
        filled += chunk.len();
    }
    if filled == 0 && !buf.is_empty() {
        Err(Errno::Io)
    } else {
        Ok(filled)
    }
}

/// Checks `sys_read_entropy`'s flags: Hermit defines none.
fn check_flags(flags: u32) -> Result<(), Errno> {
    if flags == 0 {
        Ok(())
    } else {
        Err(Errno::Invalid)
    }
}

/// Fills up to `len` bytes at `buf` with hardware random data. Returns the bytes filled (all
/// of them unless the generator failed midway), or minus `EINVAL` (flags, length), `ENOSYS`
/// (no RDRAND or RDSEED), `EFAULT` (`buf` null, wrapping, in page 0 or outside RAM: nothing
/// is written then) or `EIO` (the generator delivered nothing).
///
/// # Safety
/// If it passes the pointer check ([`buffer`]), `buf` points to `len` writable bytes that
/// nothing else accesses during the call.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sys_read_entropy(buf: *mut u8, len: usize, flags: u32) -> isize {
    count_or_errno(check_flags(flags).and_then(|()| {
        // The pointer check comes before the generator's, so a bad buffer is EFAULT/EINVAL on
        // every machine.
        // SAFETY: the caller's promise is what `bytes_mut` asks for.
        let bytes = unsafe { buffer::bytes_mut(buf, len) }?;
        let generator = crate::arch::Generator::detect().ok_or(Errno::NoSys)?;
        fill(bytes, generator.attempts(), || generator.draw())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generator that delivers 1, 2, 3, … but fails whenever `fails(draw number)` says so.
    fn counting(fails: impl Fn(u64) -> bool) -> impl FnMut() -> Option<u64> {
        let (mut draws, mut value) = (0, 0);
        move || {
            draws += 1;
            if fails(draws) {
                None
            } else {
                value += 1;
                Some(value)
            }
        }
    }

    #[test]
    fn whole_and_partial_words_are_filled_in_order() {
        let mut buf = [0xEE; 11];
        assert_eq!(fill(&mut buf, 1, counting(|_| false)), Ok(11));
        assert_eq!(buf, [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0]);
    }

    #[test]
    fn short_failures_are_retried() {
        // Every other draw fails; two attempts per word are enough.
        let mut buf = [0; 24];
        assert_eq!(fill(&mut buf, 2, counting(|n| n % 2 == 1)), Ok(24));
        assert_eq!((buf[0], buf[8], buf[16]), (1, 2, 3));
    }

    #[test]
    fn a_generator_that_dies_midway_reports_what_it_filled() {
        let mut buf = [0; 32];
        assert_eq!(fill(&mut buf, 10, counting(|n| n > 2)), Ok(16));
        assert_eq!((buf[0], buf[8], buf[16]), (1, 2, 0));
    }

    #[test]
    fn a_dead_generator_is_an_io_error_and_an_empty_buffer_is_not() {
        let mut buf = [0; 8];
        assert_eq!(fill(&mut buf, 10, counting(|_| true)), Err(Errno::Io));
        assert_eq!(fill(&mut [], 10, counting(|_| true)), Ok(0));
    }

    #[test]
    fn only_zero_flags_are_accepted() {
        assert_eq!(check_flags(0), Ok(()));
        for flags in [1, 2, 4, u32::MAX] {
            assert_eq!(check_flags(flags), Err(Errno::Invalid), "flags {flags:#x}");
        }
    }
}
