//! Every CPU prints its index and APIC ID; then the boot CPU reports how bring-up went.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use allstop::smp;

allstop::entry!(main);

fn main() -> i32 {
    smp::on_each_cpu(|cpu| {
        let apic_id = smp::apic_id(cpu).map_or(u32::MAX, smp::ApicId::get);
        allstop::println!("cpu {cpu}: apic id {apic_id}");
    });
    let info = smp::info();
    allstop::println!("cpus online: {}/{}", smp::cpu_count(), info.madt_cpus);
    allstop::println!("apic: {}", if info.x2apic { "x2apic" } else { "xapic" });
    allstop::println!("bringup_us: {}", info.bringup.duration.as_micros());
    0
}
