//! `cmconform selftest`: proves the harness's detection power. In every dialect of the reference
//! server, runs the full suite against the conformant server (no check may fail) and once per
//! fault whose rule the dialect can show (the fault's intended check must fail), and reports the
//! dialect × fault matrix. Each suite runs in two modes at once, on the embedded server and as a
//! user reaches a deployment (`--base-url`, `--state-url`, the guard on); a row passes only
//! when it passes in both.

use crate::contract::profile::Profile;
use crate::report::{CaseStatus, RunReport, exit};
use crate::run::{self, RunError, RunOptions};
use crate::server::{Credentials, Dialect, Fault, ServerConfig};
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
    /// The judging profile of the run: a fault's own, and for the conformant server each profile
    /// the dialect meets.
    pub profile: Profile,
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

    /// The row of `fault` (`None`: the conformant server) in `dialect` under `profile`, if it
    /// was run.
    pub fn row(&self, dialect: &str, fault: Option<&str>, profile: Profile) -> Option<&Row> {
        self.rows
            .iter()
            .find(|row| row.dialect == dialect && row.fault == fault && row.profile == profile)
    }
}

/// One suite of the matrix.
#[derive(Clone, Copy)]
struct Run {
    dialect: &'static Dialect,
    fault: Option<Fault>,
    profile: Profile,
}

/// The profiles the conformant server is judged under: the documented one, and each one a fault
/// of the matrix is judged under (a caught fault means little unless the conformant server
/// passes the same profile).
fn profiles(faults: &[Fault]) -> Vec<Profile> {
    [Profile::Documented, Profile::Strict]
        .into_iter()
        .filter(|&profile| {
            profile == Profile::Documented || faults.iter().any(|fault| fault.profile() == profile)
        })
        .collect()
}

/// Runs, in every one of `dialects`, the conformant server under each profile the dialect meets
/// and every fault of `faults` that applies there (under the fault's profile), at most
/// `parallel` suites at once.
pub async fn selftest(
    base: &RunOptions,
    dialects: &[&'static Dialect],
    faults: &[Fault],
    parallel: usize,
) -> Result<Matrix, RunError> {
    let profiles = profiles(faults);
    let runs: Vec<Run> = dialects
        .iter()
        .flat_map(|&dialect| {
            let conformant = profiles
                .clone()
                .into_iter()
                .filter(move |&profile| dialect.meets(profile))
                .map(move |profile| Run {
                    dialect,
                    fault: None,
                    profile,
                });
            // A load-only fault breaks no rule a suite run can see; `load` judges it.
            let applicable = faults
                .iter()
                .filter(move |fault| fault.applies_in(dialect) && !fault.judged_by_load());
            conformant.chain(applicable.map(move |&fault| Run {
                dialect,
                fault: Some(fault),
                profile: fault.profile(),
            }))
        })
        .collect();
    // Suites mostly wait on loopback I/O, so a few at once use the CPUs well; each run's two
    // modes go at once.
    let rows: Vec<Result<Row, RunError>> = stream::iter(runs.iter().copied())
        .map(|run| both_modes(base, run))
        .buffered(parallel.max(1))
        .collect()
        .await;
    let rows = rows.into_iter().collect::<Result<Vec<Row>, RunError>>()?;
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

/// How a suite reaches the server.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The embedded server of `run` without `--base-url`.
    Embedded,
    /// As a user runs it against a deployment: `serve` on 127.0.0.1 reached through
    /// `--base-url`, staging through `--state-url`, credentials given with `-H`, and the guard
    /// on (every PUT goes only to a staged, fresh, or probed-unknown id).
    Deployment,
}

/// The row of `run`: judged in both modes, caught (or clean) only when it is in both.
async fn both_modes(base: &RunOptions, run: Run) -> Result<Row, RunError> {
    let (embedded, deployment) = tokio::join!(
        suite(base, run, Mode::Embedded),
        suite(base, run, Mode::Deployment)
    );
    let (embedded, deployment) = (row_of(run, &embedded?), row_of(run, &deployment?));
    Ok(merged(embedded, deployment))
}

fn row_of(run: Run, report: &RunReport) -> Row {
    let mut row = match run.fault {
        None => conformant_row(run.dialect, report),
        Some(fault) => fault_row(run.dialect, fault, report),
    };
    row.profile = run.profile;
    row
}

/// One row from the rows of the two modes: passed when both passed, every check that failed
/// in either, and the problem of each mode that had one, named.
fn merged(embedded: Row, deployment: Row) -> Row {
    let problems: Vec<String> = [("embedded", &embedded), ("deployment", &deployment)]
        .into_iter()
        .filter_map(|(mode, row)| row.problem.as_ref().map(|p| format!("{mode}: {p}")))
        .collect();
    let caught_by: BTreeSet<&'static str> = embedded
        .caught_by
        .iter()
        .chain(&deployment.caught_by)
        .copied()
        .collect();
    Row {
        passed: embedded.passed && deployment.passed,
        caught_by: caught_by.into_iter().collect(),
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
        ..embedded
    }
}

async fn suite(base: &RunOptions, run: Run, mode: Mode) -> Result<RunReport, RunError> {
    let mut options = base.clone();
    options.base_url = None;
    options.embedded_dialect = run.dialect;
    options.embedded_fault = run.fault;
    options.profile = run.profile;
    options.timeout = SELFTEST_TIMEOUT;
    options.jobs = options.jobs.min(SELFTEST_JOBS);
    options.embedded_slow_delay = SELFTEST_SLOW_DELAY;
    options.snapshot_mode = crate::snapshot::SnapshotMode::Compare;
    if mode == Mode::Embedded {
        return run::run(&options, |_| {}).await;
    }
    let credential = format!("Negotiate {}", uuid::Uuid::new_v4().simple());
    let server = crate::server::spawn(
        ServerConfig {
            dialect: run.dialect,
            fault: run.fault,
            credentials: Credentials::Exact(credential.clone()),
            slow_delay: SELFTEST_SLOW_DELAY,
            log: false,
            limits: run::embedded_limits(),
        },
        0,
    )
    .await
    .map_err(RunError::Server)?;
    options.base_url = Some(server.base_url());
    options.states = run::StateSource::Url(server.state_url());
    options
        .headers
        .push(("Authorization".to_string(), credential));
    let report = run::run(&options, |_| {}).await;
    server.shutdown().await;
    report
}

fn failed_checks(report: &RunReport) -> Vec<&'static str> {
    // Only failed cases have failures, and they are always in memory.
    let names: BTreeSet<&'static str> = report
        .cases
        .kept()
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
        profile: Profile::Documented,
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
    let problem = match fault.run_error() {
        Some(reason) => run_error_problem(report, reason),
        None => caught_problem(report, &caught_by, intended),
    };
    Row {
        dialect: dialect.name,
        profile: fault.profile(),
        fault: Some(fault.name()),
        section: Some(fault.section()),
        intended_check: Some(intended),
        passed: problem.is_none(),
        caught_by,
        problem,
    }
}

/// What is wrong with the run of a fault a check must catch, if anything.
fn caught_problem(report: &RunReport, caught_by: &[&str], intended: &str) -> Option<String> {
    if report.summary.errored > 0 {
        Some(format!(
            "{} cases errored: the harness could not carry the run out",
            report.summary.errored
        ))
    } else if !caught_by.contains(&intended) {
        Some(format!("not caught by {intended}"))
    } else {
        // A CI gate trusts the exit code, so a caught fault must also end the run with 1.
        exit_problem(report, exit::FAILED)
    }
}

/// The problem of a run that did not end with `expected`.
fn exit_problem(report: &RunReport, expected: i32) -> Option<String> {
    let code = report.exit_code();
    (code != expected).then(|| format!("exit code {code}, expected {expected}"))
}

/// What is wrong with the run of a fault that must error the run (exit 2) with `reason`, if
/// anything: every errored case must say `reason`, so no other breakage hides behind it.
fn run_error_problem(report: &RunReport, reason: &str) -> Option<String> {
    let errored: Vec<&str> = report
        .cases
        .kept()
        .filter(|case| case.status == CaseStatus::Errored)
        .map(|case| case.reason.as_deref().unwrap_or_default())
        .collect();
    if errored.is_empty() {
        Some(format!("no case errored with \"{reason}\""))
    } else if let Some(other) = errored.iter().find(|text| !text.contains(reason)) {
        Some(format!("a case errored for another reason: {other}"))
    } else {
        exit_problem(report, exit::ERROR)
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

/// The cell of a load-only fault: judged by `load` (tests/load.rs proves its gate fails), or
/// `n/a` where it does not apply.
fn load_cell(fault: Fault, dialect: &str) -> String {
    match Dialect::from_name(dialect) {
        Some(dialect) if fault.applies_in(dialect) => "judged by load".into(),
        _ => "n/a".into(),
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
    let faults: Vec<Fault> = matrix
        .fault_names
        .iter()
        .filter_map(|name| Fault::from_name(name))
        .collect();
    let conformant = profiles(&faults).into_iter().map(|profile| (None, profile));
    let fault_lines = faults.iter().map(|&fault| (Some(fault), fault.profile()));
    for (fault, profile) in conformant.into_iter().chain(fault_lines) {
        let name = fault.map(Fault::name);
        let label = match (fault, profile) {
            (None, Profile::Documented) => "(conformant server)".to_string(),
            (None, profile) => format!("(conformant server, {profile} profile)"),
            (Some(fault), Profile::Documented) => fault.name().to_string(),
            (Some(fault), profile) => format!("{} ({profile} profile)", fault.name()),
        };
        out.push_str(&format!(
            "| {label} | {} | {} |",
            fault.map_or("-", Fault::section),
            fault.map_or("no check fails".to_string(), Fault::judged_by),
        ));
        for dialect in &matrix.dialects {
            let judged = match fault {
                Some(fault) if fault.judged_by_load() => load_cell(fault, dialect),
                _ => cell(matrix.row(dialect, name, profile)),
            };
            out.push_str(&format!(" {judged} |"));
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
                "  {:<10} {:<10} {:<24} {caught}\n",
                row.dialect,
                row.profile.name(),
                row.fault.unwrap_or("(conformant server)")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(passed: bool, caught_by: &[&'static str], problem: Option<&str>) -> Row {
        Row {
            dialect: "strict",
            profile: Profile::Documented,
            fault: Some("no_lock"),
            section: Some("5"),
            intended_check: Some("concurrent_single_winner"),
            caught_by: caught_by.to_vec(),
            passed,
            problem: problem.map(str::to_string),
        }
    }

    #[test]
    fn a_row_passes_only_when_both_modes_pass_and_names_each_modes_problem() {
        let table = [
            (true, true, true, None),
            (true, false, false, Some("deployment: not caught")),
            (false, true, false, Some("embedded: not caught")),
            (
                false,
                false,
                false,
                Some("embedded: not caught; deployment: not caught"),
            ),
        ];
        for (embedded, deployment, passed, problem) in table {
            let problem_of = |ok: bool| (!ok).then_some("not caught");
            let merged = merged(
                row(embedded, &["a", "b"], problem_of(embedded)),
                row(deployment, &["b", "c"], problem_of(deployment)),
            );
            assert_eq!(merged.passed, passed);
            assert_eq!(merged.problem.as_deref(), problem);
            assert_eq!(merged.caught_by, ["a", "b", "c"]);
        }
    }
}
