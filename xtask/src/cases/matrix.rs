//! The fault-scenario matrix (README, "The fault-scenario matrix"): which scenario a case belongs to, and the closing
//! table of results, scenario × CPU count.

use std::collections::BTreeMap;

/// A row of the matrix: one of the twelve fault scenarios, or the demo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Row {
    /// `cargo xtask run`'s showcase.
    Demo,
    /// 1: a panic with every AP idle (vector path).
    Idle,
    /// 2: APs spinning with interrupts off (NMI path).
    IrqOff,
    /// 3: an interrupts-off window straddling the vector timeout.
    Race,
    /// 4: every CPU panics at once.
    Concurrent,
    /// 5: a panic on the boot CPU or the highest AP.
    PanicCpu,
    /// 6: a stopped CPU held the console lock.
    ConsoleLock,
    /// 7: a panic in the NMI handler or an exception handler.
    HandlerPanic,
    /// 8: an AP with NMIs blocked.
    NmiBlocked,
    /// 9: an AP with its local APIC software-disabled.
    ApicOff,
    /// 10: a stop during AP bring-up.
    Booting,
    /// 11: reboot, power-off and the hermit-abi exits.
    AppExit,
    /// 12: a stack overflow into the guard page.
    StackOverflow,
}

impl Row {
    /// The row's label in the table.
    pub fn label(self) -> &'static str {
        match self {
            Row::Demo => "demo",
            Row::Idle => "1 idle APs (vector)",
            Row::IrqOff => "2 irqoff APs (NMI)",
            Row::Race => "3 race at the timeout",
            Row::Concurrent => "4 concurrent panics",
            Row::PanicCpu => "5 panic on last CPU",
            Row::ConsoleLock => "6 console lock held",
            Row::HandlerPanic => "7 NMI / #PF panic",
            Row::NmiBlocked => "8 NMIs blocked",
            Row::ApicOff => "9 APIC disabled",
            Row::Booting => "10 during bring-up",
            Row::AppExit => "11 reboot/off/abi",
            Row::StackOverflow => "12 stack overflow",
        }
    }
}

/// One case's place in the matrix and whether it passed.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    /// The scenario.
    pub row: Row,
    /// Whether this row runs under KVM (a separate row) rather than the run's accelerator.
    pub kvm: bool,
    /// The CPU count.
    pub smp: u32,
    /// Whether the case passed.
    pub passed: bool,
    /// How its stop's targets were stopped: by the vector, by NMI, parked by INIT (zeros
    /// without a `stop-summary:`).
    pub paths: [u64; 3],
}

/// The table: a line per row, a column per CPU count; a cell is `PASS` when every case of that
/// row and CPU count passed, `FAIL` when any failed, `—` when there is none. A last column adds
/// up the row's stop paths (vector/NMI/INIT). Empty without cells.
pub fn table(cells: &[Cell]) -> String {
    let mut columns: Vec<u32> = cells.iter().map(|c| c.smp).collect();
    columns.sort_unstable();
    columns.dedup();
    let mut rows: BTreeMap<(bool, Row), BTreeMap<u32, bool>> = BTreeMap::new();
    let mut paths: BTreeMap<(bool, Row), [u64; 3]> = BTreeMap::new();
    for cell in cells {
        let passed = rows
            .entry((cell.kvm, cell.row))
            .or_default()
            .entry(cell.smp)
            .or_insert(true);
        *passed &= cell.passed;
        let sum = paths.entry((cell.kvm, cell.row)).or_default();
        for (total, n) in sum.iter_mut().zip(cell.paths) {
            *total += n;
        }
    }
    let label = |&(kvm, row): &(bool, Row)| {
        if kvm {
            format!("{} (kvm)", row.label())
        } else {
            row.label().to_string()
        }
    };
    const HEADING: &str = "scenario \\ smp";
    let width = rows
        .keys()
        .map(|key| label(key).len())
        .max()
        .unwrap_or(0)
        .max(HEADING.len());
    let mut text = String::new();
    if rows.is_empty() {
        return text;
    }
    text += &format!("{HEADING:width$}");
    for smp in &columns {
        text += &format!(" {smp:>4}");
    }
    text += "  paths v/n/i\n";
    for (key, results) in &rows {
        text += &format!("{:width$}", label(key));
        for smp in &columns {
            let cell = match results.get(smp) {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "—",
            };
            text += &format!(" {cell:>4}");
        }
        let [vector, nmi, init] = paths[key];
        text += &format!("  {vector}/{nmi}/{init}\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(row: Row, smp: u32, passed: bool) -> Cell {
        Cell {
            row,
            kvm: false,
            smp,
            passed,
            paths: [1, 0, 0],
        }
    }

    #[test]
    fn a_cell_fails_if_any_of_its_cases_failed() {
        let table = table(&[
            cell(Row::Race, 2, true),
            cell(Row::Race, 2, false),
            cell(Row::Race, 4, true),
            cell(Row::Idle, 1, true),
            Cell {
                kvm: true,
                ..cell(Row::Idle, 4, false)
            },
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(
            lines[0].ends_with("    1    2    4  paths v/n/i"),
            "{table}"
        );
        let row = |label: &str| *lines.iter().find(|l| l.starts_with(label)).unwrap();
        assert!(
            row("1 idle APs (vector) ").ends_with(" PASS    —    —  1/0/0"),
            "{table}"
        );
        assert!(row("3 race").ends_with("    — FAIL PASS  3/0/0"), "{table}");
        assert!(
            row("1 idle APs (vector) (kvm)").ends_with("    —    — FAIL  1/0/0"),
            "{table}"
        );
    }

    #[test]
    fn no_matrix_cases_no_table() {
        assert_eq!(table(&[]), "");
    }
}
