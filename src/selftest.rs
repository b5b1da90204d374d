//! `cmconform selftest`: proves the harness's detection power. Runs the full suite against the
//! conformant reference server (no check may fail) and once per fault of the catalogue (the
//! fault's intended check must fail), and reports the matrix.

use crate::report::{RunReport, exit};
use crate::run::{self, RunError, RunOptions};
use crate::server::Fault;
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

/// One row of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
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
    pub rows: Vec<Row>,
    pub faults: usize,
    pub caught: usize,
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
}

/// Runs the conformant server and every fault, at most `parallel` suites at once.
pub async fn selftest(
    base: &RunOptions,
    faults: &[Fault],
    parallel: usize,
) -> Result<Matrix, RunError> {
    let mut rows = vec![conformant_row(&suite(base, None).await?)];
    // Suites mostly wait on loopback I/O, so a few at once use the CPUs well.
    let reports: Vec<Result<RunReport, RunError>> = stream::iter(faults.iter().copied())
        .map(|fault| suite(base, Some(fault)))
        .buffered(parallel.max(1))
        .collect()
        .await;
    for (fault, report) in faults.iter().zip(reports) {
        rows.push(fault_row(*fault, &report?));
    }
    let fault_rows = rows.iter().filter(|row| row.fault.is_some());
    let caught = fault_rows.clone().filter(|row| row.passed).count();
    Ok(Matrix {
        faults: fault_rows.count(),
        caught,
        false_positives: rows.first().map_or(0, |row| row.caught_by.len()),
        rows,
    })
}

async fn suite(base: &RunOptions, fault: Option<Fault>) -> Result<RunReport, RunError> {
    let mut options = base.clone();
    options.base_url = None;
    options.embedded_fault = fault;
    options.timeout = SELFTEST_TIMEOUT;
    options.jobs = options.jobs.min(SELFTEST_JOBS);
    options.embedded_slow_delay = SELFTEST_SLOW_DELAY;
    options.snapshot_mode = crate::snapshot::SnapshotMode::Compare;
    if let Some(fault) = fault {
        options.profile = fault.profile();
    }
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

fn conformant_row(report: &RunReport) -> Row {
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
        fault: None,
        section: None,
        intended_check: None,
        passed: problem.is_none(),
        caught_by,
        problem,
    }
}

fn fault_row(fault: Fault, report: &RunReport) -> Row {
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
        fault: Some(fault.name()),
        section: Some(fault.section()),
        intended_check: Some(intended),
        passed: problem.is_none(),
        caught_by,
        problem,
    }
}

/// The matrix as a Markdown table. `detailed` adds every check that failed in each run (the
/// console view); without it the table holds only what is stable from run to run (the README).
pub fn render_table(matrix: &Matrix, detailed: bool) -> String {
    let mut out = String::from("| fault | section | intended check | result |");
    out.push_str(if detailed {
        " all failed checks |\n|---|---|---|---|---|\n"
    } else {
        "\n|---|---|---|---|\n"
    });
    for row in &matrix.rows {
        let verdict = match (&row.problem, row.passed) {
            (_, true) if row.fault.is_some() => "caught".to_string(),
            (_, true) => "clean".to_string(),
            (Some(problem), false) => format!("FAIL: {problem}"),
            (None, false) => "FAIL".to_string(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {verdict} |",
            row.fault.unwrap_or("(conformant server)"),
            row.section.unwrap_or("-"),
            row.intended_check.unwrap_or("no check fails"),
        ));
        if detailed {
            let caught = if row.caught_by.is_empty() {
                "-".to_string()
            } else {
                row.caught_by.join(", ")
            };
            out.push_str(&format!(" {caught} |"));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "\n{}/{} faults caught by their intended check; {} false positives on the conformant server.\n",
        matrix.caught, matrix.faults, matrix.false_positives
    ));
    out
}
