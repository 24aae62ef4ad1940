//! Starting a std app (built for `x86_64-unknown-hermit` and linked with the runtime built with
//! the `std-app` feature): the boot CPU enables SSE on every CPU, starts the app's main thread
//! on itself, and becomes an idle loop of the scheduler like the other CPUs. The main thread
//! calls std's `runtime_entry(argc, argv, envp)` with the app's arguments and environment from
//! the boot command line. The run ends when a thread calls `sys_exit` (std's `process::exit`,
//! or `main` returning) or `sys_abort` (a panic).
//!
//! The app's part of the command line (after ` -- `) is split at ASCII whitespace, like the kernel options; words of the form
//! `env:KEY=VALUE` go to the environment (as `KEY=VALUE`), the others are the arguments after
//! `argv[0]`, the app's name.

use alloc::boxed::Box;
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::c_char;

use wire::split::words;

/// `argv[0]` of every std app (the runtime library is shared by all of them).
#[cfg(all(target_os = "none", feature = "std-app"))]
const APP_NAME: &str = "allstop-app";

/// Stack size of the std app's main thread.
#[cfg(all(target_os = "none", feature = "std-app"))]
const MAIN_STACK_SIZE: usize = 4 << 20;

/// Prefix of the words that set an environment variable.
const ENV_PREFIX: &str = "env:";

/// The app's arguments (without `argv[0]`) and environment entries, from its command line.
fn split(app_args: &str) -> (Vec<&str>, Vec<&str>) {
    let mut args = Vec::new();
    let mut env = Vec::new();
    for word in words(app_args).map(|word| word.text) {
        match word.strip_prefix(ENV_PREFIX) {
            Some(entry) if entry.contains('=') => env.push(entry),
            _ => args.push(word),
        }
    }
    (args, env)
}

/// A null-terminated array of C strings that lives for the rest of the run (std keeps
/// pointers into it). A word with a NUL byte in it (impossible on a command line) is cut there.
fn leak_c_strings<'a>(words: impl IntoIterator<Item = &'a str>) -> &'static [*const c_char] {
    let mut pointers: Vec<*const c_char> = words
        .into_iter()
        .map(|w| {
            let bytes = w.split('\0').next().unwrap_or_default();
            CString::new(bytes)
                .unwrap_or_default()
                .into_raw()
                .cast_const()
        })
        .collect();
    pointers.push(core::ptr::null());
    Box::leak(pointers.into_boxed_slice())
}

#[cfg(all(target_os = "none", feature = "std-app"))]
unsafe extern "C" {
    /// std's entry for `x86_64-unknown-hermit`: sets up the environment, runs `main`, then
    /// calls `sys_exit` with its status.
    fn runtime_entry(argc: i32, argv: *const *const c_char, envp: *const *const c_char) -> !;
}

/// The runtime's app entry when it is linked with a std app (feature `std-app`): starts the
/// std app's main thread on the boot CPU, then runs the boot CPU's idle loop.
#[cfg(all(target_os = "none", feature = "std-app"))]
#[unsafe(export_name = "allstop_app_main")]
fn std_app_main() -> i32 {
    crate::smp::on_each_cpu(|_| crate::arch::fpu::enable());
    crate::sched::spawn(std_main_thread, 0, MAIN_STACK_SIZE, Some(0))
        .expect("no memory for the std app's main thread");
    crate::sched::idle_loop(stop::CpuIndex::BOOT)
}

/// The std app's main thread: calls `runtime_entry` with [`APP_NAME`] and the command line's app
/// arguments. `_arg` is unused (it is a thread entry).
#[cfg(all(target_os = "none", feature = "std-app"))]
extern "C" fn std_main_thread(_arg: usize) {
    let (args, env) = split(crate::app_args());
    let argc = i32::try_from(args.len() + 1).unwrap_or(i32::MAX);
    let argv = leak_c_strings(core::iter::once(APP_NAME).chain(args));
    let envp = leak_c_strings(env);
    // SAFETY: 1. argv and envp are null-terminated arrays of NUL-terminated strings that live
    // for the rest of the run; argc counts argv's strings. 2. the image holds std's
    // `runtime_entry` (std apps only link with the runtime built with `std-app`). 3. this runs
    // on a scheduler thread with its own TLS block and SSE enabled, as std expects.
    unsafe { runtime_entry(argc, argv.as_ptr(), envp.as_ptr()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_words_are_split_from_the_arguments() {
        let (args, env) = split("  8 env:RUST_MIN_STACK=65536 --fast env:A=b=c env:bare x=1 ");
        assert_eq!(args, ["8", "--fast", "env:bare", "x=1"]);
        assert_eq!(env, ["RUST_MIN_STACK=65536", "A=b=c"]);
        assert_eq!(split(""), (vec![], vec![]));
        // Only ASCII whitespace separates words, as in the kernel options: a no-break space
        // (U+00A0) is part of a word.
        assert_eq!(split("a\u{a0}b\tc"), (vec!["a\u{a0}b", "c"], vec![]));
    }

    #[test]
    fn c_string_arrays_end_in_null() {
        let array = leak_c_strings(["ab", "c"]);
        assert_eq!(array.len(), 3);
        assert!(array[2].is_null());
        // SAFETY: the first two entries are leaked, NUL-terminated strings.
        let first = unsafe { core::ffi::CStr::from_ptr(array[0]) };
        assert_eq!(first.to_bytes(), b"ab");
    }
}
