//! The Hermit ABI: the `sys_*` functions that `hermit-abi` 0.5 declares (and Rust's std for
//! `x86_64-unknown-hermit` calls), exported under their C names so that an app that calls them
//! links against this runtime.
//!
//! This is a C ABI boundary: callers hand in raw pointers, so this module may use `unsafe`
//! (each exported `unsafe fn` says what the caller guarantees under `# Safety`, each block why
//! it holds under `// SAFETY:`). Errors come back as a negated errno number (`-EINVAL`, …),
//! numbered as in `hermit_abi::errno`, as Hermit documents and std's `cvt` expects.
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
//! | `sys_free`, `sys_dealloc(ptr, size, align)` | frees; nothing for null, size 0 or a bad layout |
//! | `sys_clock_gettime(clock, tp)` | `CLOCK_MONOTONIC` (4): time since boot (TSC); `CLOCK_REALTIME` (1): the CMOS RTC's time read once (at the first call) plus time since, or time since boot when the RTC is unreadable (a warning says so); other clocks and null `tp` `-EINVAL` |
//! | `sys_usleep(usecs)`, `sys_nanosleep(req)` | busy-wait on the TSC clock (interrupts stay as they are, so a stop still reaches the CPU); a negative or out-of-range `req` `-EINVAL` |
//! | `sys_read_entropy(buf, len, flags)` | RDRAND (else RDSEED) when CPUID lists it, retried on underflow; returns the bytes filled; `-ENOSYS` without a hardware generator, `-EIO` when it keeps failing, `-EINVAL` for flags (Hermit defines none) |
//! | `sys_getpid()` | 0: there is one process |
#![allow(unsafe_code)]

mod buffer;
#[cfg(target_os = "none")]
mod cpus;
mod entropy;
mod errno;
mod heap;
mod io;
mod process;
pub mod rtc;
mod time;

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
};
