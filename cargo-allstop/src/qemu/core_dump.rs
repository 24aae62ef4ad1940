//! A gdb-ready core of the guest at its panic's stop: QEMU writes the ELF core
//! (`dump-guest-memory` over QMP) while the panicking CPU waits (`panic.wait_for_core=1`), then
//! each stopped CPU's registers in the core are replaced by the ones its stop interrupted (from
//! the kernel's stop report), so that gdb shows every CPU where it was, not inside the stop
//! handler.
//!
//! Why QEMU's dump rather than one the guest writes itself: QEMU already writes an ELF core
//! with a thread (`NT_PRSTATUS` note) per vCPU in a fraction of a second, while streaming guest
//! memory over the serial console would take minutes; xtask owns the QEMU process anyway.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};
use wire::core_dump::CoreDump as CoreDumpLine;
use wire::frames::{self, Interrupted};

/// The kernel option that makes a panic wait for the dump.
pub const KERNEL_OPTION: &str = "panic.wait_for_core=1";
/// How long QEMU may take to answer a QMP command (the dump of a large guest included).
const QMP_TIMEOUT: Duration = Duration::from_secs(120);

/// ELF program header type of a note segment.
const PT_NOTE: u32 = 4;
/// Note type of a thread's registers.
const NT_PRSTATUS: u32 = 1;
/// Offset of `pr_pid` in x86_64's `elf_prstatus` (QEMU writes the CPU index plus one).
const PRSTATUS_PID: usize = 32;
/// Offset of `pr_reg` (a `user_regs_struct`) in x86_64's `elf_prstatus`.
const PRSTATUS_REGS: usize = 112;
/// Register names in `user_regs_struct` order, as the kernel's report names them (`None`: a
/// register the report does not give, left as QEMU wrote it).
const USER_REGS: [Option<&str>; 21] = [
    Some("r15"),
    Some("r14"),
    Some("r13"),
    Some("r12"),
    Some("rbp"),
    Some("rbx"),
    Some("r11"),
    Some("r10"),
    Some("r9"),
    Some("r8"),
    Some("rax"),
    Some("rcx"),
    Some("rdx"),
    Some("rsi"),
    Some("rdi"),
    None, // orig_rax
    Some("rip"),
    None, // cs
    Some("rflags"),
    Some("rsp"),
    None, // ss
];

/// Where a run's core goes, and the QMP socket QEMU listens on for it.
#[derive(Clone, Debug)]
pub struct CoreDump {
    /// The core file.
    pub file: PathBuf,
    /// QEMU's QMP socket.
    pub socket: PathBuf,
}

impl CoreDump {
    /// A dump to `file` (made absolute: QEMU writes it), with a fresh socket path.
    pub fn new(file: &Path) -> Result<Self> {
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let file = std::path::absolute(file)
            .with_context(|| format!("bad core file path {}", file.display()))?;
        let socket = std::env::temp_dir().join(format!(
            "allstop-qmp-{}-{}.sock",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        ));
        Ok(Self { file, socket })
    }

    /// QEMU's `-qmp` argument.
    pub fn qmp_argument(&self) -> String {
        format!("unix:{},server=on,wait=off", self.socket.display())
    }

    /// Writes the core (QEMU dumps, then the stopped CPUs get their interrupted registers from
    /// `serial`, the console so far) and returns how many CPUs' registers were replaced.
    pub fn take(&self, serial: &str) -> Result<usize> {
        // QEMU creates the file read-only for its owner: an old one would stop it.
        match fs::remove_file(&self.file) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(err).with_context(|| format!("cannot replace {}", self.file.display()))
            }
            _ => {}
        }
        let mut qmp = Qmp::connect(&self.socket)?;
        qmp.execute("qmp_capabilities", json!({}))?;
        let protocol = format!("file:{}", self.file.display());
        qmp.execute(
            "dump-guest-memory",
            json!({ "paging": false, "protocol": protocol }),
        )?;
        fs::set_permissions(&self.file, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot open {} for writing", self.file.display()))?;
        rewrite_registers(&self.file, &interrupted_registers(serial))
    }
}

impl Drop for CoreDump {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.socket);
    }
}

/// A QMP connection.
struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connects and reads QEMU's greeting.
    fn connect(socket: &Path) -> Result<Self> {
        let stream = UnixStream::connect(socket)
            .with_context(|| format!("cannot connect to QEMU's QMP socket {}", socket.display()))?;
        stream.set_read_timeout(Some(QMP_TIMEOUT))?;
        let mut qmp = Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        };
        let greeting = qmp.read()?;
        ensure!(
            greeting.get("QMP").is_some(),
            "not a QMP greeting: {greeting}"
        );
        Ok(qmp)
    }

    fn read(&mut self) -> Result<Value> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            bail!("QEMU closed its QMP socket");
        }
        serde_json::from_str(&line).with_context(|| format!("bad QMP message {line:?}"))
    }

    /// Runs `command` and returns its result; events on the way are skipped.
    fn execute(&mut self, command: &str, arguments: Value) -> Result<Value> {
        let request = json!({ "execute": command, "arguments": arguments });
        writeln!(self.writer, "{request}")?;
        loop {
            let reply = self.read()?;
            if let Some(result) = reply.get("return") {
                return Ok(result.clone());
            }
            if let Some(error) = reply.get("error") {
                bail!("QEMU refused {command}: {error}");
            }
        }
    }
}

/// Whether the guest said it waits for the dump (`core-dump: ready`) in `serial`.
pub fn is_ready(serial: &str) -> bool {
    serial
        .lines()
        .any(|line| CoreDumpLine::parse(line.trim_end_matches('\r')) == Ok(CoreDumpLine::Ready))
}

/// The registers each stopped CPU's stop interrupted, by CPU index, from the report's blocks:
/// a heading (`cpu N was interrupted (...):`) and three lines of `name=0x..` words.
pub fn interrupted_registers(serial: &str) -> BTreeMap<usize, BTreeMap<String, u64>> {
    let mut cpus = BTreeMap::new();
    let mut lines = serial.lines().map(|l| l.trim_end_matches('\r'));
    while let Some(line) = lines.next() {
        let Ok(heading) = Interrupted::parse(line) else {
            continue;
        };
        let registers = lines
            .by_ref()
            .take(3)
            .flat_map(frames::registers)
            .map(|(name, value)| (name.to_string(), value))
            .collect();
        cpus.insert(heading.cpu as usize, registers);
    }
    cpus
}

/// Replaces, in the core `file`, the registers of each thread whose CPU is in `cpus` (a
/// thread's CPU index is its `pr_pid` less one); returns how many threads changed.
fn rewrite_registers(file: &Path, cpus: &BTreeMap<usize, BTreeMap<String, u64>>) -> Result<usize> {
    let mut core = OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .with_context(|| format!("cannot open {}", file.display()))?;
    let mut header = [0u8; 64];
    core.read_exact(&mut header)?;
    ensure!(
        &header[..5] == b"\x7fELF\x02" && u16_at(&header, 16) == 4,
        "{} is not a 64-bit ELF core",
        file.display()
    );
    let (phoff, phentsize, phnum) = (
        u64_at(&header, 0x20),
        u64::from(u16_at(&header, 0x36)),
        u64::from(u16_at(&header, 0x38)),
    );
    let mut rewritten = 0;
    for i in 0..phnum {
        let mut phdr = [0u8; 56];
        core.seek(SeekFrom::Start(phoff + i * phentsize))?;
        core.read_exact(&mut phdr)?;
        if u32_at(&phdr, 0) != PT_NOTE {
            continue;
        }
        let (offset, size) = (u64_at(&phdr, 8), u64_at(&phdr, 32));
        let mut notes = vec![0u8; usize::try_from(size)?];
        core.seek(SeekFrom::Start(offset))?;
        core.read_exact(&mut notes)?;
        rewritten += rewrite_notes(&mut notes, cpus)?;
        core.seek(SeekFrom::Start(offset))?;
        core.write_all(&notes)?;
    }
    Ok(rewritten)
}

/// [`rewrite_registers`] on one note segment in memory.
fn rewrite_notes(notes: &mut [u8], cpus: &BTreeMap<usize, BTreeMap<String, u64>>) -> Result<usize> {
    let mut rewritten = 0;
    let mut at = 0;
    while at + 12 <= notes.len() {
        let (name_size, desc_size, kind) = (
            u32_at(notes, at) as usize,
            u32_at(notes, at + 4) as usize,
            u32_at(notes, at + 8),
        );
        let desc = at + 12 + name_size.next_multiple_of(4);
        let end = desc + desc_size.next_multiple_of(4);
        ensure!(end <= notes.len(), "a note runs past its segment");
        let name = &notes[at + 12..at + 12 + name_size];
        let prstatus = kind == NT_PRSTATUS
            && name.starts_with(b"CORE")
            && desc_size >= PRSTATUS_REGS + USER_REGS.len() * 8;
        if prstatus {
            let cpu = (u32_at(notes, desc + PRSTATUS_PID) as usize).checked_sub(1);
            if let Some(registers) = cpu.and_then(|cpu| cpus.get(&cpu)) {
                for (slot, name) in USER_REGS.iter().enumerate() {
                    if let Some(value) = name.and_then(|name| registers.get(name)) {
                        let field = desc + PRSTATUS_REGS + slot * 8;
                        notes[field..field + 8].copy_from_slice(&value.to_le_bytes());
                    }
                }
                rewritten += 1;
            }
        }
        at = end;
    }
    Ok(rewritten)
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "stop-summary: stopper=0 targets=2\r\n\
        cpu 1 was interrupted (interrupts off):\r\n\
        rip=0x110ea0 rsp=0x1adf38 rbp=0x1adf40 rflags=0x10006\r\n\
        rax=0x80 rbx=0x1646f8 rcx=0x4 rdx=0x4 rsi=0x1 rdi=0x3\r\n\
        r8=0x0 r9=0x0 r10=0x10 r11=0x2 r12=0x80e8 r13=0x0 r14=0x0 r15=0x1\r\n  \
        rip 0x0000000000110ea0\r\n\
        cpu 2: no context (it stopped itself)\r\n";

    #[test]
    fn the_reports_register_blocks_are_read() {
        let cpus = interrupted_registers(REPORT);
        assert_eq!(cpus.keys().copied().collect::<Vec<_>>(), [1]);
        let cpu1 = &cpus[&1];
        assert_eq!(cpu1.len(), 18);
        assert_eq!(
            (cpu1["rip"], cpu1["rsp"], cpu1["rflags"]),
            (0x11_0ea0, 0x1a_df38, 0x1_0006)
        );
        assert_eq!(
            (cpu1["rbx"], cpu1["r12"], cpu1["r15"]),
            (0x16_46f8, 0x80e8, 1)
        );
    }

    /// A note segment with one `NT_PRSTATUS` per CPU (pids 1..=n), registers all 0xEE.
    fn notes(n: u32) -> Vec<u8> {
        let mut notes = Vec::new();
        for pid in 1..=n {
            notes.extend(5u32.to_le_bytes());
            notes.extend(336u32.to_le_bytes());
            notes.extend(NT_PRSTATUS.to_le_bytes());
            notes.extend(b"CORE\0\0\0\0");
            let mut desc = vec![0xEE; 336];
            desc[PRSTATUS_PID..PRSTATUS_PID + 4].copy_from_slice(&pid.to_le_bytes());
            notes.extend(desc);
        }
        notes
    }

    fn register(notes: &[u8], thread: usize, slot: usize) -> u64 {
        u64_at(
            notes,
            thread * (12 + 8 + 336) + 20 + PRSTATUS_REGS + slot * 8,
        )
    }

    #[test]
    fn only_the_reported_cpus_threads_get_their_interrupted_registers() {
        let mut segment = notes(3);
        let rewritten = rewrite_notes(&mut segment, &interrupted_registers(REPORT)).unwrap();
        assert_eq!(rewritten, 1);
        // Thread 2 (pid 2) is cpu 1: rip (slot 16), rsp (19), rflags (18), r15 (0).
        assert_eq!(register(&segment, 1, 16), 0x11_0ea0);
        assert_eq!(register(&segment, 1, 19), 0x1a_df38);
        assert_eq!(register(&segment, 1, 18), 0x1_0006);
        assert_eq!(register(&segment, 1, 0), 1);
        // cs (17) is not in the report: left as it was; so are the other CPUs' threads.
        assert_eq!(register(&segment, 1, 17), 0xEEEE_EEEE_EEEE_EEEE);
        assert_eq!(register(&segment, 0, 16), 0xEEEE_EEEE_EEEE_EEEE);
        assert_eq!(register(&segment, 2, 16), 0xEEEE_EEEE_EEEE_EEEE);
    }

    #[test]
    fn a_note_that_runs_past_its_segment_is_an_error() {
        let mut segment = notes(1);
        segment.truncate(100);
        let err = rewrite_notes(&mut segment, &BTreeMap::new()).unwrap_err();
        assert_eq!(err.to_string(), "a note runs past its segment");
    }
}
