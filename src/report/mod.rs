//! Reports: the plain-data result of a run ([`RunReport`]) and one writer per output format
//! behind the [`ReportWriter`] trait. Writers only read the report; they never re-judge it.

mod html;
mod human;
mod json;
mod junit;
mod markdown;
mod tap;

pub use html::HtmlWriter;
pub use human::{
    HumanWriter, RunStart, case_line, exchanges_text, start_line, summary_line, write_human_tail,
};
pub use json::JsonWriter;
pub use junit::JunitWriter;
pub use markdown::MarkdownWriter;
pub use tap::TapWriter;

use crate::checks::{CheckResult, Verdict};
use crate::client::Exchange;
use crate::contract::lifecycle::RequestState;
use crate::exec::{ExecutedCase, Execution};
use crate::plan::Family;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Version of the JSON report layout (`schemas/report.schema.json`).
pub const REPORT_VERSION: u32 = 1;

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
    pub step: usize,
    pub label: String,
    #[serde(flatten)]
    pub exchange: Exchange,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseReport {
    pub id: String,
    pub title: String,
    pub section: String,
    pub tags: Vec<String>,
    pub family: Family,
    pub given: Option<RequestState>,
    pub status: CaseStatus,
    /// Why the case was skipped or errored.
    pub reason: Option<String>,
    pub duration_ms: f64,
    pub checks: Vec<CheckResult>,
    pub exchanges: Vec<LabelledExchange>,
}

impl CaseReport {
    pub fn from_executed(executed: ExecutedCase, checks: Vec<CheckResult>) -> CaseReport {
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
            id: case.id,
            title: case.title,
            section: case.section,
            tags: case.tags,
            family: case.family,
            given: case.given,
            status,
            reason,
            duration_ms: executed.duration_ms,
            checks,
            exchanges,
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
        let count = |status| cases.iter().filter(|c| c.status == status).count();
        Summary {
            total: cases.len(),
            passed: count(CaseStatus::Passed),
            failed: count(CaseStatus::Failed),
            skipped: count(CaseStatus::Skipped),
            errored: count(CaseStatus::Errored),
            warnings: cases.iter().map(CaseReport::warnings).sum(),
        }
    }
}

/// Everything a run produced; reads back from the JSON report (`cmconform merge`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub report_version: u32,
    pub tool_version: String,
    /// SHA-256 of the contract files the run was planned from (`contract::digest`).
    pub contract_digest: String,
    /// The base URL tested (credentials masked), and whether it was the embedded server.
    pub target: String,
    pub embedded: bool,
    pub started_at: String,
    pub duration_ms: f64,
    /// The generator seed, when generated cases are part of the run.
    pub seed: Option<u64>,
    /// The shard this report covers (`--partition k/n`); `None` for a whole run.
    pub shard: Option<Shard>,
    /// Things every reader must see (e.g. TLS verification disabled).
    pub notices: Vec<String>,
    pub summary: Summary,
    pub cases: Vec<CaseReport>,
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
    /// Every warning of the run, in case order.
    pub fn warnings(&self) -> impl Iterator<Item = Warning<'_>> {
        self.cases.iter().flat_map(|case| {
            case.checks
                .iter()
                .filter_map(move |result| match &result.verdict {
                    Verdict::Warn { message } => Some(Warning {
                        case,
                        check: result.check,
                        message,
                    }),
                    _ => None,
                })
        })
    }

    pub fn exit_code(&self) -> i32 {
        if self.summary.errored > 0 {
            exit::ERROR
        } else if self.summary.failed > 0 {
            exit::FAILED
        } else {
            exit::PASSED
        }
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
    let writers: [Box<dyn ReportWriter>; 6] = [
        Box::new(HumanWriter),
        Box::new(JsonWriter),
        Box::new(JunitWriter),
        Box::new(HtmlWriter),
        Box::new(MarkdownWriter),
        Box::new(TapWriter),
    ];
    writers.into_iter().find(|writer| writer.name() == name)
}

pub const FORMATS: [&str; 6] = ["human", "json", "junit", "html", "markdown", "tap"];

/// A one-line description of a verdict, for text formats.
pub fn verdict_text(result: &CheckResult) -> String {
    match &result.verdict {
        Verdict::Pass => format!("{}: pass", result.check),
        Verdict::Warn { message } => format!("{}: warning: {message}", result.check),
        Verdict::Fail(finding) => format!("{}: {}", result.check, finding.message),
    }
}
