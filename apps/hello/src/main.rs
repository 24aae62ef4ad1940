//! Greets and prints its boot command line.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]
