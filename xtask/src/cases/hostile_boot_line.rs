//! `hostile-boot-line-*` cases: boot command lines the kernel must survive with a warning (or,
//! when the loader itself was overrun, a prompt exit with status 105), never a hang or a value
//! other than the one the line names. (A line longer than the kernel takes never reaches QEMU
//! through `cargo xtask run`; see xtask's CLI tests.)

use crate::cases::table::{Case, Expect, BOOT_TIMEOUT, GREETING};
use crate::qemu::exit_status::BAD_BOOT_INFO;
use wire::exit::CMDLINE_MAX;

/// The boot-line cases.
pub fn all() -> Vec<Case> {
    // Kernel options, then app arguments whose last word straddles the 1024-byte cut.
    let kernel = "log=info";
    let filler = "a".repeat(CMDLINE_MAX - kernel.len() - " -- ".len() - " cut=".len() - 4);
    let cut_line = format!("{kernel} -- {filler} cut=123456789");
    vec![
        // A line longer than the kernel takes is cut with a warning; one long enough to overrun
        // the loader's room for it ends the run at once with status 105, never a hang.
        Case::new("hostile-boot-line-2k", "hello")
            .append(&"x".repeat(2 * CMDLINE_MAX))
            .require(&[
                GREETING,
                "boot command line longer than 1024 bytes; the rest is ignored, and the last word",
                "cmdline: \"\"",
            ])
            .forbid_only(&["PANIC"]),
        Case::new("hostile-boot-line-overrun", "hello")
            .append(&"x".repeat(5 * CMDLINE_MAX))
            .expect(Expect::Status(BAD_BOOT_INFO), BOOT_TIMEOUT)
            .require(&[
                "allstop: bad hvm_start_info magic",
                "allstop: exit status 105",
            ])
            .forbid_only(&[GREETING])
            .quick(),
        // The word the cut splits (`cut=1234`) is dropped, not taken as a shorter value.
        Case::new("hostile-boot-line-cut-word", "hello")
            .append(&cut_line)
            .require(&[
                "boot command line longer than 1024 bytes; the rest is ignored, and the last \
                 word 'cut=1234', which may be cut (the app's arguments are cut)",
                &format!("cmdline: \"{kernel} -- {filler} \""),
            ])
            .forbid_only(&["PANIC", "cut=1234\""]),
        // Not UTF-8 (only QEMU itself takes such a line; `cargo xtask run` refuses it): the
        // kernel keeps what comes before the first bad byte, less the word it may have split.
        Case::new("hostile-boot-line-not-utf8", "hello")
            .append_bytes(b"log=info restart.max=7\xff\xfe -- zzq-after-the-cut")
            .require(&[
                GREETING,
                "boot command line is not UTF-8 after byte 22; ignoring the rest, and the last \
                 word 'restart.max=7', which may be cut",
                "cmdline: \"log=info \"",
            ])
            .forbid_only(&["PANIC", "zzq-after-the-cut"])
            .quick(),
        Case::new("hostile-boot-line-repeated", "hello")
            .append("log=warn log=info restart.max=7 restart.max=x")
            .require(&[
                GREETING,
                "boot option 'log=info' overrides the earlier 'log=warn'",
                "boot option 'restart.max=x': invalid value (expected a number of restarts); \
                 keeping restart.max=7",
            ])
            .forbid_only(&["PANIC"])
            .quick(),
        // Numbers past what the option (or a u64) holds are refused whole, never wrapped.
        Case::new("hostile-boot-line-huge-numbers", "hello")
            .append(
                "restart.window_ms=18446744073709551616 stop.vector_timeout_us=4294967296001 \
                 stop.verify_ms=99999999999999999999999999",
            )
            .require(&[
                GREETING,
                "'restart.window_ms=18446744073709551616': invalid value (expected \
                 milliseconds, 1..=3600000); keeping restart.window_ms=1000",
                "'stop.vector_timeout_us=4294967296001': invalid value (expected \
                 microseconds, 1..=10000000); keeping stop.vector_timeout_us=1000",
                "'stop.verify_ms=99999999999999999999999999': invalid value",
            ])
            .forbid_only(&["PANIC"]),
    ]
}
