//! The Hermit calls std references that allstop does not offer: files, directories, sockets and
//! name lookup (the runtime has no file system and no network). Each fails with minus `ENOSYS`
//! ("function not implemented"), so std turns it into an `io::Error` the app sees; none pretends
//! to succeed. Also `sys_get_errno` (0: every call returns its error instead of setting an
//! errno), `sys_getaddrinfo` (`EAI_FAIL`, as `getaddrinfo` reports errors in its own numbering)
//! and `sys_freeaddrinfo` (nothing to free: no lookup ever succeeds).

use core::ffi::{c_char, c_void};

use hermit_abi::{addrinfo, dirent64, nfds_t, pollfd, sockaddr, socklen_t, stat};

/// `ENOSYS` as a return value.
const NOT_IMPLEMENTED: i32 = -hermit_abi::ENOSYS;

/// Defines each `sys_<name>(args) -> ret` to return minus `ENOSYS` without touching its
/// arguments.
macro_rules! not_implemented {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(
            #[doc = concat!("Not offered: returns minus `ENOSYS`.")]
            #[unsafe(no_mangle)]
            pub extern "C" fn $name($($arg: $ty),*) -> $ret {
                let _ = ($($arg,)*);
                NOT_IMPLEMENTED as $ret
            }
        )*
    };
}

not_implemented! {
    sys_open(name: *const c_char, flags: i32, mode: i32) -> i32;
    sys_close(fd: i32) -> i32;
    sys_dup(fd: i32) -> i32;
    sys_lseek(fd: i32, offset: isize, whence: i32) -> isize;
    sys_fstat(fd: i32, st: *mut stat) -> i32;
    sys_stat(name: *const c_char, st: *mut stat) -> i32;
    sys_lstat(name: *const c_char, st: *mut stat) -> i32;
    sys_unlink(name: *const c_char) -> i32;
    sys_mkdir(name: *const i8, mode: u32) -> i32;
    sys_rmdir(name: *const c_char) -> i32;
    sys_getdents64(fd: i32, dirp: *mut dirent64, count: usize) -> i64;
    sys_ioctl(s: i32, cmd: i32, argp: *mut c_void) -> i32;
    sys_poll(fds: *mut pollfd, nfds: nfds_t, timeout: i32) -> i32;
    sys_socket(domain: i32, type_: i32, protocol: i32) -> i32;
    sys_bind(s: i32, name: *const sockaddr, namelen: socklen_t) -> i32;
    sys_listen(s: i32, backlog: i32) -> i32;
    sys_accept(s: i32, addr: *mut sockaddr, addrlen: *mut socklen_t) -> i32;
    sys_connect(s: i32, name: *const sockaddr, namelen: socklen_t) -> i32;
    sys_shutdown(sockfd: i32, how: i32) -> i32;
    sys_getpeername(s: i32, name: *mut sockaddr, namelen: *mut socklen_t) -> i32;
    sys_getsockname(s: i32, name: *mut sockaddr, namelen: *mut socklen_t) -> i32;
    sys_getsockopt(s: i32, level: i32, optname: i32, optval: *mut c_void, optlen: *mut socklen_t) -> i32;
    sys_setsockopt(s: i32, level: i32, optname: i32, optval: *const c_void, optlen: socklen_t) -> i32;
    sys_send(s: i32, mem: *const c_void, len: usize, flags: i32) -> isize;
    sys_sendto(s: i32, mem: *const c_void, len: usize, flags: i32, to: *const sockaddr, tolen: socklen_t) -> isize;
    sys_recv(socket: i32, buf: *mut u8, len: usize, flags: i32) -> isize;
    sys_recvfrom(socket: i32, buf: *mut u8, len: usize, flags: i32, addr: *mut sockaddr, addrlen: *mut socklen_t) -> isize;
}

/// The last error of a call: always 0, as every call returns its error instead.
#[unsafe(no_mangle)]
pub extern "C" fn sys_get_errno() -> i32 {
    0
}

/// Name lookup is not offered: returns `EAI_FAIL`.
#[unsafe(no_mangle)]
pub extern "C" fn sys_getaddrinfo(
    nodename: *const c_char,
    servname: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> i32 {
    let _ = (nodename, servname, hints, res);
    hermit_abi::EAI_FAIL
}

/// Nothing to free: [`sys_getaddrinfo`] never hands out a list.
#[unsafe(no_mangle)]
pub extern "C" fn sys_freeaddrinfo(ai: *mut addrinfo) {
    let _ = ai;
}
