//! `cargo xtask qemu-test`: boots every case of the table in parallel and judges each one.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use crate::build::apps;
use crate::cases::matrix::{self, Cell, Row};
use crate::cases::pace::{self, Pace};
use crate::cases::summary::{self, StopSummary};
use crate::cases::table::{self, Case, Expect};
use crate::cases::verdict::{self, Verdict};
use crate::cases::{crash, kept, places, std_apps, stop};
use crate::host::child::Echo;
use crate::host::setup;
use crate::qemu::accel::{self, Accel, AccelArg};
use crate::qemu::core_dump::CoreDump;
use crate::qemu::{Boot, MemSize, Outcome, QemuRun, Symbolizer};
use crate::test::Tally;

/// Flags of `cargo xtask qemu-test`.
#[derive(Args, Clone)]
pub struct QemuTestArgs {
    /// Accelerator.
    #[arg(long, value_enum, default_value_t)]
    pub accel: AccelArg,
    /// Only the cases whose name contains this.
    #[arg(long, value_name = "SUBSTR")]
    filter: Option<String>,
    /// How many QEMUs run at once (each TCG guest keeps one host thread per CPU busy).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: u32,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Only the quick subset: the boot cases and each fault scenario at least once.
    #[arg(long)]
    pub quick: bool,
    /// Also run the endurance cases (the 10,000-restart soak, 1,024 CPUs).
    #[arg(long)]
    pub soak: bool,
    /// Keep the cores the crash cases take (target/qemu-test-cores/<case>.core) even when the
    /// case passes; by default only a failed case's core stays.
    #[arg(long)]
    pub keep_cores: bool,
}

/// One case's result, as written to `--json`.
#[derive(Serialize)]
struct CaseResult {
    case: String,
    app: &'static str,
    machine: String,
    smp: u32,
    cpu: Option<&'static str>,
    append: String,
    accel: String,
    /// The matrix row (scenario) the case belongs to.
    scenario: Option<&'static str>,
    /// `pass`, `fail` or `timeout`.
    result: String,
    #[serde(skip)]
    passed: bool,
    reason: Option<String>,
    /// The guest's exit status, when it chose one.
    status: Option<u32>,
    /// How QEMU ended, in words.
    exit: String,
    duration_secs: f64,
    /// The `stop-summary:` fields (of the first such line, if several).
    #[serde(serialize_with = "summary::to_json")]
    summary: Option<StopSummary>,
    /// Where it sits in the matrix table.
    #[serde(skip)]
    cell: Option<Cell>,
}

/// The whole `--json` document.
#[derive(Serialize)]
struct Report<'a> {
    accel: String,
    passed: u64,
    failed: u64,
    /// How the default-timeout cases' CPUs were stopped, added up.
    paths_at_defaults: PathCounts,
    /// How every case's CPUs were stopped, added up per accelerator (`tcg`, `kvm`).
    paths_by_accel: BTreeMap<String, PathCounts>,
    cases: &'a [CaseResult],
}

/// Stop paths added up over the cases that printed a summary.
#[derive(Serialize, Default)]
struct PathCounts {
    cases: u64,
    targets: u64,
    vector: u64,
    nmi: u64,
    #[serde(rename = "self")]
    self_stop: u64,
    init: u64,
    stuck: u64,
}

impl PathCounts {
    /// Over `results`.
    fn of<'r>(results: impl IntoIterator<Item = &'r CaseResult>) -> Self {
        let mut counts = Self::default();
        for s in results.into_iter().filter_map(|r| r.summary.as_ref()) {
            counts.cases += 1;
            counts.targets += s.targets;
            counts.vector += s.vector;
            counts.nmi += s.nmi;
            counts.self_stop += s.self_stop;
            counts.init += s.init;
            counts.stuck += s.stuck;
        }
        counts
    }

    /// Over the default-timeout cases.
    fn at_defaults(results: &[CaseResult]) -> Self {
        Self::of(
            results
                .iter()
                .filter(|r| r.case.starts_with(stop::DEFAULTS_PREFIX)),
        )
    }

    /// Over all cases, per accelerator.
    fn by_accel(results: &[CaseResult]) -> BTreeMap<String, Self> {
        let accels: BTreeSet<&str> = results.iter().map(|r| r.accel.as_str()).collect();
        accels
            .into_iter()
            .map(|a| {
                (
                    a.to_string(),
                    Self::of(results.iter().filter(|r| r.accel == a)),
                )
            })
            .filter(|(_, counts)| counts.cases > 0)
            .collect()
    }
}

impl std::fmt::Display for PathCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases, {} targets: vector={} nmi={} self={} init={} stuck={}",
            self.cases, self.targets, self.vector, self.nmi, self.self_stop, self.init, self.stuck
        )
    }
}

/// Runs the (filtered) cases and prints a progress line per case and `N passed, M failed`.
pub fn qemu_test(args: &QemuTestArgs) -> Result<Tally> {
    let decision = accel::detect(args.accel);
    let mut cases = with_kvm_rows(table::all(), args.accel, decision.accel);
    if args.quick {
        cases.retain(|case| case.quick);
    }
    cases.retain(|case| args.soak || !case.soak);
    let mut cases = selected(cases, args.filter.as_deref())?;
    std_apps::drop_unbuildable(&mut cases)?;
    let known = apps::known()?;
    for case in &cases {
        if !known.iter().any(|k| k == case.app) {
            bail!(
                "case {} boots app '{}', which is not under apps/ (known apps: {})",
                case.name,
                case.app,
                known.join(", ")
            );
        }
    }
    setup::kernel_target()?;
    setup::qemu()?;
    let uses_kvm = cases
        .iter()
        .any(|c| c.accel.unwrap_or(decision.accel) == Accel::Kvm);
    let mut needed: BTreeSet<&str> = cases.iter().map(|c| c.app).collect();
    if uses_kvm {
        needed.insert(pace::PACE_APP);
    }
    let needed: Vec<&str> = needed.into_iter().collect();
    println!("building {}", needed.join(", "));
    let elves = apps::build(&needed, false)?;
    println!("{decision}");
    // The time limits were chosen for TCG; KVM cases get limits stretched by how much slower
    // KVM boots here.
    let pace = if uses_kvm {
        let pace = Pace::measure(&elves[pace::PACE_APP], Accel::Kvm)?;
        println!("{pace}");
        Some(pace)
    } else {
        None
    };
    let jobs = (args.jobs as usize).min(cases.len());
    let subset = if args.quick { " (--quick subset)" } else { "" };
    println!("running {} case(s){subset}, {jobs} at a time", cases.len());

    let results = run_all(&cases, &elves, decision.accel, pace, jobs, args.keep_cores);
    let mut tally = Tally::default();
    for result in &results {
        if result.passed {
            tally.passed += 1;
        } else {
            tally.failed += 1;
        }
    }
    let paths = PathCounts::at_defaults(&results);
    if paths.cases > 0 {
        println!("paths at the default timeouts ({paths})");
    }
    let paths_by_accel = PathCounts::by_accel(&results);
    for (accel, counts) in &paths_by_accel {
        println!("paths under {accel}, all cases ({counts})");
    }
    if let Some(path) = &args.json {
        let report = Report {
            accel: decision.accel.to_string(),
            passed: tally.passed,
            failed: tally.failed,
            paths_at_defaults: paths,
            paths_by_accel,
            cases: &results,
        };
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("results written to {}", path.display());
    }
    let cells: Vec<Cell> = results.iter().filter_map(|r| r.cell).collect();
    if !cells.is_empty() {
        println!(
            "\nstop scenarios under {}: PASS when every case of the cell passed",
            decision.accel
        );
        print!("{}", matrix::table(&cells));
    }
    println!("{tally}");
    Ok(tally)
}

/// When `--accel auto` picked KVM, the matrix cases stay under TCG (their timeouts were chosen
/// for it) and the quick ones run again under KVM as extra rows, named `<case>-kvm`.
fn with_kvm_rows(cases: Vec<Case>, arg: AccelArg, picked: Accel) -> Vec<Case> {
    if arg != AccelArg::Auto || picked != Accel::Kvm {
        return cases;
    }
    let mut kvm = Vec::new();
    let mut cases: Vec<Case> = cases
        .into_iter()
        .map(|mut case| {
            if case.row.is_some() {
                if case.quick {
                    let mut again = case.clone();
                    again.name += "-kvm";
                    again.accel = Some(Accel::Kvm);
                    kvm.push(again);
                }
                case.accel = Some(Accel::Tcg);
            }
            case
        })
        .collect();
    cases.extend(kvm);
    cases
}

/// The cases whose name contains `filter` (all without one); none is an error.
fn selected(cases: Vec<Case>, filter: Option<&str>) -> Result<Vec<Case>> {
    let Some(filter) = filter else {
        return Ok(cases);
    };
    let names: Vec<String> = cases.iter().map(|c| c.name.clone()).collect();
    let chosen: Vec<Case> = cases
        .into_iter()
        .filter(|c| c.name.contains(filter))
        .collect();
    if chosen.is_empty() {
        bail!(
            "no case name contains '{filter}'; the cases are: {}",
            names.join(", ")
        );
    }
    Ok(chosen)
}

/// Boots `cases` on `jobs` threads, printing each result as it comes; results in table order.
fn run_all(
    cases: &[Case],
    elves: &std::collections::BTreeMap<String, PathBuf>,
    accel: Accel,
    pace: Option<Pace>,
    jobs: usize,
    keep_cores: bool,
) -> Vec<CaseResult> {
    // Cases that must run into their time limit start first, so their waits overlap the rest;
    // then the ones with most CPUs (the slowest), so that no long case starts last.
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.sort_by_key(|&index| {
        let case = &cases[index];
        (case.expect != Expect::Timeout, Reverse(case.smp))
    });
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    let mut results: Vec<Option<CaseResult>> = cases.iter().map(|_| None).collect();
    thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, order) = (&next, &order);
            scope.spawn(move || {
                while let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let case = &cases[index];
                    let result = run_case(case, &elves[case.app], accel, pace, keep_cores);
                    if tx.send((index, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (index, result) in rx {
            results[index] = Some(result);
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every case reports"))
        .collect()
}

/// The case's further QEMU arguments, with its ACPI table written to a file for
/// `-acpitable file=` and its raw boot line, if it has one.
fn qemu_args(case: &Case) -> anyhow::Result<Vec<OsString>> {
    let mut args: Vec<OsString> = case.qemu_args.iter().map(OsString::from).collect();
    if let Some(table) = &case.acpi_table {
        let dir = crate::host::workspace::target_dir()?.join("qemu-test-acpi");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}.bin", case.name));
        std::fs::write(&path, table)?;
        // QEMU reads a comma in an option value written twice.
        let file = path.display().to_string().replace(',', ",,");
        args.extend(["-acpitable".into(), format!("file={file}").into()]);
    }
    if let Some(line) = &case.append_bytes {
        // After the usual `-append`, which QEMU then ignores: the last one counts.
        args.extend(["-append".into(), OsString::from_vec(line.clone())]);
    }
    Ok(args)
}

/// Boots one case, prints its progress line (and on failure the end of its output).
fn run_case(
    case: &Case,
    kernel: &std::path::Path,
    accel: Accel,
    pace: Option<Pace>,
    keep_cores: bool,
) -> CaseResult {
    let accel = case.accel.unwrap_or(accel);
    let limit = pace.map_or(case.timeout, |p| p.limit(case, accel));
    let cpu = (!case.x2apic).then(|| accel.cpu_model(false));
    let (core, core_error) = match case.crash.as_ref().filter(|c| c.core) {
        Some(_) => match crash::core_path(case).and_then(|path| CoreDump::new(&path)) {
            Ok(dump) => (Some(dump), None),
            Err(err) => (None, Some(format!("no core path: {err:#}"))),
        },
        None => (None, None),
    };
    let (extra, extra_error) = match qemu_args(case) {
        Ok(extra) => (extra, None),
        Err(err) => (Vec::new(), Some(format!("no ACPI table file: {err:#}"))),
    };
    let boot = Boot {
        kernel,
        append: &case.append,
        machine: case.machine,
        smp: case.smp,
        mem: MemSize::DEFAULT,
        accel,
        cpu,
        gdb: false,
        core: core.as_ref(),
        extra: &extra,
    };
    let (mut verdict, run) = match boot.boot(limit, Echo::Nothing) {
        Ok(run) => (verdict::judge(case, &run), Some(run)),
        Err(err) => (Verdict::Fail(format!("cannot boot: {err:#}")), None),
    };
    if let (Some(expect), Some(run)) = (&case.crash, &run) {
        let core_file = core.as_ref().map(|dump| dump.file.as_path());
        let problems = crash::problems(expect, run, kernel, core_file);
        verdict = verdict.with(problems);
    }
    if let (Some(expect), Some(run)) = (&case.places, &run) {
        verdict = verdict.with(places::problems(expect, &run.serial, kernel));
    }
    if let (true, Some(run)) = (case.kept_reports, &run) {
        verdict = verdict.with(kept::problems(&run.serial));
    }
    verdict = verdict.with(core_error.into_iter().chain(extra_error).collect());
    if let Some(dump) = &core {
        // Cores are hundreds of MiB: keep one only for a case that failed, unless asked.
        if verdict.passed() && !keep_cores {
            let _ = std::fs::remove_file(&dump.file);
        }
    }
    let elapsed = run.as_ref().map_or(0.0, |r| r.elapsed.as_secs_f64());
    let expected_timeout = matches!(run.as_ref().map(|r| r.outcome), Some(Outcome::TimedOut(_)));
    let mut line = format!("{} {} ({elapsed:.2}s)", verdict.word(), case.name);
    match verdict.reason() {
        Some(reason) => line += &format!(": {reason}"),
        None if expected_timeout => line += ": timed out as expected",
        None => {}
    }
    if let (false, Some(run)) = (verdict.passed(), &run) {
        let symbols = Symbolizer::load(kernel);
        let report = run.report(symbols.as_ref().ok());
        line += &format!("\n  {}\n{report}", boot.command_line());
        if let Err(err) = symbols {
            line += &format!("(backtrace not symbolized: {err:#})\n");
        }
    }
    // One print per case, so parallel cases never interleave their lines.
    println!("{line}");
    let summary = run
        .as_ref()
        .and_then(|r| summary::find(&r.serial).summary());
    CaseResult {
        case: case.name.clone(),
        app: case.app,
        machine: case.machine.to_string(),
        smp: case.smp,
        cpu,
        append: case.append.clone(),
        accel: accel.to_string(),
        scenario: case.row.map(Row::label),
        result: verdict.word().to_ascii_lowercase(),
        passed: verdict.passed(),
        reason: verdict.reason().map(String::from),
        status: run.as_ref().and_then(|r| match r.outcome {
            Outcome::Exited(exit) => exit.status(),
            Outcome::TimedOut(_) => None,
        }),
        exit: run.as_ref().map_or_else(
            || "not started".to_string(),
            |r: &QemuRun| match r.outcome {
                Outcome::Exited(exit) => exit.to_string(),
                Outcome::TimedOut(limit) => format!("killed at the {}s timeout", limit.as_secs()),
            },
        ),
        duration_secs: elapsed,
        cell: case.row.map(|row| Cell {
            row,
            kvm: accel == Accel::Kvm && case.accel.is_some(),
            smp: case.smp,
            passed: verdict.passed(),
            paths: summary
                .as_ref()
                .map_or([0; 3], |s| [s.vector, s.nmi, s.init]),
        }),
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_selects_by_substring_and_rejects_no_match() {
        let hello = selected(table::all(), Some("hello-")).unwrap();
        assert!(hello.len() >= 4);
        assert!(hello.iter().all(|c| c.name.contains("hello-")));
        assert_eq!(
            selected(table::all(), None).unwrap().len(),
            table::all().len()
        );
        let err = selected(table::all(), Some("no-such-case")).unwrap_err();
        assert!(err.to_string().contains("hang-times-out"), "{err}");
    }

    #[test]
    fn kvm_rows_only_when_auto_picks_kvm() {
        let all = table::all();
        for (arg, picked) in [
            (AccelArg::Auto, Accel::Tcg),
            (AccelArg::Kvm, Accel::Kvm),
            (AccelArg::Tcg, Accel::Tcg),
        ] {
            let same = with_kvm_rows(all.clone(), arg, picked);
            assert_eq!(same.len(), all.len());
            assert!(same.iter().all(|c| c.accel.is_none()));
        }
        let with = with_kvm_rows(all.clone(), AccelArg::Auto, Accel::Kvm);
        let kvm: Vec<&Case> = with
            .iter()
            .filter(|c| c.accel == Some(Accel::Kvm))
            .collect();
        let quick_matrix = all.iter().filter(|c| c.quick && c.row.is_some()).count();
        assert_eq!(kvm.len(), quick_matrix);
        assert!(kvm
            .iter()
            .all(|c| c.name.ends_with("-kvm") && c.row.is_some()));
        let tcg = with.iter().filter(|c| c.accel == Some(Accel::Tcg)).count();
        assert_eq!(tcg, all.iter().filter(|c| c.row.is_some()).count());
        let hello = with.iter().find(|c| c.name == "hello-pc-smp1").unwrap();
        assert_eq!(
            hello.accel, None,
            "boot cases run under the picked accelerator"
        );
    }
}
