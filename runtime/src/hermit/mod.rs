//! The Hermit ABI: the `sys_*` functions that `hermit-abi` 0.5 declares (and Rust's std for
//! `x86_64-unknown-hermit` calls), exported under their C names so that an app that calls them
//! links against this runtime.
//!
//! This is a C ABI boundary: callers hand in raw pointers, so this module may use `unsafe`
//! (each exported `unsafe fn` says what the caller guarantees under `# Safety`, each block why
//! it holds under `// SAFETY:`). Errors come back as a negated errno number (`-EINVAL`, …),
//! numbered as in `hermit_abi::errno`, as Hermit documents and std's `cvt` expects.
//!
//! Every pointer an app passes is checked by [`app_memory`] (through [`buffer`]) before anything
//! is read or written through it: `-EINVAL` for a size above `isize::MAX`, a count times a size
//! that overflows, or a typed pointer off its alignment; `-EFAULT` for null (unless the table
//! says otherwise), a wrapping range, page 0, or anything not wholly in RAM by the boot memory
//! map (MMIO such as the local APIC page, firmware holes, unmapped addresses). An empty buffer
//! passes at any address.
//!
//! | symbol | behaviour |
//! | --- | --- |
//! | `sys_exit(status)` | stops every other CPU, powers off with status `status & 0xFF` (as POSIX) |
//! | `sys_abort()` | panics with `sys_abort called`: the panic path, stop report, status 101 |
//! | `sys_write(fd, buf, len)` | fd 1 and 2: the whole buffer in one console write (invalid UTF-8 shows as U+FFFD), returns `len`; other fds `-EBADF`; null `buf` with `len > 0` `-EFAULT`; `len > isize::MAX` `-EINVAL` |
//! | `sys_get_processor_count()`, `sys_available_parallelism()` | CPUs online (at least 1) |
//! | `sys_malloc`, `sys_alloc(size, align)` | the runtime's heap; null for size 0 or a bad layout |
//! | `sys_alloc_zeroed(size, align)` | the same, zero-filled |
//! | `sys_realloc(ptr, size, align, new_size)` | moves or resizes; null (old block kept) for a bad layout |
//! | `sys_free`, `sys_dealloc(ptr, size, align)` | frees; nothing for null, size 0, a bad layout or a block that fails the pointer check (`sys_realloc`: null) |
//! | `sys_clock_gettime(clock, tp)` | `CLOCK_MONOTONIC` (4): time since boot (TSC); `CLOCK_REALTIME` (1): the CMOS RTC's time read once (at the first call) plus time since, or time since boot when the RTC is unreadable (a warning says so); other clocks and null `tp` `-EINVAL` |
//! | `sys_usleep(usecs)`, `sys_nanosleep(req)` | on a scheduler thread (std apps): blocks until the time passed, its CPU runs other threads or sleeps in `hlt`; elsewhere busy-waits on the TSC clock (interrupts as they are, so a stop still reaches the CPU); a negative or out-of-range `req` `-EINVAL` |
//! | `sys_writev(fd, iov, iovcnt)` | fd 1 and 2: all buffers as one console write, returns the total; `-EBADF`, `-EFAULT`, `-EINVAL` (more than 1024 buffers) as `sys_write` |
//! | `sys_read`, `sys_readv(fd, ...)` | fd 0 (standard input): 0, end of input (there is no input device), after the buffers passed the pointer check; other fds `-EBADF` |
//! | `sys_spawn2(func, arg, prio, stack_size, core)` | a thread on CPU `core` (modulo the online CPUs) or, for a negative `core`, the next CPU round-robin; stack at least 64 KiB over an unmapped 4 KiB guard page (an overflow panics: `stack overflow on cpu N, thread T`); `prio` ignored; returns its ID, 0 when out of memory or `func` fails the pointer check |
//! | `sys_spawn(id, func, arg, prio, core)` | `sys_spawn2` with a 1 MiB stack; 0 or `-ENOMEM` |
//! | `sys_join(id)` | blocks until the thread ended; 0 at once when it ended already (joined or not: an ended thread leaves nothing behind); `-ESRCH` (an ID never handed out), `-EDEADLK` (itself) |
//! | `sys_yield()` | the CPU's other ready threads run first |
//! | `sys_futex_wait(addr, expected, timeout, flags)` | blocks while `*addr == expected` until `sys_futex_wake` or the timeout (absolute monotonic, or relative with `FUTEX_RELATIVE_TIMEOUT`): 0, `-ETIMEDOUT`, `-EAGAIN` (value differed), `-EINVAL` (null or misaligned `addr`, bad flags or timeout); outside a scheduler thread returns at once (a spurious wake-up) |
//! | `sys_futex_wake(addr, count)` | wakes up to `count` waiters across all CPUs (all for `i32::MAX`), returns how many; `-EINVAL` for a negative count or bad `addr` |
//! | `sys_open`, `sys_close`, `sys_dup`, `sys_lseek`, `sys_fstat`, `sys_stat`, `sys_lstat`, `sys_unlink`, `sys_mkdir`, `sys_rmdir`, `sys_getdents64`, `sys_ioctl`, `sys_poll`, `sys_socket`, `sys_bind`, `sys_listen`, `sys_accept`, `sys_connect`, `sys_shutdown`, `sys_getpeername`, `sys_getsockname`, `sys_getsockopt`, `sys_setsockopt`, `sys_send`, `sys_sendto`, `sys_recv`, `sys_recvfrom` | not offered (no file system, no network): `-ENOSYS` |
//! | `sys_getaddrinfo` | not offered: `EAI_FAIL`; `sys_freeaddrinfo` does nothing |
//! | `sys_get_errno()` | 0: every call returns its error instead of setting an errno |
//! | `sys_read_entropy(buf, len, flags)` | RDRAND (else RDSEED) when CPUID lists it, retried on underflow; returns the bytes filled; `-ENOSYS` without a hardware generator, `-EIO` when it keeps failing, `-EINVAL` for flags (Hermit defines none) |
//! | `sys_getpid()` | 0: there is one process |
//!
//! The table covers every `sys_*` symbol (48) that libstd for `x86_64-unknown-hermit`
//! references, so any std program links.
#![allow(unsafe_code)]

pub mod app_memory;
mod buffer;
#[cfg(target_os = "none")]
mod cpus;
mod entropy;
#[cfg(any(test, feature = "std-app"))]
pub mod entry;
mod errno;
mod futex;
mod heap;
mod io;
mod process;
mod stdin;
#[cfg(target_os = "none")]
mod thread;
mod time;
#[cfg(target_os = "none")]
mod unsupported;
mod writev;

/// Compile-time proof that each export has exactly the type `hermit_abi` declares for it: the
/// declaration is cast to a function pointer whose parameter and return types are inferred from
/// it, and the export must coerce to that very type.
#[cfg(target_os = "none")]
#[allow(deprecated)] // `get_processor_count`: Hermit's older name, still exported.
const _: () = {
    macro_rules! same_signature {
        ($ours:path, $declared:path, $($arg:tt),*) => {
            let _ = [$declared as unsafe extern "C" fn($($arg),*) -> _, $ours];
        };
    }
    same_signature!(process::sys_exit, hermit_abi::exit, _);
    same_signature!(process::sys_abort, hermit_abi::abort,);
    same_signature!(process::sys_getpid, hermit_abi::getpid,);
    same_signature!(io::sys_write, hermit_abi::write, _, _, _);
    same_signature!(
        cpus::sys_get_processor_count,
        hermit_abi::get_processor_count,
    );
    same_signature!(
        cpus::sys_available_parallelism,
        hermit_abi::available_parallelism,
    );
    same_signature!(heap::sys_malloc, hermit_abi::malloc, _, _);
    same_signature!(heap::sys_alloc, hermit_abi::alloc, _, _);
    same_signature!(heap::sys_alloc_zeroed, hermit_abi::alloc_zeroed, _, _);
    same_signature!(heap::sys_realloc, hermit_abi::realloc, _, _, _, _);
    same_signature!(heap::sys_free, hermit_abi::free, _, _, _);
    same_signature!(heap::sys_dealloc, hermit_abi::dealloc, _, _, _);
    same_signature!(time::sys_clock_gettime, hermit_abi::clock_gettime, _, _);
    same_signature!(time::sys_usleep, hermit_abi::usleep, _);
    same_signature!(time::sys_nanosleep, hermit_abi::nanosleep, _);
    same_signature!(entropy::sys_read_entropy, hermit_abi::read_entropy, _, _, _);
    same_signature!(writev::sys_writev, hermit_abi::writev, _, _, _);
    same_signature!(stdin::sys_read, hermit_abi::read, _, _, _);
    same_signature!(stdin::sys_readv, hermit_abi::readv, _, _, _);
    same_signature!(thread::sys_spawn2, hermit_abi::spawn2, _, _, _, _, _);
    same_signature!(thread::sys_spawn, hermit_abi::spawn, _, _, _, _, _);
    same_signature!(thread::sys_join, hermit_abi::join, _);
    same_signature!(thread::sys_yield, hermit_abi::yield_now,);
    same_signature!(futex::sys_futex_wait, hermit_abi::futex_wait, _, _, _, _);
    same_signature!(futex::sys_futex_wake, hermit_abi::futex_wake, _, _);
    same_signature!(unsupported::sys_open, hermit_abi::open, _, _, _);
    same_signature!(unsupported::sys_close, hermit_abi::close, _);
    same_signature!(unsupported::sys_dup, hermit_abi::dup, _);
    same_signature!(unsupported::sys_lseek, hermit_abi::lseek, _, _, _);
    same_signature!(unsupported::sys_fstat, hermit_abi::fstat, _, _);
    same_signature!(unsupported::sys_stat, hermit_abi::stat, _, _);
    same_signature!(unsupported::sys_lstat, hermit_abi::lstat, _, _);
    same_signature!(unsupported::sys_unlink, hermit_abi::unlink, _);
    same_signature!(unsupported::sys_mkdir, hermit_abi::mkdir, _, _);
    same_signature!(unsupported::sys_rmdir, hermit_abi::rmdir, _);
    same_signature!(unsupported::sys_getdents64, hermit_abi::getdents64, _, _, _);
    same_signature!(unsupported::sys_ioctl, hermit_abi::ioctl, _, _, _);
    same_signature!(unsupported::sys_poll, hermit_abi::poll, _, _, _);
    same_signature!(unsupported::sys_socket, hermit_abi::socket, _, _, _);
    same_signature!(unsupported::sys_bind, hermit_abi::bind, _, _, _);
    same_signature!(unsupported::sys_listen, hermit_abi::listen, _, _);
    same_signature!(unsupported::sys_accept, hermit_abi::accept, _, _, _);
    same_signature!(unsupported::sys_connect, hermit_abi::connect, _, _, _);
    same_signature!(unsupported::sys_shutdown, hermit_abi::shutdown, _, _);
    same_signature!(
        unsupported::sys_getpeername,
        hermit_abi::getpeername,
        _,
        _,
        _
    );
    same_signature!(
        unsupported::sys_getsockname,
        hermit_abi::getsockname,
        _,
        _,
        _
    );
    same_signature!(
        unsupported::sys_getsockopt,
        hermit_abi::getsockopt,
        _,
        _,
        _,
        _,
        _
    );
    same_signature!(
        unsupported::sys_setsockopt,
        hermit_abi::setsockopt,
        _,
        _,
        _,
        _,
        _
    );
    same_signature!(unsupported::sys_send, hermit_abi::send, _, _, _, _);
    same_signature!(
        unsupported::sys_sendto,
        hermit_abi::sendto,
        _,
        _,
        _,
        _,
        _,
        _
    );
    same_signature!(unsupported::sys_recv, hermit_abi::recv, _, _, _, _);
    same_signature!(
        unsupported::sys_recvfrom,
        hermit_abi::recvfrom,
        _,
        _,
        _,
        _,
        _,
        _
    );
    same_signature!(unsupported::sys_get_errno, hermit_abi::get_errno,);
    same_signature!(
        unsupported::sys_getaddrinfo,
        hermit_abi::getaddrinfo,
        _,
        _,
        _,
        _
    );
    same_signature!(unsupported::sys_freeaddrinfo, hermit_abi::freeaddrinfo, _);
};
