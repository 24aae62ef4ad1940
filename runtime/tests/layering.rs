//! The runtime's layering, checked on its source: `arch/` names nothing above it but
//! `crate::upcalls` (and the pure modules below it), and no two top-level modules import each
//! other, directly or through others (`arch`'s calls into `upcalls` are the one way up).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// What a file under `arch/` may name besides `crate::arch`: the upcalls and the pure logic.
const ARCH_MAY_NAME: &[&str] = &[
    "acpi_check",
    "arch",
    "upcalls",
    "cmdline",
    "crash_places",
    "kept_parts",
    "kept_text",
    "memory",
    "rtc",
    "sleep_type",
    "time",
    "topology",
    "tsc_rate",
];

/// The one edge allowed to point up: the hardware calling the runtime's entry points.
const UPCALL_EDGE: (&str, &str) = ("arch", "upcalls");

/// The first path segment of every `crate::` path in `source`, comments left out.
fn crate_names(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or_default();
                names.extend(group.split(',').filter_map(first_segment));
            } else {
                names.extend(first_segment(rest));
            }
        }
    }
    names
}

/// The identifier a path starts with, if any.
fn first_segment(path: &str) -> Option<String> {
    let name: String = path
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Every `.rs` file under `dir`, as (path relative to `root`, contents).
fn sources(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).expect("source directory readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            sources(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("under root");
            let text = fs::read_to_string(&path).expect("source file readable");
            out.push((relative.to_string_lossy().replace('\\', "/"), text));
        }
    }
}

/// Files under `arch/` that name a module above the hardware, one message each.
fn arch_violations(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(path, _)| path.starts_with("arch/"))
        .flat_map(|(path, text)| {
            crate_names(text)
                .into_iter()
                .filter(|name| !ARCH_MAY_NAME.contains(&name.as_str()))
                .map(move |name| format!("{path} names crate::{name}"))
        })
        .collect()
}

/// Which top-level modules each top-level module names (`lib.rs` left out: it declares them).
fn module_graph(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let module_of = |path: &str| {
        let first = path.split('/').next().unwrap_or_default();
        first.strip_suffix(".rs").unwrap_or(first).to_owned()
    };
    let modules: BTreeSet<String> = files.iter().map(|(p, _)| module_of(p)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in files.iter().filter(|(p, _)| p != "lib.rs") {
        let from = module_of(path);
        let to: Vec<String> = crate_names(text)
            .into_iter()
            .filter(|name| *name != from && modules.contains(name))
            .filter(|name| (from.as_str(), name.as_str()) != UPCALL_EDGE)
            .collect();
        graph.entry(from).or_default().extend(to);
    }
    graph
}

/// A cycle in `graph` as `a -> b -> a`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if let Some(start) = path.iter().position(|n| *n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node);
            return Some(cycle.join(" -> "));
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn runtime_sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    assert!(
        files.iter().any(|(p, _)| p == "arch/x86_64/mod.rs"),
        "found the arch tree"
    );
    files
}

#[test]
fn arch_names_nothing_above_it_but_the_upcalls() {
    assert_eq!(arch_violations(&runtime_sources()), Vec::<String>::new());
}

#[test]
fn top_level_modules_import_each_other_in_no_cycle() {
    let graph = module_graph(&runtime_sources());
    assert!(graph.len() > 10, "read the modules: {graph:?}");
    assert_eq!(find_cycle(&graph), None);
}

/// Source files as `(path, contents)`, for the checks' negative controls.
fn fake(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect()
}

#[test]
fn an_arch_file_that_calls_the_scheduler_is_caught() {
    let files = fake(&[
        (
            "arch/x86_64/cpu/work.rs",
            "use crate::arch::x86_64::cpu::irq;\n\
             // crate::boot in a comment does not count\n\
             fn idle() { crate::sched::run_ready(0); }\n",
        ),
        (
            "arch/x86_64/boot/entry.rs",
            "use crate::{memory, stopping::STOP};\nfn f() { crate::upcalls::boot() }\n",
        ),
    ]);
    assert_eq!(
        arch_violations(&files),
        [
            "arch/x86_64/cpu/work.rs names crate::sched",
            "arch/x86_64/boot/entry.rs names crate::stopping",
        ]
    );
}

#[test]
fn two_modules_that_import_each_other_are_caught() {
    let files = fake(&[
        ("smp/mod.rs", "use crate::{arch, inject};\n"),
        ("inject.rs", "use crate::smp::nmi_requests;\n"),
        (
            "arch/x86_64/mod.rs",
            "fn f() { crate::upcalls::interrupt() }\n",
        ),
        ("upcalls.rs", "use crate::arch::Interrupt;\n"),
    ]);
    assert_eq!(
        find_cycle(&module_graph(&files)).as_deref(),
        Some("inject -> smp -> inject")
    );
}
