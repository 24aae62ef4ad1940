//! `sys_write`: standard output and standard error go to the console.

use core::fmt;

use super::errno::Errno;
#[cfg(target_os = "none")]
use super::{buffer, errno::count_or_errno};

/// Checks that a write to `fd` goes to the console: only standard output and standard error
/// exist.
pub(super) fn console_fd(fd: i32) -> Result<(), Errno> {
    match fd {
        hermit_abi::STDOUT_FILENO | hermit_abi::STDERR_FILENO => Ok(()),
        _ => Err(Errno::BadFd),
    }
}

/// Bytes shown as text: valid UTF-8 as is, each invalid sequence as U+FFFD.
pub(super) struct Lossy<'a>(pub &'a [u8]);

impl fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{FFFD}")?;
            }
        }
        Ok(())
    }
}

/// Writes `len` bytes at `buf` to `fd`; fd 1 and 2 are the console, written as one piece
/// under the console lock. Returns `len`, or minus `EBADF`, `EFAULT` or `EINVAL`.
///
/// # Safety
/// If it passes the pointer check ([`buffer`]), `buf` points to `len` initialized bytes that
/// stay unchanged during the call.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sys_write(fd: i32, buf: *const u8, len: usize) -> isize {
    count_or_errno(console_fd(fd).and_then(|()| {
        // SAFETY: the caller's promise is what `bytes` asks for.
        let bytes = unsafe { buffer::bytes(buf, len) }?;
        crate::console::write_fmt(format_args!("{}", Lossy(bytes)));
        Ok(bytes.len())
    }))
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    #[test]
    fn only_stdout_and_stderr_are_open() {
        assert_eq!(console_fd(1), Ok(()));
        assert_eq!(console_fd(2), Ok(()));
        for fd in [0, 3, -1, i32::MIN, i32::MAX] {
            assert_eq!(console_fd(fd), Err(Errno::BadFd), "fd {fd}");
        }
    }

    #[test]
    fn valid_utf8_is_shown_unchanged() {
        assert_eq!(
            Lossy("abi-hello: ünïcødé\n".as_bytes()).to_string(),
            "abi-hello: ünïcødé\n"
        );
        assert_eq!(Lossy(b"").to_string(), "");
    }

    #[test]
    fn each_invalid_sequence_becomes_one_replacement_character() {
        assert_eq!(Lossy(b"a\xFFb\xC3").to_string(), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(Lossy(b"\xF0\x9F\x98").to_string(), "\u{FFFD}");
    }
}
