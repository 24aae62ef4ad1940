//! A Hermit-ABI app: greets, reads the processor count and both clocks, draws entropy, round-trips
//! an allocation, checks the ABI's error returns, then exits with status 7 — all through
//! `hermit_abi` calls, the proof that such an app links and runs on allstop. Each check that
//! fails prints `abi-hello: FAILED: …` and exits with status 1 instead. App arguments (after
//! ` -- `): `exit=S` exits with S instead of 7; `abort` calls `hermit_abi::abort` at once (the
//! panic path, status 101); `abuse=SCENARIO` instead calls the ABI with bad pointers and sizes
//! ([`abuse`]), prints what each call returned and exits with status 0.
//!
//! It depends on the runtime only to link (`allstop::entry!` and the `sys_*` exports). Every
//! `hermit_abi` function is an `extern "C"` declaration, which Rust makes `unsafe` to call, so
//! unlike the other apps this one cannot `forbid(unsafe_code)`: `unsafe` appears only around
//! `hermit_abi` calls and the memory they hand out, each block with a `// SAFETY:` comment.
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]

use core::fmt::{self, Write};
use core::slice;

use hermit_abi::timespec;

allstop::entry!(main);

/// Status passed to `hermit_abi::exit` when every check passed (QEMU exits with 15).
const EXIT_STATUS: i32 = 7;
/// Status when a check failed.
const FAILURE_STATUS: i32 = 1;
/// Longest line `say!` writes.
const LINE_CAPACITY: usize = 256;
/// How long the app sleeps to see the monotonic clock advance.
const SLEEP_US: u64 = 10_000;
/// Entropy bytes drawn.
const ENTROPY_BYTES: usize = 8;
/// The allocation round-trip: a block of `SMALL` bytes grown to `LARGE`, aligned to `ALIGN`.
const SMALL: usize = 64;
const LARGE: usize = 1 << 20;
const ALIGN: usize = 64;

/// Prints one `abi-hello: ` line.
macro_rules! say {
    ($($arg:tt)*) => { say(format_args!($($arg)*)) };
}

/// Fails the run (prints the check, exits with [`FAILURE_STATUS`]) unless `ok`.
macro_rules! check {
    ($ok:expr, $($arg:tt)*) => {
        if !$ok {
            fail(format_args!($($arg)*));
        }
    };
}

mod abuse;

fn main() -> i32 {
    let mut status = EXIT_STATUS;
    for arg in allstop::app_args().split_ascii_whitespace() {
        match arg {
            "abort" => {
                say!("calling abort");
                // SAFETY: takes the runtime's panic path; never returns.
                unsafe { hermit_abi::abort() }
            }
            _ if arg.starts_with("abuse=") => {
                let scenario = &arg["abuse=".len()..];
                if !abuse::run(scenario) {
                    fail(format_args!("unknown abuse scenario '{scenario}'"));
                }
                // SAFETY: ends the run; nothing is left to clean up.
                unsafe { hermit_abi::exit(0) }
            }
            _ => match arg.strip_prefix("exit=").and_then(|s| s.parse().ok()) {
                Some(s) => status = s,
                None => fail(format_args!(
                    "unknown argument '{arg}' (abort | exit=S | abuse=SCENARIO)"
                )),
            },
        }
    }
    say!("hello through the Hermit ABI");
    processors();
    clocks();
    entropy();
    allocation();
    error_returns();
    say!("all checks passed; exiting with status {status}");
    // SAFETY: ends the run; nothing is left to clean up.
    unsafe { hermit_abi::exit(status) }
}

/// One line of console output, built in place and written with a single `hermit_abi::write`.
struct Line {
    bytes: [u8; LINE_CAPACITY],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let room = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes `abi-hello: <args>` and a newline to standard output in one write; a line too long
/// for [`LINE_CAPACITY`] ends in `…` at the cut.
fn say(args: fmt::Arguments<'_>) {
    let mut line = Line {
        bytes: [0; LINE_CAPACITY],
        len: 0,
    };
    if writeln!(line, "abi-hello: {args}").is_err() {
        const CUT: &[u8] = "…\n".as_bytes();
        line.len = LINE_CAPACITY;
        line.bytes[LINE_CAPACITY - CUT.len()..].copy_from_slice(CUT);
    }
    // SAFETY: the first `line.len` bytes of `line.bytes` are initialized and live across the call.
    let written =
        unsafe { hermit_abi::write(hermit_abi::STDOUT_FILENO, line.bytes.as_ptr(), line.len) };
    if written != line.len as isize {
        // The console is gone: the status is all that can still tell.
        // SAFETY: ends the run; nothing is left to clean up.
        unsafe { hermit_abi::exit(FAILURE_STATUS) }
    }
}

/// Prints the failed check and exits with [`FAILURE_STATUS`].
fn fail(what: fmt::Arguments<'_>) -> ! {
    say!("FAILED: {what}");
    // SAFETY: ends the run; nothing is left to clean up.
    unsafe { hermit_abi::exit(FAILURE_STATUS) }
}

fn processors() {
    // SAFETY: takes no arguments.
    let parallelism = unsafe { hermit_abi::available_parallelism() };
    #[allow(deprecated)] // Hermit's older name, still part of the ABI.
    // SAFETY: takes no arguments.
    let count = unsafe { hermit_abi::get_processor_count() };
    say!("processor count {count}, available parallelism {parallelism}");
    check!(
        parallelism >= 1 && count == parallelism,
        "processor count {count} and available parallelism {parallelism} should agree and be at least 1"
    );
}

/// Reads `clock`: the time, or the negative errno.
fn clock_gettime(clock: hermit_abi::clockid_t) -> Result<timespec, i32> {
    let mut t = timespec::default();
    // SAFETY: `t` is a valid, aligned timespec for the call to write.
    match unsafe { hermit_abi::clock_gettime(clock, &mut t) } {
        0 => Ok(t),
        err => Err(err),
    }
}

/// Reads `clock`, failing the run on an error or a malformed timespec.
fn read_clock(clock: hermit_abi::clockid_t, name: &str) -> timespec {
    let t = clock_gettime(clock).unwrap_or_else(|err| fail(format_args!("{name} clock: {err}")));
    check!(
        t.tv_sec >= 0 && (0..1_000_000_000).contains(&t.tv_nsec),
        "{name} clock: malformed timespec {t:?}"
    );
    t
}

fn nanos(t: timespec) -> i128 {
    i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
}

fn clocks() {
    let before = read_clock(hermit_abi::CLOCK_MONOTONIC, "monotonic");
    say!(
        "monotonic clock {}.{:09} s since boot",
        before.tv_sec,
        before.tv_nsec
    );
    let real = read_clock(hermit_abi::CLOCK_REALTIME, "realtime");
    say!(
        "realtime clock {}.{:09} s since 1970-01-01 UTC",
        real.tv_sec,
        real.tv_nsec
    );
    // SAFETY: takes a plain number.
    unsafe { hermit_abi::usleep(SLEEP_US) };
    let after = read_clock(hermit_abi::CLOCK_MONOTONIC, "monotonic");
    let slept_us = (nanos(after) - nanos(before)) / 1000;
    say!("usleep({SLEEP_US}): monotonic clock advanced {slept_us} us");
    check!(
        slept_us >= i128::from(SLEEP_US),
        "usleep({SLEEP_US}) returned after {slept_us} us"
    );
}

fn entropy() {
    let mut bytes = [0u8; ENTROPY_BYTES];
    // SAFETY: `bytes` is writable for its length and only this call touches it meanwhile.
    let got = unsafe { hermit_abi::read_entropy(bytes.as_mut_ptr(), bytes.len(), 0) };
    if got == -(hermit_abi::ENOSYS as isize) {
        say!("entropy: none, read_entropy returned {got} (-ENOSYS: no RDRAND/RDSEED)");
        return;
    }
    check!(
        got == ENTROPY_BYTES as isize,
        "read_entropy({ENTROPY_BYTES} bytes) returned {got}"
    );
    say!("entropy: {bytes:02x?}");
    // A failure of this check by chance is a 1 in 2^64 event.
    check!(
        bytes != [0; ENTROPY_BYTES],
        "read_entropy delivered only zeros"
    );
}

fn allocation() {
    // SAFETY: allocating takes plain numbers.
    let small = unsafe { hermit_abi::malloc(SMALL, ALIGN) };
    check!(
        !small.is_null() && (small as usize).is_multiple_of(ALIGN),
        "malloc({SMALL}, {ALIGN}) returned {small:p}"
    );
    let pattern = |i: usize| (i * 7 + 3) as u8;
    // SAFETY: `small` is a fresh block of SMALL bytes that only this slice accesses.
    let block = unsafe { slice::from_raw_parts_mut(small, SMALL) };
    for (i, byte) in block.iter_mut().enumerate() {
        *byte = pattern(i);
    }
    // SAFETY: `small` came from malloc with this size and alignment; `block` is not used after.
    let large = unsafe { hermit_abi::realloc(small, SMALL, ALIGN, LARGE) };
    check!(
        !large.is_null() && (large as usize).is_multiple_of(ALIGN),
        "realloc to {LARGE} returned {large:p}"
    );
    // SAFETY: `large` is a live block of LARGE bytes; its first SMALL bytes came from `small`.
    let kept = unsafe { slice::from_raw_parts(large, SMALL) };
    let intact = kept.iter().enumerate().all(|(i, &b)| b == pattern(i));
    check!(intact, "realloc lost the block's contents: {kept:02x?}");
    // SAFETY: `large` came from realloc with this size and alignment; `kept` is not used after.
    unsafe { hermit_abi::free(large, LARGE, ALIGN) };

    // SAFETY: allocating takes plain numbers.
    let zeroed = unsafe { hermit_abi::alloc_zeroed(LARGE, ALIGN) };
    check!(!zeroed.is_null(), "alloc_zeroed({LARGE}) returned null");
    // SAFETY: `zeroed` is a fresh, initialized block of LARGE bytes.
    let all_zero = unsafe { slice::from_raw_parts(zeroed, LARGE) }
        .iter()
        .all(|&b| b == 0);
    check!(all_zero, "alloc_zeroed({LARGE}) is not all zeros");
    // SAFETY: `zeroed` came from alloc_zeroed with this size and alignment.
    unsafe { hermit_abi::dealloc(zeroed, LARGE, ALIGN) };
    say!("allocation: {SMALL} bytes at {small:p} grown to {LARGE} at {large:p}, contents intact; {LARGE} zeroed bytes; all freed");
}

/// Calls that must fail, and the negative errno each must return.
fn error_returns() {
    let line = b"never shown\n";
    // SAFETY: `line` is initialized and lives across the call.
    let bad_fd = unsafe { hermit_abi::write(5, line.as_ptr(), line.len()) };
    let bad_clock = clock_gettime(0).err().unwrap_or(0);
    let too_many_ns = timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000_000,
    };
    // SAFETY: `too_many_ns` is a valid timespec for the call to read.
    let bad_sleep = unsafe { hermit_abi::nanosleep(&too_many_ns) };
    let mut bytes = [0u8; ENTROPY_BYTES];
    // SAFETY: `bytes` is writable for its length and only this call touches it meanwhile.
    let bad_flags = unsafe { hermit_abi::read_entropy(bytes.as_mut_ptr(), bytes.len(), 1) };
    // SAFETY: allocating takes plain numbers.
    let bad_align = unsafe { hermit_abi::malloc(16, 3) };
    say!(
        "error returns: write(fd 5) {bad_fd}, clock_gettime(clock 0) {bad_clock}, \
         nanosleep(1e9 ns) {bad_sleep}, read_entropy(flags 1) {bad_flags}, malloc(align 3) {bad_align:p}"
    );
    let (ebadf, einval) = (-hermit_abi::EBADF, -hermit_abi::EINVAL);
    check!(bad_fd == ebadf as isize, "write(fd 5) should be {ebadf}");
    check!(
        bad_clock == einval,
        "clock_gettime(clock 0) should be {einval}"
    );
    check!(bad_sleep == einval, "nanosleep(1e9 ns) should be {einval}");
    check!(
        bad_flags == einval as isize,
        "read_entropy(flags 1) should be {einval}"
    );
    check!(bad_align.is_null(), "malloc(align 3) should be null");
}
