//! Test app: never exits, so the runner's hard timeout must end the run.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

allstop::entry!(main);

fn main() -> i32 {
    allstop::println!("hang: spinning forever");
    loop {
        core::hint::spin_loop();
    }
}
