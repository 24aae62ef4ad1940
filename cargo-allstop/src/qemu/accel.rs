//! Choosing QEMU's accelerator: KVM only where it is real hardware virtualisation, else TCG.

use std::fmt;
use std::fs::OpenOptions;

use clap::ValueEnum;

/// The `--accel` flag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum AccelArg {
    /// KVM if `/dev/kvm` opens read-write and the CPU has vmx or svm, else TCG.
    #[default]
    Auto,
    /// Always KVM.
    Kvm,
    /// Always TCG (QEMU's emulator).
    Tcg,
}

/// The accelerator QEMU runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualisation through `/dev/kvm`.
    Kvm,
    /// QEMU's multi-threaded emulator.
    Tcg,
}

impl Accel {
    /// The `-cpu` model for this accelerator, with or without x2APIC. A named model such as
    /// `qemu64` is no way to get an xAPIC: KVM adds x2APIC to every model.
    pub fn cpu_model(self, x2apic: bool) -> &'static str {
        match (self, x2apic) {
            (Accel::Tcg, true) => "max",
            (Accel::Tcg, false) => "max,-x2apic",
            // Plain `host` passes ARCH_CAPABILITIES through, which some hosts' QEMU aborts on.
            (Accel::Kvm, true) => "host,-arch-capabilities",
            (Accel::Kvm, false) => "host,-x2apic,-arch-capabilities",
        }
    }
}

impl fmt::Display for Accel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        })
    }
}

/// An accelerator and why it was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The accelerator.
    pub accel: Accel,
    /// Why, for the user.
    pub reason: String,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "accel: {} ({})", self.accel, self.reason)
    }
}

/// Decides the accelerator from the flag, whether `/dev/kvm` opened read-write, and the text
/// of `/proc/cpuinfo`.
///
/// A `/dev/kvm` without vmx/svm in the CPU flags is a software hypervisor (kvm-pvm): ring-0 code
/// runs orders of magnitude slower there than under TCG, so auto does not use it.
pub fn decide(arg: AccelArg, kvm_opens: bool, cpuinfo: &str) -> Decision {
    let (accel, reason) = match arg {
        AccelArg::Kvm => (Accel::Kvm, "requested with --accel kvm".to_string()),
        AccelArg::Tcg => (Accel::Tcg, "requested with --accel tcg".to_string()),
        AccelArg::Auto => match (kvm_opens, virtualisation_flag(cpuinfo)) {
            (true, Some(flag)) => (
                Accel::Kvm,
                format!("auto: /dev/kvm opens read-write and the CPU has {flag}"),
            ),
            (true, None) => (
                Accel::Tcg,
                "auto: /dev/kvm opens but the CPU has neither vmx nor svm \
                 (a software hypervisor, slower than TCG)"
                    .to_string(),
            ),
            (false, _) => (
                Accel::Tcg,
                "auto: /dev/kvm cannot be opened read-write".to_string(),
            ),
        },
    };
    Decision { accel, reason }
}

/// Probes this host and decides (reads nothing unless `arg` is auto).
pub fn detect(arg: AccelArg) -> Decision {
    if arg != AccelArg::Auto {
        return decide(arg, false, "");
    }
    decide(arg, kvm_opens(), &cpuinfo())
}

/// Whether `/dev/kvm` opens read-write (KVM can run guests, maybe in software).
pub fn kvm_opens() -> bool {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

fn cpuinfo() -> String {
    std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default()
}

/// `vmx` or `svm` if any `flags` line of `/proc/cpuinfo` lists it.
fn virtualisation_flag(cpuinfo: &str) -> Option<&'static str> {
    let flags = cpuinfo
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.trim() == "flags")
        .flat_map(|(_, value)| value.split_whitespace());
    for flag in flags {
        match flag {
            "vmx" => return Some("vmx"),
            "svm" => return Some("svm"),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTEL: &str = "processor\t: 0\nflags\t\t: fpu vme de pse vmx sse2\nbugs\t\t: spectre\n";
    const AMD: &str = "processor\t: 0\nflags\t\t: fpu svm lm\n";
    const NO_VIRT: &str = "processor\t: 0\nflags\t\t: fpu vme hypervisor lm\nvmx flags\t: ept\n";

    #[test]
    fn auto_picks_kvm_only_with_dev_kvm_and_a_virtualisation_flag() {
        assert_eq!(decide(AccelArg::Auto, true, INTEL).accel, Accel::Kvm);
        assert_eq!(decide(AccelArg::Auto, true, AMD).accel, Accel::Kvm);
        assert_eq!(decide(AccelArg::Auto, false, INTEL).accel, Accel::Tcg);
        assert_eq!(decide(AccelArg::Auto, true, NO_VIRT).accel, Accel::Tcg);
        assert_eq!(decide(AccelArg::Auto, true, "").accel, Accel::Tcg);
    }

    #[test]
    fn flags_are_matched_as_whole_words_on_the_flags_line_only() {
        // "vmx flags" is a different key, and "svmx" is not "svm".
        assert_eq!(virtualisation_flag(NO_VIRT), None);
        assert_eq!(virtualisation_flag("flags : svmx\n"), None);
        assert_eq!(virtualisation_flag(INTEL), Some("vmx"));
    }

    #[test]
    fn the_reason_says_why() {
        let soft = decide(AccelArg::Auto, true, NO_VIRT);
        assert!(
            soft.reason.contains("neither vmx nor svm"),
            "{}",
            soft.reason
        );
        let hard = decide(AccelArg::Auto, true, AMD);
        assert!(hard.to_string().starts_with("accel: kvm (auto:"), "{hard}");
        assert!(hard.reason.contains("svm"));
    }

    #[test]
    fn explicit_choices_are_obeyed() {
        assert_eq!(decide(AccelArg::Kvm, false, "").accel, Accel::Kvm);
        assert_eq!(decide(AccelArg::Tcg, true, INTEL).accel, Accel::Tcg);
    }
}
