//! A smoke run of `cargo xtask bench --quick --quiet`: the JSON has its documented shape and
//! its figures are consistent with each other, and stdout is the table alone. No timing is asserted (speed is the bench's output,
//! not a test verdict).

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use wire::bench::Metric;

/// Metrics the bench app measures with two CPUs (`stop_mixed` needs three).
fn at_two_cpus() -> impl Iterator<Item = Metric> {
    Metric::ALL.into_iter().filter(|&m| m != Metric::StopMixed)
}
/// Samples per metric: enough to exercise every path, few enough for a test.
const ITERS: u64 = 5;
/// Warm restarts per CPU count.
const RESTARTS: u64 = 3;
/// How long the VM-reboot run goes on: time for a few reboots even on a busy host.
const REBOOT_SECS: u64 = 4;

#[test]
fn a_quick_bench_writes_json_of_the_documented_shape_and_an_svg() {
    let dir = std::env::temp_dir().join(format!("allstop-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, svg) = (dir.join("bench.json"), dir.join("bench.svg"));
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "bench",
            "--quick",
            "--quiet",
            "--smp",
            "1,2",
            "--iters",
            &ITERS.to_string(),
        ])
        .args(["--restarts", &RESTARTS.to_string()])
        .args(["--reboot-secs", &REBOOT_SECS.to_string()])
        .args(["--timeout", "120", "--json"])
        .arg(&json)
        .arg("--svg")
        .arg(&svg)
        .output()
        .expect("the xtask binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ratios (medians)"), "no table:\n{stdout}");
    // --quiet: none of the guest's console (its stop report ends every boot) on stdout, yet
    // the trigger lines were still seen as they came (`triggered` in the JSON).
    assert!(
        !stdout.contains("stop-summary:") && !stdout.contains("allstop"),
        "the guest's console is shown:\n{stdout}"
    );
    check_json(&json);
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg"), "not an SVG");
    for metric in [
        "raw_ipi",
        "stop_vector",
        "stop_nmi_short",
        "restart_warm_host",
        "restart_warm_guest",
        "reboot_vm_host",
    ] {
        assert!(svg.contains(metric), "the plot has no line for {metric}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn check_json(path: &Path) {
    let report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(report["accel"].is_string());
    assert_eq!(report["iters"], ITERS);
    let boots = report["boots"].as_array().unwrap();
    assert_eq!(boots.len(), 2);
    for (boot, smp) in boots.iter().zip([1u64, 2]) {
        assert_eq!(boot["smp"], smp);
        assert_eq!(boot["cpus"], smp, "the guest saw every CPU");
        assert_eq!(boot["triggered"], true);
        assert!(boot["panic_to_exit_ns"].is_u64(), "{boot}");
        let busy = boot["host_busy"]
            .as_f64()
            .expect("/proc/stat is readable on Linux");
        assert!((0.0..=1.0).contains(&busy), "{busy}");
        assert!(boot["vector_timeout_ns"].as_u64().unwrap() > 0);
        assert!(boot["short_vector_timeout_ns"].as_u64() < boot["vector_timeout_ns"].as_u64());
        check_restart(&boot["restart"], smp);
    }
    let (one, two) = (&boots[0], &boots[1]);
    assert_eq!(one["metrics"].as_object().unwrap().len(), 0);
    assert_eq!(one["skipped"].as_object().unwrap().len(), Metric::ALL.len());
    assert!(two["skipped"][Metric::StopMixed.name()].is_string());
    let metrics = two["metrics"].as_object().unwrap();
    assert_eq!(metrics.len(), at_two_cpus().count(), "{metrics:?}");
    for metric in at_two_cpus() {
        let name = metric.name();
        let m = &metrics[name];
        let n = m["n"].as_u64().unwrap();
        let want = match metric {
            Metric::BringupBoot => 1,
            // One restart after each stop of the stop series (every `stop_` metric but
            // `stop_mixed`, which needs three CPUs).
            Metric::Restart | Metric::RestartBringup => {
                let series = at_two_cpus().filter(|m| m.name().starts_with("stop_"));
                series.count() as u64 * ITERS
            }
            _ => ITERS - m["lost"].as_u64().unwrap(),
        };
        assert_eq!(n, want, "{name}");
        check_order(name, m);
        if name.starts_with("stop_") {
            // One target per stop at two CPUs, each counted on exactly one path.
            let paths = m["paths"].as_object().unwrap();
            let counted: u64 = paths.values().map(|v| v.as_u64().unwrap()).sum();
            assert_eq!(counted, n, "{name}: {paths:?}");
        } else {
            assert!(m["paths"].is_null(), "{name}");
        }
    }
    // One CPU has only the restart ratio.
    let ratios = report["ratios"].as_array().unwrap();
    assert_eq!(ratios.len(), 2);
    for (r, smp) in ratios.iter().zip([1u64, 2]) {
        assert_eq!(r["smp"], smp);
        assert!(
            r["vm_reboot_over_warm_restart"].as_f64().unwrap() > 0.0,
            "{r}"
        );
    }
    assert!(ratios[0]["stop_vector_over_raw_ipi"].is_null());
    assert!(ratios[1]["stop_vector_over_raw_ipi"].is_f64());
    assert!(ratios[1]["stop_nmi_beyond_timeout_ns"].is_i64());
    for key in [
        "nmi_first_irqoff_over_nmi_before_stop",
        "nmi_first_irqoff_over_raw_nmi",
        "nmi_first_idle_over_ipi_before_stop",
        "nmi_first_idle_over_raw_ipi",
        "adaptive_idle_over_raw_ipi",
    ] {
        assert!(ratios[1][key].is_f64(), "{key}: {}", ratios[1]);
    }
    assert!(ratios[1]["default_irqoff_ns"].is_u64());
    assert!(ratios[1]["adaptive_vector_timeout_ns"].is_u64());
    assert!(ratios[0]["adaptive_vector_timeout_ns"].is_null());
    assert!(
        report["bringup_scaling"].is_null(),
        "needs a boot above 2 CPUs"
    );
}

/// min <= median <= p99 <= max.
fn check_order(name: &str, m: &Value) {
    let order: Vec<u64> = ["min_ns", "median_ns", "p99_ns", "max_ns"]
        .iter()
        .map(|k| m[*k].as_u64().unwrap())
        .collect();
    assert!(order.is_sorted(), "{name}: {m}");
}

/// One boot's restart-latency figures at `smp` CPUs: every warm restart sampled from both
/// sides, at least one VM reboot, and the serial console's share worked out.
fn check_restart(r: &Value, smp: u64) {
    for name in ["warm_host", "warm_guest", "reboot_host"] {
        let f = &r[name];
        let n = f["n"].as_u64().unwrap();
        if name == "reboot_host" {
            assert!(n >= 1, "{r}");
        } else {
            assert_eq!(n, RESTARTS, "{name}: {r}");
        }
        check_order(name, f);
        assert!(f["paths"].is_null() && f["lost"] == 0, "{name}: {f}");
    }
    let window = r["reboot_window_s"].as_f64().unwrap();
    assert!(
        window >= REBOOT_SECS as f64,
        "killed at the end of its window: {window}"
    );
    let serial = &r["serial"];
    // The whole report is kept: with an AP to print it, nothing goes out between the panic and
    // the restarted app; alone, the boot CPU prints it before `main` (the message alone is
    // longer than 40 bytes).
    if smp == 1 {
        assert!(serial["bytes"].as_u64().unwrap() > 40, "{serial}");
    } else {
        assert_eq!(serial["bytes"], 0, "{serial}");
        assert_eq!(serial["lines"], 0, "{serial}");
    }
    assert!(serial["ns_per_byte"].as_f64().unwrap() > 0.0, "{serial}");
    let estimate = serial["estimate_ns"].as_u64().unwrap() as f64;
    let median = r["warm_guest"]["median_ns"].as_u64().unwrap() as f64;
    let share = serial["of_guest_median"].as_f64().unwrap();
    assert!((share - estimate / median).abs() < 1e-9, "{serial}");
}
