//! The scenarios. Each sets up the CPUs as it says, then triggers a stop (most by a panic);
//! none returns normally.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::time::Duration;

use allstop::stopping::{self, StopReason};
use allstop::{inject, irq, smp, time};

use crate::args::{Args, Cpu};

/// One scenario.
pub struct Scenario {
    /// What `scenario=` names it.
    pub name: &'static str,
    /// What it does.
    pub what: &'static str,
    /// CPUs it needs.
    pub min_cpus: usize,
    /// Runs it; returns a status only if it could not run.
    pub run: fn(&Args) -> i32,
}

/// Every scenario.
pub const ALL: &[Scenario] = &[
    Scenario {
        name: "panic",
        what: "CPU cpu=N (default 0) panics, the others idle in hlt",
        min_cpus: 1,
        run: panic,
    },
    Scenario {
        name: "irqoff",
        what: "APs 1..=k spin with interrupts off, the rest idle; cpu 0 panics",
        min_cpus: 2,
        run: irqoff,
    },
    Scenario {
        name: "corrupt-frames",
        what: "APs 1..=k spin with interrupts off, AP 1 with a corrupt frame-pointer chain; \
               cpu 0 panics",
        min_cpus: 2,
        run: corrupt_frames,
    },
    Scenario {
        name: "race",
        what: "AP 1 keeps interrupts off for window_us after the stop starts; cpu 0 panics",
        min_cpus: 2,
        run: race,
    },
    Scenario {
        name: "concurrent",
        what: "every CPU panics at the same moment, interrupts off",
        min_cpus: 1,
        run: concurrent,
    },
    Scenario {
        name: "console-lock",
        what: "AP 1 holds the console lock, interrupts off; cpu 0 panics",
        min_cpus: 2,
        run: console_lock,
    },
    Scenario {
        name: "nmi-panic",
        what: "CPU cpu=N (default last) NMIs itself outside a stop: the NMI handler panics",
        min_cpus: 1,
        run: nmi_panic,
    },
    Scenario {
        name: "page-fault",
        what: "CPU cpu=N (default last) writes to an unmapped address",
        min_cpus: 1,
        run: page_fault,
    },
    Scenario {
        name: "null-write",
        what: "CPU cpu=N (default last) writes through a null pointer plus an offset (page 0)",
        min_cpus: 1,
        run: null_write,
    },
    Scenario {
        name: "nmi-blocked",
        what: "AP 1 spins inside its NMI handler (NMIs blocked); cpu 0 panics",
        min_cpus: 2,
        run: nmi_blocked,
    },
    Scenario {
        name: "merged-ping",
        what: "AP 1 has a ping request pending whose NMI merged with the stop's, and spins \
               interrupts-off; cpu 0 panics",
        min_cpus: 2,
        run: merged_ping,
    },
    Scenario {
        name: "boot-nmi-panic",
        what: "cpu 0 spins inside its NMI handler and panics there once AP 1 has panicked and \
               begun the stop (cpu 0 stops itself with NMIs blocked)",
        min_cpus: 2,
        run: boot_nmi_panic,
    },
    Scenario {
        name: "apic-off",
        what: "AP 1 software-disables its local APIC, interrupts on; cpu 0 panics",
        min_cpus: 2,
        run: apic_off,
    },
    Scenario {
        name: "booting",
        what: "needs the kernel option inject.stop_during_bringup=1 (never reaches the app)",
        min_cpus: 1,
        run: booting,
    },
    Scenario {
        name: "reboot",
        what: "the app asks to reboot",
        min_cpus: 1,
        run: reboot,
    },
    Scenario {
        name: "poweroff",
        what: "the app powers off with status=S (default 0)",
        min_cpus: 1,
        run: poweroff,
    },
    Scenario {
        name: "restart",
        what: "k rounds (default 100): stop the others, park them with INIT, start them again",
        min_cpus: 1,
        run: restart,
    },
    Scenario {
        name: "nmi-stack-overflow",
        what: "CPU cpu=N (default last) recurses inside its NMI handler, on the NMI stack",
        min_cpus: 1,
        run: nmi_stack_overflow,
    },
    Scenario {
        name: "stack-overflow",
        what: "CPU cpu=N (default last) recurses into its stack guard page",
        min_cpus: 1,
        run: stack_overflow,
    },
];

/// The scenario called `name`.
pub fn find(name: &str) -> Option<&'static Scenario> {
    ALL.iter().find(|s| s.name == name)
}

/// CPUs that have set themselves up and signalled it.
static READY: AtomicUsize = AtomicUsize::new(0);
/// Set by cpu 0 when the stop is about to begin.
static GO: AtomicBool = AtomicBool::new(false);

/// An idle CPU: asleep in `hlt` with interrupts on, beating at every wake-up.
fn idle_forever() -> ! {
    loop {
        smp::beat();
        irq::wait();
    }
}

/// A busy CPU: spins, beating, with whatever interrupt state it has.
fn spin_forever() -> ! {
    loop {
        smp::beat();
        core::hint::spin_loop();
    }
}

/// Waits (beating) until `n` CPUs are ready.
fn wait_ready(n: usize) {
    while READY.load(Ordering::SeqCst) < n {
        smp::beat();
        core::hint::spin_loop();
    }
}

/// Signals that this CPU is set up.
fn ready() {
    READY.fetch_add(1, Ordering::SeqCst);
}

/// Runs `target_work` on CPU `target` once every CPU has entered the work (so that no AP is
/// still finishing its bring-up, interrupts off, when the target acts); cpu 0 (if not the
/// target) idles; other APs go idle.
fn on_cpu(target: usize, target_work: impl Fn(usize) + Sync) -> ! {
    let cpus = smp::cpu_count();
    smp::on_each_cpu(|cpu| {
        let cpu = cpu.get();
        ready();
        if cpu == target {
            wait_ready(cpus);
            target_work(cpu);
        }
        if cpu == 0 {
            idle_forever();
        }
    });
    unreachable!("cpu 0 idles until stopped");
}

fn panic(args: &Args) -> i32 {
    let target = args.cpu.unwrap_or(Cpu::Index(0)).resolve(smp::cpu_count());
    on_cpu(target, |cpu| panic!("faults: cpu {cpu} panics on purpose"))
}

fn irqoff(args: &Args) -> i32 {
    let k = args.k.unwrap_or(1).clamp(1, smp::cpu_count() - 1);
    smp::on_each_cpu(|cpu| {
        spin_interrupts_off_then_panic(cpu.get(), k, "with APs spinning interrupts-off", |_| {
            spin_forever()
        })
    });
    unreachable!("cpu 0 panics");
}

fn corrupt_frames(args: &Args) -> i32 {
    let k = args.k.unwrap_or(1).clamp(1, smp::cpu_count() - 1);
    smp::on_each_cpu(|cpu| {
        let why = "AP 1's frame-pointer chain is corrupt";
        spin_interrupts_off_then_panic(cpu.get(), k, why, |cpu| match cpu {
            1 => inject::spin_with_corrupt_frame_pointer(),
            _ => spin_forever(),
        })
    });
    unreachable!("cpu 0 panics");
}

/// CPU `cpu`'s part of a scenario where APs 1..=k run `spin` with interrupts off and cpu 0
/// panics (saying `why`) once they all do (`spin` never returns); other APs return to idle.
/// Inlined, so that the spinning CPUs' frames lead straight back to the scenario's closure.
#[inline(always)]
fn spin_interrupts_off_then_panic(cpu: usize, k: usize, why: &str, spin: impl Fn(usize)) {
    if cpu == 0 {
        wait_ready(k);
        panic!("faults: cpu 0 panics ({k} APs spinning): {why}");
    } else if cpu <= k {
        irq::disable();
        ready();
        spin(cpu);
    }
}

fn race(args: &Args) -> i32 {
    let window = Duration::from_micros(args.window_us.unwrap_or(1000));
    smp::on_each_cpu(|cpu| {
        let cpu = cpu.get();
        if cpu == 0 {
            wait_ready(1);
            GO.store(true, Ordering::SeqCst);
            panic!("faults: cpu 0 panics; cpu 1 keeps interrupts off for {window:?}");
        } else if cpu == 1 {
            irq::disable();
            ready();
            while !GO.load(Ordering::SeqCst) {
                smp::beat();
            }
            let start = time::now();
            while time::now() - start < window {
                smp::beat();
            }
            irq::enable();
            spin_forever();
        }
    });
    unreachable!("cpu 0 panics");
}

fn concurrent(_: &Args) -> i32 {
    let cpus = smp::cpu_count();
    smp::on_each_cpu(|cpu| {
        let cpu = cpu.get();
        irq::disable();
        ready();
        wait_ready(cpus);
        panic!("faults: concurrent panic on cpu {cpu}");
    });
    unreachable!("every CPU panics");
}

fn console_lock(_: &Args) -> i32 {
    smp::on_each_cpu(|cpu| {
        let cpu = cpu.get();
        if cpu == 0 {
            wait_ready(1);
            panic!("faults: cpu 0 panics while cpu 1 holds the console lock");
        } else if cpu == 1 {
            irq::disable();
            inject::hold_console_lock();
            ready();
            spin_forever();
        }
    });
    unreachable!("cpu 0 panics");
}

fn nmi_panic(args: &Args) -> i32 {
    let target = args.cpu.unwrap_or(Cpu::Last).resolve(smp::cpu_count());
    on_cpu(target, |_| {
        inject::nmi_self();
        spin_forever();
    })
}

fn page_fault(args: &Args) -> i32 {
    let target = args.cpu.unwrap_or(Cpu::Last).resolve(smp::cpu_count());
    on_cpu(target, |_| inject::page_fault())
}

fn null_write(args: &Args) -> i32 {
    let target = args.cpu.unwrap_or(Cpu::Last).resolve(smp::cpu_count());
    on_cpu(target, |_| inject::null_write())
}

fn nmi_blocked(_: &Args) -> i32 {
    smp::on_each_cpu(|cpu| {
        let cpu = cpu.get();
        if cpu == 0 {
            wait_ready(1);
            // Inside its NMI handler cpu 1 beats: two beats after the signal mean it is there.
            let seen = smp::heartbeat(smp::CpuIndex::new(1)).unwrap_or(0);
            while smp::heartbeat(smp::CpuIndex::new(1)).unwrap_or(0) < seen + 2 {
                core::hint::spin_loop();
            }
            panic!("faults: cpu 0 panics while cpu 1 spins with NMIs blocked");
        } else if cpu == 1 {
            ready();
            inject::spin_in_nmi();
        }
    });
    unreachable!("cpu 0 panics");
}

fn merged_ping(_: &Args) -> i32 {
    smp::on_each_cpu(|cpu| {
        let cpu = cpu.get();
        if cpu == 0 {
            wait_ready(1);
            panic!("faults: cpu 0 panics; cpu 1 spins interrupts-off with a ping request pending");
        } else if cpu == 1 {
            irq::disable();
            inject::ping_merged_with_next_nmi();
            ready();
            spin_forever();
        }
    });
    unreachable!("cpu 0 panics");
}

fn boot_nmi_panic(_: &Args) -> i32 {
    smp::on_each_cpu(|cpu| {
        let cpu = cpu.get();
        if cpu == 0 {
            ready();
            inject::panic_in_nmi_when_stopped();
        } else if cpu == 1 {
            wait_ready(1);
            // Inside its NMI handler cpu 0 beats: two beats after the signal mean it is there.
            let seen = smp::heartbeat(smp::CpuIndex::BOOT).unwrap_or(0);
            while smp::heartbeat(smp::CpuIndex::BOOT).unwrap_or(0) < seen + 2 {
                core::hint::spin_loop();
            }
            panic!("faults: cpu 1 panics while cpu 0 is inside its NMI handler");
        }
    });
    unreachable!("cpu 1 panics");
}

fn apic_off(_: &Args) -> i32 {
    smp::on_each_cpu(|cpu| {
        let cpu = cpu.get();
        if cpu == 0 {
            wait_ready(1);
            panic!("faults: cpu 0 panics; cpu 1's local APIC is software-disabled");
        } else if cpu == 1 {
            inject::disable_local_apic();
            ready();
            spin_forever();
        }
    });
    unreachable!("cpu 0 panics");
}

fn booting(_: &Args) -> i32 {
    allstop::println!("faults: the app ran, so inject.stop_during_bringup=1 was not given");
    1
}

fn reboot(_: &Args) -> i32 {
    allstop::println!("faults: rebooting");
    allstop::reboot()
}

fn poweroff(args: &Args) -> i32 {
    let status = args.status.unwrap_or(0);
    allstop::println!("faults: powering off with status {status}");
    allstop::poweroff(status)
}

fn restart(args: &Args) -> i32 {
    let rounds = args.k.unwrap_or(100);
    let cpus = smp::cpu_count();
    let mut worst = Duration::ZERO;
    for round in 0..rounds {
        let Some(report) = stopping::stop_others(StopReason::Request) else {
            allstop::println!("faults: round {round}: this CPU was already the stopper");
            return 1;
        };
        let summary = report.summary();
        if summary.stuck != 0 || summary.targets + 1 != cpus as u64 {
            allstop::println!("faults: round {round}: {summary}");
            return 1;
        }
        match smp::restart_others() {
            Ok(bringup) if bringup.online == cpus => worst = worst.max(bringup.duration),
            Ok(bringup) => {
                allstop::println!(
                    "faults: round {round}: only {} of {cpus} CPUs came back",
                    bringup.online
                );
                return 1;
            }
            Err(e) => {
                allstop::println!("faults: round {round}: restart refused: {e:?}");
                return 1;
            }
        }
        // The restarted CPUs take work again.
        let answered = core::sync::atomic::AtomicUsize::new(0);
        smp::on_each_cpu(|_| {
            answered.fetch_add(1, Ordering::SeqCst);
        });
        if answered.load(Ordering::SeqCst) != cpus {
            allstop::println!("faults: round {round}: on_each_cpu reached {answered:?} CPUs");
            return 1;
        }
    }
    allstop::println!(
        "faults: {rounds} stop/restart rounds on {cpus} CPUs, slowest restart {} us",
        worst.as_micros()
    );
    allstop::poweroff(0)
}

fn stack_overflow(args: &Args) -> i32 {
    let target = args.cpu.unwrap_or(Cpu::Last).resolve(smp::cpu_count());
    on_cpu(target, |cpu| {
        allstop::println!("faults: overflowing the stack of cpu {cpu}");
        recurse(0);
    })
}

fn nmi_stack_overflow(args: &Args) -> i32 {
    let target = args.cpu.unwrap_or(Cpu::Last).resolve(smp::cpu_count());
    on_cpu(target, |cpu| {
        allstop::println!("faults: overflowing the NMI stack of cpu {cpu}");
        inject::overflow_nmi_stack();
    })
}

/// Recurses without bound; `black_box` keeps the frames from being optimised away.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 32]);
    recurse(depth + 1) + frame[31]
}
