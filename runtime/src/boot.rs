//! The boot CPU's path from the first Rust code to the app's `main`.

use alloc::string::String;
use core::sync::atomic::Ordering;
use spin::Once;

use crate::arch::{self, StartInfo};
use crate::cmdline::{BootOptions, CommandLine, CutLine};
use crate::per_cpu::MAX_CPUS;
use crate::stopping;
use crate::{console, kept_report, memory, panic, smp, time, topology};

/// TSC rate assumed when nothing tells it (a warning says so).
const FALLBACK_TSC_KHZ: u64 = 1_000_000;

static CMDLINE: Once<String> = Once::new();

/// The whole boot command line.
pub fn cmdline() -> &'static str {
    CMDLINE.get().map_or("", String::as_str)
}

/// The app's part of the command line: everything after ` -- `.
pub fn app_args() -> &'static str {
    CommandLine::split(cmdline()).app_args
}

/// Boots the runtime, runs the app, and exits with its status. The heap `(start, len)` is ready.
pub fn main(info: StartInfo, (heap_start, heap_len): (u64, u64)) -> ! {
    console::init(BootOptions::default().log);
    let raw = &info.cmdline[..info.cmdline_len];
    let line = match core::str::from_utf8(raw) {
        Ok(line) if !info.cmdline_truncated => line,
        Ok(line) => {
            let cut = CutLine::new(line);
            log::warn!(
                "boot command line longer than {} bytes; the rest is ignored{cut}",
                raw.len()
            );
            cut.kept
        }
        Err(e) => {
            let valid = core::str::from_utf8(&raw[..e.valid_up_to()]).unwrap_or_default();
            let cut = CutLine::new(valid);
            log::warn!(
                "boot command line is not UTF-8 after byte {}; ignoring the rest{cut}",
                e.valid_up_to()
            );
            cut.kept
        }
    };
    let opts = BootOptions::parse(CommandLine::split(line).kernel, |w| log::warn!("{w}"));
    console::set_level(opts.log);
    stopping::configure(&opts);
    crate::restart::configure(&opts);
    kept_report::set_stall_contexts(opts.inject_stall_kept_contexts);
    panic::set_action(opts.panic);
    crate::core_dump::set_enabled(opts.panic_wait_for_core);

    let map = &info.memmap[..info.memmap_len];
    if info.memmap_entries > map.len() {
        log::warn!(
            "memory map: {} entries, only the first {} are used",
            info.memmap_entries,
            map.len()
        );
    }
    for i in memory::wrapping_entries(map) {
        log::warn!(
            "memory map: entry {i} ({:#x} + {:#x}) runs past 2^64; clipped",
            map[i].start,
            map[i].len
        );
    }
    log::debug!("memory map: {map:?}; ACPI RSDP at {:?}", info.rsdp());
    CMDLINE.call_once(|| String::from(line));
    crate::hermit::app_memory::set_ram(map, memory::IDENTITY_MAP_END);
    log::info!(
        "allstop {}: {} MiB RAM, heap {} MiB at {heap_start:#x}",
        env!("CARGO_PKG_VERSION"),
        memory::total_ram(map) >> 20,
        heap_len >> 20,
    );
    start_cpus(info.rsdp(), map, &opts);
    crate::adaptive_timeout::calibrate(&opts);
    // After a warm restart, the rest of the panic's report: an AP prints it while the app starts,
    // or, alone, the boot CPU now.
    let printer = (1..stopping::STOP.cpu_count())
        .map(stop::CpuIndex::new)
        .find(|&cpu| smp::is_online(cpu));
    if let (true, Some(printer)) = (kept_report::start_printing(printer), printer) {
        crate::sched::kick(printer);
    }

    let status = arch::app_entry::run_app();
    log::info!("app exited with status {status}");
    crate::power::poweroff(status as u32)
}

/// Enables the local APIC, reads ACPI, sets up the clock and every CPU's state, and starts the
/// APs.
fn start_cpus(rsdp: Option<usize>, map: &[memory::MemoryRegion], opts: &BootOptions) {
    arch::idt::load();
    let mode = arch::apic::init_boot_cpu();
    let boot_apic_id = arch::apic::id();
    let acpi = read_acpi(rsdp, map);
    arch::power::init(acpi.power);
    log::debug!("ACPI power control: {:?}", acpi.power);
    let kept_khz = arch::survivor::SURVIVOR.tsc_khz.load(Ordering::Relaxed);
    // A warm restart keeps the rate the cold boot measured (calibration takes 10 ms).
    let khz = if kept_khz != 0 {
        Some((kept_khz, None))
    } else {
        arch::tsc::frequency_khz(acpi.pm_timer).map(|(khz, s)| (khz, Some(s)))
    };
    let khz = match khz {
        Some((khz, None)) => khz,
        Some((khz, Some(source))) => {
            log::info!("TSC: {} MHz ({source:?})", khz / 1000);
            khz
        }
        None => {
            log::warn!(
                "TSC frequency unknown; assuming {} MHz",
                FALLBACK_TSC_KHZ / 1000
            );
            FALLBACK_TSC_KHZ
        }
    };
    time::set_tsc_khz(khz);
    arch::survivor::SURVIVOR
        .tsc_khz
        .store(khz, Ordering::Relaxed);
    if kept_khz == 0 && !arch::tsc::is_invariant() {
        log::warn!("TSC is not invariant: time may drift with power states");
    }
    let max_apic_id = match mode {
        stop::x86::ApicMode::X2Apic => u32::MAX,
        stop::x86::ApicMode::Xapic { .. } => topology::MAX_XAPIC_ID,
    };
    let topology = topology::from_madt(&acpi.cpus, boot_apic_id, MAX_CPUS, max_apic_id);
    if topology.unaddressable > 0 {
        log::warn!(
            "{} CPUs with APIC IDs above {} are left off: xAPIC mode cannot address them",
            topology.unaddressable,
            topology::MAX_XAPIC_ID
        );
    }
    if topology.over_limit > 0 {
        log::warn!(
            "{} CPUs beyond the supported {MAX_CPUS} are left off",
            topology.over_limit
        );
    }
    let madt_cpus = acpi
        .cpus
        .iter()
        .filter(|c| c.flags & topology::MADT_ENABLED != 0)
        .count();
    log::debug!("MADT processors: {:?}", acpi.cpus);
    let disabled = acpi.cpus.len() - madt_cpus;
    if disabled > 0 {
        log::info!(
            "MADT: {disabled} disabled CPU(s) ({} online-capable) not started",
            topology.online_capable
        );
    }
    smp::injected::set_ap_entry_fault(opts.inject_ap_entry_fault);
    smp::injected::set_park_missing_ack(opts.inject_park_missing_ack);
    let heap_before = arch::heap::allocated_bytes();
    allocate_per_cpu(topology.apic_ids.len());
    let boot = smp::bringup::init_boot_cpu(&topology.apic_ids);
    let all_cpus = topology.apic_ids.len() >= madt_cpus && topology.online_capable == 0;
    let bringup = smp::bringup::start_aps(
        boot,
        &topology.apic_ids,
        all_cpus,
        opts.inject_stop_during_bringup,
    );
    // Every CPU's state, blocks and stacks, and the bring-up tables: what the machine's CPU
    // count costs.
    log::debug!(
        "per-CPU memory: {} KiB on the heap for {} CPUs",
        arch::heap::allocated_bytes().saturating_sub(heap_before) / 1024,
        topology.apic_ids.len()
    );
    for apic_id in &bringup.missing {
        log::warn!("CPU with APIC ID {apic_id} never checked in; left offline");
    }
    log::info!(
        "{}/{} CPUs online in {} us ({})",
        bringup.online,
        bringup.wanted,
        bringup.duration.as_micros(),
        if mode == stop::x86::ApicMode::X2Apic {
            "x2apic"
        } else {
            "xapic"
        },
    );
    crate::restart::finished();
    smp::set_info(smp::SmpInfo {
        madt_cpus: madt_cpus.max(1),
        x2apic: mode == stop::x86::ApicMode::X2Apic,
        bringup,
    });
}

/// The ACPI tables' CPUs, PM timer and power registers. A warm restart reuses what the cold
/// boot read (see `kept_acpi`).
fn read_acpi(rsdp: Option<usize>, map: &[memory::MemoryRegion]) -> arch::acpi::AcpiInfo {
    let kept = arch::survivor::SURVIVOR.acpi.lock().info();
    if let Some(acpi) = kept {
        return acpi;
    }
    match arch::acpi::read(rsdp, map) {
        Ok(acpi) => {
            if !arch::survivor::SURVIVOR.acpi.lock().keep(&acpi) {
                log::debug!("ACPI: MADT too long to keep; read again at each warm restart");
            }
            acpi
        }
        Err(e) => {
            log::warn!("{e}; running on the boot CPU only");
            arch::acpi::AcpiInfo::default()
        }
    }
}

/// Allocates every module's per-CPU state, and the stop controller's records, for `cpus` CPUs:
/// memory follows the machine's CPU count, not `MAX_CPUS` (see `per_cpu`). Before any CPU is
/// registered.
fn allocate_per_cpu(cpus: usize) {
    stopping::allocate_per_cpu(cpus);
    panic::allocate_per_cpu(cpus);
    crate::interrupted::allocate_per_cpu(cpus);
    crate::sched::allocate_per_cpu(cpus);
    smp::allocate_per_cpu(cpus);
}
