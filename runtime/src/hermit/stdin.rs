//! `sys_read` and `sys_readv`: standard input exists but is always at its end (the runtime has
//! no input device); every other descriptor is `EBADF`.

use super::errno::Errno;
#[cfg(target_os = "none")]
use super::{buffer, errno::count_or_errno};

/// The result of reading from `fd`: end of input for standard input, `EBADF` otherwise.
fn read_from(fd: i32) -> Result<usize, Errno> {
    if fd == hermit_abi::STDIN_FILENO {
        Ok(0)
    } else {
        Err(Errno::BadFd)
    }
}

/// Reads from `fd`: 0 (end of input) for standard input, minus `EBADF` for anything else, or
/// minus `EFAULT`/`EINVAL` when `buf` fails the pointer check ([`buffer`]). Nothing is written
/// to `buf`.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub extern "C" fn sys_read(fd: i32, buf: *mut u8, len: usize) -> isize {
    count_or_errno(read_from(fd).and_then(|n| {
        buffer::check_items(buf.cast_const(), len)?;
        Ok(n)
    }))
}

/// [`sys_read`] into several buffers: the array and each buffer are checked as `sys_writev`
/// checks them; minus `EINVAL` also for more than 1024 buffers.
///
/// # Safety
/// If it passes the pointer check, `iov` points to `iovcnt` initialized `iovec`s, unchanged
/// during the call.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sys_readv(fd: i32, iov: *const hermit_abi::iovec, iovcnt: usize) -> isize {
    count_or_errno(read_from(fd).and_then(|n| {
        // SAFETY: the caller's promise is what `iovecs` asks for.
        let vecs = unsafe { buffer::iovecs(iov, iovcnt) }?;
        for v in vecs {
            buffer::check_items(v.iov_base.cast::<u8>().cast_const(), v.iov_len)?;
        }
        Ok(n)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_is_at_its_end_and_nothing_else_is_open() {
        assert_eq!(read_from(0), Ok(0));
        for fd in [1, 2, 3, -1] {
            assert_eq!(read_from(fd), Err(Errno::BadFd), "fd {fd}");
        }
    }
}
