//! A smoke run of `cargo xtask bench --quick`: the JSON has its documented shape and its
//! figures are consistent with each other. No timing is asserted (speed is the bench's output,
//! not a test verdict).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Metrics the bench app measures with two CPUs (`stop_mixed` needs three).
const AT_TWO_CPUS: &[&str] = &[
    "bringup_boot",
    "raw_ipi",
    "raw_nmi",
    "raw_nmi_restarted",
    "stop_vector",
    "stop_nmi",
    "stop_nmi_short",
    "restart",
    "restart_bringup",
];
/// Samples per metric: enough to exercise every path, few enough for a test.
const ITERS: u64 = 5;

#[test]
fn a_quick_bench_writes_json_of_the_documented_shape_and_an_svg() {
    let dir = std::env::temp_dir().join(format!("allstop-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, svg) = (dir.join("bench.json"), dir.join("bench.svg"));
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "bench",
            "--quick",
            "--smp",
            "1,2",
            "--iters",
            &ITERS.to_string(),
        ])
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
    check_json(&json);
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg"), "not an SVG");
    for metric in ["raw_ipi", "stop_vector", "stop_nmi_short"] {
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
    }
    let (one, two) = (&boots[0], &boots[1]);
    assert_eq!(one["metrics"].as_object().unwrap().len(), 0);
    assert_eq!(
        one["skipped"].as_object().unwrap().len(),
        AT_TWO_CPUS.len() + 1
    );
    assert!(two["skipped"]["stop_mixed"].is_string());
    let metrics = two["metrics"].as_object().unwrap();
    assert_eq!(metrics.len(), AT_TWO_CPUS.len(), "{metrics:?}");
    for &name in AT_TWO_CPUS {
        let m = &metrics[name];
        let n = m["n"].as_u64().unwrap();
        let want = match name {
            "bringup_boot" => 1,
            // One restart after each stop of the three stop series.
            "restart" | "restart_bringup" => 3 * ITERS,
            _ => ITERS - m["lost"].as_u64().unwrap(),
        };
        assert_eq!(n, want, "{name}");
        let order: Vec<u64> = ["min_ns", "median_ns", "p99_ns", "max_ns"]
            .iter()
            .map(|k| m[*k].as_u64().unwrap())
            .collect();
        assert!(order.is_sorted(), "{name}: {m}");
        if name.starts_with("stop_") {
            // One target per stop at two CPUs, each counted on exactly one path.
            let paths = m["paths"].as_object().unwrap();
            let counted: u64 = paths.values().map(|v| v.as_u64().unwrap()).sum();
            assert_eq!(counted, n, "{name}: {paths:?}");
        } else {
            assert!(m["paths"].is_null(), "{name}");
        }
    }
    let ratios = report["ratios"].as_array().unwrap();
    assert_eq!(ratios.len(), 1);
    assert_eq!(ratios[0]["smp"], 2);
    assert!(ratios[0]["stop_vector_over_raw_ipi"].is_f64());
    assert!(ratios[0]["stop_nmi_beyond_timeout_ns"].is_i64());
    assert!(
        report["bringup_scaling"].is_null(),
        "needs a boot above 2 CPUs"
    );
}
