//! `response_schema_conformance`: every 2xx body is a Request valid against the Request schema
//! (CONTRACT.md section 3), every 500 body an error object valid against the error schema; members
//! beyond the documented 21 follow the one policy of `extra_fields`.

use super::extra_fields::extra_fields_verdict;
use super::{CheckContext, Subject, Verdict, is_success};
use crate::contract::request_fields::extra_fields;
use crate::contract::{ERROR_SCHEMA, REQUEST_SCHEMA};
use serde_json::Value;

/// Why `body` is not JSON, in serde's words.
fn not_json(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Err(error) => error.to_string(),
        Ok(_) => "unreadable".to_string(),
    }
}

/// 2xx bodies are Requests, 500 bodies are error objects; each must be JSON valid against its schema.
pub fn response_schema_conformance(subject: &Subject, context: &CheckContext) -> Option<Verdict> {
    let step_schema = match subject {
        Subject::Step(view) => view.expect.schema.as_deref(),
        Subject::Race(_) => None,
    };
    let mut problems = Vec::new();
    let mut extras = Vec::new();
    let mut judged = false;
    for (label, response) in subject.answers_with_bodies() {
        if is_success(response.status)
            && let Some(body) = response.json()
        {
            extras.extend(
                extra_fields(body)
                    .into_iter()
                    .map(|field| format!("{label}: {field}")),
            );
        }
        let schema = match response.status {
            status if is_success(status) && label == "request" => {
                step_schema.unwrap_or(REQUEST_SCHEMA)
            }
            status if is_success(status) => REQUEST_SCHEMA,
            500 => ERROR_SCHEMA,
            _ => continue,
        };
        judged = true;
        // The answer's one parse (shared with every other check); parsed again only to say why
        // a body is not JSON.
        match response.json().ok_or_else(|| not_json(&response.body)) {
            Err(error) => problems.push(format!(
                "{label} ({}): body is not JSON: {error}",
                response.status
            )),
            Ok(body) => problems.extend(
                context
                    .schemas
                    .violations(schema, body)
                    .into_iter()
                    .take(5)
                    .map(|violation| format!("{label} ({}): {violation}", response.status)),
            ),
        }
    }
    if !judged {
        return None;
    }
    let verdict = Verdict::from_problems(
        problems,
        "a response body does not match its schema",
        "valid against schemas/",
    );
    if verdict.is_fail() {
        return Some(verdict);
    }
    extras.dedup();
    Some(extra_fields_verdict(&extras, context.profile).unwrap_or(verdict))
}
#[cfg(test)]
mod tests {
    use crate::checks::testing::{
        answer, case, class, completed_request, evidence, json_answer, verdict_of,
    };
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;
    use crate::sequences::{refusal, success};
    use serde_json::json;

    #[test]
    fn bodies_are_judged_against_their_schema_at_each_boundary() {
        let valid = completed_request();
        let mut extra = completed_request();
        extra["ETag"] = json!("W/\"1\"");
        let mut text_status = completed_request();
        text_status["Status"] = json!("8");
        let mut no_uuid = completed_request();
        no_uuid.as_object_mut().map(|object| object.remove("Uuid"));
        let error = json!({"Message": "An error has occurred.", "CorrelationId": "c-1"});
        let json_type = [("Content-Type", "application/json")];
        let table = [
            (json_answer(200, &valid), Profile::Documented, "pass"),
            (json_answer(200, &valid), Profile::Strict, "pass"),
            // Extra members: allowed with a warning, a failure under the strict profile.
            (json_answer(200, &extra), Profile::Documented, "warn"),
            (json_answer(200, &extra), Profile::Strict, "fail"),
            (json_answer(200, &text_status), Profile::Documented, "fail"),
            (json_answer(200, &no_uuid), Profile::Documented, "fail"),
            (
                answer(200, &json_type, "{\"Uuid\":"),
                Profile::Documented,
                "fail",
            ),
            (json_answer(500, &error), Profile::Documented, "pass"),
            (
                json_answer(500, &json!({"Detail": "x"})),
                Profile::Documented,
                "fail",
            ),
            (answer(500, &json_type, "oops"), Profile::Documented, "fail"),
            // Neither a success nor a 500, or no body: not this check's.
            (
                json_answer(403, &json!({"x": 1})),
                Profile::Documented,
                "none",
            ),
            (answer(204, &[], ""), Profile::Documented, "none"),
        ];
        for (exchange, profile, expected) in table {
            let shown = exchange.response.as_ref().map(|r| r.status).ok();
            let expect = match shown {
                Some(200 | 204) => success(RequestState::Completed),
                _ => refusal(),
            };
            let case = case(RequestState::Approved, expect, StepKind::Documented);
            let step = evidence(None, exchange, None);
            let verdict = verdict_of("response_schema_conformance", case, step, profile);
            assert_eq!(
                class(&verdict),
                expected,
                "{shown:?} {profile}: {verdict:?}"
            );
        }
    }
}
