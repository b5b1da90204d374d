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
