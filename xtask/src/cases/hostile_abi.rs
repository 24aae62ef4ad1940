//! `hostile-abi-*` cases: abi-hello's `abuse=SCENARIO` calls every `sys_*` that takes a pointer
//! with a bad pointer or size; each call must return exactly the errno the ABI's pointer check
//! gives (`EFAULT` for bad addresses, `EINVAL` for impossible sizes and misaligned typed
//! pointers), nothing may be written through the pointer, and the run must end normally.

use crate::cases::table::Case;

/// `-EFAULT`, as the app prints it.
const EFAULT: &str = "-14";
/// `-EINVAL`.
const EINVAL: &str = "-22";
/// `-EAGAIN`: the futex word differed (the timeout was taken in without overflowing).
const EAGAIN: &str = "-11";

/// The app.
const APP: &str = "abi-hello";

/// What every pointer-taking call returns when its pointer is a bad address: the errno, 0 for
/// a thread ID (no thread), null for a block, and `free` ignores it.
const BAD_ADDRESS: &[(&str, &str)] = &[
    ("write", EFAULT),
    ("read", EFAULT),
    ("read_entropy", EFAULT),
    ("writev array", EFAULT),
    ("writev buffer", EFAULT),
    ("readv array", EFAULT),
    ("readv buffer", EFAULT),
    ("clock_gettime", EFAULT),
    ("nanosleep", EFAULT),
    ("futex_wait word", EFAULT),
    ("futex_wait timeout", EFAULT),
    ("futex_wake", EFAULT),
    ("spawn id", EFAULT),
    ("spawn2 func", "0"),
    ("realloc", "null"),
    ("free", "returned"),
];

/// Buffers running from RAM past its end.
const RAM_END: &[(&str, &str)] = &[
    ("write", EFAULT),
    ("read_entropy", EFAULT),
    ("clock_gettime", EFAULT),
    ("nanosleep", EFAULT),
];

/// Misaligned typed pointers are refused; byte buffers at odd addresses and an aligned
/// timespec (the controls) are not.
const MISALIGNED: &[(&str, &str)] = &[
    ("clock_gettime", EINVAL),
    ("nanosleep", EINVAL),
    ("futex_wait timeout", EINVAL),
    ("futex_wait word", EINVAL),
    ("futex_wake", EINVAL),
    ("spawn id", EINVAL),
    ("writev array", EINVAL),
    ("readv array", EINVAL),
    ("realloc", "null"),
    ("write odd 0 bytes", "0"),
    ("read odd 5 bytes", "0"),
    ("clock_gettime aligned", "0"),
];

/// Sizes no buffer has are `EINVAL`; a size within `isize` that runs out of RAM is `EFAULT`;
/// timeouts at the end of their range convert without overflow.
const HUGE: &[(&str, &str)] = &[
    ("write isize::MAX+1", EINVAL),
    ("write usize::MAX", EINVAL),
    ("write 1 TiB", EFAULT),
    ("read usize::MAX", EINVAL),
    ("read_entropy usize::MAX", EINVAL),
    ("writev 1025 buffers", EINVAL),
    ("writev total overflow", EINVAL),
    ("futex_wait relative max", EAGAIN),
    ("futex_wait absolute max", EAGAIN),
    ("spawn2 stack usize::MAX", "0"),
    ("malloc usize::MAX", "null"),
    ("malloc isize::MAX", "null"),
];

/// A case running `scenario`: every `(call, result)` line must appear, then the scenario's
/// `done` line, and the run must end with status 0 (no panic, no failed check).
fn abuse(name: &str, scenario: &str, expected: &[(&str, &str)]) -> Case {
    let mut lines: Vec<String> = expected
        .iter()
        .map(|(call, result)| format!("{APP}: abuse {scenario} {call}: {result}\n"))
        .collect();
    lines.push(format!("{APP}: abuse {scenario}: done"));
    Case::new(name, APP)
        .append(&format!("-- abuse={scenario}"))
        .require(&lines)
        .forbid(&["abi-hello: FAILED"])
}

/// The `hostile-abi-*` cases; the local APIC page is in the quick subset.
pub fn all() -> Vec<Case> {
    vec![
        abuse("hostile-abi-null-plus-offset", "page0", BAD_ADDRESS),
        abuse("hostile-abi-apic-page", "apic", BAD_ADDRESS).quick(),
        abuse("hostile-abi-wrapping-range", "wrap", BAD_ADDRESS),
        abuse("hostile-abi-unmapped-address", "unmapped", BAD_ADDRESS),
        abuse("hostile-abi-bios-hole", "bios", BAD_ADDRESS),
        abuse("hostile-abi-straddles-ram-end", "ram-end", RAM_END),
        abuse(
            "hostile-abi-misaligned-typed-pointers",
            "misaligned",
            MISALIGNED,
        ),
        abuse("hostile-abi-huge-sizes", "huge", HUGE),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_requires_each_call_line_and_the_end() {
        for case in all() {
            assert!(case.name.starts_with("hostile-abi-"), "{}", case.name);
            let scenario = case.append.strip_prefix("-- abuse=").unwrap();
            assert!(
                case.required
                    .contains(&format!("{APP}: abuse {scenario}: done")),
                "{}",
                case.name
            );
            assert!(
                case.required.len() > 4,
                "{} checks too few calls",
                case.name
            );
        }
        let apic = all()
            .into_iter()
            .find(|c| c.name == "hostile-abi-apic-page");
        let apic = apic.unwrap();
        assert!(apic
            .required
            .contains(&"abi-hello: abuse apic read_entropy: -14\n".to_string()));
    }
}
