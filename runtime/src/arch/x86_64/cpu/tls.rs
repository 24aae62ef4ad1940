//! Thread-local storage for std apps: each thread gets a copy of the image's TLS template
//! (`.tdata`, then zeroed `.tbss`, from `allstop.ld`) laid out as x86_64's "variant II": the
//! block ends at the thread pointer (FS base), whose first word points to itself (the TCB that
//! `%fs:0` reads). Code built with the static relocation model reaches its thread-locals at
//! fixed negative offsets from FS base.

use alloc::alloc::{alloc_zeroed, dealloc, Layout};

unsafe extern "C" {
    /// First byte of the TLS template (`.tdata`), from `allstop.ld`.
    static __tls_start: u8;
    /// End of the initialized part (`.tdata`).
    static __tdata_end: u8;
    /// End of the template (`.tbss` included).
    static __tls_end: u8;
    /// Alignment of the TLS segment: the symbol's address is its value.
    static __tls_align: u8;
}

/// Size of the thread control block after the TLS data: its self pointer.
const TCB_SIZE: usize = 8;

/// The TLS template's size, initialized size and alignment.
fn template() -> (usize, usize, usize) {
    let start = &raw const __tls_start as usize;
    let tdata_end = &raw const __tdata_end as usize;
    let end = &raw const __tls_end as usize;
    let align = (&raw const __tls_align as usize).max(TCB_SIZE);
    (end - start, tdata_end - start, align)
}

/// One thread's TLS block, freed on drop.
pub struct TlsBlock {
    base: *mut u8,
    layout: Layout,
    /// FS base of the owning thread (the TCB).
    thread_pointer: u64,
}

// SAFETY: the block is plain memory owned by this value; only its thread touches the contents.
unsafe impl Send for TlsBlock {}
// SAFETY: shared references only read `thread_pointer`.
unsafe impl Sync for TlsBlock {}

impl TlsBlock {
    /// A fresh block: the template's `.tdata` copied, `.tbss` zeroed, the TCB pointing to
    /// itself; `None` when the heap is exhausted.
    pub fn new() -> Option<Self> {
        let (size, init, align) = template();
        let data = size.next_multiple_of(align);
        let layout = Layout::from_size_align(data + TCB_SIZE, align).expect("TLS layout");
        // SAFETY: `layout` has a non-zero size (at least the TCB).
        let base = unsafe { alloc_zeroed(layout) };
        if base.is_null() {
            return None;
        }
        // Variant II: the data ends where the TCB starts; `data - size` bytes of padding come
        // first so that the TCB (the thread pointer) is aligned.
        let data_start = data - size;
        let tcb = base as usize + data;
        // SAFETY: 1. the template's `init` bytes are immutable image data. 2. `base + data_start
        // .. base + data` and the TCB word lie inside the fresh, exclusively owned allocation;
        // the TCB is 8-aligned (`align >= 8`).
        unsafe {
            core::ptr::copy_nonoverlapping(&raw const __tls_start, base.add(data_start), init);
            (tcb as *mut u64).write(tcb as u64);
        }
        Some(Self {
            base,
            layout,
            thread_pointer: tcb as u64,
        })
    }

    /// The FS base its thread runs with.
    pub fn thread_pointer(&self) -> u64 {
        self.thread_pointer
    }
}

impl Drop for TlsBlock {
    fn drop(&mut self) {
        // SAFETY: `base` came from `alloc_zeroed` with `layout`; the owning thread has ended
        // (the scheduler drops its block only then).
        unsafe { dealloc(self.base, self.layout) }
    }
}
