//! Threads: `sys_spawn2`, `sys_spawn`, `sys_join`, `sys_yield`, over the runtime's scheduler.

use hermit_abi::Tid;

use super::errno::{zero_or_errno, Errno};
use super::{app_memory, buffer};
use crate::sched::{self, JoinError};

/// Stack size of threads started with `sys_spawn`, which names none (std's default too).
const SPAWN_STACK_SIZE: usize = 1 << 20;

/// Starts a thread running `func(arg)` with a stack of at least `stack_size` bytes, on CPU
/// `core_id` (modulo the online CPUs) or, when it is negative, on the next CPU round-robin.
/// `prio` is ignored: every thread has the same priority. Returns its ID, or 0 when it cannot
/// start (memory ran out, a stack size no allocation can have, thread IDs ran out, `func` not
/// in RAM: the pointer check).
#[unsafe(no_mangle)]
pub extern "C" fn sys_spawn2(
    func: extern "C" fn(usize),
    arg: usize,
    prio: u8,
    stack_size: usize,
    core_id: isize,
) -> Tid {
    let _ = prio;
    if app_memory::check(func as usize, 1, 1).is_err() {
        return 0;
    }
    sched::spawn(func, arg, stack_size, usize::try_from(core_id).ok()).unwrap_or(0)
}

/// [`sys_spawn2`] with a 1 MiB stack, storing the ID at `id` (unless null). Returns 0, or
/// minus `ENOMEM`, or minus `EFAULT`/`EINVAL` when `id` fails the pointer check (checked before
/// any thread starts).
///
/// # Safety
/// If it passes the pointer check ([`buffer`]), `id` points to memory for a `Tid` that nothing
/// else accesses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sys_spawn(
    id: *mut Tid,
    func: extern "C" fn(usize),
    arg: usize,
    prio: u8,
    core_id: isize,
) -> i32 {
    if !id.is_null() {
        if let Err(e) = buffer::check_one(id.cast_const()) {
            return zero_or_errno(Err(e));
        }
    }
    match sys_spawn2(func, arg, prio, SPAWN_STACK_SIZE, core_id) {
        0 => zero_or_errno(Err(Errno::NoMemory)),
        _ if id.is_null() => 0,
        // SAFETY: the caller's promise is what `write` asks for.
        tid => zero_or_errno(unsafe { buffer::write(id, tid) }),
    }
}

/// Waits for thread `id` to end. Returns 0 (also when it ended already, joined or not), or
/// minus `ESRCH` (no thread ever had that ID), `EDEADLK` (the caller itself) or `EINVAL` (not
/// called from a thread).
#[unsafe(no_mangle)]
pub extern "C" fn sys_join(id: Tid) -> i32 {
    zero_or_errno(sched::join(id).map_err(|e| match e {
        JoinError::NoSuchThread => Errno::NoSuchThread,
        JoinError::Itself => Errno::Deadlock,
        JoinError::NotAThread => Errno::Invalid,
    }))
}

/// Lets the other ready threads of this CPU run first.
#[unsafe(no_mangle)]
pub extern "C" fn sys_yield() {
    sched::yield_now()
}
