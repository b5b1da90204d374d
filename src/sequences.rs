//! The life-cycle families of CONTRACT.md section 5: one case per cell of the transition table,
//! multi-step sequences on one staged request, and the race of conflicting PUTs.
//!
//! This module owns how those cases are planned, never which transitions exist: every
//! expectation is derived from [`transition`], the one table the reference server enforces too,
//! so the table cannot drift from the cases that test it.

use crate::client::OutgoingRequest;
use crate::contract::fixture::{Expectation, Outcome};
use crate::contract::lifecycle::{RequestState, TargetStatus, is_repeat, transition};
use crate::contract::{REQUEST_SCHEMA, REQUESTS_PATH};
use crate::plan::{Case, CaseIdentity, Family, OpenRule, RacePlan, Step, StepKind};

/// The CONTRACT.md section every case of this module comes from.
const SECTION: &str = "5";

/// The well-formed PUT of section 1 asking for `target`, on the staged request.
pub fn put_request(target: TargetStatus) -> OutgoingRequest {
    OutgoingRequest {
        method: "PUT".into(),
        path: format!("{REQUESTS_PATH}/{{id}}"),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(put_body(target).into()),
        credentials: true,
    }
}

/// The compact body `{"status":"<wire>"}`.
pub fn put_body(target: TargetStatus) -> String {
    serde_json::json!({ "status": target.wire() }).to_string()
}

/// What a well-formed PUT of `target` on a request in `from` must give, per the section 5
/// table: a success showing the new state's code, or a refusal.
pub fn expectation_for(from: RequestState, target: TargetStatus) -> Expectation {
    match transition(from, target) {
        Some(to) => success(to),
        None => refusal(),
    }
}

/// The step of a well-formed PUT of `target` on a request in `from`. A repeat of the PUT that
/// already took effect is open (section 7): refused, or an idempotent success that leaves the
/// request as it is; everything else is the section 5 table.
pub fn step_for(from: RequestState, target: TargetStatus) -> Step {
    let (expect, kind) = if is_repeat(from, target) {
        let rule = OpenRule::Repeat;
        (success(from), StepKind::Open { rule })
    } else {
        (expectation_for(from, target), StepKind::Documented)
    };
    Step {
        request: put_request(target),
        expect,
        kind,
    }
}

/// A success ending in `to`: 200 with a Request (or 204), GET then shows `to.code()`.
pub fn success(to: RequestState) -> Expectation {
    Expectation {
        outcome: Outcome::Success,
        status: None,
        schema: Some(REQUEST_SCHEMA.into()),
        status_value: Some(to.code()),
        snapshot: None,
    }
}

/// An integer status accepted (section 7, weaker sense): a success whose Status is whatever
/// documented value the server took it for; the checks find which from the answer.
pub fn any_status() -> Expectation {
    Expectation {
        status_value: None,
        ..success(RequestState::Completed)
    }
}

/// A refusal: never 2xx, GET unchanged.
pub fn refusal() -> Expectation {
    Expectation {
        outcome: Outcome::Refusal,
        status: None,
        schema: None,
        status_value: None,
        snapshot: None,
    }
}

/// `Approved (3)`: a state as titles show it.
pub fn show_state(state: RequestState) -> String {
    let name = state.name();
    let mut chars = name.chars();
    let capitalized: String = chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default();
    format!("{capitalized} ({})", state.code())
}

/// The verb of a target in ids: `complete`, `cancel`, `abandon`.
fn verb(target: TargetStatus) -> &'static str {
    match target {
        TargetStatus::Completed => "complete",
        TargetStatus::Canceled => "cancel",
        TargetStatus::Abandoned => "abandon",
    }
}

/// Why section 5 refuses `target` on a request in `from` (only meaningful when it does).
pub fn refusal_reason(from: RequestState, target: TargetStatus) -> String {
    if from.is_final() {
        return format!("{} is final (section 5)", show_state(from));
    }
    let allowed: Vec<&str> = RequestState::ALL
        .into_iter()
        .filter(|state| transition(*state, target).is_some())
        .map(RequestState::name)
        .collect();
    format!(
        "section 5 allows {} only from {}",
        target.wire(),
        allowed.join(", ")
    )
}

/// One clause of a title: what one PUT on a request in `from` must do.
fn describe_put(from: RequestState, target: TargetStatus) -> String {
    let body = put_body(target);
    match transition(from, target) {
        Some(to) => format!(
            "PUT {body} succeeds (200 with a Request or 204) and GET shows Status {}",
            to.code()
        ),
        None if is_repeat(from, target) => format!(
            "PUT {body} repeats the PUT that already took effect: refused (never 2xx, GET \
             unchanged) or an idempotent success that changes nothing (section 7)"
        ),
        None => format!(
            "PUT {body} is refused (never 2xx, GET unchanged): {}",
            refusal_reason(from, target)
        ),
    }
}

/// Every cell of the section 5 table: 7 start states × 3 targets, one single-step case each.
pub fn lifecycle_table_cases() -> Vec<Case> {
    RequestState::ALL
        .into_iter()
        .flat_map(|from| TargetStatus::ALL.map(|target| table_case(from, target)))
        .collect()
}

fn table_case(from: RequestState, target: TargetStatus) -> Case {
    let verdict = if transition(from, target).is_some() {
        "allowed"
    } else if is_repeat(from, target) {
        "repeat"
    } else {
        "forbidden"
    };
    Case {
        identity: std::sync::Arc::new(CaseIdentity {
            id: format!(
                "lifecycle-{}-{}",
                from.name(),
                target.wire().to_ascii_lowercase()
            ),
            title: format!(
                "On a request in {}: {}",
                show_state(from),
                describe_put(from, target)
            ),
            section: SECTION.into(),
            tags: vec![
                "lifecycle".into(),
                from.name().into(),
                verb(target).into(),
                verdict.into(),
            ],
            family: Family::Sequence,
            given: Some(from),
        }),
        steps: walk(from, &[target]),
        race: None,
    }
}

/// The steps of PUTting `targets` in order on one request staged in `start`: each step expects
/// what the table says for the state the previous steps left (a refused step leaves it as is).
fn walk(start: RequestState, targets: &[TargetStatus]) -> Vec<Step> {
    let mut state = start;
    targets
        .iter()
        .map(|&target| {
            let step = step_for(state, target);
            state = transition(state, target).unwrap_or(state);
            step
        })
        .collect()
}

/// The title of a sequence: each PUT in order with the outcome the table gives it.
fn describe_walk(start: RequestState, targets: &[TargetStatus]) -> String {
    let mut state = start;
    let mut previous: Option<TargetStatus> = None;
    let clauses: Vec<String> = targets
        .iter()
        .map(|&target| {
            let repeat = if previous == Some(target) {
                "the same PUT again: "
            } else {
                ""
            };
            let clause = format!("{repeat}{}", describe_put(state, target));
            state = transition(state, target).unwrap_or(state);
            previous = Some(target);
            clause
        })
        .collect();
    format!(
        "On one request staged in {}, in order: {}",
        show_state(start),
        clauses.join("; then ")
    )
}

/// The multi-step sequences: each a start state and the PUTs sent to it in order.
const SEQUENCES: &[(RequestState, &[TargetStatus])] = {
    use RequestState::*;
    use TargetStatus::{Abandoned as Abandon, Canceled as Cancel, Completed as Complete};
    &[
        (Approved, &[Complete, Cancel]),
        (Approved, &[Abandon, Complete]),
        (Approved, &[Cancel, Abandon]),
        (Approved, &[Complete, Complete]),
        (Approved, &[Cancel, Cancel]),
        (Approved, &[Complete, Cancel, Abandon]),
        // A refused step must not poison the request: the later allowed PUT still succeeds.
        (Pending, &[Complete, Cancel]),
        (Executing, &[Abandon, Cancel]),
    ]
};

/// Multi-step sequences on one staged request, e.g. complete-then-cancel: the second PUT must
/// be refused because Completed is final. Repeating a PUT is open (section 7): refused, or an
/// idempotent success.
pub fn sequence_cases() -> Vec<Case> {
    SEQUENCES
        .iter()
        .map(|(start, targets)| sequence_case(*start, targets))
        .collect()
}

fn sequence_case(start: RequestState, targets: &[TargetStatus]) -> Case {
    let verbs: Vec<&str> = targets.iter().map(|target| verb(*target)).collect();
    let mut tags = vec![
        "lifecycle".to_string(),
        "sequence".into(),
        start.name().into(),
    ];
    if targets.windows(2).any(|pair| pair[0] == pair[1]) {
        tags.push("repeat".into());
    }
    Case {
        identity: std::sync::Arc::new(CaseIdentity {
            id: format!("sequence-{}-{}", start.name(), verbs.join("-then-")),
            title: describe_walk(start, targets),
            section: SECTION.into(),
            tags,
            family: Family::Sequence,
            given: Some(start),
        }),
        steps: walk(start, targets),
        race: None,
    }
}

/// The race: `concurrency` conflicting PUTs (Completed and Canceled alternating) released at
/// once on a fresh Approved request, `rounds` times. Fewer than two contenders is no race and
/// no round is no test, so both are raised to that minimum.
pub fn race_cases(concurrency: usize, rounds: usize) -> Vec<Case> {
    let plan = RacePlan {
        concurrency: concurrency.max(2),
        rounds: rounds.max(1),
    };
    vec![Case {
        identity: std::sync::Arc::new(CaseIdentity {
            id: "race-conflicting-puts".into(),
            title: format!(
                "{} conflicting PUTs ({} and {} alternating) released together on a fresh {} \
             request, {} round(s): exactly one succeeds, the others are refused, and GET shows \
             the winner's Status",
                plan.concurrency,
                put_body(TargetStatus::Completed),
                put_body(TargetStatus::Canceled),
                show_state(RequestState::Approved),
                plan.rounds
            ),
            section: SECTION.into(),
            tags: vec!["concurrency".into()],
            family: Family::Race,
            given: None,
        }),
        steps: Vec::new(),
        race: Some(plan),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn table_covers_every_cell_and_matches_transition() {
        let cases = lifecycle_table_cases();
        assert_eq!(cases.len(), 21);
        let ids: BTreeSet<&str> = cases.iter().map(|case| case.id.as_str()).collect();
        assert_eq!(ids.len(), 21, "ids are unique");
        for from in RequestState::ALL {
            for target in TargetStatus::ALL {
                let id = format!("lifecycle-{from}-{}", target.wire().to_ascii_lowercase());
                let case = cases.iter().find(|case| case.id == id);
                let Some(case) = case else {
                    panic!("{id} missing")
                };
                assert_eq!(case.given, Some(from));
                assert_eq!(case.family, Family::Sequence);
                assert_eq!(case.section, "5");
                let [step] = case.steps.as_slice() else {
                    panic!("{id}: one step expected")
                };
                match transition(from, target) {
                    Some(to) => {
                        assert_eq!(step.expect.outcome, Outcome::Success, "{id}");
                        assert_eq!(step.expect.status_value, Some(to.code()), "{id}");
                        assert_eq!(step.expect.schema.as_deref(), Some(REQUEST_SCHEMA));
                    }
                    None if is_repeat(from, target) => {
                        assert!(matches!(step.kind.open_rule(), Some(OpenRule::Repeat)));
                        assert_eq!(step.expect.status_value, Some(from.code()), "{id}");
                    }
                    None => {
                        assert_eq!(step.expect.outcome, Outcome::Refusal, "{id}");
                        assert_eq!(step.expect.status_value, None, "{id}");
                    }
                }
                let body = step.request.body.clone().unwrap_or_default();
                let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                assert_eq!(value["status"], target.wire(), "{id}");
            }
        }
    }

    #[test]
    fn documented_ids_exist() {
        let ids: Vec<String> = lifecycle_table_cases()
            .into_iter()
            .map(|c| c.id.clone())
            .collect();
        assert!(ids.contains(&"lifecycle-approved-abandoned".to_string()));
        assert!(ids.contains(&"lifecycle-failed-canceled".to_string()));
    }

    #[test]
    fn walk_follows_the_state_previous_steps_left() {
        use TargetStatus::*;
        let steps = walk(RequestState::Approved, &[Completed, Canceled, Abandoned]);
        let outcomes: Vec<Outcome> = steps.iter().map(|step| step.expect.outcome).collect();
        assert_eq!(
            outcomes,
            [Outcome::Success, Outcome::Refusal, Outcome::Refusal]
        );
        assert_eq!(steps[0].expect.status_value, Some(8));
        // A refused first step leaves Pending, so the following cancel is allowed.
        let steps = walk(RequestState::Pending, &[Completed, Canceled]);
        assert_eq!(steps[0].expect.outcome, Outcome::Refusal);
        assert_eq!(steps[1].expect.status_value, Some(17));
    }

    #[test]
    fn repeating_a_completion_may_be_refused_or_idempotent() {
        let cases = sequence_cases();
        let case = cases
            .iter()
            .find(|case| case.id == "sequence-approved-complete-then-complete");
        let Some(case) = case else {
            panic!("missing complete-then-complete")
        };
        assert_eq!(case.steps.len(), 2);
        assert_eq!(case.steps[0].expect.outcome, Outcome::Success);
        assert!(matches!(case.steps[0].kind, StepKind::Documented));
        // Accepted, the repeat must leave the request Completed (8): nothing may change.
        assert!(matches!(
            case.steps[1].kind.open_rule(),
            Some(OpenRule::Repeat)
        ));
        assert_eq!(case.steps[1].expect.status_value, Some(8));
        assert!(case.title.contains("the same PUT again"), "{}", case.title);
        assert!(case.title.contains("idempotent success"), "{}", case.title);
        assert!(case.tags.iter().any(|tag| tag == "repeat"));
    }

    #[test]
    fn every_sequence_is_derived_from_the_table() {
        let cases = sequence_cases();
        let ids: BTreeSet<&str> = cases.iter().map(|case| case.id.as_str()).collect();
        assert_eq!(ids.len(), cases.len(), "ids are unique");
        for expected in [
            "sequence-approved-complete-then-cancel",
            "sequence-approved-abandon-then-complete",
            "sequence-approved-cancel-then-abandon",
            "sequence-approved-cancel-then-cancel",
            "sequence-approved-complete-then-cancel-then-abandon",
        ] {
            assert!(ids.contains(expected), "{expected}");
        }
        for case in &cases {
            let Some(mut state) = case.given else {
                panic!("{} has no start state", case.id)
            };
            for step in &case.steps {
                let body = step.request.body.clone().unwrap_or_default();
                let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let target = value["status"].as_str().and_then(TargetStatus::from_wire);
                let Some(target) = target else {
                    panic!("{}: body is not a documented PUT", case.id)
                };
                let expected = if is_repeat(state, target) {
                    success(state)
                } else {
                    expectation_for(state, target)
                };
                assert_eq!(step.expect.outcome, expected.outcome, "{}", case.id);
                assert_eq!(
                    step.expect.status_value, expected.status_value,
                    "{}",
                    case.id
                );
                state = transition(state, target).unwrap_or(state);
            }
        }
    }

    #[test]
    fn race_is_one_case_with_a_real_contest() {
        let [case] = race_cases(8, 5)
            .try_into()
            .unwrap_or_else(|_| panic!("one case"));
        assert_eq!(case.id, "race-conflicting-puts");
        assert_eq!(case.family, Family::Race);
        assert!(case.given.is_none() && case.steps.is_empty());
        let plan = case.race.unwrap_or_else(|| panic!("race plan"));
        assert_eq!((plan.concurrency, plan.rounds), (8, 5));
        let plan = race_cases(1, 0)[0]
            .race
            .unwrap_or_else(|| panic!("race plan"));
        assert_eq!((plan.concurrency, plan.rounds), (2, 1));
    }
}
