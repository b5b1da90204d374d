//! Checks on status lines and headers: the HTTP code classes of CONTRACT.md section 6, the JSON
//! content type of section 2, the numeric Status of section 5, and the auth rule of section 6.

use super::{CheckContext, Subject, Verdict, has_body, is_success, step};
use crate::client::ReceivedResponse;
use crate::contract::fixture::Outcome;
use crate::contract::profile::Profile;

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
    for (round, attempt) in rounds.iter().enumerate() {
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

/// Codes the web server answers before the API runs (section 6): the 401 challenge, HTTP.sys's
/// 400 for a malformed request line and its length limits, request filtering's 404 and 413.
const PRE_API_CODES: [u16; 7] = [400, 401, 404, 411, 413, 414, 431];

/// Every response of the step that has a body says `application/json`, except an HTML page the
/// web server gives before the API runs: a warning under the documented profile, a failure
/// under the strict one. A success is JSON always.
pub fn content_type_conformance(subject: &Subject, context: &CheckContext) -> Option<Verdict> {
    let bodies = subject.answers_with_bodies();
    if bodies.is_empty() {
        return None;
    }
    Some(judge_content_types(&bodies, context.profile))
}

fn judge_content_types(bodies: &[(String, &ReceivedResponse)], profile: Profile) -> Verdict {
    let (mut wrong, mut web_server) = (Vec::new(), Vec::new());
    for (label, response) in bodies {
        let content_type = response.header("content-type").unwrap_or("(none)");
        let line = format!("{label} ({}): {content_type}", response.status);
        if is_json_media_type(content_type) {
            continue;
        }
        let html = media_type(content_type).eq_ignore_ascii_case("text/html");
        match html && PRE_API_CODES.contains(&response.status) && !profile.is_strict() {
            true => web_server.push(line),
            false => wrong.push(line),
        }
    }
    if !wrong.is_empty() {
        return Verdict::fail(
            "a response body is not declared as JSON",
            match profile {
                Profile::Documented => {
                    "Content-Type: application/json (text/html only for web-server errors)"
                }
                Profile::Strict => "Content-Type: application/json (strict profile)",
            },
            wrong.join("; "),
        );
    }
    if web_server.is_empty() {
        return Verdict::Pass;
    }
    Verdict::warn(format!(
        "an HTML page from the web server, before the API ran (section 6): {}",
        web_server.join("; ")
    ))
}

/// Every response of the step that has a body says how long it is (section 2). Chunked framing
/// (a reverse proxy re-framing the answer) warns under the documented profile and fails under
/// the strict one; a body with no framing at all (ended by closing) fails.
pub fn content_length_conformance(subject: &Subject, context: &CheckContext) -> Option<Verdict> {
    let bodies = subject.answers_with_bodies();
    if bodies.is_empty() {
        return None;
    }
    Some(judge_lengths(&bodies, context.profile))
}

fn judge_lengths(bodies: &[(String, &ReceivedResponse)], profile: Profile) -> Verdict {
    let (mut missing, mut chunked) = (Vec::new(), Vec::new());
    for (label, response) in bodies {
        if response.header("content-length").is_some() {
            continue;
        }
        let framing = response.header("transfer-encoding");
        let line = format!(
            "{label} ({}): {}",
            response.status,
            framing.unwrap_or("no length at all")
        );
        let is_chunked =
            framing.is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
        match is_chunked && !profile.is_strict() {
            true => chunked.push(line),
            false => missing.push(line),
        }
    }
    if !missing.is_empty() {
        return Verdict::fail(
            "a response body has no Content-Length",
            "Content-Length on every response with a body",
            missing.join("; "),
        );
    }
    if chunked.is_empty() {
        return Verdict::Pass;
    }
    Verdict::warn(format!(
        "chunked framing instead of Content-Length (a proxy re-framing the answer?): {}",
        chunked.join("; ")
    ))
}

/// The media type of a Content-Type value, without parameters.
fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or(value).trim()
}

fn is_json_media_type(value: &str) -> bool {
    media_type(value).eq_ignore_ascii_case("application/json")
}

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
    let Some(before) = view.before().and_then(|r| r.json()) else {
        return Some(Verdict::Pass);
    };
    Some(
        match super::state::readable_after(view.evidence.after.as_ref()) {
            Err(shown) => Verdict::fail(
                "after the refused unauthenticated PUT GET does not show the request",
                "GET after answers 200 with the Request as before",
                shown,
            ),
            Ok(after) if !super::by_value::changed_fields(before, after).is_empty() => {
                Verdict::fail(
                    "a refused unauthenticated PUT changed the request",
                    "GET after equals GET before",
                    super::state::describe_change(before, after),
                )
            }
            Ok(_) => Verdict::Pass,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{answer, case, class, evidence, json_answer, verdict_of};
    use crate::contract::lifecycle::RequestState;
    use crate::plan::StepKind;
    use crate::sequences::refusal;

    fn response(status: u16, headers: &[(&str, &str)]) -> ReceivedResponse {
        match answer(status, headers, "<html>x</html>").response {
            Ok(received) => received,
            Err(error) => panic!("{error}"),
        }
    }

    fn verdict_class(verdict: Verdict) -> &'static str {
        class(&Some(verdict))
    }

    #[test]
    fn web_server_html_warns_under_documented_and_fails_under_strict() {
        let html = [("Content-Type", "text/html")];
        let json = [("Content-Type", "application/json; charset=utf-8")];
        let table = [
            (response(401, &html), Profile::Documented, "warn"),
            (response(401, &html), Profile::Strict, "fail"),
            (
                response(400, &[("Content-Type", "text/html; charset=us-ascii")]),
                Profile::Documented,
                "warn",
            ),
            (response(404, &html), Profile::Documented, "warn"),
            (response(413, &html), Profile::Documented, "warn"),
            // A success, a documented refusal, or an API error: JSON always.
            (response(200, &html), Profile::Documented, "fail"),
            (response(403, &html), Profile::Documented, "fail"),
            (response(500, &html), Profile::Documented, "fail"),
            (
                response(401, &[("Content-Type", "text/plain")]),
                Profile::Documented,
                "fail",
            ),
            (response(401, &[]), Profile::Documented, "fail"),
            (response(200, &json), Profile::Strict, "pass"),
            (response(401, &json), Profile::Strict, "pass"),
        ];
        for (received, profile, expected) in table {
            let verdict = judge_content_types(&[("request".into(), &received)], profile);
            assert_eq!(
                verdict_class(verdict),
                expected,
                "{} {:?} {profile}",
                received.status,
                received.headers
            );
        }
    }

    #[test]
    fn chunked_answers_warn_under_documented_and_fail_under_strict() {
        let table = [
            (&[("Content-Length", "12")][..], Profile::Strict, "pass"),
            (
                &[("Transfer-Encoding", "chunked")][..],
                Profile::Documented,
                "warn",
            ),
            (
                &[("Transfer-Encoding", "gzip, chunked")][..],
                Profile::Documented,
                "warn",
            ),
            (
                &[("Transfer-Encoding", "chunked")][..],
                Profile::Strict,
                "fail",
            ),
            (&[][..], Profile::Documented, "fail"),
        ];
        for (headers, profile, expected) in table {
            let received = response(200, headers);
            let verdict = judge_lengths(&[("request".into(), &received)], profile);
            assert_eq!(verdict_class(verdict), expected, "{headers:?} {profile}");
        }
    }

    #[test]
    fn an_iis_html_challenge_passes_auth_required() {
        let before = serde_json::json!({"Status": 3});
        let unauthenticated = crate::contract::fixture::Expectation {
            outcome: Outcome::Unauthenticated,
            ..refusal()
        };
        let iis = answer(
            401,
            &[
                ("Content-Type", "text/html"),
                ("WWW-Authenticate", "Negotiate"),
                ("WWW-Authenticate", "NTLM"),
                ("Content-Length", "14"),
            ],
            "<html>x</html>",
        );
        let bare = answer(401, &[("Content-Length", "0")], "");
        let forbidden = answer(403, &[], "");
        let accepted = answer(200, &[], "");
        let table = [
            (iis.clone(), Some(&before), "auth_required", "pass"),
            (iis, Some(&before), "content_type_conformance", "warn"),
            (bare, Some(&before), "auth_required", "fail"),
            (forbidden, Some(&before), "auth_required", "pass"),
            (accepted, Some(&before), "auth_required", "fail"),
        ];
        for (exchange, state, check, expected) in table {
            let case = case(
                RequestState::Approved,
                unauthenticated.clone(),
                StepKind::Reading,
            );
            let verdict = verdict_of(
                check,
                case,
                evidence(state, exchange, state),
                Profile::Documented,
            );
            assert_eq!(class(&verdict), expected, "{check}: {verdict:?}");
        }
        // Refused, but the request vanished: GET after answers 404 with no body.
        let case = case(RequestState::Approved, unauthenticated, StepKind::Reading);
        let mut gone = evidence(Some(&before), answer(403, &[], ""), None);
        gone.after = Some(answer(404, &[], ""));
        let verdict = verdict_of("auth_required", case, gone, Profile::Documented);
        assert_eq!(class(&verdict), "fail", "{verdict:?}");
    }

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
