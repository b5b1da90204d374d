//! `open_input_equivalence` (CONTRACT.md section 7): an open input (another spelling of a
//! canonical request) passes when the server refused it (never 2xx, state unchanged) or treated
//! it exactly as the canonical request sent to a second request staged in the same state: the
//! same answer code, the same answer body apart from values that vary per request (normalized
//! as snapshots are), the same resulting Status and Completed-ness, the same fields changed.
//! An integer status may instead act as any one of the three documented values, and a repeat of
//! a PUT that already took effect may instead succeed with nothing changed.
//!
//! This module also decides which path the server took (every report prints it) and what the
//! other checks expect of an open step on that path.

use super::by_value::{changed_fields, same_value};
use super::{CheckContext, StepView, Subject, Verdict, is_success, step};
use crate::contract::fixture::{Expectation, Outcome};
use crate::contract::lifecycle::{RequestState, TargetStatus, transition};
use crate::contract::profile::Profile;
use crate::contract::timestamp::Timestamp;
use crate::exec::{CanonicalRun, StepEvidence};
use crate::plan::{OpenRule, Step};
use crate::sequences::{refusal, success};
use crate::snapshot::render;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The path a server took with an open input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenPath {
    /// Never 2xx: judged as any refusal.
    Refused,
    /// Accepted and treated as the canonical request (an integer status: as one of the
    /// documented values).
    Equivalent,
    /// A repeat answered with success and nothing changed.
    Idempotent,
    /// Accepted, but not as the canonical request would be: a failure.
    Accepted,
}

impl OpenPath {
    pub fn name(self) -> &'static str {
        match self {
            OpenPath::Refused => "refused",
            OpenPath::Equivalent => "equivalent",
            OpenPath::Idempotent => "idempotent",
            OpenPath::Accepted => "accepted",
        }
    }
}

/// Which path the server took on one open step, as reports show it (and `merge` reads back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenOutcome {
    /// Index of the step; reports number it from 1.
    #[serde(with = "crate::step_number")]
    pub step: usize,
    pub path: OpenPath,
    /// For an integer status: the documented value the server took it for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acting_as: Option<String>,
}

impl OpenOutcome {
    /// `refused`, `equivalent`, `equivalent (acting as Completed)`.
    pub fn describe(&self) -> String {
        match &self.acting_as {
            Some(target) => format!("{} (acting as {target})", self.path.name()),
            None => self.path.name().to_string(),
        }
    }
}

/// What one request did, as the judge reads it.
#[derive(Debug, Clone, Default)]
pub struct Sighting {
    pub before: Option<Value>,
    pub status: u16,
    pub body: Vec<u8>,
    pub after: Option<Value>,
}

impl Sighting {
    /// `None` when the transport delivered no answer.
    pub fn of(evidence: &StepEvidence) -> Option<Sighting> {
        let json = |exchange: &Option<crate::client::Exchange>| {
            exchange
                .as_ref()?
                .ok()
                .filter(|r| r.status == 200)?
                .json()
                .cloned()
        };
        let answer = evidence.exchange.ok()?;
        Some(Sighting {
            before: json(&evidence.before),
            status: answer.status,
            body: answer.body.clone(),
            after: json(&evidence.after),
        })
    }

    fn answer_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn after_status(&self) -> Option<i64> {
        self.after.as_ref()?.get("Status")?.as_i64()
    }
}

/// What an open input is compared with.
#[derive(Debug, Clone)]
pub enum Against {
    /// The canonical request: the code the section 5 table gives it from this state (`None`:
    /// refused), and what it did on the second request (or why it was not sent).
    Canonical {
        table_code: Option<i64>,
        twin: Result<Sighting, String>,
    },
    /// An integer status on a request staged in `given`.
    AnyStatus { given: RequestState },
    /// A repeat of the PUT that already took effect.
    Repeat,
}

/// The path taken, the value an integer status acted as, and the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub path: OpenPath,
    pub acting_as: Option<TargetStatus>,
    pub verdict: Verdict,
}

impl Judgement {
    fn new(path: OpenPath, verdict: Verdict) -> Judgement {
        Judgement {
            path,
            acting_as: None,
            verdict,
        }
    }
}

/// The check.
pub fn open_input_equivalence(subject: &Subject, context: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    judge_view(view, context.profile).map(|judgement| judgement.verdict)
}

/// The path the server took on an open step, for the reports.
pub fn open_outcome(view: &StepView, profile: Profile) -> Option<OpenOutcome> {
    let judgement = judge_view(view, profile)?;
    Some(OpenOutcome {
        step: view.index,
        path: judgement.path,
        acting_as: judgement.acting_as.map(|target| target.wire().to_string()),
    })
}

fn judge_view(view: &StepView, profile: Profile) -> Option<Judgement> {
    let rule = view.step.kind.open_rule()?;
    let open = Sighting::of(view.evidence)?;
    let against = match rule {
        OpenRule::Spelling(_) => Against::Canonical {
            table_code: success_code(&view.step.expect),
            twin: twin_sighting(view.evidence),
        },
        OpenRule::AnyStatus => Against::AnyStatus {
            given: view.case.given?,
        },
        OpenRule::Repeat => Against::Repeat,
    };
    Some(judge(&against, &open, profile))
}

fn success_code(expect: &Expectation) -> Option<i64> {
    (expect.outcome == Outcome::Success)
        .then_some(expect.status_value)
        .flatten()
}

fn twin_sighting(evidence: &StepEvidence) -> Result<Sighting, String> {
    match evidence.canonical.as_ref() {
        Some(CanonicalRun::Ran { evidence, .. }) => Sighting::of(evidence)
            .ok_or_else(|| "the canonical request got no answer (transport error)".into()),
        Some(CanonicalRun::NotRun { reason }) => Err(reason.clone()),
        None => Err("the canonical request was not planned".into()),
    }
}

/// What the other checks expect of a step: an open step is judged by the path the server took
/// (refused: as any refusal; accepted: as the canonical request must succeed), and under the
/// strict profile every open input must be refused.
pub fn effective_expectation(
    step: &Step,
    evidence: &StepEvidence,
    given: Option<RequestState>,
    profile: Profile,
) -> Expectation {
    let Some(rule) = step.kind.open_rule() else {
        return step.expect.clone();
    };
    let accepted = evidence.exchange.ok().is_some_and(|r| is_success(r.status));
    if !accepted || profile.is_strict() {
        return refusal();
    }
    let acted = match (rule, given, Sighting::of(evidence)) {
        (OpenRule::AnyStatus, Some(given), Some(open)) => acting_target(given, &open),
        _ => None,
    };
    match acted {
        Some((_, to)) => success(to),
        None => step.expect.clone(),
    }
}

/// Judges one open input.
pub fn judge(against: &Against, open: &Sighting, profile: Profile) -> Judgement {
    if !is_success(open.status) {
        let changed = state_change(open);
        let verdict = Verdict::from_problems(
            changed,
            "a refused open input changed the request",
            "GET after equals GET before",
        );
        return Judgement::new(OpenPath::Refused, verdict);
    }
    if profile.is_strict() {
        let verdict = Verdict::fail(
            "the strict profile requires every open input to be refused (section 7)",
            "a refusal (never 2xx) and the request unchanged",
            open.status.to_string(),
        );
        return Judgement::new(OpenPath::Accepted, verdict);
    }
    match against {
        Against::Canonical { twin: Ok(twin), .. } => equivalence(open, twin),
        Against::Canonical {
            table_code,
            twin: Err(reason),
        } => against_table(open, *table_code, reason),
        Against::AnyStatus { given } => acting_as(open, *given),
        Against::Repeat => idempotent(open),
    }
}

fn state_change(sighting: &Sighting) -> Vec<String> {
    match (&sighting.before, &sighting.after) {
        (Some(before), Some(after)) => changed_fields(before, after)
            .into_iter()
            .map(|field| format!("{field} changed"))
            .collect(),
        _ => Vec::new(),
    }
}

fn accepted_differently(problems: Vec<String>, expected: &str) -> Judgement {
    if problems.is_empty() {
        return Judgement::new(OpenPath::Equivalent, Verdict::Pass);
    }
    Judgement::new(
        OpenPath::Accepted,
        Verdict::fail(
            "the open input was accepted with another effect than the canonical request",
            expected,
            problems.join("; "),
        ),
    )
}

/// Both accepted: the same code, body shape, resulting state and changed fields.
fn equivalence(open: &Sighting, twin: &Sighting) -> Judgement {
    if !is_success(twin.status) {
        return Judgement::new(
            OpenPath::Accepted,
            Verdict::fail(
                "the open input was accepted from a state where the canonical request is refused",
                format!("a refusal, as the canonical request got {}", twin.status),
                open.status.to_string(),
            ),
        );
    }
    let mut problems = Vec::new();
    if open.status != twin.status {
        problems.push(format!(
            "answered {} where the canonical request got {}",
            open.status, twin.status
        ));
    }
    if shown_body(&open.body) != shown_body(&twin.body) {
        problems.push(format!(
            "the answer differs from the canonical answer: {}",
            crate::snapshot::unified_diff(&shown_body(&twin.body), &shown_body(&open.body))
        ));
    }
    problems.extend(resulting_state_differences(open, twin));
    accepted_differently(
        problems,
        "the same answer and resulting state as the canonical request",
    )
}

/// A body as compared: normalized JSON, or what kind of body it is.
fn shown_body(body: &[u8]) -> String {
    if body.is_empty() {
        return "(no body)".into();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => render(&value),
        Err(_) => "(a body that is not JSON)".into(),
    }
}

fn resulting_state_differences(open: &Sighting, twin: &Sighting) -> Vec<String> {
    let (Some(after), Some(twin_after)) = (&open.after, &twin.after) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    let (status, twin_status) = (open.after_status(), twin.after_status());
    if status != twin_status {
        problems.push(format!(
            "GET after shows Status {} where the canonical request left {}",
            show(status),
            show(twin_status)
        ));
    }
    if is_completed(after) != is_completed(twin_after) {
        problems.push(format!(
            "GET after shows Completed {} where the canonical request left {}",
            completed_text(after),
            completed_text(twin_after)
        ));
    }
    let changed = |sighting: &Sighting| match (&sighting.before, &sighting.after) {
        (Some(before), Some(after)) => changed_fields(before, after),
        _ => Vec::new(),
    };
    let (fields, twin_fields) = (changed(open), changed(twin));
    if fields != twin_fields {
        problems.push(format!(
            "changed [{}] where the canonical request changed [{}]",
            fields.join(", "),
            twin_fields.join(", ")
        ));
    }
    problems
}

fn show(value: Option<i64>) -> String {
    value.map_or_else(|| "(none)".into(), |code| code.to_string())
}

/// Whether a Request's Completed is a real timestamp (not `0001-01-01T00:00:00`).
fn is_completed(request: &Value) -> bool {
    request
        .get("Completed")
        .and_then(Value::as_str)
        .and_then(Timestamp::parse)
        .is_some_and(|completed| completed.year() > 1)
}

fn completed_text(request: &Value) -> String {
    request
        .get("Completed")
        .map_or_else(|| "missing".into(), Value::to_string)
}

/// The canonical request could not be sent: the section 5 table alone says what it would do.
fn against_table(open: &Sighting, table_code: Option<i64>, reason: &str) -> Judgement {
    let Some(code) = table_code else {
        return Judgement::new(
            OpenPath::Accepted,
            Verdict::fail(
                "the open input was accepted from a state where the canonical request is refused \
                 (section 5)",
                "a refusal",
                open.status.to_string(),
            ),
        );
    };
    match open.after_status() {
        Some(status) if status != code => accepted_differently(
            vec![format!("GET after shows Status {status}")],
            &format!("Status {code}, as the canonical request gives"),
        ),
        _ => Judgement::new(
            OpenPath::Equivalent,
            Verdict::warn(format!(
                "compared with the section 5 table only: the canonical request was not sent \
                 ({reason})"
            )),
        ),
    }
}

/// The target whose transition from `given` gives the Status GET after shows.
fn acting_target(given: RequestState, open: &Sighting) -> Option<(TargetStatus, RequestState)> {
    let status = open.after_status()?;
    TargetStatus::ALL.into_iter().find_map(|target| {
        transition(given, target)
            .filter(|to| to.code() == status)
            .map(|to| (target, to))
    })
}

/// An integer status accepted: it must act as one of the three documented values.
fn acting_as(open: &Sighting, given: RequestState) -> Judgement {
    let Some((target, _)) = acting_target(given, open) else {
        let allowed: Vec<String> = TargetStatus::ALL
            .into_iter()
            .filter_map(|target| transition(given, target))
            .map(|to| to.code().to_string())
            .collect();
        return Judgement::new(
            OpenPath::Accepted,
            Verdict::fail(
                "the integer status was accepted but acts as none of Completed, Canceled or \
                 Abandoned",
                format!("GET after shows Status {}", allowed.join(" or ")),
                format!("Status {}", show(open.after_status())),
            ),
        );
    };
    let mut problems = Vec::new();
    if let (Some(before), Some(after)) = (&open.before, &open.after) {
        let completed = target == TargetStatus::Completed;
        let kept = before
            .get("Completed")
            .zip(after.get("Completed"))
            .is_some_and(|(old, new)| same_value(old, new));
        if completed != is_completed(after) || (!completed && !kept) {
            problems.push(format!(
                "Completed {} does not fit {}",
                completed_text(after),
                target.wire()
            ));
        }
    }
    let answered = open
        .answer_json()
        .and_then(|body| body.get("Status")?.as_i64());
    if answered.is_some_and(|status| Some(status) != open.after_status()) {
        problems.push(format!(
            "the answer says Status {} but GET after shows {}",
            show(answered),
            show(open.after_status())
        ));
    }
    let mut judgement = accepted_differently(problems, &format!("the effect of {}", target.wire()));
    judgement.acting_as = Some(target);
    judgement
}

/// A repeat accepted: neither the answer nor GET after may differ from GET before.
fn idempotent(open: &Sighting) -> Judgement {
    let Some(before) = &open.before else {
        return Judgement::new(OpenPath::Idempotent, Verdict::Pass);
    };
    let mut changes: Vec<String> = Vec::new();
    let observed = [
        ("PUT answer", open.answer_json()),
        ("GET after", open.after.clone()),
    ];
    for (label, value) in observed {
        if let Some(value) = value {
            changes.extend(
                changed_fields(before, &value)
                    .into_iter()
                    .map(|field| format!("{label}: {field} changed")),
            );
        }
    }
    if changes.is_empty() {
        return Judgement::new(OpenPath::Idempotent, Verdict::Pass);
    }
    Judgement::new(
        OpenPath::Accepted,
        Verdict::fail(
            "a repeat of a PUT that already took effect changed the request (section 7)",
            "refused, or success with nothing changed",
            changes.join("; "),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOT_COMPLETED: &str = "0001-01-01T00:00:00";

    /// A hand-written Request: id, Status and Completed vary, the rest is the documented example.
    fn request(id: &str, status: i64, completed: &str) -> Value {
        json!({"Uuid": id, "RequestType": 1, "Status": status, "Flags": 2, "DataCollection": [],
            "DataCollectionFlags": 32, "Submitted": "2015-07-07T23:36:21.93Z", "Completed": completed,
            "Comment": ""})
    }

    const A: &str = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";
    const B: &str = "17cf063d-e337-4aa9-a822-346554ddd3c9";

    fn sighting(id: &str, status: u16, body: Option<Value>, after: (i64, &str)) -> Sighting {
        Sighting {
            before: Some(request(id, 3, NOT_COMPLETED)),
            status,
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
            after: Some(request(id, after.0, after.1)),
        }
    }

    fn completed(id: &str, at: &str) -> Sighting {
        sighting(id, 200, Some(request(id, 8, at)), (8, at))
    }

    fn canonical(twin: Sighting) -> Against {
        Against::Canonical {
            table_code: Some(8),
            twin: Ok(twin),
        }
    }

    fn class(judgement: &Judgement) -> (&'static str, &'static str) {
        let verdict = match judgement.verdict {
            Verdict::Pass => "pass",
            Verdict::Warn { .. } => "warn",
            Verdict::Fail(_) => "fail",
        };
        (judgement.path.name(), verdict)
    }

    #[test]
    fn refusal_or_equivalence_of_a_spelling() {
        let refused = sighting(A, 400, Some(json!({"Message": "bad"})), (3, NOT_COMPLETED));
        let refused_changing = sighting(A, 400, None, (17, NOT_COMPLETED));
        let same = completed(A, "2026-11-29T10:00:01.5Z");
        let twin = completed(B, "2026-11-29T10:00:00.25Z");
        let canceled = sighting(
            A,
            200,
            Some(request(A, 17, NOT_COMPLETED)),
            (17, NOT_COMPLETED),
        );
        let nothing = sighting(
            A,
            200,
            Some(request(A, 3, NOT_COMPLETED)),
            (3, NOT_COMPLETED),
        );
        let no_content = sighting(A, 204, None, (8, "2026-11-29T10:00:01Z"));
        let twin_refused = sighting(
            B,
            500,
            Some(json!({"Message": "Correlation ID: x"})),
            (3, NOT_COMPLETED),
        );
        let mut extra = request(A, 8, "2026-11-29T10:00:01Z");
        extra["Debug"] = json!(true);
        let other_body = sighting(A, 200, Some(extra), (8, "2026-11-29T10:00:01Z"));
        let table = [
            (
                "refused, unchanged",
                &refused,
                canonical(twin.clone()),
                ("refused", "pass"),
            ),
            (
                "refused, changed",
                &refused_changing,
                canonical(twin.clone()),
                ("refused", "fail"),
            ),
            (
                "same effect",
                &same,
                canonical(twin.clone()),
                ("equivalent", "pass"),
            ),
            (
                "other effect",
                &canceled,
                canonical(twin.clone()),
                ("accepted", "fail"),
            ),
            (
                "2xx, nothing changed",
                &nothing,
                canonical(twin.clone()),
                ("accepted", "fail"),
            ),
            (
                "204 where 200",
                &no_content,
                canonical(twin.clone()),
                ("accepted", "fail"),
            ),
            (
                "other body",
                &other_body,
                canonical(twin.clone()),
                ("accepted", "fail"),
            ),
            (
                "canonical refused",
                &same,
                canonical(twin_refused.clone()),
                ("accepted", "fail"),
            ),
            (
                "refused like it",
                &refused,
                canonical(twin_refused),
                ("refused", "pass"),
            ),
        ];
        for (name, open, against, expected) in table {
            let judgement = judge(&against, open, Profile::Documented);
            assert_eq!(
                class(&judgement),
                expected,
                "{name}: {:?}",
                judgement.verdict
            );
        }
    }

    #[test]
    fn strict_requires_refusal() {
        let refused = sighting(A, 403, None, (3, NOT_COMPLETED));
        let same = completed(A, "2026-11-29T10:00:01Z");
        let twin = completed(B, "2026-11-29T10:00:00Z");
        let strict =
            |open: &Sighting| class(&judge(&canonical(twin.clone()), open, Profile::Strict));
        assert_eq!(strict(&refused), ("refused", "pass"));
        assert_eq!(strict(&same), ("accepted", "fail"));
    }

    #[test]
    fn without_the_canonical_request_the_table_decides() {
        let same = completed(A, "2026-11-29T10:00:01Z");
        let canceled = sighting(A, 200, None, (17, NOT_COMPLETED));
        let untried = |code| Against::Canonical {
            table_code: code,
            twin: Err("no second request".into()),
        };
        let table = [
            (&same, Some(8), ("equivalent", "warn")),
            (&canceled, Some(8), ("accepted", "fail")),
            (&same, None, ("accepted", "fail")),
        ];
        for (open, code, expected) in table {
            assert_eq!(
                class(&judge(&untried(code), open, Profile::Documented)),
                expected
            );
        }
    }

    #[test]
    fn an_integer_status_acts_as_a_documented_value() {
        let given = Against::AnyStatus {
            given: RequestState::Approved,
        };
        let as_completed = completed(A, "2026-11-29T10:00:01Z");
        let as_canceled = sighting(
            A,
            200,
            Some(request(A, 17, NOT_COMPLETED)),
            (17, NOT_COMPLETED),
        );
        let as_nothing = sighting(
            A,
            200,
            Some(request(A, 3, NOT_COMPLETED)),
            (3, NOT_COMPLETED),
        );
        let canceled_stamped = sighting(A, 204, None, (17, "2026-11-29T10:00:01Z"));
        let completed_unstamped = sighting(A, 204, None, (8, NOT_COMPLETED));
        let refused = sighting(A, 400, None, (3, NOT_COMPLETED));
        let table = [
            (
                &as_completed,
                ("equivalent", "pass"),
                Some(TargetStatus::Completed),
            ),
            (
                &as_canceled,
                ("equivalent", "pass"),
                Some(TargetStatus::Canceled),
            ),
            (&as_nothing, ("accepted", "fail"), None),
            (
                &canceled_stamped,
                ("accepted", "fail"),
                Some(TargetStatus::Canceled),
            ),
            (
                &completed_unstamped,
                ("accepted", "fail"),
                Some(TargetStatus::Completed),
            ),
            (&refused, ("refused", "pass"), None),
        ];
        for (open, expected, acting) in table {
            let judgement = judge(&given, open, Profile::Documented);
            assert_eq!(class(&judgement), expected, "{:?}", judgement.verdict);
            assert_eq!(judgement.acting_as, acting);
        }
    }

    #[test]
    fn a_repeat_is_refused_or_changes_nothing() {
        let at = "2015-07-07T23:37:37.767Z";
        let done = |status: u16, body: Option<Value>, after_at: &str| Sighting {
            before: Some(request(A, 8, at)),
            status,
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
            after: Some(request(A, 8, after_at)),
        };
        // The same instant written with seven digits is no change (issue 9, false failure 7).
        let idempotent = done(200, Some(request(A, 8, "2015-07-07T23:37:37.7670000Z")), at);
        let restamped = done(
            200,
            Some(request(A, 8, "2026-11-29T10:00:00Z")),
            "2026-11-29T10:00:00Z",
        );
        let answer_only = done(200, Some(request(A, 17, at)), at);
        let table = [
            (done(403, None, at), ("refused", "pass")),
            (done(204, None, at), ("idempotent", "pass")),
            (idempotent, ("idempotent", "pass")),
            (restamped, ("accepted", "fail")),
            (answer_only, ("accepted", "fail")),
        ];
        for (open, expected) in table {
            let judgement = judge(&Against::Repeat, &open, Profile::Documented);
            assert_eq!(class(&judgement), expected, "{:?}", judgement.verdict);
        }
    }
}
