//! `cmconform selftest`: proves the harness's detection power. In every dialect of the reference
//! server, runs the full suite against the conformant server (no check may fail) and once per
//! fault whose rule the dialect can show (the fault's intended check must fail), and reports the
//! dialect × fault matrix.

use crate::report::{RunReport, exit};
use crate::run::{self, RunError, RunOptions};
use crate::server::{Dialect, Fault};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Duration;

/// The per-exchange timeout during a self-test: short, so `slow_answer` costs little.
const SELFTEST_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long `slow_answer` stalls: comfortably past the timeout.
const SELFTEST_SLOW_DELAY: Duration = Duration::from_millis(3000);
/// Cases in flight per suite. Several suites run at once on a machine that may be small, and
/// the faults with 9 MiB answers must not push staging past the short timeout.
const SELFTEST_JOBS: usize = 4;

/// One run of the matrix: a dialect, and its conformant server or one fault.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub dialect: &'static str,
    /// `None` for the conformant server.
    pub fault: Option<&'static str>,
    pub section: Option<&'static str>,
    pub intended_check: Option<&'static str>,
    /// Every check that failed in the run.
    pub caught_by: Vec<&'static str>,
    pub passed: bool,
    /// Why the row failed, when it did.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    /// The dialects run, in order: the columns of the matrix.
    pub dialects: Vec<&'static str>,
    /// The faults asked for, in order: the rows of the matrix.
    pub fault_names: Vec<&'static str>,
    pub rows: Vec<Row>,
    /// Fault runs: each fault in each dialect where its rule applies.
    pub faults: usize,
    pub caught: usize,
    /// Checks that failed on a conformant server, summed over the dialects.
    pub false_positives: usize,
}

impl Matrix {
    pub fn exit_code(&self) -> i32 {
        if self.rows.iter().all(|row| row.passed) {
            exit::PASSED
        } else {
            exit::FAILED
        }
    }

    /// The row of `fault` (`None`: the conformant server) in `dialect`, if it was run.
    pub fn row(&self, dialect: &str, fault: Option<&str>) -> Option<&Row> {
        self.rows
            .iter()
            .find(|row| row.dialect == dialect && row.fault == fault)
    }
}

/// Runs, in every one of `dialects`, the conformant server and every fault of `faults` that
/// applies there, at most `parallel` suites at once.
pub async fn selftest(
    base: &RunOptions,
    dialects: &[&'static Dialect],
    faults: &[Fault],
    parallel: usize,
) -> Result<Matrix, RunError> {
    let runs: Vec<(&'static Dialect, Option<Fault>)> = dialects
        .iter()
        .flat_map(|&dialect| {
            let applicable = faults.iter().filter(move |fault| fault.applies_in(dialect));
            std::iter::once((dialect, None))
                .chain(applicable.map(move |&fault| (dialect, Some(fault))))
        })
        .collect();
    // Suites mostly wait on loopback I/O, so a few at once use the CPUs well.
    let reports: Vec<Result<RunReport, RunError>> = stream::iter(runs.iter().copied())
        .map(|(dialect, fault)| suite(base, dialect, fault))
        .buffered(parallel.max(1))
        .collect()
        .await;
    let mut rows = Vec::with_capacity(runs.len());
    for ((dialect, fault), report) in runs.into_iter().zip(reports) {
        let report = report?;
        rows.push(match fault {
            None => conformant_row(dialect, &report),
            Some(fault) => fault_row(dialect, fault, &report),
        });
    }
    let fault_rows = rows.iter().filter(|row| row.fault.is_some());
    Ok(Matrix {
        dialects: dialects.iter().map(|dialect| dialect.name).collect(),
        fault_names: faults.iter().map(|fault| fault.name()).collect(),
        faults: fault_rows.clone().count(),
        caught: fault_rows.filter(|row| row.passed).count(),
        false_positives: rows
            .iter()
            .filter(|row| row.fault.is_none())
            .map(|row| row.caught_by.len())
            .sum(),
        rows,
    })
}

async fn suite(
    base: &RunOptions,
    dialect: &'static Dialect,
    fault: Option<Fault>,
) -> Result<RunReport, RunError> {
    let mut options = base.clone();
    options.base_url = None;
    options.embedded_dialect = dialect;
    options.embedded_fault = fault;
    options.timeout = SELFTEST_TIMEOUT;
    options.jobs = options.jobs.min(SELFTEST_JOBS);
    options.embedded_slow_delay = SELFTEST_SLOW_DELAY;
    options.snapshot_mode = crate::snapshot::SnapshotMode::Compare;
    run::run(&options, |_| {}).await
}

fn failed_checks(report: &RunReport) -> Vec<&'static str> {
    let names: BTreeSet<&'static str> = report
        .cases
        .iter()
        .flat_map(|case| case.failures().map(|result| result.check))
        .collect();
    names.into_iter().collect()
}

fn conformant_row(dialect: &'static Dialect, report: &RunReport) -> Row {
    let caught_by = failed_checks(report);
    let problem = match (
        caught_by.is_empty(),
        report.summary.errored,
        report.summary.skipped,
    ) {
        (false, _, _) => Some(format!(
            "false positives on the conformant server: {}",
            caught_by.join(", ")
        )),
        (true, errored, _) if errored > 0 => Some(format!("{errored} cases errored")),
        (true, _, skipped) if skipped > 0 => Some(format!("{skipped} cases skipped")),
        _ => None,
    };
    Row {
        dialect: dialect.name,
        fault: None,
        section: None,
        intended_check: None,
        passed: problem.is_none(),
        caught_by,
        problem,
    }
}

fn fault_row(dialect: &'static Dialect, fault: Fault, report: &RunReport) -> Row {
    let caught_by = failed_checks(report);
    let intended = fault.intended_check();
    let problem = if report.summary.errored > 0 {
        Some(format!(
            "{} cases errored: the harness could not carry the run out",
            report.summary.errored
        ))
    } else if !caught_by.contains(&intended) {
        Some(format!("not caught by {intended}"))
    } else if report.exit_code() != exit::FAILED {
        // A CI gate trusts the exit code, so a caught fault must also end the run with 1.
        Some(format!(
            "exit code {}, expected {}",
            report.exit_code(),
            exit::FAILED
        ))
    } else {
        None
    };
    Row {
        dialect: dialect.name,
        fault: Some(fault.name()),
        section: Some(fault.section()),
        intended_check: Some(intended),
        passed: problem.is_none(),
        caught_by,
        problem,
    }
}

/// One cell of the matrix: `clean`/`caught`, `n/a` where the fault does not apply, or the
/// problem.
fn cell(row: Option<&Row>) -> String {
    match row {
        None => "n/a".into(),
        Some(row) if row.passed && row.fault.is_some() => "caught".into(),
        Some(row) if row.passed => "clean".into(),
        Some(row) => format!("FAIL: {}", row.problem.as_deref().unwrap_or("failed")),
    }
}

/// The matrix as a Markdown table, faults down and dialects across. `detailed` adds, after the
/// table, every check that failed in each run (the console view); without it the text holds only
/// what is stable from run to run (the README).
pub fn render_table(matrix: &Matrix, detailed: bool) -> String {
    let mut out = String::from("| fault | section | intended check |");
    for dialect in &matrix.dialects {
        out.push_str(&format!(" {dialect} |"));
    }
    out.push_str(&format!(
        "\n|---|---|---|{}\n",
        "---|".repeat(matrix.dialects.len())
    ));
    let lines = std::iter::once(None).chain(matrix.fault_names.iter().map(|name| Some(*name)));
    for fault in lines {
        let fault_info = fault.and_then(Fault::from_name);
        out.push_str(&format!(
            "| {} | {} | {} |",
            fault.unwrap_or("(conformant server)"),
            fault_info.map_or("-", Fault::section),
            fault_info.map_or("no check fails", Fault::intended_check),
        ));
        for dialect in &matrix.dialects {
            out.push_str(&format!(" {} |", cell(matrix.row(dialect, fault))));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "\n{}/{} fault runs caught by their intended check ({} faults in {} dialects, where they apply); {} false positives on the conformant servers.\n",
        matrix.caught,
        matrix.faults,
        matrix.fault_names.len(),
        matrix.dialects.len(),
        matrix.false_positives
    ));
    if detailed {
        out.push_str("\nChecks that failed in each run:\n");
        for row in &matrix.rows {
            let caught = if row.caught_by.is_empty() {
                "-".to_string()
            } else {
                row.caught_by.join(", ")
            };
            out.push_str(&format!(
                "  {:<10} {:<24} {caught}\n",
                row.dialect,
                row.fault.unwrap_or("(conformant server)")
            ));
        }
    }
    out
}
