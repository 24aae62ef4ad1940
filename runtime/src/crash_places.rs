//! Where the other CPUs were at a crash: for each CPU the crash's stop called stopped, the
//! instruction its stop interrupted and its innermost return addresses. A fixed table, one
//! entry per CPU index, that a warm restart keeps in `.persistent`: every field is valid as
//! all-zero bytes (no places), and nothing read back from it can index out of bounds.
//!
//! It names nothing else in the crate: the survivor record (in `arch`) holds it.

/// CPUs whose places the table keeps: the first ones by index. The crash record is copied
/// whole (`restart::last_crash`), on stacks of 64 KiB or less, so it stays at ~12 KiB even
/// though the runtime runs up to 1,024 CPUs; the stop report the restarted run prints shows
/// every CPU.
pub const PLACE_CPUS: usize = 256;
/// Return addresses kept per CPU (the innermost ones).
pub const PLACE_FRAMES: usize = 4;

/// One CPU's entry (all zero: no place).
#[derive(Clone, Copy)]
struct Entry {
    /// Whether the entry holds a place.
    present: bool,
    /// The interrupted instruction.
    rip: u64,
    /// Return addresses, innermost first; `frame_count` of them are valid.
    frames: [u64; PLACE_FRAMES],
    frame_count: u8,
}

impl Entry {
    const NONE: Self = Self {
        present: false,
        rip: 0,
        frames: [0; PLACE_FRAMES],
        frame_count: 0,
    };
}

/// Every CPU's place at a crash, by CPU index.
#[derive(Clone, Copy)]
pub struct CrashPlaces([Entry; PLACE_CPUS]);

impl CrashPlaces {
    /// No places (all zero).
    pub const NONE: Self = Self([Entry::NONE; PLACE_CPUS]);

    /// Records that CPU `cpu` was interrupted at `rip`, with the return addresses `frames`
    /// (innermost first; the first [`PLACE_FRAMES`] are kept, the rest are not read). A CPU
    /// index past the table is ignored.
    pub fn record(&mut self, cpu: usize, rip: u64, frames: impl IntoIterator<Item = u64>) {
        let Some(entry) = self.0.get_mut(cpu) else {
            return;
        };
        *entry = Entry::NONE;
        for (slot, address) in entry.frames.iter_mut().zip(frames) {
            *slot = address;
            entry.frame_count += 1;
        }
        entry.rip = rip;
        entry.present = true;
    }

    /// The recorded places, by CPU index.
    pub fn iter(&self) -> impl Iterator<Item = CpuPlace<'_>> {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.present)
            .map(|(cpu, entry)| CpuPlace {
                cpu: cpu as u32,
                rip: entry.rip,
                frames: &entry.frames[..usize::from(entry.frame_count).min(PLACE_FRAMES)],
            })
    }
}

/// Where one CPU was when a crash's stop stopped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuPlace<'a> {
    /// The CPU's index.
    pub cpu: u32,
    /// The instruction its stop vector or stop NMI interrupted.
    pub rip: u64,
    /// The interrupted code's return addresses, innermost first (at most [`PLACE_FRAMES`];
    /// fewer where the frame chain ended).
    pub frames: &'a [u64],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_table_has_no_places() {
        assert_eq!(CrashPlaces::NONE.iter().count(), 0);
    }

    #[test]
    fn places_come_by_cpu_with_their_innermost_frames() {
        let mut places = CrashPlaces::NONE;
        places.record(3, 0x30, [0x31, 0x32]);
        places.record(1, 0x10, 0x11..0x20);
        places.record(PLACE_CPUS - 1, 0xf0, []);
        let got: Vec<CpuPlace<'_>> = places.iter().collect();
        assert_eq!(
            got,
            [
                CpuPlace {
                    cpu: 1,
                    rip: 0x10,
                    frames: &[0x11, 0x12, 0x13, 0x14]
                },
                CpuPlace {
                    cpu: 3,
                    rip: 0x30,
                    frames: &[0x31, 0x32]
                },
                CpuPlace {
                    cpu: (PLACE_CPUS - 1) as u32,
                    rip: 0xf0,
                    frames: &[]
                },
            ]
        );
    }

    #[test]
    fn recording_a_cpu_again_replaces_its_place() {
        let mut places = CrashPlaces::NONE;
        places.record(2, 0x20, [1, 2, 3, 4]);
        places.record(2, 0x22, [5]);
        let got: Vec<CpuPlace<'_>> = places.iter().collect();
        assert_eq!(
            got,
            [CpuPlace {
                cpu: 2,
                rip: 0x22,
                frames: &[5]
            }]
        );
    }

    #[test]
    fn a_cpu_past_the_table_is_ignored() {
        let mut places = CrashPlaces::NONE;
        places.record(PLACE_CPUS, 0x10, [1]);
        assert_eq!(places.iter().count(), 0);
    }

    #[test]
    fn the_frame_walk_is_read_no_further_than_kept() {
        let mut places = CrashPlaces::NONE;
        let mut read = 0;
        let walk = core::iter::from_fn(|| {
            read += 1;
            Some(read)
        });
        places.record(0, 0x1, walk);
        assert_eq!(read, PLACE_FRAMES as u64);
    }
}
