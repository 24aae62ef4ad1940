//! NMIs the runtime sends on purpose outside a stop: a ping that the target answers and returns
//! from (the benchmark's NMI round trip), a spin that never returns (a test of a CPU that no NMI
//! can reach), a spin that panics once a stop begins (a test of a CPU stopped with NMIs
//! blocked), a recursion that overflows the NMI stack (a test of its guard page), and the
//! request that makes a stopped boot CPU run the warm restart. A request is
//! set before the NMI is sent; the NMI handler takes it unless the NMI belongs to a stop under way
//! (which always comes first).

use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use crate::per_cpu::{per_cpu, PerCpu};
use crate::stopping::STOP;
use stop::CpuIndex;

/// What the next NMI on a CPU should do.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Request {
    /// Nothing: a stop NMI, or unexpected.
    None = 0,
    /// Count a pong and return.
    Ping = 1,
    /// Spin forever, beating, with NMIs blocked.
    Spin = 2,
    /// Run the warm restart on this CPU (the boot CPU, revived by the stopper).
    Restart = 3,
    /// Spin, beating, with NMIs blocked until a stop begins, then panic there (a CPU that
    /// faults inside an NMI handler while another CPU stops).
    PanicWhenStopped = 4,
    /// Recurse without bound on the NMI stack (a test of its guard page).
    Overflow = 5,
}

/// Each CPU's pending request.
static REQUESTS: PerCpu<AtomicU8> = per_cpu!(AtomicU8::new(0));
/// Pings each CPU answered.
static PONGS: PerCpu<AtomicU64> = per_cpu!(AtomicU64::new(0));

/// Allocates this module's per-CPU state for `cpus` CPUs (boot, before the APs start).
pub(crate) fn allocate_per_cpu(cpus: usize) {
    REQUESTS.allocate(cpus);
    PONGS.allocate(cpus);
}

/// Asks CPU `cpu`'s next NMI to do `request` (set it before sending the NMI).
pub fn request(cpu: CpuIndex, request: Request) {
    REQUESTS[cpu].store(request as u8, Ordering::SeqCst);
}

/// Whether CPU `cpu` still has `request` pending (not yet taken by an NMI).
pub fn is_pending(cpu: CpuIndex, request: Request) -> bool {
    REQUESTS[cpu].load(Ordering::SeqCst) == request as u8
}

/// Withdraws `request` from CPU `cpu` if its NMI has not taken it yet; true if withdrawn.
pub fn withdraw(cpu: CpuIndex, request: Request) -> bool {
    REQUESTS[cpu]
        .compare_exchange(
            request as u8,
            Request::None as u8,
            Ordering::SeqCst,
            Ordering::SeqCst,
        )
        .is_ok()
}

/// Pings answered by CPU `cpu` so far.
pub fn pongs(cpu: CpuIndex) -> u64 {
    PONGS[cpu].load(Ordering::SeqCst)
}

/// Called in the NMI handler when the NMI does not belong to a stop. Returns true if the NMI was a ping (answered: the handler
/// returns); spins forever for a spin request; returns false otherwise.
pub fn take(cpu: CpuIndex) -> bool {
    // Load first: a stop NMI finds no request and must not store anything here.
    if REQUESTS[cpu].load(Ordering::SeqCst) == Request::None as u8 {
        return false;
    }
    match REQUESTS[cpu].swap(Request::None as u8, Ordering::SeqCst) {
        r if r == Request::Ping as u8 => {
            PONGS[cpu].fetch_add(1, Ordering::SeqCst);
            true
        }
        r if r == Request::Spin as u8 => loop {
            STOP.beat(cpu);
            core::hint::spin_loop();
        },
        r if r == Request::Restart as u8 => super::warm::restart_here(),
        r if r == Request::Overflow as u8 => {
            crate::arch::inject::recurse(0);
            unreachable!("unbounded recursion returned")
        }
        r if r == Request::PanicWhenStopped as u8 => {
            while !STOP.stop_pending() {
                STOP.beat(cpu);
                core::hint::spin_loop();
            }
            panic!("faults: cpu {cpu} panics inside its NMI handler while another CPU stops")
        }
        _ => false,
    }
}
