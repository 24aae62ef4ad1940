//! allstop's build, run and test driver (filled in by the foundation issue).
fn main() {}
