//! `status_value`: after a successful PUT the Request's Status is the integer the transition
//! gives (CONTRACT.md section 5).

use super::{CheckContext, Subject, Verdict, step};
use crate::contract::fixture::Outcome;

/// After a successful PUT, Status is the expected integer: in the answer's Request, or, when the
/// success carried no body (204, CONTRACT.md section 7), in the GET after it, the only place
/// the new Status is then shown.
pub fn status_value(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    let expected = view.expect.status_value?;
    if view.expect.outcome != Outcome::Success {
        return None;
    }
    let answer = view.response().filter(|r| super::is_success(r.status))?;
    let (shown, from_get) = if answer.status == 204 || answer.body.is_empty() {
        (view.after()?, true)
    } else {
        (answer, false)
    };
    // Says where the Status was read when it was not the answer itself.
    let said = |message: &str| match from_get {
        true => format!("{message} (read from the GET after the bodiless success)"),
        false => message.to_string(),
    };
    let Some(body) = shown.json() else {
        return Some(Verdict::fail(
            said("the answer is not JSON, so it has no Status"),
            expected.to_string(),
            "no JSON body",
        ));
    };
    Some(match body.get("Status") {
        Some(value) if value.as_i64() == Some(expected) && value.is_i64() => Verdict::Pass,
        Some(value) if value.is_string() => Verdict::fail(
            said("Status must be an integer, not a string (CONTRACT.md section 6)"),
            expected.to_string(),
            value.to_string(),
        ),
        Some(value) => Verdict::fail(
            said("Status is not the code the transition gives"),
            expected.to_string(),
            value.to_string(),
        ),
        None => Verdict::fail(
            said("the Request has no Status"),
            expected.to_string(),
            "missing",
        ),
    })
}
#[cfg(test)]
mod tests {
    use crate::checks::testing::{answer, case, class, evidence, json_answer, verdict_of};
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;

    #[test]
    fn status_value_reads_the_answer_or_after_a_bodiless_success_the_get() {
        let approved = serde_json::json!({"Status": 3});
        let completed = serde_json::json!({"Status": 8});
        let wrong = serde_json::json!({"Status": 7});
        let text = serde_json::json!({"Status": "8"});
        let completes = crate::sequences::success(RequestState::Completed);
        let no_content = || answer(204, &[], "");
        let table = [
            (json_answer(200, &completed), &completed, "pass"),
            (json_answer(200, &wrong), &completed, "fail"),
            (json_answer(200, &text), &completed, "fail"),
            (
                answer(200, &[("Content-Type", "text/html")], "<p>ok</p>"),
                &completed,
                "fail",
            ),
            (no_content(), &completed, "pass"),
            (no_content(), &wrong, "fail"),
            (no_content(), &text, "fail"),
            // A refusal where a success was due is judged by other checks.
            (json_answer(403, &approved), &approved, "none"),
        ];
        for (exchange, after, expected) in table {
            let shown = exchange.response.as_ref().map(|r| r.status).ok();
            let case = case(RequestState::Approved, completes.clone(), StepKind::Reading);
            let verdict = verdict_of(
                "status_value",
                case,
                evidence(Some(&approved), exchange, Some(after)),
                Profile::Documented,
            );
            assert_eq!(
                class(&verdict),
                expected,
                "{shown:?} then {after}: {verdict:?}"
            );
        }
    }
}
