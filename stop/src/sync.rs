//! The atomics the protocol core uses: `core`'s normally, `loom`'s under `--cfg loom`, so the
//! loom models check this very code. Loom's atomics are not `const`-constructible, hence the two
//! macros that drop `const` (and build arrays at run time) under loom only.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// Declares a `const fn`, or a plain `fn` under loom.
#[cfg(not(loom))]
macro_rules! const_unless_loom {
    ($(#[$meta:meta])* $vis:vis fn $($rest:tt)*) => { $(#[$meta])* $vis const fn $($rest)* };
}
/// Declares a `const fn`, or a plain `fn` under loom.
#[cfg(loom)]
macro_rules! const_unless_loom {
    ($(#[$meta:meta])* $vis:vis fn $($rest:tt)*) => { $(#[$meta])* $vis fn $($rest)* };
}

/// `[value; N]` for a non-`Copy` value: an inline-const array, or `from_fn` under loom.
#[cfg(not(loom))]
macro_rules! array_of {
    ($value:expr; $len:expr) => {
        [const { $value }; $len]
    };
}
/// `[value; N]` for a non-`Copy` value: an inline-const array, or `from_fn` under loom.
#[cfg(loom)]
macro_rules! array_of {
    ($value:expr; $len:expr) => {
        core::array::from_fn(|_| $value)
    };
}
