//! Checks on response bodies: the Request schema of section 3, the Uuid of the URL, the Completed
//! timestamp of section 5, and the no-stack-trace rule of section 2.

use super::extra_fields::extra_fields_verdict;
use super::{CheckContext, Subject, Verdict, is_success, step};
use crate::client::{Exchange, ReceivedResponse};
use crate::contract::fixture::Outcome;
use crate::contract::request_fields::extra_fields;
use crate::contract::timestamp::Timestamp;
use crate::contract::{ERROR_SCHEMA, REQUEST_SCHEMA};
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

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
        match serde_json::from_slice::<Value>(&response.body) {
            Err(error) => problems.push(format!(
                "{label} ({}): body is not JSON: {error}",
                response.status
            )),
            Ok(body) => problems.extend(
                context
                    .schemas
                    .violations(schema, &body)
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

/// Every returned Request names the request of the URL.
pub fn uuid_matches_path(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    let mut mismatches = Vec::new();
    let mut judged = false;
    for (label, exchange) in view.exchanges() {
        let Some(uuid) = returned_uuid(exchange) else {
            continue;
        };
        judged = true;
        let path_id = path_id(&exchange.request.url);
        if !same_guid(&uuid, &path_id) {
            mismatches.push(format!("{label}: Uuid {uuid} for path id {path_id}"));
        }
    }
    if !judged {
        return None;
    }
    Some(Verdict::from_problems(
        mismatches,
        "the Request returned is not the one addressed",
        "Uuid equal to the {id} of the URL",
    ))
}

fn returned_uuid(exchange: &Exchange) -> Option<String> {
    let response = exchange.ok().filter(|r| is_success(r.status))?;
    response.json()?.get("Uuid")?.as_str().map(str::to_string)
}

/// The last path segment, percent-decoded (`%61` and `a` name the same resource, RFC 3986 2.3).
fn path_id(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let segment = path.rsplit('/').next().unwrap_or(path);
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map_or_else(|_| segment.to_string(), |decoded| decoded.into_owned())
}

/// GUIDs compare by value: .NET accepts and may echo either case, braces, or no dashes.
fn same_guid(a: &str, b: &str) -> bool {
    super::by_value::guid_eq(a, b).unwrap_or_else(|| a.eq_ignore_ascii_case(b))
}

/// After completion: Completed is a real ISO 8601 timestamp, not year 1, not before Submitted.
pub fn completed_timestamp(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    if view.expect.outcome != Outcome::Success || view.expect.status_value != Some(8) {
        return None;
    }
    let mut sources: Vec<(&str, &ReceivedResponse)> = Vec::new();
    if let Some(response) = view.response().filter(|r| r.status == 200) {
        sources.push(("PUT answer", response));
    }
    if let Some(after) = view.after().filter(|r| r.status == 200) {
        sources.push(("GET after", after));
    }
    if sources.is_empty() {
        return None;
    }
    let problems: Vec<String> = sources
        .into_iter()
        .filter_map(|(label, response)| {
            completion_problem(response).map(|problem| format!("{label}: {problem}"))
        })
        .collect();
    Some(Verdict::from_problems(
        problems,
        "Completed is not a real completion time",
        "an ISO 8601 timestamp, not 0001-01-01T00:00:00, not earlier than Submitted",
    ))
}

fn completion_problem(response: &ReceivedResponse) -> Option<String> {
    let Some(body) = response.json() else {
        return Some("body is not JSON".into());
    };
    let completed = body.get("Completed").and_then(Value::as_str);
    let Some(text) = completed else {
        return Some(format!(
            "Completed is {}",
            body.get("Completed")
                .map_or("missing".into(), Value::to_string)
        ));
    };
    let Some(completed) = Timestamp::parse(text) else {
        return Some(format!("Completed {text:?} is not ISO 8601"));
    };
    if completed.year() <= 1 {
        return Some(format!("Completed {text:?} means not completed"));
    }
    let submitted = body
        .get("Submitted")
        .and_then(Value::as_str)
        .and_then(Timestamp::parse);
    // A zoned and a zoneless value cannot be ordered without assuming a zone: no verdict then.
    let order = submitted.and_then(|submitted| completed.compare(&submitted));
    (order == Some(std::cmp::Ordering::Less))
        .then(|| format!("Completed {text} is earlier than Submitted"))
}

static STACK_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)(^|\\r\\n|\\n)\s*at [\w.`<>\[\]+]+\(.*?\)|System\.[\w.]*Exception\b|--- End of (inner exception )?stack trace|\x22StackTrace\x22\s*:")
        .expect("constant pattern compiles")
});

static CORRELATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)correlation|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("constant pattern compiles")
});

/// No body leaks a stack trace; a 500 body should carry a correlation ID.
pub fn no_stack_trace(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let mut traces = Vec::new();
    let mut uncorrelated = Vec::new();
    for (label, response) in subject.answers_with_bodies() {
        let text = response.body_text();
        if let Some(found) = STACK_FRAME.find(&text) {
            traces.push(format!(
                "{label} ({}): {:?}",
                response.status,
                found.as_str().trim()
            ));
        }
        if response.status == 500 && !CORRELATION.is_match(&text) {
            uncorrelated.push(label);
        }
    }
    if !traces.is_empty() {
        return Some(Verdict::fail(
            "a response leaks a stack trace",
            "no stack trace or exception dump",
            traces.join("; "),
        ));
    }
    if !uncorrelated.is_empty() {
        return Some(Verdict::warn(format!(
            "500 body without a correlation ID: {}",
            uncorrelated.join(", ")
        )));
    }
    Some(Verdict::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(submitted: &str, completed: &str) -> ReceivedResponse {
        let body = serde_json::json!({ "Submitted": submitted, "Completed": completed });
        ReceivedResponse::new(200, Vec::new(), body.to_string().into_bytes())
    }

    #[test]
    fn completion_must_be_real_and_not_before_submission() {
        let fine = answer("2015-07-07T23:36:21.93Z", "2015-07-07T23:37:37.767Z");
        assert_eq!(completion_problem(&fine), None);
        let early = answer("2015-07-07T23:36:21.93Z", "2015-07-07T23:30:00Z");
        assert!(completion_problem(&early).is_some_and(|p| p.contains("earlier than Submitted")));
        let unset = answer("2015-07-07T23:36:21.93Z", "0001-01-01T00:00:00");
        assert!(completion_problem(&unset).is_some_and(|p| p.contains("not completed")));
        let local = answer("2015-07-07T23:36:21.93Z", "7/7/2015 11:37:37 PM");
        assert!(completion_problem(&local).is_some_and(|p| p.contains("not ISO 8601")));
        // Issue 9, false failure 6: a zoneless (local) Completed is not read as UTC.
        let zoneless = answer("2015-07-07T23:36:21.93Z", "2015-07-07T20:37:37.767");
        assert_eq!(completion_problem(&zoneless), None);
        let both_local = answer("2015-07-07T23:36:21.93", "2015-07-07T20:37:37.767");
        assert!(completion_problem(&both_local).is_some_and(|p| p.contains("earlier")));
        let offsets = answer("2015-07-08T01:36:21.93+02:00", "2015-07-07T23:37:00Z");
        assert_eq!(completion_problem(&offsets), None);
    }

    #[test]
    fn stack_frames_are_recognized() {
        let trace = "System.InvalidOperationException: bad\r\n   at Microsoft.Clm.Provision.ExecuteOperations.Complete(Guid requestUuid)";
        assert!(STACK_FRAME.is_match(trace));
        assert!(!STACK_FRAME.is_match(r#"{"Message":"An error has occurred. Correlation ID: 1"}"#));
    }
}
