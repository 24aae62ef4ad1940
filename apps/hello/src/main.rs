//! Greets and prints its boot command line.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

allstop::entry!(main);

fn main() -> i32 {
    allstop::println!("Hello from allstop!");
    allstop::println!("cmdline: \"{}\"", allstop::cmdline());
    0
}
