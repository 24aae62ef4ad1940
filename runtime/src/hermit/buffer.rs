//! Pointer arguments: a caller's buffer, array or typed pointer, checked by
//! [`app_memory::check`] (size, null, alignment, wrap, page 0, RAM) and only then read, written
//! or turned into a slice.

use core::mem::{align_of, size_of};
use core::slice;

use super::app_memory;
use super::errno::Errno;

/// Most `iovec`s one `sys_writev` or `sys_readv` takes (Linux's `IOV_MAX`).
const IOV_MAX: usize = 1024;

/// Checks `count` values of type `T` at `ptr`: [`Errno::Invalid`] when their size overflows,
/// else [`app_memory::check`]'s verdict.
pub fn check_items<T>(ptr: *const T, count: usize) -> Result<(), Errno> {
    let len = count.checked_mul(size_of::<T>()).ok_or(Errno::Invalid)?;
    app_memory::check(ptr as usize, len, align_of::<T>())
}

/// Checks that a `T` may be read or written at `ptr` (not null: callers that give null a
/// meaning test for it first).
pub fn check_one<T>(ptr: *const T) -> Result<(), Errno> {
    check_items(ptr, 1)
}

/// The `count` values at `ptr`, after checking them (empty for a count of 0, whatever `ptr`).
///
/// # Safety
/// If the check passes, `ptr` points to `count` initialized values that nothing writes to for
/// `'a`.
pub unsafe fn items<'a, T>(ptr: *const T, count: usize) -> Result<&'a [T], Errno> {
    check_items(ptr, count)?;
    if count == 0 || size_of::<T>() == 0 {
        return Ok(&[]);
    }
    // SAFETY: the check passed, so `ptr` is not null, aligned and the `count * size_of::<T>()
    // <= isize::MAX` bytes lie in RAM; they are initialized and unchanging for `'a` (the
    // caller's promise).
    Ok(unsafe { slice::from_raw_parts(ptr, count) })
}

/// The `len` bytes at `ptr`, after checking them.
///
/// # Safety
/// As for [`items`].
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Errno> {
    // SAFETY: the caller's promise is what `items` asks for.
    unsafe { items(ptr, len) }
}

/// The `len` writable bytes at `ptr`, after checking them; zero-filled, and only once the check
/// passed.
///
/// # Safety
/// If the check passes, `ptr` points to `len` bytes that only the returned slice accesses for
/// `'a` (they need not be initialized: callers only write them).
pub unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8], Errno> {
    check_items(ptr, len)?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: the check passed: `ptr` is not null, the `len <= isize::MAX` bytes lie in RAM.
    // 1. They are exclusively ours for `'a` (the caller's promise). 2. Zeroing first makes
    // them initialized, so the slice never exposes uninitialized memory.
    unsafe {
        ptr.write_bytes(0, len);
        Ok(slice::from_raw_parts_mut(ptr, len))
    }
}

/// Reads the `T` at `ptr`, after checking it.
///
/// # Safety
/// If the check passes, `ptr` points to an initialized `T`.
pub unsafe fn read<T: Copy>(ptr: *const T) -> Result<T, Errno> {
    check_one(ptr)?;
    // SAFETY: the check passed (not null, aligned, in RAM); the value is initialized (the
    // caller's promise).
    Ok(unsafe { ptr.read() })
}

/// Writes `value` to `ptr`, after checking it.
///
/// # Safety
/// If the check passes, `ptr` points to memory for a `T` that nothing else accesses during the
/// call.
pub unsafe fn write<T>(ptr: *mut T, value: T) -> Result<(), Errno> {
    check_one(ptr)?;
    // SAFETY: the check passed (not null, aligned, in RAM); nothing else accesses it (the
    // caller's promise).
    unsafe { ptr.write(value) };
    Ok(())
}

/// The `iovcnt` `iovec`s at `iov`, after checking the array (not each buffer it names):
/// [`Errno::Invalid`] for more than [`IOV_MAX`] of them.
///
/// # Safety
/// As for [`items`].
pub unsafe fn iovecs<'a>(
    iov: *const hermit_abi::iovec,
    iovcnt: usize,
) -> Result<&'a [hermit_abi::iovec], Errno> {
    if iovcnt > IOV_MAX {
        return Err(Errno::Invalid);
    }
    // SAFETY: the caller's promise is what `items` asks for.
    unsafe { items(iov, iovcnt) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_buffer_comes_back_whole() {
        app_memory::allow_everything_for_tests();
        let data = *b"hello";
        // SAFETY: `data` lives and is unchanged for the whole test.
        let got = unsafe { bytes(data.as_ptr(), data.len()) };
        assert_eq!(got, Ok(&b"hello"[..]));
    }

    #[test]
    fn a_writable_buffer_comes_back_zeroed_and_writes_through() {
        app_memory::allow_everything_for_tests();
        let mut data = [0xAAu8; 4];
        // SAFETY: `data` is ours and only the returned slice touches it until it is dropped.
        let slice = unsafe { bytes_mut(data.as_mut_ptr(), data.len()) }.unwrap();
        assert_eq!(slice, &[0; 4]);
        slice[3] = 7;
        assert_eq!(data, [0, 0, 0, 7]);
    }

    #[test]
    fn null_is_fine_only_when_empty() {
        app_memory::allow_everything_for_tests();
        // SAFETY: null pointers are the case under test; nothing is dereferenced.
        unsafe {
            assert_eq!(bytes(core::ptr::null(), 0), Ok(&[][..]));
            assert_eq!(bytes(core::ptr::null(), 1), Err(Errno::Fault));
            assert_eq!(bytes_mut(core::ptr::null_mut(), 0).map(|s| s.len()), Ok(0));
            assert_eq!(
                bytes_mut(core::ptr::null_mut(), 8).map(|s| s.len()),
                Err(Errno::Fault)
            );
        }
    }

    #[test]
    fn lengths_beyond_isize_max_are_invalid_before_anything_is_touched() {
        app_memory::allow_everything_for_tests();
        let byte = 0u8;
        for len in [isize::MAX as usize + 1, usize::MAX] {
            // SAFETY: the length check fails before the pointer is used.
            assert_eq!(unsafe { bytes(&byte, len) }, Err(Errno::Invalid));
        }
    }

    #[test]
    fn array_sizes_that_overflow_are_invalid() {
        app_memory::allow_everything_for_tests();
        let word = 0u64;
        for count in [usize::MAX / 8 + 1, usize::MAX] {
            // SAFETY: the size check fails before the pointer is used.
            assert_eq!(unsafe { items(&word, count) }, Err(Errno::Invalid));
        }
        // SAFETY: the count check fails before the pointer is used.
        let too_many = unsafe { iovecs(core::ptr::NonNull::dangling().as_ptr(), IOV_MAX + 1) };
        assert_eq!(too_many.map(<[_]>::len), Err(Errno::Invalid));
    }

    #[test]
    fn typed_pointers_are_read_and_written_only_when_aligned() {
        app_memory::allow_everything_for_tests();
        let mut words = [0u64; 2];
        let base = words.as_mut_ptr();
        // SAFETY: `base` points to `words`, ours for the test; the misaligned pointer is
        // refused before it is used.
        unsafe {
            assert_eq!(write(base.add(1), 42), Ok(()));
            assert_eq!(read(base.add(1)), Ok(42));
            let odd = base.cast::<u8>().add(1).cast::<u64>();
            assert_eq!(write(odd, 7), Err(Errno::Invalid));
            assert_eq!(read(odd), Err(Errno::Invalid));
        }
        assert_eq!(words, [0, 42]);
    }
}
