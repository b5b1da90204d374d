//! The check registry: every named check the harness runs, each a documented unit with one
//! function, listed once in [`REGISTRY`]. A check looks at the evidence of one step (or one race)
//! and returns nothing when it does not apply, or a pass, a warning, or a failure. Each check
//! lives in the file named after it, with the unit tests of its boundaries; `by_value` and
//! `extra_fields` are rules several checks share, `testing` the hand-written evidence of the tests.

mod auth_required;
pub mod by_value;
mod completed_timestamp;
mod concurrent_single_winner;
mod content_length_conformance;
mod content_type_conformance;
mod extra_fields;
mod immutable_fields;
mod no_stack_trace;
pub mod open_input_equivalence;
mod refusal_keeps_state;
mod response_schema_conformance;
mod snapshot;
mod state_persisted;
mod status_code_conformance;
mod status_value;
#[cfg(test)]
pub(crate) mod testing;
mod transport_error;
mod unique_member_names;
mod uuid_matches_path;

use crate::client::{Exchange, OutgoingRequest, ReceivedResponse};
use crate::contract::fixture::Expectation;
use crate::contract::profile::Profile;
use crate::contract::schema::SchemaSet;
use crate::exec::{ExecutedCase, Execution, RaceRound, StepEvidence};
use crate::plan::{Case, Step};
use crate::snapshot::SnapshotStore;
pub use open_input_equivalence::{OpenOutcome, OpenPath};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// What a check concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    /// Correct HTTP the contract does not document (CONTRACT.md section 6), or a "should".
    Warn {
        message: String,
    },
    Fail(Finding),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub message: String,
    pub expected: String,
    pub actual: String,
}

impl Verdict {
    pub fn fail(
        message: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Verdict {
        Verdict::Fail(Finding {
            message: message.into(),
            expected: expected.into(),
            actual: actual.into(),
        })
    }

    pub fn warn(message: impl Into<String>) -> Verdict {
        Verdict::Warn {
            message: message.into(),
        }
    }

    /// Pass when `problems` is empty, else one failure that lists them all.
    pub fn from_problems(problems: Vec<String>, message: &str, expected: &str) -> Verdict {
        if problems.is_empty() {
            Verdict::Pass
        } else {
            Verdict::fail(message, expected, problems.join("; "))
        }
    }

    pub fn is_fail(&self) -> bool {
        matches!(self, Verdict::Fail(_))
    }
}

/// One check's verdict on one step of a case.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// A name of [`REGISTRY`]; a report naming another check does not read back.
    pub check: &'static str,
    /// Index of the step (0 for single-request cases; the round for races); reports number it
    /// from 1.
    #[serde(with = "crate::step_number")]
    pub step: usize,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// What checks may consult besides the evidence.
pub struct CheckContext<'a> {
    pub schemas: &'a SchemaSet,
    pub snapshots: &'a SnapshotStore,
    /// How strictly the open questions of CONTRACT.md sections 6 and 7 are read.
    pub profile: Profile,
}

/// The evidence of one step, with the plan it was executed from.
pub struct StepView<'a> {
    pub case: &'a Case,
    pub index: usize,
    /// The step as planned (its kind, and for an open input what an accepting server must do).
    pub step: &'a Step,
    pub request: &'a OutgoingRequest,
    /// What the checks expect: the plan's expectation, or for an open input the one of the
    /// path the server took (see [`open_input_equivalence::effective_expectation`]).
    pub expect: Expectation,
    pub staged_id: Option<&'a str>,
    pub evidence: &'a StepEvidence,
}

impl StepView<'_> {
    /// The main response, when the transport delivered one.
    pub fn response(&self) -> Option<&ReceivedResponse> {
        self.evidence.exchange.ok()
    }

    pub fn before(&self) -> Option<&ReceivedResponse> {
        self.evidence.before.as_ref().and_then(Exchange::ok)
    }

    pub fn after(&self) -> Option<&ReceivedResponse> {
        self.evidence.after.as_ref().and_then(Exchange::ok)
    }

    /// All exchanges of the step, labelled.
    pub fn exchanges(&self) -> Vec<(&'static str, &Exchange)> {
        let mut all = Vec::with_capacity(3);
        if let Some(before) = &self.evidence.before {
            all.push(("GET before", before));
        }
        all.push(("request", &self.evidence.exchange));
        if let Some(after) = &self.evidence.after {
            all.push(("GET after", after));
        }
        all
    }
}

/// How an exchange is named in findings: `request`, `GET after`, `round 2 PUT Completed`.
pub type Label = Cow<'static, str>;

/// What a check is asked to judge.
pub enum Subject<'a> {
    Step(StepView<'a>),
    Race(&'a [RaceRound]),
}

impl Subject<'_> {
    /// Every exchange of the subject, labelled: the step's GET before, request and GET after,
    /// or each race round's GET before, PUTs and GET after. Every per-response check reads the
    /// answers through this one list, so no answer escapes them (race answers included).
    /// Step labels are borrowed: every per-response check asks for this list of every step.
    pub fn exchanges(&self) -> Vec<(Label, &Exchange)> {
        match self {
            Subject::Step(view) => view
                .exchanges()
                .into_iter()
                .map(|(label, exchange)| (Cow::Borrowed(label), exchange))
                .collect(),
            Subject::Race(rounds) => rounds
                .iter()
                .enumerate()
                .flat_map(|(index, r)| {
                    // Rounds are shown as the steps their evidence is reported under: from 1.
                    let round = crate::step_number::shown(index);
                    let label = |text: String| Cow::Owned(text);
                    let mut all = vec![(label(format!("round {round} GET before")), &r.before)];
                    all.extend(r.attempts.iter().map(move |(target, exchange)| {
                        let put = format!("round {round} PUT {}", target.wire());
                        (label(put), exchange)
                    }));
                    all.push((label(format!("round {round} GET after")), &r.after));
                    all
                })
                .collect(),
        }
    }

    /// The answers of the subject that carry a body, labelled.
    pub fn answers_with_bodies(&self) -> Vec<(Label, &ReceivedResponse)> {
        self.exchanges()
            .into_iter()
            .filter_map(|(label, exchange)| {
                exchange.ok().filter(|r| has_body(r)).map(|r| (label, r))
            })
            .collect()
    }
}

/// A named, documented check.
pub struct Check {
    pub name: &'static str,
    /// CONTRACT.md section of the rule.
    pub section: &'static str,
    /// What the check asserts, shown by `cmconform checks`.
    pub summary: &'static str,
    run: fn(&Subject, &CheckContext) -> Option<Verdict>,
}

/// Every check, in reporting order.
pub static REGISTRY: &[Check] = &[
    Check {
        name: "transport_error",
        section: "2",
        summary: "Every exchange completes as well-formed HTTP within the timeout, with a body as long as its Content-Length and under the size cap.",
        run: transport_error::transport_error,
    },
    Check {
        name: "status_code_conformance",
        section: "6",
        summary: "Success is 200 with a body or 204 without one; a refusal is never 2xx (403/500 pass, other 4xx warn, anything else fails).",
        run: status_code_conformance::status_code_conformance,
    },
    Check {
        name: "content_type_conformance",
        section: "2",
        summary: "Every response with a body is application/json (a charset parameter is fine).",
        run: content_type_conformance::content_type_conformance,
    },
    Check {
        name: "content_length_conformance",
        section: "2",
        summary: "Every response with a body carries a Content-Length (not chunked framing).",
        run: content_length_conformance::content_length_conformance,
    },
    Check {
        name: "response_schema_conformance",
        section: "3",
        summary: "Every 2xx body (PUT and GET) is a Request valid against request.schema.json; 500 bodies are valid against error.schema.json.",
        run: response_schema_conformance::response_schema_conformance,
    },
    Check {
        name: "unique_member_names",
        section: "3",
        summary: "No object in any answer (PUT, GET, race) has two members of the same name once escapes are decoded (RFC 8259 section 4; serde and Json.NET keep the last); names that differ only in letter case warn.",
        run: unique_member_names::unique_member_names,
    },
    Check {
        name: "uuid_matches_path",
        section: "3",
        summary: "The Uuid of every returned Request equals the {id} of the URL.",
        run: uuid_matches_path::uuid_matches_path,
    },
    Check {
        name: "status_value",
        section: "5",
        summary: "After a successful PUT the Request's Status is the integer the transition gives (Completed 8, Canceled 17, Abandoned 9).",
        run: status_value::status_value,
    },
    Check {
        name: "completed_timestamp",
        section: "5",
        summary: "After completion, Completed is an ISO 8601 timestamp, not 0001-01-01T00:00:00, between Submitted and the answer's Date (or now) + 5 minutes, and the PUT answer's Completed equals GET's.",
        run: completed_timestamp::completed_timestamp,
    },
    Check {
        name: "immutable_fields",
        section: "5",
        summary: "A PUT never changes Uuid, RequestType, Submitted, the user, profile template, profile and smart card identities (GET before vs PUT answer and GET after).",
        run: immutable_fields::immutable_fields,
    },
    Check {
        name: "state_persisted",
        section: "6",
        summary: "After a successful PUT, GET shows the new Status.",
        run: state_persisted::state_persisted,
    },
    Check {
        name: "refusal_keeps_state",
        section: "6",
        summary: "After a refused PUT, GET shows the request exactly as before (200 with the Request: a refusal that deletes the request fails).",
        run: refusal_keeps_state::refusal_keeps_state,
    },
    Check {
        name: "open_input_equivalence",
        section: "7",
        summary: "An open input (another spelling of a canonical request) is refused with the state unchanged, or treated exactly as the canonical request sent from the same state: same code, same body apart from per-request values, same resulting Status and Completed. Strict profile: must be refused.",
        run: open_input_equivalence::open_input_equivalence,
    },
    Check {
        name: "auth_required",
        section: "6",
        summary: "Without credentials a PUT is refused with 401 and a WWW-Authenticate challenge, or 403, and changes nothing (GET after still shows the Request as before).",
        run: auth_required::auth_required,
    },
    Check {
        name: "no_stack_trace",
        section: "2",
        summary: "No response body carries a stack trace or exception dump (.NET traces, ASP.NET error pages); a 500 body should carry a correlation ID that is not an id of the request (warning otherwise, and for an empty 500).",
        run: no_stack_trace::no_stack_trace,
    },
    Check {
        name: "snapshot",
        section: "3",
        summary: "The normalized Request (field names, value types, Status) matches the stored snapshot in snapshots/.",
        run: snapshot::snapshot,
    },
    Check {
        name: "concurrent_single_winner",
        section: "5",
        summary: "Of K conflicting PUTs sent at once, exactly one succeeds, the others are refused, and GET shows the winner's state.",
        run: concurrent_single_winner::concurrent_single_winner,
    },
];

pub fn find(name: &str) -> Option<&'static Check> {
    REGISTRY.iter().find(|check| check.name == name)
}

/// What the checks concluded about one executed case.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub results: Vec<CheckResult>,
    /// The path the server took on each open step (CONTRACT.md section 7).
    pub open: Vec<OpenOutcome>,
}

/// A check result as a JSON report holds it (`cmconform merge` reads reports back).
#[derive(Deserialize)]
struct StoredCheckResult {
    check: String,
    #[serde(with = "crate::step_number")]
    step: usize,
    #[serde(flatten)]
    verdict: Verdict,
}

impl<'de> Deserialize<'de> for CheckResult {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<CheckResult, D::Error> {
        let stored = StoredCheckResult::deserialize(deserializer)?;
        let check = find(&stored.check).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown check '{}' (a report of another cmconform version?)",
                stored.check
            ))
        })?;
        Ok(CheckResult {
            check: check.name,
            step: stored.step,
            verdict: stored.verdict,
        })
    }
}

/// Runs every check on an executed case.
pub fn evaluate(executed: &ExecutedCase, context: &CheckContext) -> Evaluation {
    let Execution::Ran {
        staged_id,
        steps,
        rounds,
    } = &executed.execution
    else {
        return Evaluation::default();
    };
    let mut evaluation = Evaluation::default();
    if !rounds.is_empty() {
        run_all(&Subject::Race(rounds), 0, context, &mut evaluation.results);
    }
    let case = &executed.case;
    for (index, (evidence, step)) in steps.iter().zip(&case.steps).enumerate() {
        let expect = open_input_equivalence::effective_expectation(
            step,
            evidence,
            case.given,
            context.profile,
        );
        let view = StepView {
            case,
            index,
            step,
            request: &step.request,
            expect,
            staged_id: staged_id.as_deref(),
            evidence,
        };
        evaluation
            .open
            .extend(open_input_equivalence::open_outcome(&view, context.profile));
        run_all(
            &Subject::Step(view),
            index,
            context,
            &mut evaluation.results,
        );
    }
    evaluation
}

fn run_all(subject: &Subject, step: usize, context: &CheckContext, results: &mut Vec<CheckResult>) {
    for check in REGISTRY {
        if let Some(verdict) = (check.run)(subject, context) {
            results.push(CheckResult {
                check: check.name,
                step,
                verdict,
            });
        }
    }
}

/// The step view of a subject, for checks that only judge steps.
fn step<'a, 'b>(subject: &'b Subject<'a>) -> Option<&'b StepView<'a>> {
    match subject {
        Subject::Step(view) => Some(view),
        Subject::Race(_) => None,
    }
}

/// Whether a response carries a body (the contract's "whenever they have a body").
fn has_body(response: &ReceivedResponse) -> bool {
    !response.body.is_empty()
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}
