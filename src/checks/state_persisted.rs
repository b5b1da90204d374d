//! `state_persisted`: after a successful PUT, GET shows the new Status (CONTRACT.md section 6).

use super::by_value::shown;
use super::{CheckContext, Subject, Verdict, step};
use crate::contract::fixture::Outcome;
use serde_json::Value;

/// After a success, GET shows the new Status as an integer.
pub fn state_persisted(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    if view.expect.outcome != Outcome::Success || view.request.method != "PUT" {
        return None;
    }
    let expected = view.expect.status_value?;
    let succeeded = view.response().is_some_and(|r| super::is_success(r.status));
    if !succeeded {
        return None;
    }
    let after = view.after()?;
    let status = after.json().and_then(|body| body.get("Status").cloned());
    Some(match status {
        Some(Value::Number(number)) if number.as_i64() == Some(expected) => Verdict::Pass,
        other => Verdict::fail(
            "GET after a successful PUT does not show the new state",
            format!("Status {expected}"),
            format!(
                "GET answered {} with Status {}",
                after.status,
                shown(other.as_ref())
            ),
        ),
    })
}
#[cfg(test)]
mod tests {
    use crate::checks::testing::{answer, case, class, evidence, json_answer, verdict_of};
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;
    use crate::sequences::{refusal, success};
    use serde_json::json;

    #[test]
    fn get_after_a_success_must_show_the_new_status_as_an_integer() {
        let before = json!({"Status": 3});
        let ok = || json_answer(200, &json!({"Status": 8}));
        let table = [
            (
                success(RequestState::Completed),
                ok(),
                Some(json!({"Status": 8})),
                "pass",
            ),
            (
                success(RequestState::Completed),
                answer(204, &[], ""),
                Some(json!({"Status": 8})),
                "pass",
            ),
            (
                success(RequestState::Completed),
                ok(),
                Some(json!({"Status": 3})),
                "fail",
            ),
            (
                success(RequestState::Completed),
                ok(),
                Some(json!({"Status": "8"})),
                "fail",
            ),
            (
                success(RequestState::Completed),
                ok(),
                Some(json!({})),
                "fail",
            ),
            // No GET after, a refused PUT, or a refusal expected: nothing to judge.
            (success(RequestState::Completed), ok(), None, "none"),
            (
                success(RequestState::Completed),
                answer(403, &[], ""),
                Some(json!({"Status": 3})),
                "none",
            ),
            (
                refusal(),
                answer(403, &[], ""),
                Some(json!({"Status": 3})),
                "none",
            ),
        ];
        for (expect, exchange, after, expected) in table {
            let case = case(RequestState::Approved, expect, StepKind::Documented);
            let step = evidence(Some(&before), exchange, after.as_ref());
            let verdict = verdict_of("state_persisted", case, step, Profile::Documented);
            assert_eq!(class(&verdict), expected, "{after:?}: {verdict:?}");
        }
    }
}
