//! Buffer arguments: a caller's `(pointer, length)` pair checked and turned into a slice.

use core::slice;

use super::errno::Errno;

/// Checks a buffer argument: an empty buffer is fine even at null; a null pointer with a length
/// is [`Errno::Fault`]; a length beyond `isize::MAX` (no Rust slice is that long) is
/// [`Errno::Invalid`].
fn check(is_null: bool, len: usize) -> Result<(), Errno> {
    if len > isize::MAX as usize {
        Err(Errno::Invalid)
    } else if is_null && len > 0 {
        Err(Errno::Fault)
    } else {
        Ok(())
    }
}

/// The `len` bytes at `ptr`, after [`check`]ing them.
///
/// # Safety
/// Unless it is null, `ptr` points to `len` initialized bytes that nothing writes to for `'a`.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Errno> {
    check(ptr.is_null(), len)?;
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: `ptr` is not null (checked) and points to `len` initialized bytes that stay
    // unchanged for `'a` (the caller's promise); `len <= isize::MAX` (checked).
    Ok(unsafe { slice::from_raw_parts(ptr, len) })
}

/// The `len` writable bytes at `ptr`, after [`check`]ing them.
///
/// # Safety
/// Unless it is null, `ptr` points to `len` bytes that only the returned slice accesses for
/// `'a` (they need not be initialized: callers only write them).
pub unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8], Errno> {
    check(ptr.is_null(), len)?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: `ptr` is not null (checked) and `len <= isize::MAX` (checked). 1. The bytes are
    // exclusively ours for `'a` (the caller's promise). 2. Zeroing first makes them initialized,
    // so the slice never exposes uninitialized memory.
    unsafe {
        ptr.write_bytes(0, len);
        Ok(slice::from_raw_parts_mut(ptr, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_buffer_comes_back_whole() {
        let data = *b"hello";
        // SAFETY: `data` lives and is unchanged for the whole test.
        let got = unsafe { bytes(data.as_ptr(), data.len()) };
        assert_eq!(got, Ok(&b"hello"[..]));
    }

    #[test]
    fn a_writable_buffer_comes_back_zeroed_and_writes_through() {
        let mut data = [0xAAu8; 4];
        // SAFETY: `data` is ours and only the returned slice touches it until it is dropped.
        let slice = unsafe { bytes_mut(data.as_mut_ptr(), data.len()) }.unwrap();
        assert_eq!(slice, &[0; 4]);
        slice[3] = 7;
        assert_eq!(data, [0, 0, 0, 7]);
    }

    #[test]
    fn null_is_fine_only_when_empty() {
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
        let byte = 0u8;
        for len in [isize::MAX as usize + 1, usize::MAX] {
            // SAFETY: the length check fails before the pointer is used.
            assert_eq!(unsafe { bytes(&byte, len) }, Err(Errno::Invalid));
            assert_eq!(check(true, len), Err(Errno::Invalid));
        }
        assert_eq!(check(false, isize::MAX as usize), Ok(()));
    }
}
