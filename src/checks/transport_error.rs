//! `transport_error`: the one check that judges the wire itself rather than the answer.

use super::{CheckContext, Subject, Verdict};

/// Fails when any exchange of the step (or race) did not complete as HTTP: connection refused or
/// dropped, malformed status line, body shorter than its Content-Length, timeout, body over the cap.
pub fn transport_error(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let exchanges = subject.exchanges();
    let broken: Vec<String> = exchanges
        .iter()
        .filter_map(|(label, exchange)| {
            let error = exchange.response.as_ref().err()?;
            Some(format!(
                "{label} ({} {}): {error}",
                exchange.request.method, exchange.request.url
            ))
        })
        .collect();
    if broken.is_empty() {
        return Some(Verdict::Pass);
    }
    Some(Verdict::fail(
        "the target did not deliver a complete HTTP answer",
        "a complete, well-formed HTTP response within the timeout",
        broken.join("; "),
    ))
}

#[cfg(test)]
mod tests {
    use crate::checks::testing::{answer, case, class, evidence, json_answer, verdict_of};
    use crate::client::{Exchange, TransportError};
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::exec::StepEvidence;
    use crate::plan::StepKind;
    use crate::sequences::success;
    use std::time::Duration;

    fn broken(error: TransportError) -> Exchange {
        Exchange {
            response: Err(error),
            ..answer(200, &[], "")
        }
    }

    #[test]
    fn any_exchange_without_a_complete_answer_fails_and_only_then() {
        let approved = serde_json::json!({"Status": 3});
        let completed = serde_json::json!({"Status": 8});
        let ok = || json_answer(200, &completed);
        let table: [(StepEvidence, &str); 6] = [
            (evidence(Some(&approved), ok(), Some(&completed)), "pass"),
            // A refusal or a server error is an answer: other checks judge it.
            (
                evidence(Some(&approved), answer(500, &[], ""), Some(&approved)),
                "pass",
            ),
            (
                evidence(
                    Some(&approved),
                    broken(TransportError::Timeout(Duration::from_secs(1))),
                    Some(&approved),
                ),
                "fail",
            ),
            (
                evidence(
                    Some(&approved),
                    broken(TransportError::Protocol("truncated".into())),
                    None,
                ),
                "fail",
            ),
            (
                evidence(
                    Some(&approved),
                    broken(TransportError::BodyTooLarge(8)),
                    None,
                ),
                "fail",
            ),
            // The GET after counts as much as the PUT.
            (
                StepEvidence {
                    after: Some(broken(TransportError::Closed("reset".into()))),
                    ..evidence(Some(&approved), ok(), None)
                },
                "fail",
            ),
        ];
        for (index, (evidence, expected)) in table.into_iter().enumerate() {
            let case = case(
                RequestState::Approved,
                success(RequestState::Completed),
                StepKind::Reading,
            );
            let verdict = verdict_of("transport_error", case, evidence, Profile::Documented);
            assert_eq!(class(&verdict), expected, "row {index}: {verdict:?}");
        }
    }
}
