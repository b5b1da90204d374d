//! Hand-written runs for the writers' unit tests: every case status in several tag groups, and
//! text a hostile server could put in a report.

use super::{
    CaseReport, CaseStatus, CaseStore, LabelledExchange, REPORT_VERSION, ReportWriter, RunReport,
};
use crate::checks::{CheckResult, Verdict};
use crate::plan::Family;
use std::sync::Arc;

/// Markup, a CDATA end, quotes, the C0 controls XML 1.0 forbids, an ANSI colour, the
/// noncharacters U+FFFE and U+FFFF, and text that must survive them.
pub const HOSTILE: &str = "</script><script>alert(\"x\")</script> ]]> </pre> & 'q' \
     \u{0}\u{7}\u{1b}[31mred\u{1b}[0m \u{b}\u{c}\u{fffe}\u{ffff} \r\n\t é";

/// A case of `status` under `tags` (none: grouped by its family), with one exchange and a
/// passing check, plus a failing one when it failed and a reason when skipped or errored.
pub fn case(id: &str, tags: &[&str], status: CaseStatus) -> CaseReport {
    let mut case = CaseReport::stopped(String::new());
    let identity = Arc::make_mut(&mut case.case);
    identity.id = id.into();
    identity.title = format!("the case {id}");
    identity.tags = tags.iter().map(|tag| tag.to_string()).collect();
    identity.family = Family::Generated;
    case.status = status;
    case.duration_ms = 12.5;
    case.reason = match status {
        CaseStatus::Skipped => Some("the state could not be staged".into()),
        CaseStatus::Errored => Some("connection reset".into()),
        CaseStatus::Passed | CaseStatus::Failed => None,
    };
    case.checks.push(CheckResult {
        check: "status_code_conformance",
        step: 0,
        verdict: Verdict::Pass,
    });
    if status == CaseStatus::Failed {
        case.checks.push(CheckResult {
            check: "response_schema_conformance",
            step: 0,
            verdict: Verdict::fail("Status is 7", "8", "7"),
        });
    }
    if matches!(status, CaseStatus::Passed | CaseStatus::Failed) {
        case.exchanges.push(LabelledExchange {
            step: 0,
            label: "request".into(),
            exchange: crate::checks::testing::answer(200, &[("x-h", "v")], "{\"Status\": 7}"),
        });
    }
    case
}

/// The same cases with hostile text wherever a server or a contract puts text: the id, the
/// title, a finding, a reason, a header and a body.
pub fn hostile_cases() -> Vec<CaseReport> {
    hostile_cases_of(HOSTILE)
}

/// [`hostile_cases`] with `hostile` as the hostile text.
pub fn hostile_cases_of(hostile: &str) -> Vec<CaseReport> {
    let mut failed = case(
        &format!("failed \"{hostile}"),
        &["hostile"],
        CaseStatus::Failed,
    );
    Arc::make_mut(&mut failed.case).title = hostile.into();
    failed.checks.push(CheckResult {
        check: "no_stack_trace",
        step: 0,
        verdict: Verdict::fail(hostile, hostile, hostile),
    });
    if let Ok(received) = &mut failed.exchanges[0].exchange.response {
        received.body = hostile.as_bytes().to_vec();
        received.headers.push(("x-evil".into(), hostile.into()));
    }
    let mut errored = case("errored", &["hostile"], CaseStatus::Errored);
    errored.reason = Some(hostile.into());
    let mut passed = case("passed", &[], CaseStatus::Passed);
    passed.checks[0].verdict = Verdict::Warn {
        message: hostile.into(),
    };
    vec![failed, errored, passed]
}

/// Named runs the formats must all get right.
pub fn scenarios() -> Vec<(&'static str, Vec<CaseReport>)> {
    vec![
        ("empty run", Vec::new()),
        ("one passed", vec![case("a", &["auth"], CaseStatus::Passed)]),
        (
            "every status, three groups",
            vec![
                case("p1", &["schema"], CaseStatus::Passed),
                case("f1", &["auth"], CaseStatus::Failed),
                case("s1", &["schema"], CaseStatus::Skipped),
                case("e1", &[], CaseStatus::Errored),
                case("f2", &["schema", "auth"], CaseStatus::Failed),
                case("p2", &["auth"], CaseStatus::Passed),
            ],
        ),
        ("hostile text", hostile_cases()),
    ]
}

/// A report of `cases` in plan order: passing ones in the spool when `spooled`, else all in
/// memory (as a merged report reads back).
pub fn run_report(cases: Vec<CaseReport>, spooled: bool) -> RunReport {
    let store = match spooled {
        true => {
            let mut store = CaseStore::spooling();
            cases.into_iter().for_each(|case| store.push(case));
            if let Err(error) = store.close() {
                panic!("closing the spool: {error}");
            }
            store
        }
        false => CaseStore::from(cases),
    };
    RunReport {
        report_version: REPORT_VERSION,
        tool_version: "0.0.0-test".into(),
        contract_digest: format!("sha256:{}", "0".repeat(64)),
        contract_source: "/contract <dir>".into(),
        target: "http://127.0.0.1:1".into(),
        embedded: false,
        started_at: "2026-01-01T00:00:00Z".into(),
        duration_ms: 1234.5678,
        seed: Some(7),
        profile: Default::default(),
        shard: None,
        notices: vec![format!("notice {HOSTILE}")],
        fault: None,
        allow_skips: false,
        summary: store.summary().clone(),
        cases: store,
    }
}

/// What `writer` writes of `report`, as text.
pub fn written(writer: &dyn ReportWriter, report: &RunReport) -> String {
    let mut out = Vec::new();
    if let Err(error) = writer.write(report, &mut out) {
        panic!("{} writer: {error}", writer.name());
    }
    String::from_utf8(out).unwrap_or_else(|error| panic!("not UTF-8: {error}"))
}
