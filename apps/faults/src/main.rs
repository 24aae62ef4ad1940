//! Fault scenarios, one per run, chosen by the app argument `scenario=NAME` (after ` -- ` on the
//! boot command line). Each ends the run through the runtime's panic path.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use allstop::smp;

allstop::entry!(main);

/// Status for a missing or unknown scenario.
const USAGE_STATUS: i32 = 2;

/// The scenarios and what each does.
const SCENARIOS: &[(&str, &str)] = &[
    (
        "stack-overflow",
        "unbounded recursion on the last CPU: guard page, then #DF report",
    ),
    (
        "page-fault",
        "a write to an unmapped address on the boot CPU: #PF report",
    ),
];

fn main() -> i32 {
    let scenario = allstop::app_args()
        .split_ascii_whitespace()
        .find_map(|arg| arg.strip_prefix("scenario="));
    match scenario {
        Some("stack-overflow") => {
            let last = smp::cpu_count() - 1;
            smp::on_each_cpu(|cpu| {
                if cpu == last {
                    allstop::println!("faults: overflowing the stack of cpu {cpu}");
                    recurse(0);
                }
            });
        }
        Some("page-fault") => {
            allstop::println!("faults: writing to an unmapped address on cpu 0");
            allstop::inject::page_fault();
        }
        _ => {
            allstop::println!("faults: say which scenario: -- scenario=NAME, one of:");
            for (name, what) in SCENARIOS {
                allstop::println!("  {name:16} {what}");
            }
            return USAGE_STATUS;
        }
    }
    allstop::println!("faults: scenario returned, which it must not");
    1
}

/// Recurses without bound; `black_box` keeps the frames from being optimised away.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 32]);
    recurse(depth + 1) + frame[31]
}
