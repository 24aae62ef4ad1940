//! Walking the return addresses on the stack by following frame pointers (kernels are built
//! with `-C force-frame-pointers=yes`). `cargo xtask run` turns them into function, file:line.

use crate::arch::x86_64::boot::paging::is_mapped;

use core::ops::Range;

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
    Walk::new(rbp, 0..usize::MAX)
}

/// Why a walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkEnd {
    /// At the outermost frame (a saved RBP of 0, or a return address of 0).
    Outermost,
    /// After [`MAX_FRAMES`] frames.
    Limit,
    /// At a frame pointer outside the stack, unmapped, misaligned, or not above the last one:
    /// a corrupt or foreign chain.
    BadFrame(usize),
}

/// A frame-pointer walk over one stack: the return addresses, innermost first. It reads only
/// 8-aligned, mapped words inside the stack range it was given, each frame above the last, at
/// most [`MAX_FRAMES`], so a corrupt chain ends the walk instead of faulting; [`Walk::end`]
/// then says why it ended.
pub struct Walk {
    rbp: usize,
    stack: Range<usize>,
    walked: usize,
    end: Option<WalkEnd>,
}

impl Walk {
    /// A walk from frame pointer `rbp` over the stack `stack` (lowest address..top).
    pub fn new(rbp: usize, stack: Range<usize>) -> Self {
        Self {
            rbp,
            stack,
            walked: 0,
            end: None,
        }
    }

    /// Why the walk ended (`None` while it has not).
    pub fn end(&self) -> Option<WalkEnd> {
        self.end
    }

    fn finish(&mut self, end: WalkEnd) -> Option<usize> {
        self.end = Some(end);
        None
    }
}

impl Iterator for Walk {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.end.is_some() {
            return None;
        }
        let rbp = self.rbp;
        if rbp == 0 {
            return self.finish(WalkEnd::Outermost);
        }
        if self.walked == MAX_FRAMES {
            return self.finish(WalkEnd::Limit);
        }
        // A frame is [saved rbp, return address].
        let inside = rbp >= self.stack.start && rbp.saturating_add(16) <= self.stack.end;
        if !inside || !rbp.is_multiple_of(8) || !is_mapped(rbp) || !is_mapped(rbp + 8) {
            return self.finish(WalkEnd::BadFrame(rbp));
        }
        // SAFETY: both words are mapped (checked above) and 8-aligned; reading them has no side
        // effects.
        let (next, ret) = unsafe { (*(rbp as *const usize), *((rbp + 8) as *const usize)) };
        if ret == 0 {
            return self.finish(WalkEnd::Outermost);
        }
        self.walked += 1;
        // Frames grow towards higher addresses as we walk out; a saved RBP of 0 ends the walk
        // at the next step, anything else not above this frame is a broken chain.
        self.rbp = if next == 0 || next > rbp {
            next
        } else {
            self.end = Some(WalkEnd::BadFrame(next));
            0
        };
        Some(ret)
    }
}
