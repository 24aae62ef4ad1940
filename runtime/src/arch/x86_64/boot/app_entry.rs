//! The link-time contract between the runtime and the app: the app's `entry!` macro defines the
//! symbol `allstop_app_main`.

unsafe extern "Rust" {
    fn allstop_app_main() -> i32;
}

/// Runs the app's `main`, with interrupts enabled (so stop and wake IPIs reach the boot CPU), and
/// returns its status.
pub fn run_app() -> i32 {
    crate::arch::x86_64::cpu::irq::enable();
    // SAFETY: `entry!` defines `allstop_app_main` as a plain `fn() -> i32`; an image without it
    // does not link.
    unsafe { allstop_app_main() }
}
