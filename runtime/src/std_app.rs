//! Running a std app (built for `x86_64-unknown-hermit` and linked with the runtime built with
//! the `std-app` feature): the boot CPU enables SSE on every CPU, starts the app's main thread
//! (std's `runtime_entry`) on itself, and becomes an idle loop of the scheduler like the other
//! CPUs. The run ends when a thread calls `sys_exit` (std's `process::exit`, or `main`
//! returning) or `sys_abort` (a panic).

use crate::{arch, hermit, sched, smp};

/// `argv[0]` of every std app (the runtime library is shared by all of them).
pub const APP_NAME: &str = "allstop-app";

/// Stack size of the std app's main thread.
const MAIN_STACK_SIZE: usize = 4 << 20;

/// Starts the std app's main thread on the boot CPU, then runs the boot CPU's idle loop.
pub fn run() -> ! {
    smp::on_each_cpu(|_| arch::fpu::enable());
    sched::spawn(hermit::entry::std_main_thread, 0, MAIN_STACK_SIZE, Some(0))
        .expect("no memory for the std app's main thread");
    sched::idle_loop(0)
}
