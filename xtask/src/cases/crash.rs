//! What a panic's report and core show of the other CPUs: each stopped CPU's interrupted
//! instruction and frames (symbolized), a corrupt frame chain that ends one CPU's walk without
//! hiding the others, a function that some CPU runs on a stack walked to its end (a std
//! thread's), and a core in which gdb finds every CPU where its stop interrupted it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use wire::frames::{ChainEnd, Frame, Interrupted};

use crate::cases::summary::Field;
use crate::cases::table::{Case, Expect, BOOT_TIMEOUT};
use crate::host::child::{self, Echo};
use crate::qemu::exit_status::{CRASH_LOOP, PANIC};
use crate::qemu::{Machine, QemuRun, Symbolizer};

/// The function the faults app's spinning CPUs are in.
const SPIN_LOOP: &str = "faults::scenarios::spin_forever";
/// The heartbeat the spin loop calls.
const HEARTBEAT: &str = "allstop::smp::beat";
/// The crash cases' NMI timeout (µs): long enough that every spinning CPU takes its NMI.
const CRASH_NMI_TIMEOUT_US: u32 = 1_000_000;
/// Frames of a gdb thread in which the spin loop must appear: gdb lists inlined calls as frames
/// of their own, and the heartbeat's chain (smp::beat, the controller's beat, record,
/// cpu_count, an atomic load) is six deep. A thread left at the stop handler's registers
/// unwinds through the handler and the trap entry and ends there, never reaching the loop.
const GDB_TOP_FRAMES: usize = 12;
/// Frame lines of a report block looked at besides its rip line: the heartbeat's calls may sit
/// between the interrupted instruction and the spin loop.
const TOP_FRAMES: usize = 3;
/// How long gdb may take to read a core.
const GDB_TIMEOUT: Duration = Duration::from_secs(120);

/// What a case expects of the per-CPU blocks of the stop report (and of its core).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrashExpect {
    /// CPUs whose interrupted instruction must be in [`SPIN_LOOP`], with frames below it.
    pub spinning: Vec<usize>,
    /// A CPU whose frame chain is corrupt: its block must say the walk ended there.
    pub broken: Option<usize>,
    /// The scenario function the spinning CPUs' frames must lead back to.
    pub scenario: String,
    /// Whether to take a core (`panic.wait_for_core=1` and QMP) and check it with gdb.
    pub core: bool,
    /// A function some stopped CPU (whichever) must be running, and how far down its walk
    /// must go.
    pub running: Option<Running>,
}

/// A function that some stopped CPU runs, on a stack that its walk followed to the bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    /// The function: the CPU's `  rip`, `  #0` or `  #1` line must be in it.
    pub function: &'static str,
    /// A function at the bottom of that stack (say a thread's entry): one of the CPU's frame
    /// lines must be in it, so the walk went over the stack that `function` ran on.
    pub bottom: &'static str,
}

/// The crash-report cases: at 2, 4 and 8 CPUs every AP spins interrupts-off (a core is taken
/// and read with gdb), at 4 CPUs AP 1's frame-pointer chain is corrupt, and at 2 CPUs
/// `stop.report=brief` leaves the per-CPU blocks out.
pub fn all() -> Vec<Case> {
    let spinning = |smp: u32, scenario: &str, broken: Option<usize>, core: bool| {
        let name = match core {
            true => format!("crash-{scenario}-core-smp{smp}"),
            false => format!("crash-{scenario}-smp{smp}"),
        };
        let aps = smp as usize - 1;
        // What is checked is the report of CPUs stopped by NMI; on this loaded 2-core host 8
        // vCPUs sometimes miss the default 10 ms NMI timeout and are parked with INIT, which
        // leaves no context (the stop matrix checks the default timeouts).
        let mut case = Case::new(&name, "faults")
            .on(Machine::Pc, smp)
            .append(&format!(
                "stop.nmi_timeout_us={CRASH_NMI_TIMEOUT_US} -- scenario={scenario} k={aps}"
            ))
            .expect(Expect::Status(PANIC), BOOT_TIMEOUT)
            .forbid_only(&[])
            .require(
                &(1..=aps)
                    .map(|cpu| {
                        let heading = Interrupted {
                            cpu: cpu as u64,
                            interrupts_on: false,
                        };
                        heading.to_string()
                    })
                    .collect::<Vec<_>>(),
            );
        case.crash = Some(CrashExpect {
            spinning: (1..=aps).filter(|&cpu| Some(cpu) != broken).collect(),
            broken,
            scenario: format!("faults::scenarios::{}", scenario.replace('-', "_")),
            core,
            running: None,
        });
        case
    };
    // `stop.report=brief`: the table and summary, no per-CPU blocks.
    let brief = Case::new("crash-irqoff-brief-smp2", "faults")
        .on(Machine::Pc, 2)
        .append("stop.report=brief -- scenario=irqoff k=1")
        .expect(Expect::Status(PANIC), BOOT_TIMEOUT)
        .require(&["stop report: stopper cpu 0", "stop-summary: stopper=0"])
        .forbid_only(&[" was interrupted (interrupts ", "  rip 0x"]);
    // Every stop-vector handler stalls until its NMI comes (the late vector racing its NMI):
    // the NMI must save what the vector had interrupted (AP 1 idling, interrupts on, its frames
    // down to the AP entry), not the stalled handler on its interrupt stack. The NMI gets half a
    // second: what this case checks is the NMI's saved context, and in one `test --full` run a
    // busy host kept AP 1's vCPU off a core past the default 10 ms, so INIT parked it (no
    // context; 0 of 25 runs on an idle host). The `defaults-*` cases keep the defaults.
    let mut stalled = Case::new("crash-stalled-vector-smp2", "faults")
        .on(Machine::Pc, 2)
        .append(
            "stop.strategy=vector stop.nmi_timeout_us=500000 inject.stall_stop_vector=1 \
             -- scenario=panic cpu=0",
        )
        .expect(Expect::Status(PANIC), BOOT_TIMEOUT)
        .forbid_only(&["frame chain ends"])
        .require(&[Interrupted {
            cpu: 1,
            interrupts_on: true,
        }
        .to_string()])
        .field(Field::Nmi, 1)
        .field(Field::Stuck, 0);
    stalled.crash = Some(CrashExpect {
        spinning: Vec::new(),
        broken: None,
        scenario: "faults::scenarios::panic".to_string(),
        core: false,
        running: Some(Running {
            function: "allstop::smp::work::idle_loop",
            bottom: "allstop::smp::bringup::ap_entry",
        }),
    });
    // With `panic=restart` too: the report goes out before the dump (a kept report, printed
    // after the restart, came too late for it: the core had 0 CPUs at their registers).
    let mut restarting = spinning(2, "irqoff", None, true)
        .append(&format!(
            "panic=restart restart.max=0 stop.nmi_timeout_us={CRASH_NMI_TIMEOUT_US} \
             -- scenario=irqoff k=1"
        ))
        .expect(Expect::Status(CRASH_LOOP), BOOT_TIMEOUT);
    restarting.name = "crash-irqoff-core-restart-smp2".to_string();
    vec![
        brief,
        stalled.quick(),
        restarting.quick(),
        spinning(2, "irqoff", None, true).quick(),
        spinning(4, "irqoff", None, true),
        spinning(8, "irqoff", None, true),
        spinning(4, "corrupt-frames", Some(1), false).quick(),
    ]
}

/// Where the core of `case` goes while it is checked (removed once it passed).
pub fn core_path(case: &Case) -> anyhow::Result<PathBuf> {
    let dir = crate::host::workspace::target_dir()?.join("qemu-test-cores");
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join(format!("{}.core", case.name)))
}

/// What is wrong with the per-CPU blocks of `run`'s report and, if one was taken, its core.
pub fn problems(
    expect: &CrashExpect,
    run: &QemuRun,
    kernel: &Path,
    core: Option<&Path>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let symbols = match Symbolizer::load(kernel) {
        Ok(symbols) => symbols,
        Err(err) => return vec![format!("cannot symbolize the report: {err:#}")],
    };
    for &cpu in &expect.spinning {
        // The interrupted instruction and the first frames. The loop may have been interrupted
        // in the heartbeat it calls, up to two calls deep (smp::beat, and the index accessor
        // the controller's beat calls), or before such a function set up its frame (the walk
        // then skips the loop's own frame and starts at the loop's caller, the scenario).
        let top = top_frames(&cpu_block(&run.serial, cpu), &symbols);
        let in_loop = top
            .iter()
            .any(|p| p.contains(SPIN_LOOP) || p.contains(HEARTBEAT));
        let under_scenario = top.iter().any(|p| p.contains(&expect.scenario));
        if !(in_loop && under_scenario) {
            problems.push(format!(
                "cpu {cpu} is not in {SPIN_LOOP} (or its heartbeat) under {}: its top frames \
                 are{}",
                expect.scenario,
                top.join(" /")
            ));
        }
    }
    if let Some(cpu) = expect.broken {
        if !cpu_block(&run.serial, cpu)
            .iter()
            .any(|l| ChainEnd::parse(l).is_some())
        {
            problems.push(format!(
                "cpu {cpu}'s block does not say its frame chain ended"
            ));
        }
    }
    if let Some(running) = &expect.running {
        problems.extend(running_problem(running, &run.serial, &symbols));
    }
    if let Some(core) = core {
        problems.extend(core_problems(expect, run, kernel, core));
    }
    problems
}

/// A block's `  rip` line and its first [`TOP_FRAMES`] frame lines, symbolized.
fn top_frames(block: &[&str], symbols: &Symbolizer) -> Vec<String> {
    block
        .iter()
        .filter(|l| match Frame::parse(l) {
            Some(Frame::Rip { .. }) => true,
            Some(Frame::Return { index, .. }) => (index as usize) < TOP_FRAMES,
            None => false,
        })
        .filter_map(|line| symbols.annotate(line))
        .collect()
}

/// Why no stopped CPU of the report runs `running.function` on a stack walked down to
/// `running.bottom` (each stopped CPU's top frames, and where its walk ended early); `None`
/// if one does.
fn running_problem(running: &Running, serial: &str, symbols: &Symbolizer) -> Option<String> {
    let mut seen = Vec::new();
    for cpu in stopped_cpus(serial) {
        let block = cpu_block(serial, cpu);
        let top = top_frames(&block, symbols);
        let frames: Vec<String> = block
            .iter()
            .filter(|l| matches!(Frame::parse(l), Some(Frame::Return { .. })))
            .filter_map(|line| symbols.annotate(line))
            .collect();
        let in_function = top.iter().any(|f| f.contains(running.function));
        if in_function && frames.iter().any(|f| f.contains(running.bottom)) {
            return None;
        }
        let ended = block.iter().find(|l| ChainEnd::parse(l).is_some());
        seen.push(format!(
            "cpu {cpu}:{}{}",
            top.join(" /"),
            ended.map_or(String::new(), |end| format!(" / {}", end.trim()))
        ));
    }
    Some(format!(
        "no stopped CPU is in {} with its frames walked down to {}: {}",
        running.function,
        running.bottom,
        match seen.is_empty() {
            true => "no CPU has a block".to_string(),
            false => seen.join("; "),
        }
    ))
}

/// The CPUs that have a block in the report, in its order.
fn stopped_cpus(serial: &str) -> Vec<usize> {
    serial
        .lines()
        .filter_map(|l| Interrupted::parse(l.trim_end_matches('\r')).ok())
        .map(|heading| heading.cpu as usize)
        .collect()
}

/// The lines of CPU `cpu`'s block in the report (from its heading to the next CPU's).
fn cpu_block(serial: &str, cpu: usize) -> Vec<&str> {
    let mut lines = serial.lines().map(|l| l.trim_end_matches('\r'));
    let heading = |line: &str| Interrupted::parse(line).map(|h| h.cpu as usize).ok();
    let Some(_) = lines.by_ref().find(|&l| heading(l) == Some(cpu)) else {
        return Vec::new();
    };
    lines.take_while(|l| !l.starts_with("cpu ")).collect()
}

/// What is wrong with the core: not written, or gdb does not see one thread per CPU with the
/// spinning CPUs in [`SPIN_LOOP`].
fn core_problems(expect: &CrashExpect, run: &QemuRun, kernel: &Path, core: &Path) -> Vec<String> {
    let rewritten = match &run.core {
        Some(Ok(cpus)) => *cpus,
        Some(Err(err)) => return vec![format!("no core: {err}")],
        None => return vec!["no core: the guest never said it was ready".to_string()],
    };
    let mut problems = Vec::new();
    let stopped = expect.spinning.len() + usize::from(expect.broken.is_some());
    if rewritten != stopped {
        problems.push(format!(
            "the core has {rewritten} CPUs at their interrupted registers, not {stopped}"
        ));
    }
    let mut gdb = Command::new("gdb");
    gdb.args([
        "-batch",
        "-nx",
        "-ex",
        "info threads",
        "-ex",
        "thread apply all bt",
    ])
    .arg(kernel)
    .arg(core);
    let out = match child::run(&mut gdb, GDB_TIMEOUT, Echo::Nothing).and_then(|f| f.success()) {
        Ok(done) => done.stdout,
        Err(err) => return vec![format!("gdb could not read the core: {err:#}")],
    };
    let threads = gdb_threads(&out);
    let smp = run_cpus(run);
    if threads.len() != smp {
        problems.push(format!("gdb lists {} threads, not {smp}", threads.len()));
    }
    for &cpu in &expect.spinning {
        let frames = threads
            .iter()
            .find(|(lwp, _)| *lwp == cpu + 1)
            .map(|(_, f)| f);
        let top = frames.map_or(&[][..], |f| &f[..f.len().min(GDB_TOP_FRAMES)]);
        if !top.iter().any(|frame| frame.contains(SPIN_LOOP)) {
            problems.push(format!(
                "gdb's thread {} (cpu {cpu}) is not in {SPIN_LOOP}: {top:?}",
                cpu + 1
            ));
        }
    }
    problems
}

/// The CPU count, from the report's stop-summary line (targets + the stopper).
fn run_cpus(run: &QemuRun) -> usize {
    crate::cases::summary::find(&run.serial)
        .summary()
        .map_or(0, |s| s.targets as usize + 1)
}

/// gdb's `thread apply all bt` output as (LWP, frame lines) per thread.
fn gdb_threads(out: &str) -> Vec<(usize, Vec<&str>)> {
    let mut threads: Vec<(usize, Vec<&str>)> = Vec::new();
    for line in out.lines() {
        let lwp = line
            .strip_prefix("Thread ")
            .and_then(|rest| rest.split_once("(LWP "))
            .and_then(|(_, rest)| rest.split_once(')'))
            .and_then(|(lwp, _)| lwp.parse().ok());
        match (lwp, threads.last_mut()) {
            (Some(lwp), _) => threads.push((lwp, Vec::new())),
            (None, Some((_, frames))) if line.starts_with('#') => frames.push(line),
            _ => {}
        }
    }
    threads
}

#[cfg(test)]
mod tests {
    use super::*;

    const GDB: &str = "* 1    LWP 1    0x1 in x ()\n\nThread 2 (LWP 2):\n\
        #0  faults::scenarios::spin_forever () at apps/faults/src/scenarios.rs:161\n\
        #1  0x10202a in faults::scenarios::irqoff::{closure#0} ()\n\n\
        Thread 1 (LWP 1):\n#0  0x11610d in x86::io::inb (port=1021)\n";

    #[test]
    fn gdbs_threads_and_frames_are_read() {
        let threads = gdb_threads(GDB);
        assert_eq!(threads.len(), 2);
        assert_eq!(threads[0].0, 2);
        assert!(threads[0].1[0].contains(SPIN_LOOP));
        assert_eq!(
            threads[1],
            (1, vec!["#0  0x11610d in x86::io::inb (port=1021)"])
        );
    }

    #[test]
    fn the_cpus_with_a_block_are_found() {
        let serial = "cpu 2 was interrupted (interrupts on):\r\n  rip 0x01\r\n\
                      cpu 0: no context (it stopped itself)\n\
                      cpu 3 was interrupted (interrupts off):\n";
        assert_eq!(stopped_cpus(serial), [2, 3]);
    }

    #[test]
    fn a_cpu_block_ends_at_the_next_cpu() {
        let serial = "cpu 1 was interrupted (interrupts off):\r\nrip=0x1\r\n  rip 0x01\r\n\
                      cpu 2 was interrupted (interrupts on):\r\n  #0 0x02\r\n";
        assert_eq!(cpu_block(serial, 1), ["rip=0x1", "  rip 0x01"]);
        assert_eq!(cpu_block(serial, 2), ["  #0 0x02"]);
        assert!(cpu_block(serial, 3).is_empty());
    }

    #[test]
    fn the_cases_cover_two_four_and_eight_cpus_with_a_core() {
        let cases = all();
        let with_core: Vec<(u32, bool)> = cases
            .iter()
            .filter(|c| c.crash.as_ref().is_some_and(|x| x.core))
            .map(|c| (c.smp, c.append.contains("panic=restart")))
            .collect();
        // Once with `panic=restart`, whose report must still come before the dump.
        assert_eq!(with_core, [(2, true), (2, false), (4, false), (8, false)]);
        let broken = cases
            .iter()
            .find(|c| c.name == "crash-corrupt-frames-smp4")
            .unwrap();
        let expect = broken.crash.as_ref().unwrap();
        assert_eq!(
            (expect.broken, expect.spinning.clone()),
            (Some(1), vec![2, 3])
        );
    }
}
