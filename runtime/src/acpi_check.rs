//! Validating the host's ACPI tables before anything else reads them. The `acpi` crate (5.2)
//! trusts lengths and pointers: a MADT entry of length 0 loops forever, a table shorter than
//! its header underflows, a null pointer panics. So the whole chain the runtime uses (RSDP, the
//! root table, every table it lists, the MADT's entries, the FADT's DSDT) is checked here first,
//! through [`PhysMemory`], which host tests implement over byte buffers.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::memory::{covered, identity_mapped, MemoryRegion};
use crate::topology::MadtCpu;

/// Reads physical memory. The validator only asks for ranges it has checked: inside the
/// identity map and inside the memory map (or the BIOS area, for the RSDP).
pub trait PhysMemory {
    /// Fills `out` with the bytes at physical address `addr`.
    fn read(&self, addr: u64, out: &mut [u8]);
}

impl<F: Fn(u64, &mut [u8])> PhysMemory for F {
    fn read(&self, addr: u64, out: &mut [u8]) {
        self(addr, out)
    }
}

/// Length of the header every system description table starts with.
pub const SDT_HEADER_LEN: u32 = 36;
/// Length of an ACPI 1.0 RSDP (the part its checksum covers).
const RSDP_V1_LEN: u32 = 20;
/// Length of an ACPI 2.0+ RSDP; its `length` field may not be below it.
const RSDP_V2_LEN: u32 = 36;
/// Longest RSDP accepted (its extended checksum covers `length` bytes).
const RSDP_MAX_LEN: u32 = 4096;
/// The MADT's fixed part: the header, the local APIC address and the flags.
pub const MADT_HEADER_LEN: u32 = 44;
/// Shortest possible MADT entry: its type and length bytes.
const MADT_ENTRY_MIN: u8 = 2;
/// Longest table accepted (real DSDTs are well below 1 MiB).
pub const MAX_TABLE_LEN: u32 = 4 << 20;
/// Most tables a root table may list.
pub const MAX_ROOT_ENTRIES: usize = 256;
/// Most MADT entries accepted (a few per CPU).
pub const MAX_MADT_ENTRIES: usize = 8192;
/// The BIOS read-only area, where an RSDP may be found (or given) outside the memory map.
const BIOS_AREA: (u64, u64) = (0xE_0000, 0x10_0000);
/// Where the BIOS data area keeps the EBDA's segment.
const EBDA_SEGMENT_PTR: u64 = 0x40E;
/// How much of the EBDA the RSDP search looks at.
const EBDA_SEARCH_LEN: u64 = 1024;

/// MADT entry types the runtime reads, and the length each needs.
const MADT_LOCAL_APIC: u8 = 0;
const MADT_LOCAL_APIC_LEN: u8 = 8;
const MADT_LOCAL_X2APIC: u8 = 9;
const MADT_LOCAL_X2APIC_LEN: u8 = 16;
/// The xAPIC and x2APIC broadcast IDs: no CPU has them.
const XAPIC_BROADCAST: u32 = 0xFF;
const X2APIC_BROADCAST: u32 = 0xFFFF_FFFF;

/// The minimum FADT length for a revision: the fields the `acpi` crate reads at that revision.
fn fadt_min_len(revision: u8) -> u32 {
    match revision {
        0..=1 => 116,
        2..=4 => 244,
        5 => 268,
        _ => 276,
    }
}

/// What is wrong with a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The pointer to it is 0.
    Null,
    /// `len` bytes at `addr` run past the identity-mapped low 4 GiB.
    Unmapped {
        /// First byte.
        addr: u64,
        /// Bytes needed.
        len: u64,
    },
    /// `len` bytes at `addr` lie outside every memory-map entry.
    NotInMemoryMap {
        /// First byte.
        addr: u64,
        /// Bytes needed.
        len: u64,
    },
    /// Its signature is not the expected one.
    Signature,
    /// Its bytes do not sum to 0.
    Checksum {
        /// What they sum to.
        sum: u8,
    },
    /// An RSDP revision that names no root table.
    Revision(u8),
    /// Its length is below the minimum.
    Short {
        /// Its length.
        len: u32,
        /// The minimum.
        min: u32,
    },
    /// Its length is above the cap.
    Long {
        /// Its length.
        len: u32,
        /// The cap.
        max: u32,
    },
    /// The root table's entries do not divide its length.
    Ragged {
        /// Its length.
        len: u32,
    },
    /// More entries than the cap.
    TooManyEntries {
        /// The cap.
        max: usize,
    },
    /// A MADT entry shorter than its type needs.
    EntryShort {
        /// Its offset in the table.
        offset: u32,
        /// Its length byte.
        len: u8,
        /// What its type needs.
        min: u8,
    },
    /// A MADT entry that runs past the table's end.
    EntryPastEnd {
        /// Its offset in the table.
        offset: u32,
        /// Its length byte (1: the length byte itself is missing).
        len: u8,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Problem::Null => write!(f, "null pointer"),
            Problem::Unmapped { addr, len } => write!(
                f,
                "{len} bytes at {addr:#x} run past the identity-mapped low 4 GiB"
            ),
            Problem::NotInMemoryMap { addr, len } => {
                write!(f, "{len} bytes at {addr:#x} lie outside the memory map")
            }
            Problem::Signature => write!(f, "wrong signature"),
            Problem::Checksum { sum } => {
                write!(f, "bad checksum (bytes sum to {sum:#04x}, not 0)")
            }
            Problem::Revision(r) => write!(f, "unknown revision {r}"),
            Problem::Short { len, min } => write!(f, "length {len} is below {min}"),
            Problem::Long { len, max } => write!(f, "length {len} is above the cap of {max}"),
            Problem::Ragged { len } => write!(f, "length {len} leaves a partial entry"),
            Problem::TooManyEntries { max } => write!(f, "more than {max} entries"),
            Problem::EntryShort { offset, len, min } => {
                write!(f, "entry at offset {offset} has length {len} (below {min})")
            }
            Problem::EntryPastEnd { offset, len } => write!(
                f,
                "entry at offset {offset} with length {len} runs past the table's end"
            ),
        }
    }
}

/// A table that failed validation: which, where, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// Its signature (`RSD ` for the RSDP).
    pub signature: [u8; 4],
    /// Its physical address.
    pub addr: u64,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match &self.signature {
            b"RSD " => "RSDP",
            b"APIC" => "MADT",
            b"FACP" => "FADT",
            other => {
                for &b in other {
                    let c = if b.is_ascii_graphic() { b as char } else { '?' };
                    f.write_fmt(format_args!("{c}"))?;
                }
                ""
            }
        };
        write!(f, "{name} at {:#x}: {}", self.addr, self.problem)
    }
}

/// What validation found: the RSDP to hand to the `acpi` crate and the MADT's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validated {
    /// The RSDP's address.
    pub rsdp: u64,
    /// The first MADT's bytes, if the root table lists one (every MADT listed is checked).
    pub madt: Option<Vec<u8>>,
}

/// Checks the tables the RSDP at `rsdp` leads to against `map`.
pub fn validate(
    mem: &impl PhysMemory,
    map: &[MemoryRegion],
    rsdp: u64,
) -> Result<Validated, Rejected> {
    let (root_sig, root_addr, entry_len) = check_rsdp(mem, map, rsdp)?;
    let root = read_table(mem, map, root_addr, Some(root_sig), SDT_HEADER_LEN)?;
    let reject = |problem| Rejected {
        signature: root_sig,
        addr: root_addr,
        problem,
    };
    let entries = &root[SDT_HEADER_LEN as usize..];
    if entries.len() % entry_len != 0 {
        return Err(reject(Problem::Ragged {
            len: root.len() as u32,
        }));
    }
    if entries.len() / entry_len > MAX_ROOT_ENTRIES {
        return Err(reject(Problem::TooManyEntries {
            max: MAX_ROOT_ENTRIES,
        }));
    }
    let mut madt = None;
    for entry in entries.chunks_exact(entry_len) {
        let mut pointer = [0; 8];
        pointer[..entry_len].copy_from_slice(entry);
        let addr = u64::from_le_bytes(pointer);
        let table = read_table(mem, map, addr, None, SDT_HEADER_LEN)?;
        match &table[..4] {
            // Every MADT is checked (a second one is as suspect as the first); the first is used.
            b"APIC" => {
                check_madt(&table).map_err(|problem| Rejected {
                    signature: *b"APIC",
                    addr,
                    problem,
                })?;
                madt.get_or_insert(table);
            }
            b"FACP" => check_fadt(mem, map, addr, &table)?,
            _ => {}
        }
    }
    Ok(Validated { rsdp, madt })
}

/// Checks the RSDP; returns the root table's signature, address and entry size.
fn check_rsdp(
    mem: &impl PhysMemory,
    map: &[MemoryRegion],
    addr: u64,
) -> Result<([u8; 4], u64, usize), Rejected> {
    let reject = |problem| Rejected {
        signature: *b"RSD ",
        addr,
        problem,
    };
    check_range(map, addr, RSDP_V2_LEN.into(), true).map_err(reject)?;
    let mut head = [0; RSDP_V2_LEN as usize];
    mem.read(addr, &mut head);
    if &head[..8] != b"RSD PTR " {
        return Err(reject(Problem::Signature));
    }
    checksum(&head[..RSDP_V1_LEN as usize]).map_err(reject)?;
    match head[15] {
        0 => {
            let rsdt = u32::from_le_bytes(head[16..20].try_into().unwrap_or_default());
            Ok((*b"RSDT", rsdt.into(), 4))
        }
        1 => Err(reject(Problem::Revision(1))),
        _ => {
            let len = u32::from_le_bytes(head[20..24].try_into().unwrap_or_default());
            if len < RSDP_V2_LEN {
                return Err(reject(Problem::Short {
                    len,
                    min: RSDP_V2_LEN,
                }));
            }
            if len > RSDP_MAX_LEN {
                return Err(reject(Problem::Long {
                    len,
                    max: RSDP_MAX_LEN,
                }));
            }
            check_range(map, addr, len.into(), true).map_err(reject)?;
            let mut whole = vec![0; len as usize];
            mem.read(addr, &mut whole);
            checksum(&whole).map_err(reject)?;
            let xsdt = u64::from_le_bytes(head[24..32].try_into().unwrap_or_default());
            Ok((*b"XSDT", xsdt, 8))
        }
    }
}

/// Checks that `len` bytes at `addr` may be read: not null, identity-mapped, and in the memory
/// map (or, when `bios_area_ok`, in the BIOS read-only area).
fn check_range(
    map: &[MemoryRegion],
    addr: u64,
    len: u64,
    bios_area_ok: bool,
) -> Result<(), Problem> {
    if addr == 0 {
        return Err(Problem::Null);
    }
    if !identity_mapped(addr, len) {
        return Err(Problem::Unmapped { addr, len });
    }
    let in_bios_area = addr >= BIOS_AREA.0 && addr + len <= BIOS_AREA.1;
    let readable = covered(map, addr, len) || (bios_area_ok && in_bios_area);
    if !readable {
        return Err(Problem::NotInMemoryMap { addr, len });
    }
    Ok(())
}

/// `Ok` if `bytes` sum to 0.
fn checksum(bytes: &[u8]) -> Result<(), Problem> {
    match bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b)) {
        0 => Ok(()),
        sum => Err(Problem::Checksum { sum }),
    }
}

/// Reads the table at `addr` after checking its address, header, length (at least `min`,
/// at most [`MAX_TABLE_LEN`]), signature (when `expected`) and checksum.
fn read_table(
    mem: &impl PhysMemory,
    map: &[MemoryRegion],
    addr: u64,
    expected: Option<[u8; 4]>,
    min: u32,
) -> Result<Vec<u8>, Rejected> {
    let mut signature = expected.unwrap_or(*b"????");
    let reject = |signature, problem| Rejected {
        signature,
        addr,
        problem,
    };
    check_range(map, addr, SDT_HEADER_LEN.into(), false).map_err(|p| reject(signature, p))?;
    let mut header = [0; SDT_HEADER_LEN as usize];
    mem.read(addr, &mut header);
    let found: [u8; 4] = header[..4].try_into().unwrap_or_default();
    if expected.is_some_and(|e| e != found) {
        return Err(reject(signature, Problem::Signature));
    }
    signature = found;
    let len = u32::from_le_bytes(header[4..8].try_into().unwrap_or_default());
    let min = min.max(SDT_HEADER_LEN);
    if len < min {
        return Err(reject(signature, Problem::Short { len, min }));
    }
    if len > MAX_TABLE_LEN {
        return Err(reject(
            signature,
            Problem::Long {
                len,
                max: MAX_TABLE_LEN,
            },
        ));
    }
    check_range(map, addr, len.into(), false).map_err(|p| reject(signature, p))?;
    let mut table = vec![0; len as usize];
    mem.read(addr, &mut table);
    checksum(&table).map_err(|p| reject(signature, p))?;
    Ok(table)
}

/// Checks the FADT at `addr` (its bytes `fadt`): long enough for its revision, and its DSDT, if
/// it names one, a sound table.
fn check_fadt(
    mem: &impl PhysMemory,
    map: &[MemoryRegion],
    addr: u64,
    fadt: &[u8],
) -> Result<(), Rejected> {
    let revision = fadt[8];
    let min = fadt_min_len(revision);
    if (fadt.len() as u64) < u64::from(min) {
        return Err(Rejected {
            signature: *b"FACP",
            addr,
            problem: Problem::Short {
                len: fadt.len() as u32,
                min,
            },
        });
    }
    // As the `acpi` crate picks it: X_DSDT from revision 2 on when set, else DSDT.
    let x_dsdt = match revision {
        0..=1 => 0,
        _ => u64::from_le_bytes(fadt[140..148].try_into().unwrap_or_default()),
    };
    let dsdt = match x_dsdt {
        0 => u32::from_le_bytes(fadt[40..44].try_into().unwrap_or_default()).into(),
        x => x,
    };
    if dsdt != 0 {
        read_table(mem, map, dsdt, Some(*b"DSDT"), SDT_HEADER_LEN)?;
    }
    Ok(())
}

/// One MADT entry: where it is in the table, its type and its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MadtEntry {
    /// Its offset from the table's start.
    pub offset: u32,
    /// Its type byte.
    pub kind: u8,
    /// Its length byte (at least 2, and it ends inside the table).
    pub len: u8,
}

/// Walks the entries of the MADT `table` (its whole bytes, header included). Yields each entry,
/// or one error and then nothing: an entry shorter than 2 bytes (or than its type needs),
/// running past the end, or more than [`MAX_MADT_ENTRIES`]. Nothing at all for a table shorter
/// than [`MADT_HEADER_LEN`].
pub fn madt_entries(table: &[u8]) -> impl Iterator<Item = Result<MadtEntry, Problem>> + '_ {
    let mut offset = MADT_HEADER_LEN as usize;
    let mut count = 0;
    let mut failed = false;
    core::iter::from_fn(move || {
        if failed || offset >= table.len() {
            return None;
        }
        let result = next_madt_entry(table, offset, count);
        match result {
            Ok(entry) => {
                offset += usize::from(entry.len);
                count += 1;
            }
            Err(_) => failed = true,
        }
        Some(result)
    })
}

/// The entry at `offset` (below `table.len()`), the `count`th.
fn next_madt_entry(table: &[u8], offset: usize, count: usize) -> Result<MadtEntry, Problem> {
    let at = offset as u32;
    if count == MAX_MADT_ENTRIES {
        return Err(Problem::TooManyEntries {
            max: MAX_MADT_ENTRIES,
        });
    }
    let kind = table[offset];
    let Some(&len) = table.get(offset + 1) else {
        return Err(Problem::EntryPastEnd { offset: at, len: 1 });
    };
    let min = match kind {
        MADT_LOCAL_APIC => MADT_LOCAL_APIC_LEN,
        MADT_LOCAL_X2APIC => MADT_LOCAL_X2APIC_LEN,
        _ => MADT_ENTRY_MIN,
    };
    if len < min {
        return Err(Problem::EntryShort {
            offset: at,
            len,
            min,
        });
    }
    if offset + usize::from(len) > table.len() {
        return Err(Problem::EntryPastEnd { offset: at, len });
    }
    Ok(MadtEntry {
        offset: at,
        kind,
        len,
    })
}

/// Checks the MADT's length and every entry.
fn check_madt(table: &[u8]) -> Result<(), Problem> {
    if table.len() < MADT_HEADER_LEN as usize {
        return Err(Problem::Short {
            len: table.len() as u32,
            min: MADT_HEADER_LEN,
        });
    }
    madt_entries(table).try_for_each(|e| e.map(drop))
}

/// The processors a (validated) MADT lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MadtCpus {
    /// Local APIC and local x2APIC entries, in table order.
    pub cpus: Vec<MadtCpu>,
    /// Entries left out because they carry the broadcast ID (0xFF, or 0xFFFFFFFF for x2APIC).
    pub broadcast: usize,
}

/// The processor entries of `table`, without those that name the broadcast ID. Stops at the
/// first bad entry ([`validate`] rejected such a table already).
pub fn madt_cpus(table: &[u8]) -> MadtCpus {
    let mut out = MadtCpus::default();
    for entry in madt_entries(table).map_while(Result::ok) {
        let bytes = &table[entry.offset as usize..][..usize::from(entry.len)];
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
        let (apic_id, flags, broadcast) = match entry.kind {
            MADT_LOCAL_APIC => (bytes[3].into(), word(4), XAPIC_BROADCAST),
            MADT_LOCAL_X2APIC => (word(4), word(8), X2APIC_BROADCAST),
            _ => continue,
        };
        if apic_id == broadcast {
            out.broadcast += 1;
        } else {
            out.cpus.push(MadtCpu { apic_id, flags });
        }
    }
    out
}

/// Searches the BIOS areas for an RSDP with a valid ACPI 1.0 checksum: the EBDA's first KiB,
/// then `0xE0000..0x100000`, on 16-byte boundaries.
pub fn find_rsdp(mem: &impl PhysMemory) -> Option<u64> {
    let mut segment = [0; 2];
    mem.read(EBDA_SEGMENT_PTR, &mut segment);
    let ebda = u64::from(u16::from_le_bytes(segment)) << 4;
    // The EBDA, when the pointer is sane, lies just below 640 KiB.
    let ebda_area = (0x8_0000..0xA_0000)
        .contains(&ebda)
        .then_some((ebda, ebda + EBDA_SEARCH_LEN));
    ebda_area
        .into_iter()
        .chain([BIOS_AREA])
        .flat_map(|(start, end)| (start..end).step_by(16))
        .find(|&addr| {
            let mut probe = [0; RSDP_V1_LEN as usize];
            mem.read(addr, &mut probe);
            &probe[..8] == b"RSD PTR " && checksum(&probe).is_ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::RegionKind;

    /// Where the synthetic firmware area lies, and its size.
    const BASE: u64 = 0x0FFE_0000;
    const SIZE: u64 = 0x2_0000;
    const RSDP: u64 = BASE;
    const XSDT: u64 = BASE + 0x100;
    const MADT: u64 = BASE + 0x1000;
    const FADT: u64 = BASE + 0x2000;
    const DSDT: u64 = BASE + 0x3000;

    /// Physical memory made of byte buffers at addresses; anything else reads as zeros.
    struct Mem(Vec<(u64, Vec<u8>)>);

    impl PhysMemory for Mem {
        fn read(&self, addr: u64, out: &mut [u8]) {
            for (i, byte) in out.iter_mut().enumerate() {
                let at = addr + i as u64;
                *byte = self
                    .0
                    .iter()
                    .rev()
                    .find(|(start, b)| (*start..*start + b.len() as u64).contains(&at))
                    .map_or(0, |(start, b)| b[(at - start) as usize]);
            }
        }
    }

    fn map() -> Vec<MemoryRegion> {
        vec![
            MemoryRegion {
                start: 0x10_0000,
                len: BASE - 0x10_0000,
                kind: RegionKind::Ram,
            },
            MemoryRegion {
                start: BASE,
                len: SIZE,
                kind: RegionKind::Reserved,
            },
        ]
    }

    /// Sets byte 9 so that `bytes` sum to 0 (for tables) or byte `at` (for the RSDP).
    fn fix_checksum(bytes: &mut [u8], at: usize, over: usize) {
        bytes[at] = 0;
        let sum = bytes[..over].iter().fold(0u8, |s, &b| s.wrapping_add(b));
        bytes[at] = sum.wrapping_neg();
    }

    /// A system description table: header (with length and checksum right) then `body`.
    fn sdt(signature: &[u8; 4], revision: u8, body: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(signature);
        t.extend_from_slice(&(36 + body.len() as u32).to_le_bytes());
        t.push(revision);
        t.push(0);
        t.extend_from_slice(b"ALLSTPTESTTABLE"[..14].as_ref());
        t.extend_from_slice(&[0; 12]);
        t.extend_from_slice(body);
        let len = t.len();
        fix_checksum(&mut t, 9, len);
        t
    }

    fn rsdp_v2(xsdt: u64) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(b"RSD PTR ");
        r.push(0);
        r.extend_from_slice(b"ALLSTP");
        r.push(2);
        r.extend_from_slice(&0u32.to_le_bytes());
        r.extend_from_slice(&36u32.to_le_bytes());
        r.extend_from_slice(&xsdt.to_le_bytes());
        r.extend_from_slice(&[0; 4]);
        fix_checksum(&mut r, 8, 20);
        fix_checksum(&mut r, 32, 36);
        r
    }

    fn rsdp_v1(rsdt: u32) -> Vec<u8> {
        let mut r = rsdp_v2(0);
        r[15] = 0;
        r[16..20].copy_from_slice(&rsdt.to_le_bytes());
        r.truncate(20);
        fix_checksum(&mut r, 8, 20);
        r
    }

    fn xsdt(entries: &[u64]) -> Vec<u8> {
        let body: Vec<u8> = entries.iter().flat_map(|e| e.to_le_bytes()).collect();
        sdt(b"XSDT", 1, &body)
    }

    fn local_apic(apic_id: u8, flags: u32) -> Vec<u8> {
        let mut e = vec![0, 8, apic_id, apic_id];
        e.extend_from_slice(&flags.to_le_bytes());
        e
    }

    fn local_x2apic(apic_id: u32, flags: u32) -> Vec<u8> {
        let mut e = vec![9, 16, 0, 0];
        e.extend_from_slice(&apic_id.to_le_bytes());
        e.extend_from_slice(&flags.to_le_bytes());
        e.extend_from_slice(&apic_id.to_le_bytes());
        e
    }

    fn madt(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut body = vec![0, 0, 0xE0, 0xFE, 1, 0, 0, 0];
        body.extend(entries.iter().flatten());
        sdt(b"APIC", 3, &body)
    }

    fn fadt(revision: u8, dsdt: u64) -> Vec<u8> {
        let mut body = vec![0; fadt_min_len(revision) as usize - 36];
        body[40 - 36..44 - 36].copy_from_slice(&(dsdt as u32).to_le_bytes());
        if revision >= 2 {
            body[140 - 36..148 - 36].copy_from_slice(&dsdt.to_le_bytes());
        }
        sdt(b"FACP", revision, &body)
    }

    fn io_apic() -> Vec<u8> {
        vec![1, 12, 0, 0, 0, 0, 0xC0, 0xFE, 0, 0, 0, 0]
    }

    /// A sound machine: RSDP 2.0 -> XSDT -> MADT (CPUs 0 and 1, an I/O APIC) and FADT -> DSDT.
    fn good() -> Vec<(u64, Vec<u8>)> {
        vec![
            (RSDP, rsdp_v2(XSDT)),
            (XSDT, xsdt(&[MADT, FADT])),
            (MADT, madt(&[local_apic(0, 1), local_apic(1, 1), io_apic()])),
            (FADT, fadt(3, DSDT)),
            (DSDT, sdt(b"DSDT", 2, b"\x08_S5_\x12\x04\x01\x00")),
        ]
    }

    /// `good()` with the table at `addr` replaced.
    fn with(addr: u64, bytes: Vec<u8>) -> Mem {
        let mut tables = good();
        tables.retain(|(a, _)| *a != addr);
        tables.push((addr, bytes));
        Mem(tables)
    }

    fn check(mem: &Mem) -> Result<Validated, Rejected> {
        validate(mem, &map(), RSDP)
    }

    fn problem(mem: &Mem) -> (String, Problem) {
        let r = check(mem).expect_err("the tables must be rejected");
        (r.to_string(), r.problem)
    }

    #[test]
    fn a_sound_machine_passes_and_gives_its_cpus() {
        let v = check(&Mem(good())).unwrap();
        assert_eq!(v.rsdp, RSDP);
        let cpus = madt_cpus(&v.madt.unwrap());
        assert_eq!(
            cpus.cpus,
            vec![
                MadtCpu {
                    apic_id: 0,
                    flags: 1
                },
                MadtCpu {
                    apic_id: 1,
                    flags: 1
                }
            ]
        );
        assert_eq!(cpus.broadcast, 0);
    }

    #[test]
    fn an_acpi_1_machine_passes_through_its_rsdt() {
        let mut tables = good();
        let rsdt_body: Vec<u8> = [MADT as u32, FADT as u32]
            .iter()
            .flat_map(|e| e.to_le_bytes())
            .collect();
        tables[0] = (RSDP, rsdp_v1(XSDT as u32));
        tables[1] = (XSDT, sdt(b"RSDT", 1, &rsdt_body));
        tables[3] = (FADT, fadt(1, DSDT));
        assert!(check(&Mem(tables)).unwrap().madt.is_some());
    }

    #[test]
    fn bad_rsdps_are_rejected() {
        let mut bad_sum = rsdp_v2(XSDT);
        bad_sum[8] ^= 1;
        let (text, p) = problem(&with(RSDP, bad_sum));
        assert!(matches!(p, Problem::Checksum { .. }), "{p:?}");
        assert!(
            text.starts_with("RSDP at 0xffe0000: bad checksum"),
            "{text}"
        );

        let mut bad_extended = rsdp_v2(XSDT);
        bad_extended[33] ^= 1;
        assert!(matches!(
            problem(&with(RSDP, bad_extended)).1,
            Problem::Checksum { .. }
        ));

        let mut revision_1 = rsdp_v2(XSDT);
        revision_1[15] = 1;
        fix_checksum(&mut revision_1, 8, 20);
        assert_eq!(problem(&with(RSDP, revision_1)).1, Problem::Revision(1));

        let mut short = rsdp_v2(XSDT);
        short[20] = 24;
        fix_checksum(&mut short, 32, 36);
        assert_eq!(
            problem(&with(RSDP, short)).1,
            Problem::Short { len: 24, min: 36 }
        );

        let mut long = rsdp_v2(XSDT);
        long[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(problem(&with(RSDP, long)).1, Problem::Long { .. }));

        let mut signature = rsdp_v2(XSDT);
        signature[0] = b'X';
        assert_eq!(problem(&with(RSDP, signature)).1, Problem::Signature);
    }

    #[test]
    fn rsdp_addresses_outside_the_identity_map_or_the_memory_map_are_rejected() {
        let mem = Mem(good());
        let err = |rsdp| validate(&mem, &map(), rsdp).unwrap_err().problem;
        assert_eq!(err(0), Problem::Null);
        assert_eq!(
            err(5 << 30),
            Problem::Unmapped {
                addr: 5 << 30,
                len: 36
            }
        );
        assert_eq!(
            err((4 << 30) - 8),
            Problem::Unmapped {
                addr: (4 << 30) - 8,
                len: 36
            }
        );
        assert_eq!(
            err(u64::MAX - 4),
            Problem::Unmapped {
                addr: u64::MAX - 4,
                len: 36
            }
        );
        assert!(matches!(err(0x5000), Problem::NotInMemoryMap { .. }));
    }

    #[test]
    fn bad_root_tables_are_rejected() {
        let mut short = xsdt(&[]);
        short[4] = 20;
        let (text, p) = problem(&with(XSDT, short));
        assert_eq!(p, Problem::Short { len: 20, min: 36 });
        assert!(
            text.starts_with("XSDT at 0xffe0100: length 20 is below 36"),
            "{text}"
        );

        let mut bad_sum = xsdt(&[MADT, FADT]);
        bad_sum[40] ^= 0x80;
        assert!(matches!(
            problem(&with(XSDT, bad_sum)).1,
            Problem::Checksum { .. }
        ));

        let mut ragged = xsdt(&[MADT]);
        ragged.extend_from_slice(&[0, 0, 0]);
        ragged[4] = ragged.len() as u8;
        let len = ragged.len();
        fix_checksum(&mut ragged, 9, len);
        assert_eq!(
            problem(&with(XSDT, ragged)).1,
            Problem::Ragged { len: len as u32 }
        );

        let many = xsdt(&[MADT; MAX_ROOT_ENTRIES + 1]);
        assert_eq!(
            problem(&with(XSDT, many)).1,
            Problem::TooManyEntries {
                max: MAX_ROOT_ENTRIES
            }
        );

        let mut wrong = xsdt(&[MADT]);
        wrong[..4].copy_from_slice(b"RSDT");
        fix_checksum(&mut wrong, 9, 44);
        assert_eq!(problem(&with(XSDT, wrong)).1, Problem::Signature);
    }

    #[test]
    fn bad_table_pointers_are_rejected() {
        let (text, p) = problem(&with(XSDT, xsdt(&[MADT, 0])));
        assert_eq!(p, Problem::Null);
        assert_eq!(text, "???? at 0x0: null pointer");
        assert!(matches!(
            problem(&with(XSDT, xsdt(&[1 << 40]))).1,
            Problem::Unmapped { .. }
        ));
        assert!(matches!(
            problem(&with(XSDT, xsdt(&[0x10_0000 - 0x10]))).1,
            Problem::NotInMemoryMap { .. }
        ));
        // A table whose header is in the map but whose length runs out of it.
        let mut tail = sdt(b"SSDT", 1, &[]);
        tail[4..8].copy_from_slice(&0x1000u32.to_le_bytes());
        let end = BASE + SIZE - 36;
        let mut tables = good();
        tables.push((end, tail));
        tables[1] = (XSDT, xsdt(&[MADT, end]));
        assert!(matches!(
            problem(&Mem(tables)).1,
            Problem::NotInMemoryMap { len: 0x1000, .. }
        ));
    }

    #[test]
    fn short_long_and_corrupt_tables_are_rejected() {
        let mut short = madt(&[]);
        short[4] = 30;
        fix_checksum(&mut short, 9, 30);
        assert_eq!(
            problem(&with(MADT, short)).1,
            Problem::Short { len: 30, min: 36 }
        );

        let short_madt = sdt(b"APIC", 3, &[0; 4]);
        let (text, p) = problem(&with(MADT, short_madt));
        assert_eq!(p, Problem::Short { len: 40, min: 44 });
        assert_eq!(text, "MADT at 0xffe1000: length 40 is below 44");

        let mut bad_sum = madt(&[local_apic(0, 1)]);
        bad_sum[45] ^= 1;
        let (text, p) = problem(&with(MADT, bad_sum));
        assert!(matches!(p, Problem::Checksum { .. }));
        assert!(
            text.starts_with("MADT at 0xffe1000: bad checksum"),
            "{text}"
        );

        let mut long = madt(&[]);
        long[4..8].copy_from_slice(&(MAX_TABLE_LEN + 1).to_le_bytes());
        assert!(matches!(problem(&with(MADT, long)).1, Problem::Long { .. }));
    }

    #[test]
    fn bad_madt_entries_are_rejected() {
        let cases = [
            (
                vec![0, 0],
                Problem::EntryShort {
                    offset: 44,
                    len: 0,
                    min: 8,
                },
            ),
            (
                vec![4, 0, 0, 0],
                Problem::EntryShort {
                    offset: 44,
                    len: 0,
                    min: 2,
                },
            ),
            (
                vec![4, 1],
                Problem::EntryShort {
                    offset: 44,
                    len: 1,
                    min: 2,
                },
            ),
            (
                vec![0, 2],
                Problem::EntryShort {
                    offset: 44,
                    len: 2,
                    min: 8,
                },
            ),
            (
                vec![9, 8, 0, 0, 0, 0, 0, 0],
                Problem::EntryShort {
                    offset: 44,
                    len: 8,
                    min: 16,
                },
            ),
            (
                vec![4, 6, 0, 0],
                Problem::EntryPastEnd { offset: 44, len: 6 },
            ),
            (vec![4], Problem::EntryPastEnd { offset: 44, len: 1 }),
        ];
        for (entry, expected) in cases {
            let got = problem(&with(MADT, madt(std::slice::from_ref(&entry)))).1;
            assert_eq!(got, expected, "entry {entry:?}");
        }
        let after_a_good_one = madt(&[local_apic(0, 1), vec![4, 0]]);
        assert_eq!(
            problem(&with(MADT, after_a_good_one)).1,
            Problem::EntryShort {
                offset: 52,
                len: 0,
                min: 2
            }
        );
        // A second MADT is checked too.
        let mut tables = good();
        tables.push((MADT + 0x800, madt(&[vec![4, 0]])));
        tables[1] = (XSDT, xsdt(&[MADT, FADT, MADT + 0x800]));
        assert_eq!(
            problem(&Mem(tables)).1,
            Problem::EntryShort {
                offset: 44,
                len: 0,
                min: 2
            }
        );
        let too_many = madt(&vec![vec![4, 2]; MAX_MADT_ENTRIES + 1]);
        assert_eq!(
            problem(&with(MADT, too_many)).1,
            Problem::TooManyEntries {
                max: MAX_MADT_ENTRIES
            }
        );
    }

    #[test]
    fn bad_fadts_and_dsdts_are_rejected() {
        let mut short_fadt = fadt(3, DSDT);
        short_fadt.truncate(200);
        short_fadt[4] = 200;
        fix_checksum(&mut short_fadt, 9, 200);
        assert_eq!(
            problem(&with(FADT, short_fadt)).1,
            Problem::Short { len: 200, min: 244 }
        );

        let mut short_dsdt = sdt(b"DSDT", 2, &[]);
        short_dsdt[4] = 20;
        fix_checksum(&mut short_dsdt, 9, 20);
        let (text, p) = problem(&with(DSDT, short_dsdt));
        assert_eq!(p, Problem::Short { len: 20, min: 36 });
        assert_eq!(text, "DSDT at 0xffe3000: length 20 is below 36");

        let mut bad_sum = sdt(b"DSDT", 2, b"\x08_S5_");
        bad_sum[37] ^= 1;
        assert!(matches!(
            problem(&with(DSDT, bad_sum)).1,
            Problem::Checksum { .. }
        ));

        // A FADT without a DSDT is fine; one pointing past the identity map is not.
        assert!(check(&with(FADT, fadt(3, 0))).is_ok());
        assert!(matches!(
            problem(&with(FADT, fadt(3, 8 << 30))).1,
            Problem::Unmapped { .. }
        ));
    }

    #[test]
    fn broadcast_apic_ids_are_left_out() {
        let table = madt(&[
            local_apic(0, 1),
            local_apic(0xFF, 1),
            local_x2apic(0xFFFF_FFFF, 1),
            local_x2apic(300, 1),
        ]);
        let cpus = madt_cpus(&table);
        assert_eq!(cpus.broadcast, 2);
        let ids: Vec<u32> = cpus.cpus.iter().map(|c| c.apic_id).collect();
        assert_eq!(ids, vec![0, 300]);
    }

    #[test]
    fn the_bios_area_search_finds_a_checksummed_rsdp() {
        let mut bad = rsdp_v1(XSDT as u32);
        bad[8] ^= 1;
        let mem = Mem(vec![(0xE_0010, bad), (0xF_5250, rsdp_v1(XSDT as u32))]);
        assert_eq!(find_rsdp(&mem), Some(0xF_5250));
        let ebda = Mem(vec![
            (EBDA_SEGMENT_PTR, vec![0x00, 0x9F]),
            (0x9_F000 + 0x40, rsdp_v1(XSDT as u32)),
            (0xF_5250, rsdp_v1(XSDT as u32)),
        ]);
        assert_eq!(find_rsdp(&ebda), Some(0x9_F040));
        assert_eq!(find_rsdp(&Mem(vec![])), None);
        // Found in the BIOS area, it needs no memory-map entry.
        let mut tables = good();
        tables[0] = (0xF_5250, rsdp_v2(XSDT));
        assert!(validate(&Mem(tables), &map(), 0xF_5250).is_ok());
    }

    /// Re-sums `bytes` (a table of `good()`, or the RSDP at index 0) after a mutation, over
    /// what its (possibly mutated) length field says, as far as the bytes go.
    fn resum(index: usize, bytes: &mut [u8]) {
        if index == 0 {
            fix_checksum(bytes, 8, 20);
            fix_checksum(bytes, 32, 36);
        } else {
            let len = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
            fix_checksum(bytes, 9, len.min(bytes.len()));
        }
    }

    proptest::proptest! {
        /// Mutated machines (bytes changed anywhere, checksums re-summed or not): validation
        /// never panics, and a MADT it accepts walks without an error.
        #[test]
        fn mutated_tables_never_get_past_validation_broken(
            mutations in proptest::collection::vec(
                (0usize..5, 0usize..300, proptest::prelude::any::<u8>(), proptest::prelude::any::<bool>()),
                1..6,
            )
        ) {
            let mut tables = good();
            for (index, at, byte, fix) in mutations {
                let bytes = &mut tables[index].1;
                let at = at % bytes.len();
                bytes[at] = byte;
                if fix {
                    resum(index, bytes);
                }
            }
            if let Ok(Validated { madt: Some(madt), .. }) = check(&Mem(tables)) {
                proptest::prop_assert!(madt_entries(&madt).all(|e| e.is_ok()));
            }
        }
    }
}
