//! From the loader to Rust and back: the PVH entry, the AP trampoline and park stub, the page
//! tables, and the warm restart's image and survivor record.

pub mod ap_start;
pub mod app_entry;
pub mod boot_cpu;
pub mod kept_acpi;
mod low_page;
pub(in crate::arch) mod paging;
mod park_stub;
pub(in crate::arch) mod pvh;
mod pvh_entry;
pub mod survivor;
mod trampoline;
pub mod warm;

pub use pvh::StartInfo;
pub use pvh_entry::entry_tsc;

unsafe extern "C" {
    /// First byte after the kernel image, `.bss` included (from `allstop.ld`).
    static __image_end: u8;
}

/// Physical (= virtual) address of the first byte after the kernel image.
pub(in crate::arch) fn image_end() -> usize {
    (&raw const __image_end) as usize
}
