//! `content_type_conformance`: every response with a body is declared as JSON (CONTRACT.md
//! section 2), except an HTML page the web server gives before the API runs (section 6).

use super::{CheckContext, Label, Subject, Verdict};
use crate::client::ReceivedResponse;
use crate::contract::media_type;
use crate::contract::profile::Profile;

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

fn judge_content_types(bodies: &[(Label, &ReceivedResponse)], profile: Profile) -> Verdict {
    let (mut wrong, mut web_server) = (Vec::new(), Vec::new());
    for (label, response) in bodies {
        let content_type = response.header("content-type").unwrap_or("(none)");
        let line = format!("{label} ({}): {content_type}", response.status);
        if media_type::is_json(content_type) {
            continue;
        }
        let html = media_type::essence(content_type).eq_ignore_ascii_case("text/html");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{class, received};

    #[test]
    fn web_server_html_warns_under_documented_and_fails_under_strict() {
        let html = [("Content-Type", "text/html")];
        let json = [("Content-Type", "application/json; charset=utf-8")];
        let table = [
            (received(401, &html), Profile::Documented, "warn"),
            (received(401, &html), Profile::Strict, "fail"),
            (
                received(400, &[("Content-Type", "text/html; charset=us-ascii")]),
                Profile::Documented,
                "warn",
            ),
            (received(404, &html), Profile::Documented, "warn"),
            (received(413, &html), Profile::Documented, "warn"),
            // A success, a documented refusal, or an API error: JSON always.
            (received(200, &html), Profile::Documented, "fail"),
            (received(403, &html), Profile::Documented, "fail"),
            (received(500, &html), Profile::Documented, "fail"),
            (
                received(401, &[("Content-Type", "text/plain")]),
                Profile::Documented,
                "fail",
            ),
            (received(401, &[]), Profile::Documented, "fail"),
            (received(200, &json), Profile::Strict, "pass"),
            (received(401, &json), Profile::Strict, "pass"),
        ];
        for (received, profile, expected) in table {
            let verdict = judge_content_types(&[("request".into(), &received)], profile);
            assert_eq!(
                class(&Some(verdict)),
                expected,
                "{} {:?} {profile}",
                received.status,
                received.headers
            );
        }
    }
}
