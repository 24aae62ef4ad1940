//! What an app that survived a crash by a warm restart says of where the other CPUs were: its
//! place lines (`<prefix>cpu N was at 0x... (frames ...)`, `wire::place`), symbolized, must put
//! each CPU in the function the case expects them all to have been running.

use std::path::Path;

use wire::place::{Addresses, Place};

use crate::qemu::Symbolizer;

/// What a case expects of the place lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacesExpect {
    /// What the app prints before each place line.
    pub prefix: &'static str,
    /// The function every place must be in: its instruction, or one of its return addresses.
    pub function: &'static str,
    /// Functions that `function` calls: an instruction in one of them counts too, since a CPU
    /// interrupted on their first instruction (before their frame exists) has its walk start
    /// at `function`'s caller.
    pub callees: &'static [&'static str],
}

/// What is wrong with the place lines in `serial`, symbolized with `kernel`'s symbols: none at
/// all, or one that is not in the expected function.
pub fn problems(expect: &PlacesExpect, serial: &str, kernel: &Path) -> Vec<String> {
    let places = places(serial, expect.prefix);
    if places.is_empty() {
        return vec![format!(
            "no place lines ({}cpu N was at ...) after a warm restart",
            expect.prefix
        )];
    }
    let symbols = match Symbolizer::load(kernel) {
        Ok(symbols) => symbols,
        Err(err) => return vec![format!("cannot symbolize the place lines: {err:#}")],
    };
    places
        .into_iter()
        .filter_map(|place| {
            let rip = symbols.describe(place.rip);
            let frames: Vec<String> = place
                .frames
                .clone()
                .map(|address| symbols.describe_return_address(address))
                .collect();
            (!is_in(expect, &rip, &frames)).then(|| {
                format!(
                    "cpu {} was not in {} after a warm restart: it was at {rip}, frames {}",
                    place.cpu,
                    expect.function,
                    frames.join(" / ")
                )
            })
        })
        .collect()
}

/// Whether a place whose instruction symbolizes to `rip` and whose return addresses to
/// `frames` is in the expected function (or its instruction in one of the callees).
fn is_in(expect: &PlacesExpect, rip: &str, frames: &[String]) -> bool {
    rip.contains(expect.function)
        || frames.iter().any(|frame| frame.contains(expect.function))
        || expect.callees.iter().any(|callee| rip.contains(callee))
}

/// The place lines of `serial` that follow `prefix` (a malformed one is not a place line).
fn places<'a>(serial: &'a str, prefix: &str) -> Vec<Place<Addresses<'a>>> {
    serial
        .lines()
        .filter_map(|line| line.trim_end_matches('\r').strip_prefix(prefix))
        .filter_map(|rest| Place::parse(rest).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_lines_are_found_after_their_prefix() {
        let serial = "crashloop: run #1 on 2 CPUs\r\n\
                      crashloop: cpu 1 was at 0x0000000000100570 (frames 0x000000000010152b)\r\n\
                      cpu 1 was at 0x0000000000100570 (no frames)\n\
                      crashloop: cpu 1 panics in run #1\n";
        let found = places(serial, "crashloop: ");
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].cpu, found[0].rip), (1, 0x10_0570));
        assert_eq!(found[0].frames.clone().collect::<Vec<_>>(), [0x10_152b]);
    }

    const EXPECT: PlacesExpect = PlacesExpect {
        prefix: "crashloop: ",
        function: "crashloop::wait_for_stop",
        callees: &["allstop::smp::beat"],
    };

    #[test]
    fn a_place_is_in_the_function_by_its_instruction_a_frame_or_a_callee() {
        let wait = "crashloop::wait_for_stop at apps/crashloop/src/main.rs:160";
        let closure = "crashloop::crash::{{closure}} at apps/crashloop/src/main.rs:141";
        let beat = "allstop::smp::beat at runtime/src/smp/mod.rs:69";
        for (rip, frames, is) in [
            (wait, &[closure][..], true),
            (
                "allstop::arch::x86_64::cpu::irq::wait",
                &[wait, closure][..],
                true,
            ),
            (beat, &[closure][..], true),
            ("??", &[beat, closure][..], false),
            ("core::panicking::panic_fmt", &[][..], false),
        ] {
            let frames: Vec<String> = frames.iter().map(|f| f.to_string()).collect();
            assert_eq!(is_in(&EXPECT, rip, &frames), is, "{rip} {frames:?}");
        }
    }

    #[test]
    fn no_place_line_is_a_problem() {
        let problems = problems(&EXPECT, "crashloop: run #1\n", Path::new("/nonexistent"));
        assert_eq!(
            problems,
            ["no place lines (crashloop: cpu N was at ...) after a warm restart"]
        );
    }
}
