//! `status_code_conformance`: the HTTP code classes of CONTRACT.md section 6. A success is 200
//! with a body or 204 without one; a refusal is never 2xx (403 and 500 are documented, other 4xx
//! warn).

use super::{CheckContext, Subject, Verdict, has_body, is_success, step};
use crate::client::ReceivedResponse;
use crate::contract::fixture::Outcome;

/// Success: a code the case allows (200/204), 200 with a body, 204 without. Refusal: never 2xx;
/// 403 and 500 are documented; other 4xx warn; 1xx, 3xx and 501+ fail.
pub fn status_code_conformance(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    if let Subject::Race(rounds) = subject {
        return Some(judge_race_codes(rounds));
    }
    let view = step(subject)?;
    let response = view.response()?;
    Some(match view.expect.outcome {
        Outcome::Success => judge_success(response, &view.expect.success_codes()),
        Outcome::Refusal => judge_refusal(response.status),
        Outcome::Unauthenticated => return None,
    })
}
fn judge_success(response: &ReceivedResponse, allowed: &[u16]) -> Verdict {
    let codes = allowed
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    let status = response.status;
    if !allowed.contains(&status) {
        return Verdict::fail(
            "the PUT did not succeed with a documented success code",
            codes,
            status.to_string(),
        );
    }
    match (status, has_body(response)) {
        (200, false) => Verdict::fail(
            "200 must carry the Request object",
            "200 with a body",
            "200 with an empty body",
        ),
        (204, true) => Verdict::fail(
            "204 No Content must not carry a body",
            "204 with an empty body",
            format!("204 with {} bytes", response.body.len()),
        ),
        _ => Verdict::Pass,
    }
}

/// Race answers: a winner is a success (200 with a body or 204 without), every other answer a
/// refusal of the section 6 classes. Which and how many won is `concurrent_single_winner`'s.
fn judge_race_codes(rounds: &[crate::exec::RaceRound]) -> Verdict {
    let (mut failures, mut warnings) = (Vec::new(), Vec::new());
    for (index, attempt) in rounds.iter().enumerate() {
        let round = crate::step_number::shown(index);
        for (target, exchange) in &attempt.attempts {
            let Some(response) = exchange.ok() else {
                continue;
            };
            let verdict = if is_success(response.status) {
                judge_success(response, &[200, 204])
            } else {
                judge_refusal(response.status)
            };
            let label = format!("round {round} PUT {}", target.wire());
            match verdict {
                Verdict::Pass => {}
                Verdict::Warn { message } => warnings.push(format!("{label}: {message}")),
                Verdict::Fail(finding) => {
                    failures.push(format!("{label}: {}: {}", finding.message, finding.actual))
                }
            }
        }
    }
    if !failures.is_empty() {
        return Verdict::from_problems(
            failures,
            "a concurrent PUT was answered with a code the contract does not allow",
            "200 with a body or 204 for a winner; 403, 500 or another 4xx for the others",
        );
    }
    match warnings.is_empty() {
        true => Verdict::Pass,
        false => Verdict::warn(warnings.join("; ")),
    }
}

/// The section 6 classes for an answer that must be a refusal.
pub fn judge_refusal(status: u16) -> Verdict {
    match status {
        403 | 500 => Verdict::Pass,
        400..=499 => Verdict::warn(format!(
            "{status} is correct HTTP but not documented (documented refusals: 403, 500)"
        )),
        _ if is_success(status) => Verdict::fail(
            "a request that must be refused was accepted",
            "a refusal (403, 500 or another 4xx)",
            status.to_string(),
        ),
        _ => Verdict::fail(
            "the refusal used a code the contract does not allow",
            "403, 500 or another 4xx",
            status.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::checks::testing::{answer, case, class, evidence, json_answer, verdict_of};
    use crate::contract::fixture::{Expectation, Outcome};
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;
    use crate::sequences::{refusal, success};
    use serde_json::json;

    #[test]
    fn successes_and_refusals_are_judged_by_code_class_and_body() {
        let request = json!({"Status": 8});
        let completes = success(RequestState::Completed);
        let unauthenticated = Expectation {
            outcome: Outcome::Unauthenticated,
            ..refusal()
        };
        let table = [
            (completes.clone(), json_answer(200, &request), "pass"),
            (completes.clone(), answer(200, &[], ""), "fail"),
            (completes.clone(), answer(204, &[], ""), "pass"),
            (completes.clone(), answer(204, &[], "{}"), "fail"),
            (completes.clone(), json_answer(201, &request), "fail"),
            (completes, json_answer(403, &json!({})), "fail"),
            (refusal(), answer(403, &[], ""), "pass"),
            (
                refusal(),
                json_answer(500, &json!({"Message": "x"})),
                "pass",
            ),
            (refusal(), answer(404, &[], ""), "warn"),
            (refusal(), answer(409, &[], ""), "warn"),
            (refusal(), json_answer(200, &request), "fail"),
            (refusal(), answer(204, &[], ""), "fail"),
            (refusal(), answer(302, &[], ""), "fail"),
            (refusal(), answer(501, &[], ""), "fail"),
            // Unauthenticated steps are auth_required's.
            (unauthenticated, answer(200, &[], ""), "none"),
        ];
        for (expect, exchange, expected) in table {
            let shown = exchange.response.as_ref().map(|r| r.status).ok();
            let outcome = expect.outcome;
            let case = case(RequestState::Approved, expect, StepKind::Documented);
            let step = evidence(Some(&json!({"Status": 3})), exchange, None);
            let verdict = verdict_of("status_code_conformance", case, step, Profile::Documented);
            assert_eq!(
                class(&verdict),
                expected,
                "{outcome:?} {shown:?}: {verdict:?}"
            );
        }
    }
}
