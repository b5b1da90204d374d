//! `refusal_keeps_state`: after a refused PUT, GET shows the request exactly as before
//! (CONTRACT.md section 6); a refusal that deletes the request fails.

use super::by_value::{changed_fields, describe_change};
use super::{CheckContext, Subject, Verdict, step};
use crate::client::Exchange;
use crate::contract::fixture::Outcome;
use serde_json::Value;

/// After a refusal, GET shows exactly what it showed before.
pub fn refusal_keeps_state(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    if view.expect.outcome != Outcome::Refusal {
        return None;
    }
    let before = view.before()?.json()?;
    let after = match readable_after(view.evidence.after.as_ref()) {
        Ok(after) => after,
        Err(shown) => {
            return Some(Verdict::fail(
                "after the refusal GET does not show the request: it vanished or is unreadable",
                "GET after answers 200 with the Request as before",
                shown,
            ));
        }
    };
    Some(if changed_fields(before, after).is_empty() {
        Verdict::Pass
    } else {
        Verdict::fail(
            "a refused request changed the state",
            "GET after equals GET before",
            describe_change(before, after),
        )
    })
}

/// The Request that GET after a refused step shows, or what it showed instead: a refusal must
/// leave a readable request behind (a 404 or an empty answer means it was deleted).
pub fn readable_after(after: Option<&Exchange>) -> Result<&Value, String> {
    let Some(after) = after else {
        return Err("no GET after".into());
    };
    match &after.response {
        Err(error) => Err(format!("GET after failed: {error}")),
        Ok(response) if response.status != 200 => Err(format!(
            "GET after answered {}{}",
            response.status,
            if response.body.is_empty() {
                " with no body"
            } else {
                ""
            }
        )),
        Ok(response) => match response.json() {
            Some(value @ Value::Object(_)) => Ok(value),
            _ => Err("GET after answered 200 without a JSON Request".into()),
        },
    }
}
#[cfg(test)]
mod tests {
    use super::readable_after;
    use crate::checks::testing::{STAGED_ID as ID, answer, case, class, evidence, json_answer};
    use crate::checks::testing::{request_with as request, verdict_of};
    use crate::client::TransportError;
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;
    use crate::sequences::refusal;
    use serde_json::json;

    #[test]
    fn the_get_after_must_be_a_readable_request() {
        let get = |status: u16, body: &str| answer(status, &[], body);
        assert!(readable_after(Some(&get(200, r#"{"Status":3}"#))).is_ok());
        let table = [
            (get(404, ""), "GET after answered 404 with no body"),
            (get(500, "{}"), "GET after answered 500"),
            (get(200, "[]"), "without a JSON Request"),
            (get(200, "<html>"), "without a JSON Request"),
        ];
        for (exchange, expected) in table {
            let shown = readable_after(Some(&exchange)).err().unwrap_or_default();
            assert!(shown.contains(expected), "{shown} vs {expected}");
        }
        let mut failed = get(200, "{}");
        failed.response = Err(TransportError::Protocol("x".into()));
        let shown = readable_after(Some(&failed)).err().unwrap_or_default();
        assert!(shown.contains("GET after failed"), "{shown}");
        assert!(readable_after(None).is_err());
    }

    #[test]
    fn a_refusal_that_deletes_the_request_fails() {
        let before = request(ID, "2015-07-07T23:36:21.93Z", 3);
        for gone in [answer(404, &[], ""), answer(200, &[], "")] {
            let case = case(RequestState::Approved, refusal(), StepKind::Reading);
            let mut step = evidence(Some(&before), json_answer(403, &json!({})), None);
            step.after = Some(gone);
            let verdict = verdict_of("refusal_keeps_state", case, step, Profile::Documented);
            assert_eq!(class(&verdict), "fail", "{verdict:?}");
        }
    }

    #[test]
    fn a_refusal_keeps_the_state_by_value() {
        let before = request(ID, "2015-07-07T23:36:21.93Z", 3);
        let table = [
            (request(ID, "2015-07-07T23:36:21.930Z", 3), "pass"),
            (request(ID, "2015-07-07T23:36:21.93Z", 17), "fail"),
        ];
        for (after, expected) in table {
            let case = case(RequestState::Approved, refusal(), StepKind::Reading);
            let step = evidence(Some(&before), json_answer(403, &json!({})), Some(&after));
            let verdict = verdict_of("refusal_keeps_state", case, step, Profile::Documented);
            assert_eq!(class(&verdict), expected, "{after}");
        }
    }
}
