//! The process: ending it (`sys_exit`, `sys_abort`) and naming it (`sys_getpid`).

/// The status an exit code becomes: its low 8 bits, as on POSIX systems (so `exit(-1)` is 255).
/// QEMU's `isa-debug-exit` then hands the runner only statuses up to 127 intact.
fn exit_status(code: i32) -> u32 {
    u32::from(code as u8)
}

/// Ends the run: stops every other CPU, then powers off with status `status & 0xFF` (106 if
/// that is above the app's range, 0..=100).
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub extern "C" fn sys_exit(status: i32) -> ! {
    let status = exit_status(status);
    log::info!("app called sys_exit: status {status}");
    crate::power::poweroff(status)
}

/// Ends the run abnormally, through the panic path (stop report, panic exit status).
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub extern "C" fn sys_abort() -> ! {
    panic!("sys_abort called")
}

/// The process ID: 0, as the whole machine is one process.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub extern "C" fn sys_getpid() -> hermit_abi::pid_t {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_keep_their_low_byte() {
        assert_eq!(exit_status(0), 0);
        assert_eq!(exit_status(7), 7);
        assert_eq!(exit_status(101), 101);
        assert_eq!(exit_status(255), 255);
        assert_eq!(exit_status(-1), 255);
        assert_eq!(exit_status(256 + 3), 3);
        assert_eq!(exit_status(i32::MIN), 0);
    }
}
