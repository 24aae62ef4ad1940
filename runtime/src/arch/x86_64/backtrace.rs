//! Printing the return addresses on the stack by following frame pointers (kernels are built
//! with `-C force-frame-pointers=yes`). `cargo xtask run` turns them into function, file:line.

use super::paging::is_mapped;
use crate::console;

/// Most frames printed.
const MAX_FRAMES: usize = 32;

/// Prints `backtrace:` and one `  #N 0x...` line per return address, starting at the caller.
pub fn print() {
    let mut rbp: usize;
    // SAFETY: reads the frame-pointer register only.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack)) };
    console::write_fmt_breaking_lock(format_args!("backtrace:\n"));
    for frame in 0..MAX_FRAMES {
        // A frame is [saved rbp, return address]; stop at the outermost (rbp 0) or anything
        // that does not look like a frame on a mapped stack.
        if rbp == 0 || !is_mapped(rbp) || !is_mapped(rbp + 8) {
            break;
        }
        // SAFETY: both words are mapped (checked above) and 8-aligned; reading them has no side
        // effects.
        let (next, ret) = unsafe { (*(rbp as *const usize), *((rbp + 8) as *const usize)) };
        if ret == 0 {
            break;
        }
        console::write_fmt_breaking_lock(format_args!("  #{frame} {ret:#018x}\n"));
        // Frames grow towards higher addresses as we walk out; anything else is a broken chain.
        if next <= rbp {
            break;
        }
        rbp = next;
    }
}
