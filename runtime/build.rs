//! Puts the kernel linker script on the linker search path of every image that links the runtime.
//! `.cargo/config.toml` passes `-Tallstop.ld` for the `x86_64-unknown-none` target.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("allstop.ld", out.join("allstop.ld")).expect("copy allstop.ld to OUT_DIR");
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rerun-if-changed=allstop.ld");
}
