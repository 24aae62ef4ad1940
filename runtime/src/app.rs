//! How an app plugs into the runtime.

/// Names the app's entry point: `allstop::entry!(main);` with `fn main() -> i32`.
///
/// The runtime boots, then calls `main` on the boot CPU; its return value is the exit status
/// (0 success; keep app statuses in 1..=100 — 101 and 102 mean a panic).
///
/// # Examples
///
/// An app's `src/main.rs` is a `#![no_std]`, `#![no_main]` crate (README, *Writing an app*)
/// whose entry point is named so:
///
/// ```no_run
/// allstop::entry!(app_main);
///
/// fn app_main() -> i32 {
///     // `allstop::println!` writes to the serial console (in the kernel build).
///     0 // the exit status
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(export_name = "allstop_app_main")]
        fn __allstop_app_main() -> i32 {
            let main: fn() -> i32 = $main;
            main()
        }
    };
}
