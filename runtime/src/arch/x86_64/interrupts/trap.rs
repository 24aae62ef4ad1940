//! Interrupt and exception entry: assembly stubs that save the interrupted state as a
//! [`TrapFrame`] and call [`trap_dispatch`].

use core::arch::global_asm;
use core::fmt;

use super::{apic, vectors};
use crate::arch::x86_64::cpu::percpu;

/// Saved state of the interrupted code, lowest address first.
/// Keep the asm in sync: `trap_common` pushes rax first and r15 last, after the stub pushed the
/// error code (0 when the CPU pushes none) and the vector.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrapFrame {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    rbp: u64,
    rdi: u64,
    rsi: u64,
    rdx: u64,
    rcx: u64,
    rbx: u64,
    rax: u64,
    /// The vector that was raised.
    pub vector: u64,
    /// The exception's error code, or 0.
    pub error_code: u64,
    /// Where the interrupted code was.
    pub rip: u64,
    cs: u64,
    rflags: u64,
    /// The interrupted stack pointer.
    pub rsp: u64,
    ss: u64,
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == TrapFrame::WORDS * 8);

/// The context the CPU was running before the interrupt handler that `frame` (an NMI's)
/// interrupted, when it interrupted one on this CPU's interrupt stack; else `frame` itself.
///
/// An interrupt vector starts at the top of that IST stack: the CPU pushes the interrupted
/// code's SS, RSP, RFLAGS, CS and RIP, and the entry stub then pushes the vector (after a 0
/// error code) and the general registers, so that a whole [`TrapFrame`] ends at the top. Every
/// word at or above the NMI's interrupted RSP has been pushed by that entry; a word below it
/// has not been pushed yet, and the register it is for still holds the interrupted code's value
/// (the stub changes no register before pushing it), which is the one in `frame`.
pub fn underlying_context(frame: &TrapFrame) -> TrapFrame {
    let Some(stack) = percpu::interrupt_stack() else {
        return *frame;
    };
    let rsp = frame.rsp as usize;
    if !stack.contains(&rsp) {
        return *frame;
    }
    let base = stack.end - core::mem::size_of::<TrapFrame>();
    // SAFETY: the top `TrapFrame` of this CPU's interrupt stack is mapped, aligned memory that
    // only this CPU writes, and it is stopped in an NMI on top of that handler, so it does not
    // change under us; words not pushed yet may hold anything, and only pushed ones are used.
    let saved = unsafe { (base as *const TrapFrame).read_volatile() }.to_words();
    let now = frame.to_words();
    TrapFrame::from_words(core::array::from_fn(|i| {
        if base + 8 * i >= rsp {
            saved[i]
        } else {
            now[i]
        }
    }))
}

/// RFLAGS bit 9: maskable interrupts enabled.
const RFLAGS_IF: u64 = 1 << 9;

impl TrapFrame {
    /// Number of 64-bit words in a frame.
    pub const WORDS: usize = 22;

    /// The frame as words, lowest address first (for copying it with atomics).
    pub fn to_words(self) -> [u64; Self::WORDS] {
        [
            self.r15,
            self.r14,
            self.r13,
            self.r12,
            self.r11,
            self.r10,
            self.r9,
            self.r8,
            self.rbp,
            self.rdi,
            self.rsi,
            self.rdx,
            self.rcx,
            self.rbx,
            self.rax,
            self.vector,
            self.error_code,
            self.rip,
            self.cs,
            self.rflags,
            self.rsp,
            self.ss,
        ]
    }

    /// The frame [`to_words`](Self::to_words) gave.
    pub fn from_words(w: [u64; Self::WORDS]) -> Self {
        let [r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax, vector, error_code, rip, cs, rflags, rsp, ss] =
            w;
        Self {
            r15,
            r14,
            r13,
            r12,
            r11,
            r10,
            r9,
            r8,
            rbp,
            rdi,
            rsi,
            rdx,
            rcx,
            rbx,
            rax,
            vector,
            error_code,
            rip,
            cs,
            rflags,
            rsp,
            ss,
        }
    }

    /// The interrupted frame pointer (where a backtrace of the interrupted code starts).
    pub fn rbp(&self) -> u64 {
        self.rbp
    }

    /// Whether the interrupted code ran with maskable interrupts enabled.
    pub fn interrupts_enabled(&self) -> bool {
        self.rflags & RFLAGS_IF != 0
    }
}

impl fmt::Display for TrapFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rip={:#x} rsp={:#x} rbp={:#x} rflags={:#x}\n\
             rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} rsi={:#x} rdi={:#x}\n\
             r8={:#x} r9={:#x} r10={:#x} r11={:#x} r12={:#x} r13={:#x} r14={:#x} r15={:#x}",
            self.rip,
            self.rsp,
            self.rbp,
            self.rflags,
            self.rax,
            self.rbx,
            self.rcx,
            self.rdx,
            self.rsi,
            self.rdi,
            self.r8,
            self.r9,
            self.r10,
            self.r11,
            self.r12,
            self.r13,
            self.r14,
            self.r15
        )
    }
}

// One stub per exception vector (0-31); the CPU pushes an error code for 8, 10-14, 17, 21, 29
// and 30, the stubs push a 0 for the others so every frame has the same shape. `trap_stubs` is
// the table of their addresses, in vector order.
global_asm!(
    r#"
    .macro TRAP_STUB vector, has_error_code
    .balign 16
trap_stub_\vector:
    .if \has_error_code == 0
    push 0
    .endif
    push \vector
    jmp trap_common
    .endm

    .section .text.trap, "ax"
    .irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
    TRAP_STUB \v, 0
    .endr
    .irp v, 8,10,11,12,13,14,17,21,29,30
    TRAP_STUB \v, 1
    .endr
    TRAP_STUB {wake}, 0
    TRAP_STUB {stop}, 0
    TRAP_STUB {probe}, 0

    .global trap_spurious
trap_spurious:
    iretq

trap_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld
    call {dispatch}
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq

    .section .rodata.trap, "a"
    .balign 8
    .global trap_stubs
trap_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad trap_stub_\v
    .endr
    .global trap_wake
trap_wake:
    .quad trap_stub_{wake}
    .global trap_stop
trap_stop:
    .quad trap_stub_{stop}
    .global trap_probe
trap_probe:
    .quad trap_stub_{probe}
"#,
    wake = const vectors::WAKE_VECTOR,
    stop = const vectors::STOP_VECTOR,
    probe = const vectors::PROBE_VECTOR,
    dispatch = sym trap_dispatch,
);

unsafe extern "C" {
    /// Entry stubs of the 32 exception vectors, by vector.
    pub static trap_stubs: [u64; 32];
    /// Entry stub of the wake vector, as a one-element table.
    pub static trap_wake: u64;
    /// Entry stub of the stop vector, as a one-element table.
    pub static trap_stop: u64;
    /// Entry stub of the probe vector, as a one-element table.
    pub static trap_probe: u64;
    /// Entry of the spurious vector: returns at once, without EOI.
    pub fn trap_spurious();
}

/// Names of the architectural exceptions, by vector.
const EXCEPTION_NAMES: [&str; 32] = [
    "divide error (#DE)",
    "debug (#DB)",
    "non-maskable interrupt (NMI)",
    "breakpoint (#BP)",
    "overflow (#OF)",
    "bound range exceeded (#BR)",
    "invalid opcode (#UD)",
    "device not available (#NM)",
    "double fault (#DF)",
    "coprocessor segment overrun",
    "invalid TSS (#TS)",
    "segment not present (#NP)",
    "stack-segment fault (#SS)",
    "general protection (#GP)",
    "page fault (#PF)",
    "reserved vector 15",
    "x87 floating-point error (#MF)",
    "alignment check (#AC)",
    "machine check (#MC)",
    "SIMD floating-point (#XM)",
    "virtualization (#VE)",
    "control protection (#CP)",
    "reserved vector 22",
    "reserved vector 23",
    "reserved vector 24",
    "reserved vector 25",
    "reserved vector 26",
    "reserved vector 27",
    "hypervisor injection (#HV)",
    "VMM communication (#VC)",
    "security (#SX)",
    "reserved vector 31",
];

/// Vector of the double fault, which runs on its own IST stack.
const DOUBLE_FAULT: u64 = 8;
/// Vector of the page fault, whose faulting address is in CR2.
const PAGE_FAULT: u64 = 14;

/// Vector of the NMI.
const NMI: u64 = 2;

/// The interrupts the runtime above handles (through [`crate::upcalls::interrupt`], with the
/// interrupted code's frame); the wake vector and exceptions are handled here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// The stop vector.
    StopVector,
    /// The benchmark's probe vector.
    ProbeVector,
    /// An NMI.
    Nmi,
}

extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    if frame.vector < 32 && super::early_idt::active() {
        super::early_idt::report(frame);
    }
    match frame.vector {
        v if v == u64::from(vectors::WAKE_VECTOR) => apic::eoi(),
        v if v == u64::from(vectors::STOP_VECTOR) => {
            // Stops this CPU for good unless the vector is spurious.
            crate::upcalls::interrupt(Interrupt::StopVector, frame);
            apic::eoi();
        }
        v if v == u64::from(vectors::PROBE_VECTOR) => {
            crate::upcalls::interrupt(Interrupt::ProbeVector, frame);
            apic::eoi();
        }
        NMI => crate::upcalls::interrupt(Interrupt::Nmi, frame),
        v if v < 32 => exception(frame),
        v => panic!("unexpected interrupt vector {v:#x}\n{frame}"),
    }
}

/// What a double fault's report says of its likely cause.
struct DoubleFaultHint(Option<(&'static str, u64)>);

impl core::fmt::Display for DoubleFaultHint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some((stack, page)) => write!(
                f,
                " (the {stack} stack of this CPU overflowed into its guard page at {page:#x})"
            ),
            None => f.write_str(" (a stack overflow into a guard page ends here)"),
        }
    }
}

fn exception(frame: &TrapFrame) -> ! {
    let name = EXCEPTION_NAMES[frame.vector as usize];
    if frame.vector != DOUBLE_FAULT && frame.vector != PAGE_FAULT {
        panic!(
            "exception {name}, vector {}, error code {:#x}, at rip {:#x}\n{frame}",
            frame.vector, frame.error_code, frame.rip
        )
    }
    // SAFETY: reading CR2 has no side effects. It holds the address of this page fault, or of
    // the one a double fault could not deliver: after a stack overflow, an address in the guard
    // page (a thread's overflow faults on a push into its guard page; delivering that #PF on the
    // same stack faults again, and the CPU raises #DF on its IST stack).
    let address = unsafe { x86::controlregs::cr2() };
    if let Some(thread) = crate::upcalls::thread_with_guard_at(address) {
        let cpu = crate::arch::x86_64::cpu::percpu::current_index();
        panic!(
            "stack overflow on cpu {cpu}, thread {thread}: its stack ran into its guard page at \
             {:#x} ({name}, at rip {:#x})\n{frame}",
            address & !0xfff,
            frame.rip
        );
    }
    if frame.vector == DOUBLE_FAULT {
        let stack = crate::arch::x86_64::cpu::percpu::guarded_stack_at(address);
        let hint = DoubleFaultHint(stack.map(|s| (s, address as u64 & !0xfff)));
        panic!(
            "exception {name}{hint}, vector {}, error code {:#x}, at rip {:#x}\n{frame}",
            frame.vector, frame.error_code, frame.rip
        );
    }
    // Page 0 is unmapped so that a null pointer plus a small offset faults here.
    let null = if (address as u64) < crate::memory::PAGE_ZERO_END {
        " (a null pointer: page 0 is not mapped)"
    } else {
        ""
    };
    panic!(
        "exception {name}, vector {}, error code {:#x}, at rip {:#x}, address {address:#x}{null}\n{frame}",
        frame.vector, frame.error_code, frame.rip
    )
}
