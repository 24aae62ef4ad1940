//! `hostile-*` cases for memory an app misuses: a thread's stack overflow must end in the
//! guard page under it (reported as such, every other CPU stopped), a write through a null
//! pointer must fault in page 0, and threads nobody joins must give back every heap byte.

use crate::cases::summary::Field;
use crate::cases::table::{Case, Expect, BOOT_TIMEOUT};
use crate::qemu::exit_status::PANIC;
use crate::qemu::Machine;

/// What the runtime says of a thread that overflows its stack (the threads run on CPU 1, and
/// abi-threads' recursing one is the app's first: thread 1).
const THREAD_OVERFLOW: &str =
    "stack overflow on cpu 1, thread 1: its stack ran into its guard page";
/// The end of that sentence, whichever thread it is.
const GUARD_HIT: &str = "its stack ran into its guard page at 0x";

/// The hostile-memory cases.
pub fn all() -> Vec<Case> {
    // abi-threads' thread on CPU 1 recurses on a 64 KiB stack; without the guard page it runs on
    // through the heap below (other stacks, allocator metadata) instead of faulting there.
    let overflow = |smp: u32| {
        Case::new(
            &format!("hostile-thread-stack-overflow-smp{smp}"),
            "abi-threads",
        )
        .on(Machine::Pc, smp)
        .append("-- recurse")
        .expect(Expect::Status(PANIC), BOOT_TIMEOUT)
        .require(&[
            "abi-threads: recursing on a 64 KiB thread stack",
            "PANIC on cpu 1",
            THREAD_OVERFLOW,
        ])
        .forbid_only(&["abi-threads: FAILED"])
        .field(Field::Stopper, 1)
        .field(Field::Targets, u64::from(smp - 1))
        .field(Field::Stuck, 0)
    };
    vec![
        overflow(2).quick(),
        overflow(4),
        // The same through std: a thread spawned with `Builder::stack_size(64 KiB)` (the first
        // thread round-robin goes to CPU 1).
        Case::new("hostile-std-thread-stack-overflow-smp2", "std-overflow")
            .on(Machine::Q35, 2)
            .expect(Expect::Status(PANIC), BOOT_TIMEOUT)
            .require(&[
                "std-overflow: recursing on a 64 KiB std thread",
                "PANIC on cpu 1",
                "stack overflow on cpu 1, thread ",
                GUARD_HIT,
            ])
            .forbid_only(&["std-overflow: FAILED"])
            .field(Field::Stopper, 1)
            .field(Field::Targets, 1)
            .field(Field::Stuck, 0),
        // abi-threads' thread on CPU 1 spins less than an interrupt frame above its guard page;
        // CPU 0 aborts. The stop vector must reach CPU 1 on a stack of its own (on the thread's,
        // CPU 1 overflowed inside the stop and stopped itself instead). A generous vector
        // timeout keeps a slow host from sending the NMI (also on a stack of its own) instead.
        Case::new("hostile-stop-near-guard-smp2", "abi-threads")
            .on(Machine::Pc, 2)
            .append("stop.strategy=vector stop.vector_timeout_us=1000000 -- stop-near-guard")
            .expect(Expect::Status(PANIC), BOOT_TIMEOUT)
            .require(&[
                "abi-threads: the thread spins just above its guard page; aborting",
                "PANIC on cpu 0",
                "cpu 1 was interrupted (interrupts on)",
            ])
            .forbid_only(&["abi-threads: FAILED", "stack overflow", "double fault"])
            .field(Field::Stopper, 0)
            .field(Field::Vector, 1)
            .field(Field::SelfStop, 0)
            .field(Field::Stuck, 0),
        // A write to 0x10 (a field behind a null pointer) faults: page 0 is not mapped.
        Case::new("hostile-null-write-smp2", "faults")
            .on(Machine::Pc, 2)
            .append("-- scenario=null-write")
            .expect(Expect::Status(PANIC), BOOT_TIMEOUT)
            .require(&[
                "PANIC on cpu 1",
                "exception page fault (#PF), vector 14, error code 0x2",
                "address 0x10 (a null pointer: page 0 is not mapped)",
            ])
            .forbid_only(&["did not fault"])
            .field(Field::Stuck, 0),
        // 10,000 threads that nobody joins, in batches of 100: the heap's allocated bytes after
        // them equal the baseline before them.
        Case::new("hostile-unjoined-threads-10000", "abi-threads")
            .on(Machine::Pc, 2)
            .append("-- unjoined=10000")
            .require(&["abi-threads: ok: 10000 unjoined threads ended"])
            .forbid_only(&["PANIC", "abi-threads: FAILED"]),
        // A guard page is RAM by the memory map but unmapped: the ABI's pointer check refuses
        // it rather than let sys_write fault on the app's behalf.
        Case::new("hostile-abi-guard-page-pointer-smp2", "abi-threads")
            .on(Machine::Pc, 2)
            .append("-- write-from-guard")
            .require(&["abi-threads: write from the guard page: -14\n"])
            .forbid_only(&["PANIC", "abi-threads: FAILED"]),
    ]
}
