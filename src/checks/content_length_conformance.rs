//! `content_length_conformance`: every response with a body carries a Content-Length
//! (CONTRACT.md section 2), not chunked framing.

use super::{CheckContext, Label, Subject, Verdict};
use crate::client::ReceivedResponse;
use crate::contract::profile::Profile;

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

fn judge_lengths(bodies: &[(Label, &ReceivedResponse)], profile: Profile) -> Verdict {
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{class, received};

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
            let received = received(200, headers);
            let verdict = judge_lengths(&[("request".into(), &received)], profile);
            assert_eq!(class(&Some(verdict)), expected, "{headers:?} {profile}");
        }
    }
}
