//! `sys_writev`: a gather write to standard output or standard error, shown as one piece.

use core::fmt;

use super::errno::Errno;
use super::io::Lossy;
#[cfg(target_os = "none")]
use super::{buffer, errno::count_or_errno, io::console_fd};

/// The total length of buffers of lengths `lens`; [`Errno::Invalid`] beyond `isize::MAX`.
fn total_len(lens: impl IntoIterator<Item = usize>) -> Result<usize, Errno> {
    lens.into_iter()
        .try_fold(0usize, |sum, len| sum.checked_add(len))
        .filter(|&sum| sum <= isize::MAX as usize)
        .ok_or(Errno::Invalid)
}

/// Several buffers shown one after the other, each like [`Lossy`].
struct LossyAll<'a>(&'a [&'a [u8]]);

impl fmt::Display for LossyAll<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| Lossy(b).fmt(f))
    }
}

/// Writes the `iovcnt` buffers at `iov` to `fd` (1 or 2: the console) as one piece under the
/// console lock. Returns the bytes written (all of them), or minus `EBADF` (other fds),
/// `EFAULT` (a pointer, to the array or a buffer, that is null with a length, wraps, or is not
/// in RAM) or `EINVAL` (more than 1024 buffers, a misaligned array, more than `isize::MAX`
/// bytes).
///
/// # Safety
/// If they pass the pointer check ([`buffer`]), `iov` points to `iovcnt` initialized `iovec`s
/// and each of them names initialized bytes, all unchanged during the call.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sys_writev(
    fd: i32,
    iov: *const hermit_abi::iovec,
    iovcnt: usize,
) -> isize {
    count_or_errno(console_fd(fd).and_then(|()| {
        // SAFETY: if the check passes, `iov` points to `iovcnt` initialized, unchanging iovecs
        // (the caller's promise).
        let vecs = unsafe { buffer::iovecs(iov, iovcnt) }?;
        let total = total_len(vecs.iter().map(|v| v.iov_len))?;
        let mut bufs = alloc::vec::Vec::with_capacity(vecs.len());
        for v in vecs {
            // SAFETY: each iovec names initialized, unchanging bytes (the caller's promise).
            bufs.push(unsafe { buffer::bytes(v.iov_base.cast::<u8>(), v.iov_len) }?);
        }
        crate::console::write_fmt(format_args!("{}", LossyAll(&bufs)));
        Ok(total)
    }))
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    #[test]
    fn buffers_are_shown_in_order() {
        let parts: [&[u8]; 3] = [b"thread 'main' ", b"", b"panicked\n"];
        assert_eq!(LossyAll(&parts).to_string(), "thread 'main' panicked\n");
    }

    #[test]
    fn totals_beyond_isize_max_are_invalid() {
        assert_eq!(total_len([3, 4]), Ok(7));
        assert_eq!(total_len([]), Ok(0));
        assert_eq!(total_len([isize::MAX as usize, 1]), Err(Errno::Invalid));
        assert_eq!(total_len([usize::MAX, usize::MAX]), Err(Errno::Invalid));
    }
}
