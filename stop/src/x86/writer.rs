//! The one ICR writer of allstop: sends a typed [`Icr`] through the x2APIC MSR or the xAPIC
//! MMIO registers. Target-only; the only `unsafe` in this crate.
#![allow(unsafe_code)]

use core::arch::asm;
use core::fmt;
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use super::icr::{Icr, IcrError, XAPIC_DELIVERY_STATUS_PENDING};

/// x2APIC ICR MSR (SDM Vol. 3A §11.12.9).
const X2APIC_ICR_MSR: u32 = 0x830;
/// Offset of `ICR_LOW` from the xAPIC MMIO base (SDM Vol. 3A §11.6.1).
const XAPIC_ICR_LOW: usize = 0x300;
/// Offset of `ICR_HIGH` from the xAPIC MMIO base.
const XAPIC_ICR_HIGH: usize = 0x310;
/// How many delivery-status polls to wait before giving up on an xAPIC send. A healthy APIC
/// clears the bit within a few microseconds; this bound (well over 1 ms of `pause` loops on
/// any CPU) only keeps a broken APIC from hanging the stop path forever.
const XAPIC_IDLE_POLLS: u32 = 1_000_000;

/// `mode` value before [`IcrWriter::init`].
const MODE_UNSET: u8 = 0;
/// `mode` value for x2APIC.
const MODE_X2APIC: u8 = 1;
/// `mode` value for xAPIC.
const MODE_XAPIC: u8 = 2;

/// How this machine's local APIC is programmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApicMode {
    /// x2APIC: ICR is MSR 0x830, 32-bit destinations.
    X2Apic,
    /// xAPIC: ICR is memory-mapped at this virtual base address (+0x300/+0x310).
    Xapic {
        /// Virtual address of the xAPIC register page.
        mmio_base: usize,
    },
}

/// Why an IPI was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// [`IcrWriter::init`] has not run yet.
    NotInitialized,
    /// The ICR cannot be encoded in the current mode.
    Encoding(IcrError),
    /// The xAPIC kept reporting a previous IPI as pending.
    DeliveryPending,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotInitialized => f.write_str("ICR writer used before its APIC mode was set"),
            Self::Encoding(e) => e.fmt(f),
            Self::DeliveryPending => f.write_str("xAPIC delivery status stayed pending"),
        }
    }
}

/// Sends IPIs; const-constructible so it can be a `static`, told the APIC mode once at boot.
///
/// ```ignore
/// static ICR: IcrWriter = IcrWriter::new();
/// // at boot, once the local APIC is enabled:
/// unsafe { ICR.init(ApicMode::X2Apic) };
/// ICR.send(Icr::init_assert(apic_id))?;
/// ```
#[derive(Debug)]
pub struct IcrWriter {
    /// One of `MODE_UNSET`, `MODE_X2APIC`, `MODE_XAPIC`; published after `mmio_base`.
    mode: AtomicU8,
    /// xAPIC MMIO virtual base (0 in x2APIC mode).
    mmio_base: AtomicUsize,
}

impl Default for IcrWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl IcrWriter {
    /// A writer that refuses to send until [`init`](Self::init).
    pub const fn new() -> Self {
        Self {
            mode: AtomicU8::new(MODE_UNSET),
            mmio_base: AtomicUsize::new(0),
        }
    }

    /// Records the APIC mode. Call once at boot, before any [`send`](Self::send).
    ///
    /// # Safety
    /// 1. The local APIC of every CPU that will call `send` is enabled in `mode`
    ///    (x2APIC enabled in `IA32_APIC_BASE` for [`ApicMode::X2Apic`]).
    /// 2. For [`ApicMode::Xapic`], `mmio_base` is the virtual address of the xAPIC register page,
    ///    mapped uncached and writable for the rest of the program's life on every CPU.
    pub unsafe fn init(&self, mode: ApicMode) {
        match mode {
            ApicMode::X2Apic => self.mode.store(MODE_X2APIC, Ordering::Release),
            ApicMode::Xapic { mmio_base } => {
                self.mmio_base.store(mmio_base, Ordering::Relaxed);
                self.mode.store(MODE_XAPIC, Ordering::Release);
            }
        }
    }

    /// The mode set by [`init`](Self::init), if any.
    pub fn mode(&self) -> Option<ApicMode> {
        match self.mode.load(Ordering::Acquire) {
            MODE_X2APIC => Some(ApicMode::X2Apic),
            MODE_XAPIC => Some(ApicMode::Xapic {
                mmio_base: self.mmio_base.load(Ordering::Relaxed),
            }),
            _ => None,
        }
    }

    /// Sends `icr` from the calling CPU.
    ///
    /// x2APIC: `mfence; lfence; wrmsr` — WRMSR to the ICR is not serializing, so the fences make
    /// every earlier store (such as a stop protocol's `nmi_sent`) globally visible before the IPI
    /// leaves. xAPIC: waits (bounded) for delivery status idle, writes `ICR_HIGH`, then
    /// `ICR_LOW`, with interrupts off between the two so no handler's IPI splits the pair.
    pub fn send(&self, icr: Icr) -> Result<(), SendError> {
        match self.mode() {
            None => Err(SendError::NotInitialized),
            Some(ApicMode::X2Apic) => {
                write_x2apic_icr(icr.x2apic_value());
                Ok(())
            }
            Some(ApicMode::Xapic { mmio_base }) => {
                let regs = icr.xapic_registers().map_err(SendError::Encoding)?;
                let low = (mmio_base + XAPIC_ICR_LOW) as *mut u32;
                let high = (mmio_base + XAPIC_ICR_HIGH) as *mut u32;
                without_interrupts(|| {
                    wait_xapic_idle(low)?;
                    // SAFETY: 1. `init`'s contract makes `mmio_base` the mapped, writable xAPIC
                    // page, so both offsets are valid aligned u32 device registers;
                    // 2. interrupts are off, so nothing on this CPU writes the ICR in between.
                    unsafe {
                        high.write_volatile(regs.high);
                        low.write_volatile(regs.low);
                    }
                    Ok(())
                })
            }
        }
    }
}

/// Fences, then writes the x2APIC ICR MSR; one asm block so nothing can move in between.
fn write_x2apic_icr(value: u64) {
    // SAFETY: `init`'s contract says x2APIC is enabled, so MSR 0x830 exists and WRMSR to it only
    // sends an IPI; the asm clobbers no Rust-visible state besides memory ordering.
    unsafe {
        asm!(
            "mfence",
            "lfence",
            "wrmsr",
            in("ecx") X2APIC_ICR_MSR,
            in("eax") value as u32,
            in("edx") (value >> 32) as u32,
            options(nostack, preserves_flags),
        );
    }
}

/// Polls `ICR_LOW`'s delivery status until idle, at most [`XAPIC_IDLE_POLLS`] times.
fn wait_xapic_idle(low: *const u32) -> Result<(), SendError> {
    for _ in 0..XAPIC_IDLE_POLLS {
        // SAFETY: `low` is the xAPIC ICR_LOW register, valid per `init`'s contract.
        if unsafe { low.read_volatile() } & XAPIC_DELIVERY_STATUS_PENDING == 0 {
            return Ok(());
        }
        core::hint::spin_loop();
    }
    Err(SendError::DeliveryPending)
}

/// Runs `f` with maskable interrupts off, restoring the caller's interrupt flag afterwards.
fn without_interrupts<T>(f: impl FnOnce() -> T) -> T {
    /// RFLAGS.IF.
    const INTERRUPT_FLAG: u64 = 1 << 9;
    let rflags: u64;
    // SAFETY: reads RFLAGS through the stack and clears IF; no memory is touched but the push.
    unsafe { asm!("pushfq", "pop {}", "cli", out(reg) rflags) };
    let result = f();
    if rflags & INTERRUPT_FLAG != 0 {
        // SAFETY: interrupts were on when we were called; turning them back on restores that.
        unsafe { asm!("sti", options(nostack)) };
    }
    result
}
