//! The whole suite against the embedded reference server: every case passes, the reports of one
//! run are snapshotted in all formats, and the machine formats are read back by real consumers.

mod common;

use cmconform::report::{
    CaseStatus, HumanWriter, JsonWriter, JunitWriter, ReportWriter, RunReport,
};
use common::{options, repo_root, run_report, stabilize};

fn render(writer: &dyn ReportWriter, report: &RunReport) -> String {
    let mut out = Vec::new();
    if let Err(error) = writer.write(report, &mut out) {
        panic!("{} writer failed: {error}", writer.name());
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_passes_against_the_reference_server() {
    let mut options = options();
    options.families.generate = 200;
    options.families.seed = 7;
    let report = run_report(&options).await;
    // Every case that did not pass is kept in memory.
    let not_passed: Vec<String> = report
        .cases
        .kept()
        .filter(|case| case.status != CaseStatus::Passed)
        .map(|case| {
            let checks: Vec<String> = case
                .failures()
                .map(|r| format!("{}: {:?}", r.check, r.verdict))
                .collect();
            format!(
                "{} {:?} {:?} {}",
                case.id,
                case.status,
                case.reason,
                checks.join("; ")
            )
        })
        .collect();
    assert!(
        not_passed.is_empty(),
        "cases that did not pass:\n{}",
        not_passed.join("\n")
    );
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.seed, Some(7));
    let families: std::collections::BTreeSet<String> = report
        .cases
        .full()
        .map(|case| match case {
            Ok(case) => format!("{:?}", case.family),
            Err(error) => panic!("reading the spooled cases back: {error}"),
        })
        .collect();
    assert_eq!(families.len(), 4, "families seen: {families:?}");
    assert!(
        report.cases.len() >= 41 + 21 + 200,
        "{} cases",
        report.cases.len()
    );
}

/// A small, fixed selection covering a success, a documented example, refusals with and without
/// warnings, and the auth case: enough to pin every format's layout.
async fn sample_report() -> RunReport {
    let mut options = options();
    options.selection.filters = vec![
        "documented-example".into(),
        "complete-from-pending-forbidden".into(),
        "status-unknown-value".into(),
        "auth-missing-credentials".into(),
    ];
    options.families.lifecycle = false;
    options.families.race_rounds = 0;
    run_report(&options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_of_one_run_in_every_format() {
    let report = sample_report().await;
    assert_eq!(report.summary.total, 4);
    assert_eq!(report.summary.passed, 4);
    insta::assert_snapshot!("human", stabilize(&render(&HumanWriter, &report)));
    insta::assert_snapshot!(
        "json",
        common::stabilize_json_report(&render(&JsonWriter, &report))
    );
    insta::assert_snapshot!("junit", stabilize(&render(&JunitWriter, &report)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_is_valid_against_its_schema() {
    let mut options = options();
    options.families.generate = 40;
    options.families.seed = 11;
    let report = run_report(&options).await;
    let json: serde_json::Value = match serde_json::from_str(&render(&JsonWriter, &report)) {
        Ok(json) => json,
        Err(error) => panic!("the JSON report does not parse: {error}"),
    };
    let schema_text =
        std::fs::read_to_string(repo_root().join("schemas/report.schema.json")).unwrap_or_default();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap_or_default();
    let validator = match jsonschema::draft202012::new(&schema) {
        Ok(validator) => validator,
        Err(error) => panic!("report schema does not compile: {error}"),
    };
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .take(10)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(json["seed"], 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junit_report_parses_with_one_testcase_per_case() {
    let mut options = options();
    options.embedded_fault = cmconform::server::Fault::from_name("success_201");
    options.families.race_rounds = 0;
    let report = run_report(&options).await;
    let xml = render(&JunitWriter, &report);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut testcases, mut failures, mut suites) = (0, 0, 0);
    loop {
        match reader.read_event() {
            Ok(
                quick_xml::events::Event::Start(element) | quick_xml::events::Event::Empty(element),
            ) => match element.name().as_ref() {
                b"testcase" => testcases += 1,
                b"failure" => failures += 1,
                b"testsuite" => suites += 1,
                _ => {}
            },
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(error) => panic!(
                "JUnit XML does not parse at {}: {error}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(testcases, report.cases.len());
    assert_eq!(failures, report.summary.failed);
    assert!(failures > 0, "success_201 must fail cases");
    assert!(suites > 1, "one testsuite per tag group");
    assert!(xml.contains("status_code_conformance"));
}

/// The stored snapshot of the documented example is exactly the documented response (CONTRACT.md
/// section 4) normalized: our snapshots describe the documented contract, not our server.
#[test]
fn documented_example_normalizes_to_its_snapshot() {
    let example = common::documented_answer();
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!("documented-example", cmconform::snapshot::render(&example));
    });
}

/// The human report of a failing case: check name, expected vs actual, and the curl command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_report_of_a_failure() {
    let mut options = options();
    options.embedded_fault = cmconform::server::Fault::from_name("wrong_status_code");
    options.selection.filters = vec!["complete-from-approved".into()];
    options.families.lifecycle = false;
    options.families.race_rounds = 0;
    let report = run_report(&options).await;
    assert_eq!(report.exit_code(), 1);
    insta::assert_snapshot!("human_failure", stabilize(&render(&HumanWriter, &report)));
}
