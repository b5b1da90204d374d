//! Reports: the plain-data result of a run ([`RunReport`]) and one writer per output format
//! behind the [`ReportWriter`] trait. Writers only read the report; they never re-judge it.

mod controls;
#[cfg(test)]
pub(crate) mod fixtures;
mod har;
mod html;
mod human;
mod json;
mod junit;
mod markdown;
mod store;
mod tap;

pub use har::{HarWriter, har_document};
pub use html::HtmlWriter;
pub use human::{
    HumanWriter, RunStart, case_line, exchanges_text, start_line, summary_line, write_human_tail,
};
pub use json::JsonWriter;
pub use junit::JunitWriter;
pub use markdown::MarkdownWriter;
#[cfg(test)]
use store::counted;
pub use store::{CaseBrief, CaseStore};
pub use tap::TapWriter;

use crate::checks::{CheckResult, Evaluation, OpenOutcome, Verdict};
use crate::client::Exchange;
use crate::contract::kind::ExpectationKind;
use crate::contract::profile::Profile;
use crate::exec::{ExecutedCase, Execution};
use crate::plan::{CaseIdentity, Family};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::Arc;

/// Version of the JSON report layout (`schemas/report.schema.json`).
pub const REPORT_VERSION: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseStatus {
    Passed,
    Failed,
    Skipped,
    /// The harness could not carry the case out (not a verdict on the target).
    Errored,
}

impl CaseStatus {
    pub fn label(self) -> &'static str {
        match self {
            CaseStatus::Passed => "PASS",
            CaseStatus::Failed => "FAIL",
            CaseStatus::Skipped => "SKIP",
            CaseStatus::Errored => "ERROR",
        }
    }
}

/// An exchange with where it sits in the case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelledExchange {
    /// Index of the step; reports number it from 1.
    #[serde(with = "crate::step_number")]
    pub step: usize,
    pub label: String,
    #[serde(flatten)]
    pub exchange: Exchange,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseReport {
    /// The case's id, title, section, tags, family and given state: the plan's, shared.
    #[serde(flatten, with = "crate::plan::shared_identity")]
    pub case: Arc<CaseIdentity>,
    pub status: CaseStatus,
    /// Why the case was skipped or errored.
    pub reason: Option<String>,
    pub duration_ms: f64,
    /// The kind of expectation of each step (documented, reading, open).
    pub kinds: Vec<ExpectationKind>,
    /// For open inputs: the path the server took on each open step (refused, equivalent, ...).
    pub open: Vec<OpenOutcome>,
    pub checks: Vec<CheckResult>,
    pub exchanges: Vec<LabelledExchange>,
}

/// A report reads as its case's identity: `report.id`, `report.title`.
impl std::ops::Deref for CaseReport {
    type Target = CaseIdentity;
    fn deref(&self) -> &CaseIdentity {
        &self.case
    }
}

impl CaseReport {
    /// The one case of a run that stopped before its cases: errored, with the error as reason.
    pub fn stopped(reason: String) -> CaseReport {
        CaseReport {
            case: Arc::new(CaseIdentity {
                id: "run".into(),
                title: "The run could not be carried out".into(),
                section: String::new(),
                tags: Vec::new(),
                family: Family::Fixture,
                given: None,
            }),
            status: CaseStatus::Errored,
            reason: Some(reason),
            duration_ms: 0.0,
            kinds: Vec::new(),
            open: Vec::new(),
            checks: Vec::new(),
            exchanges: Vec::new(),
        }
    }

    pub fn from_executed(executed: ExecutedCase, evaluation: Evaluation) -> CaseReport {
        let Evaluation {
            results: checks,
            open,
        } = evaluation;
        let (status, reason, exchanges) = match executed.execution {
            Execution::Skipped { reason } => (CaseStatus::Skipped, Some(reason), Vec::new()),
            Execution::Errored { reason } => (CaseStatus::Errored, Some(reason), Vec::new()),
            Execution::Ran { steps, rounds, .. } => {
                let failed = checks.iter().any(|result| result.verdict.is_fail());
                let status = if failed {
                    CaseStatus::Failed
                } else {
                    CaseStatus::Passed
                };
                (status, None, label_exchanges(steps, rounds))
            }
        };
        let case = executed.case;
        CaseReport {
            kinds: case
                .steps
                .iter()
                .map(|step| step.kind.expectation_kind())
                .collect(),
            open,
            case: case.identity,
            status,
            reason,
            duration_ms: executed.duration_ms,
            checks,
            exchanges,
        }
    }

    /// The path the server took on each open step: `refused`, `equivalent (acting as
    /// Completed)`, `step 2 idempotent`; `None` when the case has no open step.
    pub fn open_text(&self) -> Option<String> {
        let multi_step = self.kinds.len() > 1;
        let paths: Vec<String> = self
            .open
            .iter()
            .map(|outcome| match multi_step {
                true => format!(
                    "step {} {}",
                    crate::step_number::shown(outcome.step),
                    outcome.describe()
                ),
                false => outcome.describe(),
            })
            .collect();
        (!paths.is_empty()).then(|| paths.join(", "))
    }

    /// The case as people may see it, after the checks judged the raw exchanges: every answer
    /// redacted (`redact::redact_response`), and the secrets scrubbed from findings and reasons
    /// (a finding may quote an answer).
    pub fn redacted(mut self, secrets: &[String]) -> CaseReport {
        let scrub = |text: &mut String| *text = crate::auth::scrub(text, secrets);
        for labelled in &mut self.exchanges {
            if let Ok(received) = &mut labelled.exchange.response {
                *received = crate::redact::redact_response(received, secrets);
            }
        }
        for result in &mut self.checks {
            match &mut result.verdict {
                Verdict::Pass => {}
                Verdict::Warn { message } => scrub(message),
                Verdict::Fail(finding) => {
                    scrub(&mut finding.message);
                    scrub(&mut finding.expected);
                    scrub(&mut finding.actual);
                }
            }
        }
        if let Some(reason) = &mut self.reason {
            scrub(reason);
        }
        self
    }

    /// Bounds the bodies (sent and received) this case keeps for the report: up to `failing_limit` bytes each when it
    /// failed or errored, up to [`PASSING_EVIDENCE_BYTES`] (a summary: the head, the length
    /// and the digest) when it passed. Call after judging and redaction.
    pub fn bounded(mut self, failing_limit: usize) -> CaseReport {
        let keep = match self.status {
            CaseStatus::Failed | CaseStatus::Errored => failing_limit,
            CaseStatus::Passed | CaseStatus::Skipped => failing_limit.min(PASSING_EVIDENCE_BYTES),
        };
        for labelled in &mut self.exchanges {
            labelled.exchange.request.bound_body(keep);
            if let Ok(received) = &mut labelled.exchange.response {
                received.bound_body(keep);
            }
        }
        self
    }

    /// The tag group a case is reported under (a JUnit testsuite): its first tag, or its family.
    pub fn group(&self) -> std::borrow::Cow<'_, str> {
        match self.tags.first() {
            Some(tag) => std::borrow::Cow::Borrowed(tag),
            None => std::borrow::Cow::Owned(format!("{:?}", self.family).to_lowercase()),
        }
    }

    pub fn warnings(&self) -> usize {
        self.checks
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Warn { .. }))
            .count()
    }

    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|r| r.verdict.is_fail())
    }

    /// The main request of `step`: what a reader replays to reproduce a failure.
    pub fn main_exchange(&self, step: usize) -> Option<&Exchange> {
        self.exchanges
            .iter()
            .find(|e| e.step == step && !e.label.starts_with("GET "))
            .map(|e| &e.exchange)
    }
}

fn label_exchanges(
    steps: Vec<crate::exec::StepEvidence>,
    rounds: Vec<crate::exec::RaceRound>,
) -> Vec<LabelledExchange> {
    let mut all = Vec::new();
    let mut push = |step: usize, label: String, exchange: Exchange| {
        all.push(LabelledExchange {
            step,
            label,
            exchange,
        })
    };
    for (step, evidence) in steps.into_iter().enumerate() {
        if let Some(before) = evidence.before {
            push(step, "GET before".into(), before);
        }
        push(step, "request".into(), evidence.exchange);
        if let Some(after) = evidence.after {
            push(step, "GET after".into(), after);
        }
        // The canonical request an open input was compared with, on its own staged request.
        if let Some(crate::exec::CanonicalRun::Ran { evidence, .. }) = evidence.canonical {
            let evidence = *evidence;
            let twin = [
                ("canonical GET before", evidence.before),
                ("canonical request", Some(evidence.exchange)),
                ("canonical GET after", evidence.after),
            ];
            for (label, exchange) in twin {
                if let Some(exchange) = exchange {
                    push(step, label.into(), exchange);
                }
            }
        }
    }
    for (round, race) in rounds.into_iter().enumerate() {
        push(round, "GET before".into(), race.before);
        for (target, exchange) in race.attempts {
            push(round, format!("PUT {}", target.wire()), exchange);
        }
        push(round, "GET after".into(), race.after);
    }
    all
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errored: usize,
    pub warnings: usize,
}

impl Summary {
    pub fn of(cases: &[CaseReport]) -> Summary {
        let mut summary = Summary::default();
        cases.iter().for_each(|case| summary.count(case));
        summary
    }

    /// Adds one case to the totals.
    pub fn count(&mut self, case: &CaseReport) {
        self.total += 1;
        *match case.status {
            CaseStatus::Passed => &mut self.passed,
            CaseStatus::Failed => &mut self.failed,
            CaseStatus::Skipped => &mut self.skipped,
            CaseStatus::Errored => &mut self.errored,
        } += 1;
        self.warnings += case.warnings();
    }
}

/// Bytes of each body a passing case keeps in reports: enough for a documented Request, a
/// summary of anything larger (its length and digest are recorded).
pub const PASSING_EVIDENCE_BYTES: usize = 4 * 1024;

/// `--evidence-bytes` by default: bytes of each body a failing case keeps in reports.
pub const DEFAULT_EVIDENCE_BYTES: usize = 64 * 1024;

/// Everything a run produced; reads back from the JSON report (`cmconform merge`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub report_version: u32,
    pub tool_version: String,
    /// SHA-256 of the contract files the run was planned from (`contract::digest`).
    pub contract_digest: String,
    /// Where the contract came from: `built-in`, or its directory (absolute). Empty in reports
    /// written before it was recorded.
    #[serde(default)]
    pub contract_source: String,
    /// The base URL tested (credentials masked), and whether it was the embedded server.
    pub target: String,
    pub embedded: bool,
    pub started_at: String,
    pub duration_ms: f64,
    /// The generator seed, when generated cases are part of the run.
    pub seed: Option<u64>,
    /// How open inputs and web-server answers were judged (CONTRACT.md sections 6 and 7).
    pub profile: Profile,
    /// The shard this report covers (`--partition k/n`); `None` for a whole run.
    pub shard: Option<Shard>,
    /// Things every reader must see (e.g. TLS verification disabled).
    pub notices: Vec<String>,
    /// The rule the embedded server broke (`run --fault NAME`); absent when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// `--allow-skips`: skipped cases do not fail the run. Not part of the JSON layout: the
    /// exit code says what it decided.
    #[serde(skip)]
    pub allow_skips: bool,
    pub summary: Summary,
    /// Failing, errored and skipped cases in memory, passing ones spooled; every case whole
    /// through [`CaseStore::full`] (and in the JSON layout).
    pub cases: CaseStore,
}

/// One shard of a partitioned run, and the whole plan it was cut from: what `cmconform merge`
/// needs to put the shards back together in plan order and to notice a missing one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based shard number (k of `--partition k/n`).
    pub index: u64,
    /// Number of shards (n).
    pub total: u64,
    /// Every case id of the unpartitioned selection, in plan order.
    pub plan: Vec<String>,
}

/// The documented exit codes.
pub mod exit {
    /// Every case passed (warnings allowed).
    pub const PASSED: i32 = 0;
    /// At least one check failed.
    pub const FAILED: i32 = 1;
    /// The run could not be carried out.
    pub const ERROR: i32 = 2;
}

/// One warning of a run: the case, the check, and its message.
pub struct Warning<'a> {
    pub case: &'a CaseReport,
    pub check: &'static str,
    pub message: &'a str,
}

impl RunReport {
    /// Shows `visit` every warning of the run, in case order (passing cases read back from the
    /// spool one at a time).
    pub fn visit_warnings(&self, mut visit: impl FnMut(Warning<'_>)) -> std::io::Result<()> {
        for case in self.cases.full() {
            let case = case?;
            for result in &case.checks {
                if let Verdict::Warn { message } = &result.verdict {
                    visit(Warning {
                        case: &case,
                        check: result.check,
                        message,
                    });
                }
            }
        }
        Ok(())
    }

    /// A skipped case proves nothing, so it fails the run unless the user allowed skips: a gate
    /// must never pass on cases that were not sent.
    pub fn exit_code(&self) -> i32 {
        if self.summary.errored > 0 {
            exit::ERROR
        } else if self.summary.failed > 0 || self.skips_fail() {
            exit::FAILED
        } else {
            exit::PASSED
        }
    }
}

impl RunReport {
    /// Whether skipped cases fail this run (some were skipped, and `--allow-skips` was not given).
    pub fn skips_fail(&self) -> bool {
        self.summary.skipped > 0 && !self.allow_skips
    }
}

/// One output format.
pub trait ReportWriter {
    /// The format's name on the command line (`--format NAME`).
    fn name(&self) -> &'static str;
    fn write(&self, report: &RunReport, out: &mut dyn Write) -> std::io::Result<()>;
}

/// Every writer, by `--format` name.
pub fn writer_for(name: &str) -> Option<Box<dyn ReportWriter>> {
    let writers: [Box<dyn ReportWriter>; 7] = [
        Box::new(HumanWriter),
        Box::new(JsonWriter),
        Box::new(JunitWriter),
        Box::new(HtmlWriter),
        Box::new(MarkdownWriter),
        Box::new(TapWriter),
        Box::new(HarWriter),
    ];
    writers.into_iter().find(|writer| writer.name() == name)
}

pub const FORMATS: [&str; 7] = ["human", "json", "junit", "html", "markdown", "tap", "har"];

/// A one-line description of a verdict, for text formats.
pub fn verdict_text(result: &CheckResult) -> String {
    match &result.verdict {
        Verdict::Pass => format!("{}: pass", result.check),
        Verdict::Warn { message } => format!("{}: warning: {message}", result.check),
        Verdict::Fail(finding) => format!("{}: {}", result.check, finding.message),
    }
}

#[cfg(test)]
mod evidence_tests {
    use super::*;

    fn case_with_body(status: CaseStatus, body: &str) -> CaseReport {
        let mut case = CaseReport::stopped(String::new());
        case.status = status;
        case.exchanges.push(LabelledExchange {
            step: 0,
            label: "request".into(),
            exchange: crate::checks::testing::answer(500, &[], body),
        });
        case
    }

    fn kept(case: &CaseReport) -> (usize, Option<crate::client::Truncation>) {
        let received = case.exchanges[0].exchange.ok();
        (
            received.map_or(0, |r| r.body.len()),
            received.and_then(|r| r.truncated.clone()),
        )
    }

    #[test]
    fn failing_cases_keep_up_to_the_limit_passing_ones_a_summary() {
        let big = "x".repeat(10_000);
        let table = [
            (CaseStatus::Failed, 100, "short", 5, false),
            (CaseStatus::Failed, 100, big.as_str(), 100, true),
            (CaseStatus::Errored, 20_000, big.as_str(), 10_000, false),
            (
                CaseStatus::Passed,
                20_000,
                big.as_str(),
                PASSING_EVIDENCE_BYTES,
                true,
            ),
            (CaseStatus::Passed, 10, big.as_str(), 10, true),
            (CaseStatus::Failed, 0, big.as_str(), 0, true),
        ];
        for (status, limit, body, expected, cut) in table {
            let (length, truncated) = kept(&case_with_body(status, body).bounded(limit));
            assert_eq!(length, expected, "{status:?} {limit}");
            assert_eq!(truncated.is_some(), cut, "{status:?} {limit}");
            if let Some(truncated) = truncated {
                assert_eq!((truncated.length, truncated.kept), (body.len(), expected));
                let digest = ring::digest::digest(&ring::digest::SHA256, body.as_bytes());
                let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(truncated.sha256, format!("sha256:{hex}"));
            }
        }
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        // "é" is two bytes: a limit of 3 falls inside the second one.
        let case = case_with_body(CaseStatus::Failed, "éé").bounded(3);
        let (length, truncated) = kept(&case);
        assert_eq!(length, 2);
        assert_eq!(truncated.map(|t| t.kept), Some(2));
    }
}
