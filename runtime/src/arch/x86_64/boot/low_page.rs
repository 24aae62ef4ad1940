//! Writing code into the low pages APs start in (the trampoline, the park stub).

/// Copies `image` to `dest`, writing only the bytes that differ. Under TCG a write into a page
/// QEMU has translated code from drops those translations, even when it writes the same byte:
/// copying the trampoline whole at every warm restart made each AP's start 340 us instead of
/// 60 us here (smp 2), the largest part of the restart. On hardware it is only a compare.
///
/// # Safety
/// 1. `dest .. dest + image.len()` must be identity-mapped RAM that nothing else uses.
/// 2. No CPU may be executing there.
pub unsafe fn write_changed(image: &[u8], dest: usize) {
    for (i, &byte) in image.iter().enumerate() {
        let at = (dest + i) as *mut u8;
        // SAFETY: `at` is inside the range the caller gives to this function (1), which no
        // CPU executes (2); volatile, since APs read the page without the compiler's knowledge.
        unsafe {
            if at.read_volatile() != byte {
                at.write_volatile(byte);
            }
        }
    }
}
