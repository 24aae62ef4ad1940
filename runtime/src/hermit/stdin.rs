//! `sys_read` and `sys_readv`: standard input exists but is always at its end (the runtime has
//! no input device); every other descriptor is `EBADF`.

use super::errno::Errno;

/// The result of reading from `fd`: end of input for standard input, `EBADF` otherwise.
fn read_from(fd: i32) -> Result<usize, Errno> {
    if fd == hermit_abi::STDIN_FILENO {
        Ok(0)
    } else {
        Err(Errno::BadFd)
    }
}

/// Reads from `fd`: 0 (end of input) for standard input, minus `EBADF` for anything else.
/// Nothing is written to `buf`.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub extern "C" fn sys_read(fd: i32, buf: *mut u8, len: usize) -> isize {
    let _ = (buf, len);
    super::errno::count_or_errno(read_from(fd))
}

/// [`sys_read`] into several buffers.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub extern "C" fn sys_readv(fd: i32, iov: *const hermit_abi::iovec, iovcnt: usize) -> isize {
    let _ = (iov, iovcnt);
    super::errno::count_or_errno(read_from(fd))
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
