//! How an app plugs into the runtime.

/// Names the app's entry point: `allstop::entry!(main);` with `fn main() -> i32`.
///
/// The runtime boots, then calls `main` on the boot CPU; its return value is the exit status
/// (0 success; keep app statuses in 1..=100 — 101 and 102 mean a panic).
///
/// ```ignore
/// #![no_std]
/// #![no_main]
/// allstop::entry!(main);
///
/// fn main() -> i32 {
///     allstop::println!("hi");
///     0
/// }
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
