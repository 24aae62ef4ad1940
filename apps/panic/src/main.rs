//! Test app: panics at once, so the runner sees the panic report and status 101.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

allstop::entry!(main);

fn main() -> i32 {
    panic!("allstop panic test");
}
