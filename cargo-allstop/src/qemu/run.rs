//! Booting one built image in QEMU for a user, the serial console on stdout: the flags and the
//! supervised boot behind `cargo xtask run`, `cargo allstop run` and the cargo runner.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use clap::Args;

use crate::host::child::Echo;
use crate::host::setup;
use crate::qemu::accel::{self, AccelArg};
use crate::qemu::core_dump::CoreDump;
use crate::qemu::{Boot, Machine, MemSize, Outcome, Symbolizer};
use wire::exit::{CMDLINE_MAX, MAX_CPUS};

/// A boot command line the kernel can take whole: longer ones are refused before anything runs
/// (the kernel would cut them; from about 4 KiB QEMU's PVH loader overwrites the boot
/// information with them, and from about 20 KiB the firmware hangs before the kernel starts).
fn boot_line(line: &str) -> Result<String, String> {
    match line.len() {
        0..=CMDLINE_MAX => Ok(line.to_owned()),
        len => Err(format!(
            "the boot command line is {len} bytes; the kernel takes at most {CMDLINE_MAX} \
             (README, Kernel options)"
        )),
    }
}

/// Exit code after a timeout (as timeout(1)).
const EXIT_TIMEOUT: u8 = 124;
/// Hard limit on a run when `--timeout` is not given, plus [`TIMEOUT_PER_CPU`] for each CPU.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// What each CPU adds to the default limit: QEMU takes about 0.1 s per vCPU just to create
/// them (1,024 took about 100 s here), and bring-up and the stop grow with the count too.
const TIMEOUT_PER_CPU: Duration = Duration::from_millis(200);
/// Hard limit on a `--gdb` run when `--timeout` is not given (a debugging session is slow).
const DEFAULT_GDB_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The limit on a run of `smp` CPUs when `--timeout` is not given.
fn default_timeout(smp: u32) -> Duration {
    DEFAULT_TIMEOUT + TIMEOUT_PER_CPU * smp
}

/// The flags of a boot (of `cargo xtask run`, `cargo allstop run` and the runner).
#[derive(Args, Clone, Debug)]
pub struct BootArgs {
    /// Number of CPUs (at most 1,024: the runtime's limit; `pc` takes at most 255, and above
    /// 255 `q35` gets interrupt remapping added).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=MAX_CPUS as i64))]
    smp: u32,
    /// Guest RAM, e.g. 512M or 1G (plain numbers are MiB).
    #[arg(long, value_name = "SIZE", default_value_t = MemSize::DEFAULT)]
    mem: MemSize,
    /// QEMU machine type.
    #[arg(long, value_enum, default_value_t)]
    machine: Machine,
    /// QEMU CPU model (default: max under TCG, host,-arch-capabilities under KVM).
    #[arg(long, value_name = "MODEL")]
    cpu: Option<String>,
    /// Accelerator.
    #[arg(long, value_enum, default_value_t)]
    accel: AccelArg,
    /// Boot command line, e.g. "log=debug" (at most 1024 bytes: what the kernel takes).
    #[arg(
        long,
        value_name = "\"k=v ...\"",
        default_value = "",
        value_parser = boot_line,
        allow_hyphen_values = true
    )]
    append: String,
    /// Hard limit in seconds; QEMU is killed after it (default: 60 plus 0.2 per CPU, or 3600
    /// with --gdb).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: Option<u64>,
    /// Start halted and wait for gdb on localhost:1234.
    #[arg(long)]
    gdb: bool,
    /// At a panic, once every other CPU is stopped, write an ELF core of the machine to FILE
    /// (each CPU's registers where its stop interrupted it), for gdb.
    #[arg(long, value_name = "FILE")]
    core: Option<PathBuf>,
}

impl BootArgs {
    /// The boot command line: `--append`, then ` -- ` and `app_args` if there are any.
    pub fn with_app_args(mut self, app_args: &[String]) -> Result<Self> {
        if !app_args.is_empty() {
            let line = format!("{} -- {}", self.append, app_args.join(" "));
            self.append = boot_line(line.trim_start()).map_err(|err| anyhow!(err))?;
        }
        Ok(self)
    }
}

/// Boots `kernel` (checking QEMU is installed first), symbolizing backtrace lines as they
/// stream; the exit code is the guest's status, 124 on timeout. `tool` prefixes our own lines;
/// `note` may add a few words to the closing line for a status.
pub fn boot(
    kernel: &Path,
    args: &BootArgs,
    tool: &str,
    note: impl Fn(u32) -> &'static str,
) -> Result<ExitCode> {
    setup::qemu()?;
    let decision = accel::detect(args.accel);
    eprintln!("{tool}: {decision}");
    let timeout = match (args.timeout, args.gdb) {
        (Some(secs), _) => Duration::from_secs(secs),
        (None, false) => default_timeout(args.smp),
        (None, true) => DEFAULT_GDB_TIMEOUT,
    };
    let core = args.core.as_deref().map(CoreDump::new).transpose()?;
    let boot = Boot {
        kernel,
        append: &args.append,
        machine: args.machine,
        smp: args.smp,
        mem: args.mem,
        accel: decision.accel,
        cpu: args.cpu.as_deref(),
        gdb: args.gdb,
        core: core.as_ref(),
        extra: &[],
    };
    // `--core` adds a kernel option: the line QEMU gets must still fit.
    boot_line(&boot.append_line()).map_err(|err| anyhow!("with --core: {err}"))?;
    eprintln!(
        "{tool}: {} (timeout {}s)",
        boot.command_line(),
        timeout.as_secs()
    );
    if args.gdb {
        eprintln!(
            "{tool}: QEMU waits for gdb on 127.0.0.1 only: gdb -ex 'target remote :1234' {}",
            boot.kernel.display()
        );
    }
    let symbols = Symbolizer::load(boot.kernel)
        .inspect_err(|err| eprintln!("{tool}: backtraces stay unsymbolized: {err:#}"))
        .ok();
    let annotate = |line: &str| symbols.as_ref().and_then(|s| s.annotate(line));
    let run = boot.boot(timeout, Echo::Annotated(&annotate))?;
    if !run.serial.is_empty() && !run.serial.ends_with('\n') {
        println!();
    }
    if let Some(dump) = &core {
        match &run.core {
            Some(Ok(cpus)) => eprintln!(
                "{tool}: core written to {} ({cpus} stopped CPUs at their interrupted registers); \
                 gdb -batch -ex 'info threads' -ex 'thread apply all bt' {} {}",
                dump.file.display(),
                boot.kernel.display(),
                dump.file.display()
            ),
            Some(Err(err)) => bail!("no core written: {err}"),
            None => eprintln!("{tool}: no core written: the guest did not panic"),
        }
    }
    match run.outcome {
        Outcome::TimedOut(limit) => {
            eprintln!(
                "timeout after {}s: killed QEMU (pid {})\n{}",
                limit.as_secs(),
                run.pid,
                run.report(symbols.as_ref())
            );
            Ok(ExitCode::from(EXIT_TIMEOUT))
        }
        Outcome::Exited(exit) => match exit.status() {
            Some(status) => {
                eprintln!(
                    "{tool}: {exit} after {:.2}s{}",
                    run.elapsed.as_secs_f64(),
                    note(status)
                );
                // QEMU's exit code has 8 bits, so a decoded status is at most 127.
                Ok(ExitCode::from(u8::try_from(status).unwrap_or(u8::MAX)))
            }
            None => bail!("{exit}\n{}", run.report(symbols.as_ref())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limit_grows_with_the_cpu_count() {
        assert_eq!(default_timeout(4), Duration::from_millis(60_800));
        assert_eq!(default_timeout(1024), Duration::from_millis(264_800));
    }
}
