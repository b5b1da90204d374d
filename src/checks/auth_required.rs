//! `auth_required`: a PUT without credentials is refused with a 401 challenge or 403 and
//! changes nothing (CONTRACT.md section 6).

use super::by_value::{changed_fields, describe_change};
use super::refusal_keeps_state::readable_after;
use super::{CheckContext, Subject, Verdict, step};
use crate::contract::fixture::Outcome;

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
    Some(match readable_after(view.evidence.after.as_ref()) {
        Err(shown) => Verdict::fail(
            "after the refused unauthenticated PUT GET does not show the request",
            "GET after answers 200 with the Request as before",
            shown,
        ),
        Ok(after) if !changed_fields(before, after).is_empty() => Verdict::fail(
            "a refused unauthenticated PUT changed the request",
            "GET after equals GET before",
            describe_change(before, after),
        ),
        Ok(_) => Verdict::Pass,
    })
}
#[cfg(test)]
mod tests {
    use crate::checks::testing::{answer, case, class, evidence, verdict_of};
    use crate::contract::fixture::Outcome;
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;
    use crate::sequences::refusal;

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
}
