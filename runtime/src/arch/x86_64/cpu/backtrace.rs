//! Walking the return addresses on the stack by following frame pointers (kernels are built
//! with `-C force-frame-pointers=yes`). `cargo xtask run` turns them into function, file:line.

use crate::arch::x86_64::boot::paging::is_mapped;

/// Most frames walked.
const MAX_FRAMES: usize = 32;

/// The return addresses on the calling CPU's stack, innermost first (the caller's caller
/// first), at most [`MAX_FRAMES`]; the walk stops at the outermost frame (RBP 0) or at anything
/// that does not look like a frame on a mapped stack.
#[inline(always)]
pub fn return_addresses() -> impl Iterator<Item = usize> {
    let rbp: usize;
    // SAFETY: reads the frame-pointer register only.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack)) };
    Frames { rbp, walked: 0 }
}

/// The walk of [`return_addresses`].
struct Frames {
    rbp: usize,
    walked: usize,
}

impl Iterator for Frames {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let rbp = self.rbp;
        // A frame is [saved rbp, return address].
        if self.walked == MAX_FRAMES || rbp == 0 || !is_mapped(rbp) || !is_mapped(rbp + 8) {
            return None;
        }
        // SAFETY: both words are mapped (checked above) and 8-aligned; reading them has no side
        // effects.
        let (next, ret) = unsafe { (*(rbp as *const usize), *((rbp + 8) as *const usize)) };
        if ret == 0 {
            return None;
        }
        self.walked += 1;
        // Frames grow towards higher addresses as we walk out; anything else ends the chain.
        self.rbp = if next > rbp { next } else { 0 };
        Some(ret)
    }
}
