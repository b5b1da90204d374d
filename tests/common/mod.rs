//! Helpers shared by the integration tests: the repository's contract, runs against the
//! embedded server, and text normalization for snapshots of reports.

#![allow(dead_code)]

use cmconform::report::RunReport;
use cmconform::run::{RunOptions, run};
use regex::Regex;
use std::path::PathBuf;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn options() -> RunOptions {
    RunOptions::new(repo_root())
}

pub async fn run_report(options: &RunOptions) -> RunReport {
    match run(options, |_| {}).await {
        Ok(report) => report,
        Err(error) => panic!("the run could not be carried out: {error}"),
    }
}

/// Names of the checks that failed anywhere in the report.
pub fn failed_checks(report: &RunReport) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = report
        .cases
        .iter()
        .flat_map(|case| case.failures().map(|result| result.check))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Replaces what changes from run to run (ports, GUIDs, timestamps, durations, credentials)
/// so that report snapshots are stable.
pub fn stabilize(text: &str) -> String {
    let rules = [
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (
            r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[guid]",
        ),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?",
            "[timestamp]",
        ),
        (r"\(\d+ ms\)", "([n] ms)"),
        (r#""(duration_ms|elapsed_ms)": [0-9.e-]+"#, r#""$1": 0"#),
        (r#"time="[0-9.]+""#, r#"time="0""#),
        (r#"timestamp="[^"]+""#, r#"timestamp="[timestamp]""#),
        (r"cmconform \d+\.\d+\.\d+", "cmconform [version]"),
        (r"sha256:[0-9a-f]{12,64}", "sha256:[digest]"),
        (
            r#"name="cmconform_version" value="[^"]+""#,
            r#"name="cmconform_version" value="[version]""#,
        ),
        (
            r#""tool_version": "[^"]+""#,
            r#""tool_version": "[version]""#,
        ),
        (r#"\\"date\\", \\"[^"\\]+\\""#, r#"\"date\", \"[date]\""#),
        (r#""date",\s*"[^"]+""#, r#""date", "[date]""#),
    ];
    rules
        .iter()
        .fold(text.to_string(), |text, (pattern, replacement)| {
            Regex::new(pattern)
                .map(|re| re.replace_all(&text, *replacement).into_owned())
                .unwrap_or(text)
        })
}

/// The JSON report with what the reference server varies per request (field values, hence
/// lengths) reduced to the normalized Request shape, then `stabilize`d.
pub fn stabilize_json_report(text: &str) -> String {
    let Ok(mut report) = serde_json::from_str::<serde_json::Value>(text) else {
        return stabilize(text);
    };
    let exchanges = report["cases"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(|case| case["exchanges"].as_array_mut())
        .flatten();
    for exchange in exchanges {
        let received = &mut exchange["response"]["received"];
        if let Some(body) = received["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
        {
            received["body"] = cmconform::snapshot::render(&body).into();
        }
        for header in received["headers"].as_array_mut().into_iter().flatten() {
            if header[0] == "content-length" {
                header[1] = "[n]".into();
            }
        }
    }
    stabilize(&serde_json::to_string_pretty(&report).unwrap_or_default())
}

/// The documented example response (CONTRACT.md section 4), verbatim from the seed page.
pub fn documented_answer() -> serde_json::Value {
    serde_json::json!({
        "Uuid": "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099", "RequestType": 1, "Status": 8, "Flags": 2, "DataCollection": [],
        "DataCollectionFlags": 32,
        "OriginatorUserUuid": "8f1590dc-d932-4b66-8e68-2e91c5880780",
        "TargetUserUuid": "8f1590dc-d932-4b66-8e68-2e91c5880780",
        "Submitted": "2015-07-07T23:36:21.93Z", "Completed": "2015-07-07T23:37:37.767Z",
        "NewProfileUuid": "b99ff38c-6653-471f-ae3c-325bb351a6bc",
        "OldProfileUuid": "00000000-0000-0000-0000-000000000000",
        "NewSmartcardUuid": "17cf063d-e337-4aa9-a822-346554ddd3c9",
        "OldSmartcardUuid": "00000000-0000-0000-0000-000000000000",
        "Priority": 0, "Comment": "",
        "ProfileTemplateUuid": "a039b4d0-5ce8-4eff-8651-181c6576fda3",
        "SecurityDescriptor": "O:S-1-5-21-2127521184-1604012920-1887927527-14134865D:(D;;LC;;;S-1-5-21-2127521184-1604012920-1887927527-14995557)(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-5094533)(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-5094534)(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-5219125)(A;;SWRC;;;S-1-5-21-2127521184-1604012920-1887927527-5094533)(A;;RC;;;WD)(A;;CCDCLCSWSDRC;;;S-1-5-21-2127521184-1604012920-1887927527-14134865)(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-14995557)(A;;CCDCSW;;;S-1-5-21-2127521184-1604012920-1887927527-14995557)\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
        "IsSmartcard": true, "IsEnrollmentAgent": false, "IsDataCollectionComplete": false
    })
}
