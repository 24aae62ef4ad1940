//! Why a `sys_*` call failed, and how results become C return values: a count or 0 on success,
//! minus the errno number on failure (Hermit's convention, which std's `cvt` decodes).

/// Why a `sys_*` call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    /// The file descriptor names nothing this runtime offers (`EBADF`).
    BadFd,
    /// A pointer the call needs is null (`EFAULT`).
    Fault,
    /// An argument is out of range: a clock ID, a timespec, flags, a length (`EINVAL`).
    Invalid,
    /// The machine lacks what the call needs, e.g. a hardware random generator (`ENOSYS`).
    NoSys,
    /// The hardware kept failing to deliver (`EIO`).
    Io,
    /// The heap is exhausted (`ENOMEM`).
    NoMemory,
    /// No such thread (`ESRCH`).
    NoSuchThread,
    /// The call would wait forever: a thread joining itself (`EDEADLK`).
    Deadlock,
    /// The futex word no longer holds the expected value (`EAGAIN`).
    Again,
    /// The wait's deadline passed (`ETIMEDOUT`).
    TimedOut,
}

impl Errno {
    /// The (positive) errno number, as `hermit_abi::errno` numbers it.
    pub fn number(self) -> i32 {
        match self {
            Errno::BadFd => hermit_abi::EBADF,
            Errno::Fault => hermit_abi::EFAULT,
            Errno::Invalid => hermit_abi::EINVAL,
            Errno::NoSys => hermit_abi::ENOSYS,
            Errno::Io => hermit_abi::EIO,
            Errno::NoMemory => hermit_abi::ENOMEM,
            Errno::NoSuchThread => hermit_abi::ESRCH,
            Errno::Deadlock => hermit_abi::EDEADLK,
            Errno::Again => hermit_abi::EAGAIN,
            Errno::TimedOut => hermit_abi::ETIMEDOUT,
        }
    }
}

/// A byte count or an error as an `isize` return value. Counts never exceed `isize::MAX`: the
/// calls reject longer buffers ([`super::buffer`]) before they start.
pub fn count_or_errno(result: Result<usize, Errno>) -> isize {
    match result {
        Ok(count) => isize::try_from(count).unwrap_or(isize::MAX),
        Err(e) => -(e.number() as isize),
    }
}

/// Success or an error as an `i32` return value: 0 or minus the errno number.
pub fn zero_or_errno(result: Result<(), Errno>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => -e.number(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_linux_and_hermit_ones() {
        // The numbers std decodes with its Linux-like table (asm-generic/errno-base.h, errno.h).
        let expected = [
            (Errno::BadFd, 9),
            (Errno::Fault, 14),
            (Errno::Invalid, 22),
            (Errno::NoSys, 38),
            (Errno::Io, 5),
            (Errno::NoMemory, 12),
            (Errno::NoSuchThread, 3),
            (Errno::Deadlock, 35),
            (Errno::Again, 11),
            (Errno::TimedOut, 110),
        ];
        for (errno, number) in expected {
            assert_eq!(errno.number(), number, "{errno:?}");
        }
    }

    #[test]
    fn counts_pass_through_and_errors_are_negated() {
        assert_eq!(count_or_errno(Ok(0)), 0);
        assert_eq!(count_or_errno(Ok(4096)), 4096);
        assert_eq!(count_or_errno(Err(Errno::BadFd)), -9);
        assert_eq!(count_or_errno(Err(Errno::NoSys)), -38);
        assert_eq!(zero_or_errno(Ok(())), 0);
        assert_eq!(zero_or_errno(Err(Errno::Invalid)), -22);
    }

    #[test]
    fn no_count_can_be_mistaken_for_an_error() {
        assert_eq!(count_or_errno(Ok(usize::MAX)), isize::MAX);
    }
}
