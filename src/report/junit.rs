//! `--format junit`: JUnit XML (via quick-junit) as Jenkins and GitLab read it: one testsuite per
//! tag group, one testcase per case, a failure per failing case with expected and actual, and the
//! reproduction command in system-out.

use super::{CaseReport, CaseStatus, ReportWriter, RunReport};
use crate::checks::Verdict;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

pub struct JunitWriter;

impl ReportWriter for JunitWriter {
    fn name(&self) -> &'static str {
        "junit"
    }

    fn write(&self, report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
        let mut junit = Report::new("cmconform");
        junit.set_time(millis(report.duration_ms));
        let mut suites: BTreeMap<String, TestSuite> = BTreeMap::new();
        // Whole cases: a passing one's reproduction is read back from the spool.
        for case in report.cases.full() {
            let case = case?;
            let group = suite_name(&case);
            suites
                .entry(group.clone())
                .or_insert_with(|| new_suite(group, report))
                .add_test_case(test_case(&case));
        }
        junit.add_test_suites(suites.into_values());
        junit.serialize(&mut *out).map_err(std::io::Error::other)?;
        writeln!(out)
    }
}

/// A suite carrying what every reader must see: the cmconform version and contract digest, the
/// generator seed and the run's notices (e.g.
/// TLS verification off), as properties and in system-err, where CI UIs show them.
fn new_suite(name: String, report: &RunReport) -> TestSuite {
    let mut suite = TestSuite::new(name);
    suite.add_property(quick_junit::Property::new(
        "cmconform_version",
        report.tool_version.clone(),
    ));
    suite.add_property(quick_junit::Property::new(
        "contract_digest",
        report.contract_digest.clone(),
    ));
    suite.add_property(quick_junit::Property::new(
        "contract_source",
        report.contract_source.clone(),
    ));
    if let Some(seed) = report.seed {
        suite.add_property(quick_junit::Property::new("seed", seed.to_string()));
    }
    suite.add_property(quick_junit::Property::new(
        "profile",
        report.profile.to_string(),
    ));
    for notice in &report.notices {
        suite.add_property(quick_junit::Property::new("notice", notice.clone()));
    }
    if !report.notices.is_empty() {
        suite.set_system_err(format!("WARNING: {}", report.notices.join("\nWARNING: ")));
    }
    suite
}

/// The tag group a case is reported under: its first tag, or its family.
fn suite_name(case: &CaseReport) -> String {
    case.tags
        .first()
        .cloned()
        .unwrap_or_else(|| format!("{:?}", case.family).to_lowercase())
}

fn test_case(case: &CaseReport) -> TestCase {
    let status = match case.status {
        CaseStatus::Passed => TestCaseStatus::success(),
        CaseStatus::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(case.reason.clone().unwrap_or_default());
            status
        }
        CaseStatus::Failed | CaseStatus::Errored => failure_status(case),
    };
    let mut test_case = TestCase::new(case.id.clone(), status);
    test_case.set_classname(format!("cmconform.{}", suite_name(case)));
    test_case.set_time(millis(case.duration_ms));
    test_case.set_assertions(case.checks.len());
    let reproduce: Vec<String> = case
        .exchanges
        .iter()
        .map(|e| {
            format!(
                "# step {} {}\n{}",
                crate::step_number::shown(e.step),
                e.label,
                e.exchange.request.to_curl()
            )
        })
        .collect();
    let open = case
        .open_text()
        .map(|paths| format!("open input (CONTRACT.md section 7): {paths}\n"))
        .unwrap_or_default();
    if !reproduce.is_empty() {
        test_case.set_system_out(format!("{open}{}\n{}", case.title, reproduce.join("\n")));
    }
    test_case
}

fn failure_status(case: &CaseReport) -> TestCaseStatus {
    let (kind, kind_name) = match case.status {
        CaseStatus::Errored => (NonSuccessKind::Error, "error"),
        _ => (NonSuccessKind::Failure, "conformance"),
    };
    let mut status = TestCaseStatus::non_success(kind);
    status.set_type(kind_name);
    let failures: Vec<String> = case
        .checks
        .iter()
        .filter_map(|result| match &result.verdict {
            Verdict::Fail(finding) => Some(format!(
                "{} (step {}): {}\nexpected: {}\nactual: {}",
                result.check,
                crate::step_number::shown(result.step),
                finding.message,
                finding.expected,
                finding.actual
            )),
            _ => None,
        })
        .collect();
    let message = case
        .failures()
        .map(|result| result.check)
        .collect::<Vec<_>>()
        .join(", ");
    status.set_message(
        case.reason
            .clone()
            .unwrap_or_else(|| format!("failed checks: {message}")),
    );
    status.set_description(failures.join("\n\n"));
    status
}

fn millis(ms: f64) -> Duration {
    Duration::from_secs_f64((ms / 1000.0).max(0.0))
}
