//! Checks on status lines and headers: the HTTP code classes of CONTRACT.md section 6, the JSON
//! content type of section 2, the numeric Status of section 5, and the auth rule of section 6.

use super::{CheckContext, Subject, Verdict, has_body, is_success, step};
use crate::client::ReceivedResponse;
use crate::contract::fixture::Outcome;

/// Success: a code the case allows (200/204), 200 with a body, 204 without. Refusal: never 2xx;
/// 403 and 500 are documented; other 4xx warn; 1xx, 3xx and 501+ fail.
pub fn status_code_conformance(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
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

/// Every response of the step that has a body says `application/json`.
pub fn content_type_conformance(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    let mut wrong = Vec::new();
    let mut seen = false;
    for (label, exchange) in view.exchanges() {
        let Some(response) = exchange.ok().filter(|r| has_body(r)) else {
            continue;
        };
        seen = true;
        let content_type = response.header("content-type").unwrap_or("(none)");
        if !is_json_media_type(content_type) {
            wrong.push(format!("{label} ({}): {content_type}", response.status));
        }
    }
    if !seen {
        return None;
    }
    Some(Verdict::from_problems(
        wrong,
        "a response body is not declared as JSON",
        "Content-Type: application/json",
    ))
}

/// Every response of the step that has a body says how long it is (section 2).
pub fn content_length_conformance(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    let bodies: Vec<(&str, &crate::client::ReceivedResponse)> = view
        .exchanges()
        .into_iter()
        .filter_map(|(label, exchange)| exchange.ok().filter(|r| has_body(r)).map(|r| (label, r)))
        .collect();
    if bodies.is_empty() {
        return None;
    }
    let missing: Vec<String> = bodies
        .iter()
        .filter(|(_, response)| response.header("content-length").is_none())
        .map(|(label, response)| {
            let framing = response
                .header("transfer-encoding")
                .unwrap_or("no length at all");
            format!("{label} ({}): {framing}", response.status)
        })
        .collect();
    Some(Verdict::from_problems(
        missing,
        "a response body has no Content-Length",
        "Content-Length on every response with a body",
    ))
}

fn is_json_media_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// After a successful PUT that returned a body, Status is the expected integer.
pub fn status_value(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    let expected = view.expect.status_value?;
    if view.expect.outcome != Outcome::Success {
        return None;
    }
    let response = view.response().filter(|r| r.status == 200)?;
    let Some(body) = response.json() else {
        return Some(Verdict::fail(
            "the answer is not JSON, so it has no Status",
            expected.to_string(),
            "no JSON body",
        ));
    };
    Some(match body.get("Status") {
        Some(value) if value.as_i64() == Some(expected) && value.is_i64() => Verdict::Pass,
        Some(value) if value.is_string() => Verdict::fail(
            "Status must be an integer, not a string (CONTRACT.md section 6)",
            expected.to_string(),
            value.to_string(),
        ),
        Some(value) => Verdict::fail(
            "Status is not the code the transition gives",
            expected.to_string(),
            value.to_string(),
        ),
        None => Verdict::fail("the Request has no Status", expected.to_string(), "missing"),
    })
}

/// A PUT without credentials is refused with 401 + WWW-Authenticate, or 403, and GET is unchanged.
pub fn auth_required(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    if view.expect.outcome != Outcome::Unauthenticated {
        return None;
    }
    let response = view.response()?;
    let challenge = response.header("www-authenticate");
    let refused = match (response.status, challenge) {
        (401, Some(_)) | (403, _) => true,
        (401, None) => {
            return Some(Verdict::fail(
                "401 must carry a WWW-Authenticate challenge",
                "401 with WWW-Authenticate, or 403",
                "401 without WWW-Authenticate",
            ));
        }
        _ => false,
    };
    if !refused {
        return Some(Verdict::fail(
            "a PUT without credentials was not refused",
            "401 with WWW-Authenticate, or 403",
            response.status.to_string(),
        ));
    }
    match (
        view.before().and_then(|r| r.json()),
        view.after().and_then(|r| r.json()),
    ) {
        (Some(before), Some(after)) if before != after => Some(Verdict::fail(
            "a refused unauthenticated PUT changed the request",
            "GET after equals GET before",
            super::state::describe_change(before, after),
        )),
        _ => Some(Verdict::Pass),
    }
}
