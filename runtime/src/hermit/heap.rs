//! `sys_malloc` and friends: the runtime's global allocator (`alloc::alloc`) behind the Hermit
//! ABI. A request for zero bytes, or with an alignment that is not a power of two, or a size
//! that overflows `isize` once aligned, gets null instead of undefined behaviour.
//!
//! On the host (unit tests) these are plain Rust functions over the test's allocator; only the
//! kernel exports them under their C names.

use core::alloc::Layout;

use alloc::alloc as global;

use super::app_memory;

/// The layout of a `size`-byte block aligned to `align`, if the allocator may be asked for it.
fn layout(size: usize, align: usize) -> Option<Layout> {
    if size == 0 {
        return None;
    }
    Layout::from_size_align(size, align).ok()
}

/// The layout of the block an app hands back at `ptr`, if it can be one this heap handed out:
/// a valid layout whose bytes pass the pointer check ([`app_memory`]: not null, aligned, in
/// RAM), so that the allocator never writes its bookkeeping into a device page.
fn block_layout(ptr: *mut u8, size: usize, align: usize) -> Option<Layout> {
    layout(size, align).filter(|l| app_memory::check(ptr as usize, l.size(), l.align()).is_ok())
}

/// Allocates `size` bytes aligned to `align`; null if that fails or the layout is bad.
#[cfg_attr(target_os = "none", unsafe(no_mangle))]
pub extern "C" fn sys_malloc(size: usize, align: usize) -> *mut u8 {
    layout(size, align).map_or(core::ptr::null_mut(), |layout| {
        // SAFETY: `layout` has a non-zero size.
        unsafe { global::alloc(layout) }
    })
}

/// The same as [`sys_malloc`].
#[cfg_attr(target_os = "none", unsafe(no_mangle))]
pub extern "C" fn sys_alloc(size: usize, align: usize) -> *mut u8 {
    sys_malloc(size, align)
}

/// [`sys_malloc`], with the block zero-filled.
#[cfg_attr(target_os = "none", unsafe(no_mangle))]
pub extern "C" fn sys_alloc_zeroed(size: usize, align: usize) -> *mut u8 {
    layout(size, align).map_or(core::ptr::null_mut(), |layout| {
        // SAFETY: `layout` has a non-zero size.
        unsafe { global::alloc_zeroed(layout) }
    })
}

/// Resizes the `size`-byte block at `ptr` (aligned to `align`) to `new_size` bytes, keeping
/// its contents up to the smaller size. Returns the new block, or null, with the old block
/// untouched, if that fails, either layout is bad or `ptr` fails the pointer check.
///
/// # Safety
/// `ptr` came from one of these functions with this `size` and `align` and was not freed.
#[cfg_attr(target_os = "none", unsafe(no_mangle))]
pub unsafe extern "C" fn sys_realloc(
    ptr: *mut u8,
    size: usize,
    align: usize,
    new_size: usize,
) -> *mut u8 {
    match (block_layout(ptr, size, align), layout(new_size, align)) {
        // SAFETY: 1. `ptr` was allocated by the global allocator with `old` (the caller's
        // promise). 2. `new_size` is non-zero and, with `old.align()`, a valid layout (checked).
        (Some(old), Some(_)) => unsafe { global::realloc(ptr, old, new_size) },
        _ => core::ptr::null_mut(),
    }
}

/// Frees the `size`-byte block at `ptr` (aligned to `align`). Null, a zero size, a bad
/// layout or a pointer that fails the pointer check (nothing these functions handed out) is
/// ignored.
///
/// # Safety
/// Unless it is null, `ptr` came from one of these functions with this `size` and `align` and
/// was not freed.
#[cfg_attr(target_os = "none", unsafe(no_mangle))]
pub unsafe extern "C" fn sys_free(ptr: *mut u8, size: usize, align: usize) {
    if let Some(layout) = block_layout(ptr, size, align) {
        // SAFETY: `ptr` was allocated by the global allocator with `layout` and is freed once
        // (the caller's promise).
        unsafe { global::dealloc(ptr, layout) }
    }
}

/// The same as [`sys_free`].
///
/// # Safety
/// As for [`sys_free`].
#[cfg_attr(target_os = "none", unsafe(no_mangle))]
pub unsafe extern "C" fn sys_dealloc(ptr: *mut u8, size: usize, align: usize) {
    // SAFETY: the caller's promise is the one `sys_free` asks for.
    unsafe { sys_free(ptr, size, align) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_layouts_get_null() {
        // Zero size, alignment not a power of two, alignment zero, size overflowing isize.
        for (size, align) in [
            (0, 8),
            (16, 3),
            (16, 0),
            (usize::MAX, 8),
            (isize::MAX as usize, 4096),
        ] {
            assert!(sys_malloc(size, align).is_null(), "{size} bytes at {align}");
            assert!(sys_alloc(size, align).is_null(), "{size} bytes at {align}");
            assert!(
                sys_alloc_zeroed(size, align).is_null(),
                "{size} bytes at {align}"
            );
        }
    }

    #[test]
    fn a_block_is_aligned_writable_and_survives_realloc() {
        app_memory::allow_everything_for_tests();
        for align in [1, 8, 64, 4096] {
            let p = sys_malloc(100, align);
            assert!(!p.is_null());
            assert_eq!(p as usize % align, 0, "alignment {align}");
            // SAFETY: `p` is a fresh 100-byte block, resized once and freed once with the
            // sizes it has at each point.
            unsafe {
                for i in 0..100 {
                    p.add(i).write(i as u8);
                }
                let q = sys_realloc(p, 100, align, 10_000);
                assert!(!q.is_null());
                assert_eq!(q as usize % align, 0, "alignment {align} after realloc");
                for i in 0..100 {
                    assert_eq!(q.add(i).read(), i as u8, "byte {i} after growing");
                }
                let r = sys_realloc(q, 10_000, align, 50);
                assert!(!r.is_null());
                for i in 0..50 {
                    assert_eq!(r.add(i).read(), i as u8, "byte {i} after shrinking");
                }
                sys_free(r, 50, align);
            }
        }
    }

    #[test]
    fn zeroed_blocks_are_zero() {
        app_memory::allow_everything_for_tests();
        let p = sys_alloc_zeroed(4096, 16);
        assert!(!p.is_null());
        // SAFETY: `p` is a fresh, zero-filled 4096-byte block, freed once after reading.
        unsafe {
            assert!(core::slice::from_raw_parts(p, 4096).iter().all(|&b| b == 0));
            sys_dealloc(p, 4096, 16);
        }
    }

    #[test]
    fn realloc_to_a_bad_size_fails_and_keeps_the_block() {
        app_memory::allow_everything_for_tests();
        let p = sys_alloc(8, 8);
        assert!(!p.is_null());
        // SAFETY: `p` is a fresh 8-byte block; the failed reallocs leave it ours; freed once.
        unsafe {
            p.write(42);
            assert!(sys_realloc(p, 8, 8, 0).is_null());
            assert!(sys_realloc(p, 8, 8, usize::MAX).is_null());
            assert!(sys_realloc(core::ptr::null_mut(), 8, 8, 16).is_null());
            assert_eq!(p.read(), 42);
            sys_free(p, 8, 8);
        }
    }

    #[test]
    fn freeing_nothing_is_harmless() {
        app_memory::allow_everything_for_tests();
        // SAFETY: null is allowed; with a bad layout, or one that fails the pointer check
        // (page 0, misaligned), the pointer is never used.
        unsafe {
            sys_free(core::ptr::null_mut(), 8, 8);
            sys_free(core::ptr::NonNull::<u64>::dangling().as_ptr().cast(), 0, 8);
            sys_free(0x10 as *mut u8, 8, 8);
            assert!(sys_realloc(0x10 as *mut u8, 8, 8, 16).is_null());
            let p = sys_alloc(16, 8);
            assert!(sys_realloc(p.add(1), 8, 8, 16).is_null());
            sys_free(p.add(1), 8, 8);
            sys_free(p, 16, 8);
        }
    }
}
