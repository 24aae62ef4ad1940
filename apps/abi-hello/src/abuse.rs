//! Hostile calls (app argument `abuse=SCENARIO`): every `sys_*` that takes a pointer, called
//! with a bad pointer or size, each result printed as `abi-hello: abuse SCENARIO CALL: RESULT`
//! (a return value: minus the errno, a count, a thread ID, or whether a pointer is null) for
//! the `hostile-abi-*` cases to compare with what the runtime must answer. Scenarios:
//! - `page0`, `apic`, `wrap`, `unmapped`, `bios`: the whole set of calls with one bad address:
//!   null plus an offset, the local APIC's MMIO page, a range wrapping past the end of the
//!   address space, an address above the identity map, the BIOS ROM hole;
//! - `ram-end`: buffers straddling the end of low RAM (QEMU's map: RAM up to 0x9_fc00);
//! - `misaligned`: typed pointers (timespec, futex word, thread ID, iovec array) off their
//!   alignment, and byte buffers at odd addresses, which need none;
//! - `huge`: sizes no buffer has, totals that overflow, timeouts at the end of the range.

use core::ffi::c_void;
use core::fmt::Display;
use core::ptr;

use hermit_abi::{iovec, timespec, Tid, CLOCK_MONOTONIC, STDIN_FILENO, STDOUT_FILENO};

use crate::say;

/// Bytes each bad buffer claims.
const LEN: usize = 16;
/// Alignment the bad heap blocks claim.
const ALIGN: usize = 8;
/// The local APIC's MMIO page (mapped, not RAM): a write there reaches device registers.
const APIC_PAGE: usize = 0xFEE0_0000;
/// A field at offset 0x10 of a struct at null.
const NULL_PLUS_OFFSET: usize = 0x10;
/// 8 bytes below the end of the address space: a 16-byte range wraps.
const WRAPPING: usize = usize::MAX - 7;
/// 64 GiB: above the 4 GiB identity map, so nothing is mapped there.
const UNMAPPED: usize = 64 << 30;
/// The BIOS ROM (reserved in the memory map, mapped).
const BIOS_ROM: usize = 0xF_0000;
/// 8 bytes below the end of QEMU's low RAM (0x9_fc00): a 16-byte buffer straddles it.
const LOW_RAM_END_MINUS_8: usize = 0x9_fc00 - 8;
/// A stack size no allocation can have.
const HUGE_STACK: usize = usize::MAX;
/// Stack size for spawns that must fail for another reason.
const SMALL_STACK: usize = 64 << 10;

/// Runs `scenario`; false if there is no such scenario.
pub fn run(scenario: &str) -> bool {
    match scenario {
        "page0" => bad_address(scenario, NULL_PLUS_OFFSET),
        "apic" => bad_address(scenario, APIC_PAGE),
        "wrap" => bad_address(scenario, WRAPPING),
        "unmapped" => bad_address(scenario, UNMAPPED),
        "bios" => bad_address(scenario, BIOS_ROM),
        "ram-end" => ram_end(),
        "misaligned" => misaligned(),
        "huge" => huge(),
        _ => return false,
    }
    say!("abuse {scenario}: done");
    true
}

/// Prints one result.
fn report(scenario: &str, call: &str, result: impl Display) {
    say!("abuse {scenario} {call}: {result}");
}

/// `null` or `non-null`, for calls that return a pointer.
fn nullness(p: *mut u8) -> &'static str {
    if p.is_null() {
        "null"
    } else {
        "non-null"
    }
}

/// A thread body for spawns that must not start a thread.
extern "C" fn never_runs(_arg: usize) {
    say!("FAILED: a thread started although its spawn was refused");
}

/// Every pointer-taking call with `address` as its pointer (buffers of [`LEN`] bytes).
fn bad_address(scenario: &str, address: usize) {
    let r = |call: &str, result: &dyn Display| report(scenario, call, result);
    let bytes = address as *mut u8;
    let ts = address as *mut timespec;
    let word = address as *mut u32;
    let iov = address as *const iovec;
    let one = [iovec {
        iov_base: address as *mut c_void,
        iov_len: LEN,
    }];
    let mut real_word = 0u32;
    // SAFETY: each call hands the runtime a pointer it must refuse before using it; the
    // pointers that are used (`one`, `real_word`) are live locals.
    unsafe {
        r("write", &hermit_abi::write(STDOUT_FILENO, bytes, LEN));
        r("read", &hermit_abi::read(STDIN_FILENO, bytes, LEN));
        r("read_entropy", &hermit_abi::read_entropy(bytes, LEN, 0));
        r("writev array", &hermit_abi::writev(STDOUT_FILENO, iov, 1));
        r(
            "writev buffer",
            &hermit_abi::writev(STDOUT_FILENO, one.as_ptr(), 1),
        );
        r("readv array", &hermit_abi::readv(STDIN_FILENO, iov, 1));
        r(
            "readv buffer",
            &hermit_abi::readv(STDIN_FILENO, one.as_ptr(), 1),
        );
        r(
            "clock_gettime",
            &hermit_abi::clock_gettime(CLOCK_MONOTONIC, ts),
        );
        r("nanosleep", &hermit_abi::nanosleep(ts));
        r(
            "futex_wait word",
            &hermit_abi::futex_wait(word, 0, ptr::null(), 0),
        );
        r(
            "futex_wait timeout",
            &hermit_abi::futex_wait(&mut real_word, 0, ts, 0),
        );
        r("futex_wake", &hermit_abi::futex_wake(word, 1));
        r(
            "spawn id",
            &hermit_abi::spawn(address as *mut Tid, never_runs, 0, 0, -1),
        );
        let func = core::mem::transmute::<usize, extern "C" fn(usize)>(address);
        r(
            "spawn2 func",
            &hermit_abi::spawn2(func, 0, 0, SMALL_STACK, -1),
        );
        r(
            "realloc",
            &nullness(hermit_abi::realloc(bytes, LEN, ALIGN, 2 * LEN)),
        );
        hermit_abi::free(bytes, LEN, ALIGN);
        r("free", &"returned");
    }
}

/// Buffers that start in RAM and run past its end.
fn ram_end() {
    let r = |call: &str, result: &dyn Display| report("ram-end", call, result);
    let bytes = LOW_RAM_END_MINUS_8 as *mut u8;
    let ts = LOW_RAM_END_MINUS_8 as *mut timespec;
    // SAFETY: each call hands the runtime a range it must refuse before using it.
    unsafe {
        r("write", &hermit_abi::write(STDOUT_FILENO, bytes, LEN));
        r("read_entropy", &hermit_abi::read_entropy(bytes, LEN, 0));
        r(
            "clock_gettime",
            &hermit_abi::clock_gettime(CLOCK_MONOTONIC, ts),
        );
        r("nanosleep", &hermit_abi::nanosleep(ts));
    }
}

/// Typed pointers off their alignment (refused), byte buffers at odd addresses (fine).
fn misaligned() {
    let r = |call: &str, result: &dyn Display| report("misaligned", call, result);
    let mut storage = [0u64; 8];
    let base = storage.as_mut_ptr() as usize;
    let ts = (base + 1) as *mut timespec;
    let word = (base + 2) as *mut u32;
    let iov = (base + 4) as *const iovec;
    let odd = (base + 3) as *mut u8;
    let mut real_word = 0u32;
    let mut t = timespec::default();
    // SAFETY: every misaligned pointer lies inside `storage` and must be refused before use;
    // the byte buffers and `real_word`, `t` are live locals.
    unsafe {
        r(
            "clock_gettime",
            &hermit_abi::clock_gettime(CLOCK_MONOTONIC, ts),
        );
        r("nanosleep", &hermit_abi::nanosleep(ts));
        r(
            "futex_wait timeout",
            &hermit_abi::futex_wait(&mut real_word, 0, ts, 0),
        );
        r(
            "futex_wait word",
            &hermit_abi::futex_wait(word, 0, ptr::null(), 0),
        );
        r("futex_wake", &hermit_abi::futex_wake(word, 1));
        r(
            "spawn id",
            &hermit_abi::spawn(word.cast::<Tid>(), never_runs, 0, 0, -1),
        );
        r("writev array", &hermit_abi::writev(STDOUT_FILENO, iov, 1));
        r("readv array", &hermit_abi::readv(STDIN_FILENO, iov, 1));
        r(
            "realloc",
            &nullness(hermit_abi::realloc(odd, LEN, ALIGN, 2 * LEN)),
        );
        // Controls: bytes need no alignment, an aligned timespec is written.
        r(
            "write odd 0 bytes",
            &hermit_abi::write(STDOUT_FILENO, odd, 0),
        );
        r("read odd 5 bytes", &hermit_abi::read(STDIN_FILENO, odd, 5));
        r(
            "clock_gettime aligned",
            &hermit_abi::clock_gettime(CLOCK_MONOTONIC, &mut t),
        );
    }
}

/// Sizes and totals no buffer has, and timeouts at the end of their range.
fn huge() {
    let r = |call: &str, result: &dyn Display| report("huge", call, result);
    let mut buf = [0u8; LEN];
    let p = buf.as_mut_ptr();
    let half = iovec {
        iov_base: p.cast(),
        iov_len: usize::MAX / 2 + 1,
    };
    let halves = [half, half];
    let mut word = 0u32;
    let forever = timespec {
        tv_sec: i64::MAX,
        tv_nsec: 999_999_999,
    };
    // SAFETY: `buf`, `halves`, `word` and `forever` are live locals; every size is refused
    // before the buffer is used.
    unsafe {
        r(
            "write isize::MAX+1",
            &hermit_abi::write(STDOUT_FILENO, p, isize::MAX as usize + 1),
        );
        r(
            "write usize::MAX",
            &hermit_abi::write(STDOUT_FILENO, p, usize::MAX),
        );
        r("write 1 TiB", &hermit_abi::write(STDOUT_FILENO, p, 1 << 40));
        r(
            "read usize::MAX",
            &hermit_abi::read(STDIN_FILENO, p, usize::MAX),
        );
        r(
            "read_entropy usize::MAX",
            &hermit_abi::read_entropy(p, usize::MAX, 0),
        );
        r(
            "writev 1025 buffers",
            &hermit_abi::writev(STDOUT_FILENO, halves.as_ptr(), 1025),
        );
        r(
            "writev total overflow",
            &hermit_abi::writev(STDOUT_FILENO, halves.as_ptr(), 2),
        );
        r(
            "futex_wait relative max",
            &hermit_abi::futex_wait(&mut word, 1, &forever, hermit_abi::FUTEX_RELATIVE_TIMEOUT),
        );
        r(
            "futex_wait absolute max",
            &hermit_abi::futex_wait(&mut word, 1, &forever, 0),
        );
        r(
            "spawn2 stack usize::MAX",
            &hermit_abi::spawn2(never_runs, 0, 0, HUGE_STACK, -1),
        );
        r(
            "malloc usize::MAX",
            &nullness(hermit_abi::malloc(usize::MAX, ALIGN)),
        );
        r(
            "malloc isize::MAX",
            &nullness(hermit_abi::malloc(isize::MAX as usize, ALIGN)),
        );
    }
}
