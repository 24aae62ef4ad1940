//! The QEMU command line and one supervised boot.

use std::ffi::OsString;
use std::fmt;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::Result;
use clap::ValueEnum;

use crate::host::child::{self, Echo};
use crate::qemu::accel::Accel;
use crate::qemu::core_dump::{self, CoreDump};
use crate::qemu::exit_status::{self, GuestExit};
use crate::qemu::{MemSize, Symbolizer};

/// The QEMU binary.
pub const QEMU: &str = "qemu-system-x86_64";

/// Where QEMU listens for gdb with `--gdb`: this machine only.
const GDB_LISTEN: &str = "tcp:127.0.0.1:1234";
/// How many serial lines a failure or timeout report shows.
pub const REPORT_LINES: usize = 15;

/// The machine types allstop boots on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Machine {
    /// i440FX + PIIX, QEMU's default PC.
    #[default]
    Pc,
    /// Q35 + ICH9.
    Q35,
    /// The minimal virtio-mmio machine.
    Microvm,
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Machine::Pc => "pc",
            Machine::Q35 => "q35",
            Machine::Microvm => "microvm",
        })
    }
}

impl Machine {
    /// `pc`, or `q35` for more CPUs than `pc` takes (255).
    pub fn pc_or_q35(smp: u32) -> Machine {
        if smp > MAX_XAPIC_CPUS {
            Machine::Q35
        } else {
            Machine::Pc
        }
    }
}

/// Most CPUs QEMU creates without interrupt remapping: APIC IDs 0..=254 (255 is the xAPIC
/// broadcast ID).
const MAX_XAPIC_CPUS: u32 = 255;

/// What QEMU does when the guest resets the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnReset {
    /// Exit (`-no-reboot`), as every run does unless it asks otherwise: a reset ends the run.
    Exit,
    /// Reset the machine and boot the kernel again (the bench's full-VM-reboot figure): the run
    /// only ends when the guest powers off or at its timeout.
    Reboot,
}

/// Everything that varies between boots.
#[derive(Clone, Debug)]
pub struct Boot<'a> {
    /// The kernel ELF (PVH).
    pub kernel: &'a Path,
    /// The boot command line.
    pub append: &'a str,
    /// The machine type.
    pub machine: Machine,
    /// Number of CPUs.
    pub smp: u32,
    /// Guest RAM.
    pub mem: MemSize,
    /// The accelerator.
    pub accel: Accel,
    /// `-cpu` model; `None` picks the accelerator's default.
    pub cpu: Option<&'a str>,
    /// Wait for a debugger on TCP port 1234 before the first instruction.
    pub gdb: bool,
    /// Write a core of the machine at its panic's stop.
    pub core: Option<&'a CoreDump>,
    /// Further QEMU arguments, given last (QEMU merges a repeated `-machine` or `-smp` into the
    /// first: `-machine acpi=off`, `-smp maxcpus=8`; a second `-append` replaces the first).
    /// Not necessarily UTF-8: a test may pass a boot line that is not.
    pub extra: &'a [OsString],
}

impl Boot<'_> {
    /// QEMU's arguments (without the program name).
    pub fn argv(&self) -> Vec<OsString> {
        self.argv_on_reset(OnReset::Exit)
    }

    /// QEMU's arguments for a run whose resets do what `on_reset` says.
    fn argv_on_reset(&self, on_reset: OnReset) -> Vec<OsString> {
        let (machine, smp, mem) = (
            self.machine_option(),
            self.smp.to_string(),
            self.mem.to_string(),
        );
        let append = self.append_line();
        let mut argv: Vec<OsString> = vec!["-kernel".into(), self.kernel.into()];
        argv.extend(
            [
                "-append", &append, "-machine", &machine, "-smp", &smp, "-m", &mem, "-display",
                "none", "-serial", "stdio", "-monitor", "none",
            ]
            .map(OsString::from),
        );
        if on_reset == OnReset::Exit {
            argv.push("-no-reboot".into());
        }
        argv.extend(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"].map(OsString::from));
        if self.needs_eim() {
            argv.extend(["-device", "intel-iommu,intremap=on,eim=on"].map(OsString::from));
        }
        let accel = match self.accel {
            Accel::Tcg => "tcg,thread=multi",
            Accel::Kvm => "kvm",
        };
        let cpu = self.cpu.unwrap_or(self.accel.cpu_model(true));
        argv.extend(["-accel", accel, "-cpu", cpu].map(OsString::from));
        if self.gdb {
            // `-s` would listen on every interface; the debugger is local.
            argv.extend(["-gdb", GDB_LISTEN, "-S"].map(OsString::from));
        }
        if let Some(core) = self.core {
            argv.extend(["-qmp".into(), core.qmp_argument().into()]);
        }
        argv.extend(self.extra.iter().cloned());
        argv
    }

    /// Whether some APIC ID exceeds 255 (IDs are 0..smp here): QEMU then needs interrupt
    /// remapping with extended interrupt mode (an IOMMU with `eim=on`, which needs the split
    /// irqchip) to create the CPUs, which only `q35` offers.
    fn needs_eim(&self) -> bool {
        self.machine == Machine::Q35 && self.smp > MAX_XAPIC_CPUS
    }

    /// `-machine`'s value: the machine, with the split irqchip when [`Self::needs_eim`].
    fn machine_option(&self) -> String {
        if self.needs_eim() {
            format!("{},kernel-irqchip=split", self.machine)
        } else {
            self.machine.to_string()
        }
    }

    /// The boot command line QEMU passes (`append`, plus the kernel option `core` needs).
    pub fn append_line(&self) -> String {
        match self.core {
            Some(_) => with_kernel_option(self.append, core_dump::KERNEL_OPTION),
            None => self.append.to_string(),
        }
    }

    /// The whole command line, for the user to read (and paste).
    pub fn command_line(&self) -> String {
        let args = self
            .argv()
            .into_iter()
            .map(|arg| shell_quoted(&arg.to_string_lossy()));
        std::iter::once(QEMU.to_string())
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Boots under a hard `timeout`, echoing the serial console live when `echo` says so.
    pub fn boot(&self, timeout: Duration, echo: Echo<'_>) -> Result<QemuRun> {
        self.boot_on_reset(timeout, echo, OnReset::Exit)
    }

    /// [`Boot::boot`], with resets doing what `on_reset` says.
    pub fn boot_on_reset(
        &self,
        timeout: Duration,
        echo: Echo<'_>,
        on_reset: OnReset,
    ) -> Result<QemuRun> {
        let mut cmd = Command::new(QEMU);
        cmd.args(self.argv_on_reset(on_reset));
        // KVM stops a vCPU it cannot run and QEMU waits forever: end the run at once.
        let stop_on = (self.accel == Accel::Kvm).then_some(exit_status::KVM_INTERNAL_ERROR);
        let core = Mutex::new(None);
        let done = match self.core {
            None => child::run_until(&mut cmd, timeout, echo, stop_on)?,
            Some(dump) => {
                // The panicking CPU waits for any byte once memory holds still.
                let answer = |serial: &str| {
                    core_dump::is_ready(serial).then(|| {
                        let taken = dump.take(serial).map_err(|err| format!("{err:#}"));
                        *core.lock().unwrap_or_else(PoisonError::into_inner) = Some(taken);
                        b"\n".to_vec()
                    })
                };
                child::run_answering(&mut cmd, timeout, echo, stop_on, &answer)?
            }
        };
        let outcome = match done.status {
            _ if done.stopped_on_stderr => Outcome::Exited(GuestExit::KvmInternalError),
            None => Outcome::TimedOut(timeout),
            Some(status) => Outcome::Exited(exit_status::decode(
                status.code(),
                &done.stderr,
                &done.stdout,
            )),
        };
        Ok(QemuRun {
            outcome,
            serial: done.stdout,
            stderr: done.stderr,
            elapsed: done.elapsed,
            pid: done.pid,
            core: core.into_inner().unwrap_or_else(PoisonError::into_inner),
        })
    }
}

/// `arg` as a POSIX shell reads it back: as is when every character is safe, else in single
/// quotes, each `'` in it written `'\''`.
fn shell_quoted(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./,:=+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// `append` (a boot command line) with `option` added to its kernel part, before any ` -- `.
fn with_kernel_option(append: &str, option: &str) -> String {
    let separator = append.match_indices("--").map(|(at, _)| at).find(|&at| {
        let before = append[..at].chars().next_back();
        let after = append[at + 2..].chars().next();
        before.is_none_or(char::is_whitespace) && after.is_none_or(char::is_whitespace)
    });
    match separator {
        Some(at) => format!("{} {option} {}", append[..at].trim_end(), &append[at..])
            .trim_start()
            .to_string(),
        None => format!("{} {option}", append.trim_end())
            .trim_start()
            .to_string(),
    }
}

/// How a boot ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// QEMU exited by itself.
    Exited(GuestExit),
    /// QEMU was still running at the timeout and was killed.
    TimedOut(Duration),
}

/// The result of one boot.
#[derive(Clone, Debug)]
pub struct QemuRun {
    /// How it ended.
    pub outcome: Outcome,
    /// Everything the guest wrote to its serial console.
    pub serial: String,
    /// What QEMU itself wrote to stderr.
    pub stderr: String,
    /// Wall-clock time of the boot.
    pub elapsed: Duration,
    /// QEMU's process ID (gone by now).
    pub pid: u32,
    /// With [`Boot::core`], once the guest was ready for it: the core's CPUs whose registers
    /// became the interrupted ones, or why no core was written.
    pub core: Option<Result<usize, String>>,
}

impl QemuRun {
    /// A report of the end of the output: the last serial lines, and QEMU's stderr if any. With
    /// `symbols` (of the booted ELF), backtrace lines are symbolized, and the last backtrace is
    /// shown too when it lies before those lines.
    pub fn report(&self, symbols: Option<&Symbolizer>) -> String {
        if self.serial.trim().is_empty() {
            return "no serial output\n".to_string() + &self.stderr_report();
        }
        let serial = match symbols {
            Some(symbols) => symbols.annotate_text(&self.serial),
            None => self.serial.clone(),
        };
        let lines: Vec<&str> = serial.lines().collect();
        let mut tail_start = lines.len().saturating_sub(REPORT_LINES);
        let mut report = String::new();
        if let Some(start) = lines[..tail_start]
            .iter()
            .rposition(|line| line.trim_end() == wire::frames::BACKTRACE)
        {
            let frames = lines[start + 1..]
                .iter()
                .take_while(|line| line.starts_with("  #"))
                .count();
            if frames > 0 {
                let block = &lines[start + 1..=start + frames];
                report += "last backtrace:\n";
                report += &child::tail(&block.join("\n"), frames);
                tail_start = tail_start.max(start + frames + 1);
            }
        }
        report += "last serial lines:\n";
        report += &child::tail(&lines[tail_start..].join("\n"), REPORT_LINES);
        report + &self.stderr_report()
    }

    /// QEMU's stderr, if it wrote anything.
    fn stderr_report(&self) -> String {
        if self.stderr.trim().is_empty() {
            String::new()
        } else {
            format!("QEMU stderr:\n{}", child::tail(&self.stderr, REPORT_LINES))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boot(accel: Accel) -> Boot<'static> {
        Boot {
            kernel: Path::new("/t/hello"),
            append: "log=debug foo",
            machine: Machine::Q35,
            smp: 4,
            mem: MemSize::DEFAULT,
            accel,
            cpu: None,
            gdb: false,
            core: None,
            extra: &[],
        }
    }

    fn argv(boot: &Boot) -> Vec<String> {
        boot.argv()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn the_printed_command_line_reads_back_as_the_same_arguments() {
        let mut b = boot(Accel::Tcg);
        let nasty = "log=debug -- it's $HOME; `rm -rf x` \"q\" a\\b";
        b.append = nasty;
        let line = b.command_line();
        // The shell gives back exactly QEMU's argv.
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("printf '%s\\n' {}", line.replacen(QEMU, "", 1)),
            ])
            .output()
            .unwrap();
        let echoed: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(echoed, argv(&b));
        assert!(
            line.contains("'log=debug -- it'\\''s $HOME; `rm -rf x` \"q\" a\\b'"),
            "{line}"
        );
    }

    #[test]
    fn a_kernel_option_goes_before_the_app_arguments() {
        let add = |append| with_kernel_option(append, "k=1");
        assert_eq!(add(""), "k=1");
        assert_eq!(add("log=debug"), "log=debug k=1");
        assert_eq!(
            add("log=debug -- scenario=x  y"),
            "log=debug k=1 -- scenario=x  y"
        );
        assert_eq!(add("-- a--b --"), "k=1 -- a--b --");
        assert_eq!(add("a--b"), "a--b k=1");
    }

    #[test]
    fn a_core_dump_adds_its_kernel_option_and_qmp_socket() {
        let dump = CoreDump::new(Path::new("/t/crash.core")).unwrap();
        let mut b = boot(Accel::Tcg);
        b.append = "log=debug -- scenario=irqoff";
        b.core = Some(&dump);
        let argv = argv(&b);
        let append = argv.iter().position(|a| a == "-append").unwrap() + 1;
        assert_eq!(
            argv[append],
            "log=debug panic.wait_for_core=1 -- scenario=irqoff"
        );
        let qmp = argv.iter().position(|a| a == "-qmp").unwrap() + 1;
        assert_eq!(
            argv[qmp],
            format!("unix:{},server=on,wait=off", dump.socket.display())
        );
    }

    #[test]
    fn tcg_command_line_follows_the_contract() {
        let mut b = boot(Accel::Tcg);
        b.append = "log=debug";
        let want = "-kernel /t/hello -append log=debug -machine q35 -smp 4 -m 256M \
            -display none -serial stdio -monitor none -no-reboot \
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 -accel tcg,thread=multi -cpu max";
        assert_eq!(argv(&b), want.split_whitespace().collect::<Vec<_>>());
    }

    #[test]
    fn pc_runs_up_to_255_cpus_and_q35_the_rest() {
        let machines = [1, 255, 256, 1024].map(Machine::pc_or_q35);
        assert_eq!(
            machines,
            [Machine::Pc, Machine::Pc, Machine::Q35, Machine::Q35]
        );
    }

    #[test]
    fn more_than_255_cpus_on_q35_get_the_iommu_with_extended_interrupt_mode() {
        let mut b = boot(Accel::Tcg);
        b.smp = 288;
        let args = argv(&b).join(" ");
        assert!(
            args.contains("-machine q35,kernel-irqchip=split -smp 288"),
            "{args}"
        );
        assert!(
            args.contains("-device intel-iommu,intremap=on,eim=on"),
            "{args}"
        );
        b.smp = 255;
        let args = argv(&b).join(" ");
        assert!(
            args.contains("-machine q35 -smp 255") && !args.contains("iommu"),
            "{args}"
        );
        // pc cannot have it: QEMU's own error says so (max 255 CPUs).
        b.machine = Machine::Pc;
        b.smp = 288;
        assert!(!argv(&b).join(" ").contains("iommu"));
    }

    #[test]
    fn a_run_that_may_reboot_only_drops_no_reboot() {
        let b = boot(Accel::Tcg);
        let mut exits = argv(&b);
        let reboots: Vec<String> = b
            .argv_on_reset(OnReset::Reboot)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        let at = exits.iter().position(|a| a == "-no-reboot").unwrap();
        exits.remove(at);
        assert_eq!(reboots, exits);
    }

    #[test]
    fn kvm_uses_host_cpu_without_arch_capabilities() {
        let got = argv(&boot(Accel::Kvm));
        let tail: Vec<&str> = got[got.len() - 4..].iter().map(String::as_str).collect();
        assert_eq!(tail, ["-accel", "kvm", "-cpu", "host,-arch-capabilities"]);
    }

    #[test]
    fn explicit_cpu_and_gdb() {
        let mut b = boot(Accel::Tcg);
        b.cpu = Some("qemu64");
        b.gdb = true;
        let got = argv(&b);
        let tail: Vec<&str> = got[got.len() - 5..].iter().map(String::as_str).collect();
        assert_eq!(tail, ["-cpu", "qemu64", "-gdb", "tcp:127.0.0.1:1234", "-S"]);
    }

    #[test]
    fn every_machine_is_named_as_qemu_spells_it() {
        for (machine, name) in [
            (Machine::Pc, "pc"),
            (Machine::Q35, "q35"),
            (Machine::Microvm, "microvm"),
        ] {
            let mut b = boot(Accel::Tcg);
            b.machine = machine;
            let got = argv(&b);
            let at = got.iter().position(|a| a == "-machine").unwrap();
            assert_eq!(got[at + 1], name);
        }
    }

    #[test]
    fn last_lines_report_the_tail_and_qemu_errors() {
        let mut run = QemuRun {
            outcome: Outcome::TimedOut(Duration::from_secs(1)),
            serial: String::new(),
            stderr: String::new(),
            elapsed: Duration::from_secs(1),
            pid: 1,
            core: None,
        };
        assert_eq!(run.report(None), "no serial output\n");
        run.serial = (1..=20).map(|i| format!("line {i}\r\n")).collect();
        run.stderr = "qemu-system-x86_64: -smp 0: bad\n".to_string();
        let report = run.report(None);
        assert!(
            report.starts_with("last serial lines:\n    | line 6\n"),
            "{report}"
        );
        assert!(report.contains("    | line 20\nQEMU stderr:\n    | qemu-system-x86_64: -smp 0"));
        assert!(!report.contains("line 5\n"), "{report}");
    }

    #[test]
    fn a_backtrace_above_the_last_lines_is_reported_too() {
        let mut serial =
            "boot\nbacktrace:\n  #0 0x0000000000100001\n  #1 0x0000000000100002\n".to_string();
        serial += &(1..=REPORT_LINES)
            .map(|i| format!("table {i}\n"))
            .collect::<String>();
        let run = QemuRun {
            outcome: Outcome::Exited(GuestExit::Status(101)),
            serial,
            stderr: String::new(),
            elapsed: Duration::from_secs(1),
            pid: 1,
            core: None,
        };
        assert_eq!(
            run.report(None),
            format!(
                "last backtrace:\n    |   #0 0x0000000000100001\n    |   #1 0x0000000000100002\n\
                 last serial lines:\n{}",
                (1..=REPORT_LINES)
                    .map(|i| format!("    | table {i}\n"))
                    .collect::<String>()
            )
        );
        // A backtrace that runs into the last lines is shown whole, and not twice.
        let mut overlapping = run.clone();
        overlapping.serial = format!(
            "backtrace:\n{}end\n",
            (0..REPORT_LINES)
                .map(|i| format!("  #{i} 0x{i:016x}\n"))
                .collect::<String>()
        );
        let report = overlapping.report(None);
        assert!(
            report.starts_with("last backtrace:\n    |   #0 0x"),
            "{report}"
        );
        assert!(
            report.ends_with(&format!(
                "    |   #{} 0x000000000000000e\nlast serial lines:\n    | end\n",
                REPORT_LINES - 1
            )),
            "{report}"
        );
        // In the last lines already: not twice.
        let short = QemuRun {
            serial: "backtrace:\n  #0 0x0000000000100001\nend\n".to_string(),
            ..run
        };
        assert!(short
            .report(None)
            .starts_with("last serial lines:\n    | backtrace:"));
    }

    #[test]
    fn command_line_quotes_arguments_with_spaces() {
        let mut b = boot(Accel::Tcg);
        let line = b.command_line();
        assert!(line.starts_with("qemu-system-x86_64 -kernel /t/hello -append 'log=debug foo' "));
        b.append = "";
        assert!(b.command_line().contains("-append '' -machine"));
    }
}
