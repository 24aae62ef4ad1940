//! Reading Xen's `hvm_start_info`, which QEMU's PVH loader hands to the kernel.

use core::fmt;
use core::mem::size_of;

use crate::memory::{identity_mapped, MemoryRegion, RegionKind};

/// `hvm_start_info.magic`.
const HVM_START_MAGIC: u32 = 0x336e_c578;

/// Layout of `hvm_start_info` (xen/include/public/arch-x86/hvm/start_info.h).
#[repr(C)]
struct HvmStartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

/// One entry of the PVH memory map (E820 types).
#[repr(C)]
struct HvmMemmapEntry {
    addr: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

/// E820 type of usable RAM.
const E820_RAM: u32 = 1;
/// Longest boot command line we keep.
pub const CMDLINE_MAX: usize = wire::exit::CMDLINE_MAX;
/// Most memory-map entries we keep.
pub const MEMMAP_MAX: usize = 32;

/// What the boot CPU keeps from `hvm_start_info` (copied: the loader's copy lives in RAM that the
/// heap may later own). All-zero bytes are a valid (empty) value, so it can live in memory that is
/// zeroed rather than initialised (the warm-restart survivor record).
#[derive(Clone, Copy)]
pub struct StartInfo {
    /// The boot command line bytes (up to [`CMDLINE_MAX`]).
    pub cmdline: [u8; CMDLINE_MAX],
    /// Valid bytes in `cmdline`.
    pub cmdline_len: usize,
    /// Whether the command line was longer than [`CMDLINE_MAX`] and got cut.
    pub cmdline_truncated: bool,
    /// Physical address of the ACPI RSDP, 0 if the loader gave none.
    pub rsdp: usize,
    /// Memory map.
    pub memmap: [MemoryRegion; MEMMAP_MAX],
    /// Valid entries in `memmap`.
    pub memmap_len: usize,
    /// Entries the loader's map had (more than `memmap_len` when some were dropped).
    pub memmap_entries: usize,
}

impl StartInfo {
    /// Nothing known (all zero bytes).
    pub const EMPTY: Self = Self {
        cmdline: [0; CMDLINE_MAX],
        cmdline_len: 0,
        cmdline_truncated: false,
        rsdp: 0,
        memmap: [MemoryRegion::EMPTY; MEMMAP_MAX],
        memmap_len: 0,
        memmap_entries: 0,
    };

    /// The RSDP address, if the loader gave one.
    pub fn rsdp(&self) -> Option<usize> {
        (self.rsdp != 0).then_some(self.rsdp)
    }
}

/// Why `hvm_start_info` cannot be used.
#[derive(Clone, Copy, Debug)]
pub enum BadStartInfo {
    /// The structure lies outside the identity map.
    Outside(u64),
    /// Its magic is wrong: not a PVH loader, or something overwrote it.
    Magic(u32),
    /// A field points (with the bytes read there) outside the identity map.
    Pointer {
        /// The field's name.
        field: &'static str,
        /// Its value.
        paddr: u64,
    },
}

impl fmt::Display for BadStartInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BadStartInfo::Outside(paddr) => write!(
                f,
                "hvm_start_info at {paddr:#x} lies outside the identity-mapped low 4 GiB"
            ),
            BadStartInfo::Magic(magic) => write!(
                f,
                "bad hvm_start_info magic {magic:#x}: not booted by a PVH loader, or the boot \
                 information was overwritten (a boot command line of more than {} bytes can do \
                 that)",
                CMDLINE_MAX
            ),
            BadStartInfo::Pointer { field, paddr } => write!(
                f,
                "hvm_start_info.{field} = {paddr:#x} points outside the identity-mapped low 4 GiB"
            ),
        }
    }
}

/// `Ok` if `len` bytes at `paddr` are identity-mapped, else the error naming `field`.
fn mapped(field: &'static str, paddr: u64, len: usize) -> Result<(), BadStartInfo> {
    match identity_mapped(paddr, len as u64) {
        true => Ok(()),
        false => Err(BadStartInfo::Pointer { field, paddr }),
    }
}

/// Copies what the kernel needs out of `hvm_start_info`.
///
/// # Safety
/// `paddr` must be the physical address the PVH loader passed in `ebx`, identity-mapped, with the
/// structures it points to intact.
pub unsafe fn read(paddr: usize) -> Result<StartInfo, BadStartInfo> {
    if !identity_mapped(paddr as u64, size_of::<HvmStartInfo>() as u64) {
        return Err(BadStartInfo::Outside(paddr as u64));
    }
    // SAFETY: the caller guarantees `paddr` points to a `hvm_start_info`, which lies in the
    // identity map (checked above).
    let info = unsafe { &*(paddr as *const HvmStartInfo) };
    if info.magic != HVM_START_MAGIC {
        return Err(BadStartInfo::Magic(info.magic));
    }
    // Every byte read below lies in the identity map (no fault before the IDT), however long
    // the loader's string or map would be.
    let memmap_count = (info.memmap_entries as usize).min(MEMMAP_MAX);
    if info.cmdline_paddr != 0 {
        mapped("cmdline_paddr", info.cmdline_paddr, CMDLINE_MAX + 1)?;
    }
    if info.version >= 1 && info.memmap_paddr != 0 {
        let len = memmap_count * size_of::<HvmMemmapEntry>();
        mapped("memmap_paddr", info.memmap_paddr, len)?;
    }
    // The RSDP is only read after ACPI validation, which checks its address.
    let mut out = StartInfo {
        rsdp: info.rsdp_paddr as usize,
        ..StartInfo::EMPTY
    };
    if info.cmdline_paddr != 0 {
        let mut p = info.cmdline_paddr as *const u8;
        loop {
            // SAFETY: the loader's command line is a NUL-terminated string; we stop at its NUL
            // or after `CMDLINE_MAX + 1` bytes, all identity-mapped (checked above).
            let byte = unsafe { p.read() };
            if byte == 0 {
                break;
            }
            if out.cmdline_len == CMDLINE_MAX {
                out.cmdline_truncated = true;
                break;
            }
            out.cmdline[out.cmdline_len] = byte;
            out.cmdline_len += 1;
            // SAFETY: still inside the string: the byte just read was not its NUL.
            p = unsafe { p.add(1) };
        }
    }
    // memmap fields exist from version 1 on.
    if info.version >= 1 && info.memmap_paddr != 0 {
        let entries = info.memmap_paddr as *const HvmMemmapEntry;
        for i in 0..memmap_count {
            // SAFETY: the loader's table has `memmap_entries` entries; `i` is below that and
            // below `MEMMAP_MAX`, and those entries are identity-mapped (checked above).
            let e = unsafe { &*entries.add(i) };
            out.memmap[i] = MemoryRegion {
                start: e.addr,
                len: e.size,
                kind: if e.kind == E820_RAM {
                    RegionKind::Ram
                } else {
                    RegionKind::Reserved
                },
            };
        }
        out.memmap_len = memmap_count;
        out.memmap_entries = info.memmap_entries as usize;
    }
    Ok(out)
}
