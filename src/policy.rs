//! Run policy: what the runner refuses to send or to trust, decided in one place so the client
//! only sends and records. A PUT goes only to an id that is staged, fresh, or shown to name no
//! request (shared deployments); a staged request must be in the state the provider claims; an
//! answer that says the run's authentication broke or the target is throttling errors the case
//! (the harness could not test it) instead of being judged as the server's answer.

use crate::client::{Exchange, HttpClient, OutgoingRequest, ReceivedResponse};
use crate::contract::lifecycle::RequestState;
use std::time::Duration;

/// The safety rule for shared deployments: a request that may change state (anything but GET,
/// HEAD, OPTIONS) goes only to an id in `known` (the one the provider staged for the case, or a
/// fresh random v4 GUID drawn for this run, which cannot name an existing request); to any
/// other path only when a GET of that path first answers 404 or 400, i.e. it names no request.
/// `Err` carries the reason the case is skipped; nothing was changed.
pub async fn guard(
    client: &HttpClient,
    request: &OutgoingRequest,
    known: &[&str],
) -> Result<(), Held> {
    if !client.guards_unstaged()
        || ["GET", "HEAD", "OPTIONS"]
            .iter()
            .any(|method| request.method.eq_ignore_ascii_case(method))
    {
        return Ok(());
    }
    if let Some(id) = path_request_id(&request.path)
        && known
            .iter()
            .any(|known| uuid::Uuid::parse_str(known).is_ok_and(|known| known == id))
    {
        return Ok(());
    }
    let get = OutgoingRequest::get(&request.path);
    let probe = client.send(&get).await;
    match probe.response {
        Ok(received) if matches!(received.status, 400 | 404) => Ok(()),
        // A 401 to the guard's credentialed GET is the broken authentication of any other
        // answer, never a reason to think the id names a request.
        Ok(received) => Err(match untestable(client, &get, &received) {
            Some(reason) => Held::Untestable(reason),
            None => Held::Unsafe(format!(
                "safety: {} {} targets a request the provider did not stage, and a GET of it \
                 answered {} (it may name a real request), so it was not sent",
                request.method, request.path, received.status
            )),
        }),
        Err(error) => Err(Held::Unsafe(format!(
            "safety: {} {} targets a request the provider did not stage, and a GET to check \
             that it names no request failed ({error}), so it was not sent",
            request.method, request.path
        ))),
    }
}

/// Why [`guard`] kept a request from being sent.
#[derive(Debug, PartialEq)]
pub enum Held {
    /// The id may name a real request: the case is skipped.
    Unsafe(String),
    /// The guard's own GET shows the case cannot be tested (see [`untestable`]): it errors.
    Untestable(String),
}

/// The GUID a request path names (`.../requests/{id}`, any casing of the prefix, the id in any
/// spelling .NET accepts: hyphens or not, braces, percent-encoded).
pub fn path_request_id(path: &str) -> Option<uuid::Uuid> {
    let path = path.split(['?', '#']).next()?;
    let prefix = crate::contract::REQUESTS_PATH;
    let head = path.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let segment = path.get(prefix.len()..)?.strip_prefix('/')?;
    if segment.contains('/') {
        return None;
    }
    crate::contract::guid::from_segment(segment, false)
}

/// Why the GET before a case shows that the provider's id is not a request in the claimed
/// state, if it does: 400, 404 or 410 (no such request), or a readable Request in another
/// documented state. The Status is read leniently (any letter case of the member, an integer or
/// a string of one): this only asks whether the id is what the provider said; how the server
/// spells the Request, answers that are no Request at all (3xx, 5xx, not JSON, a transport
/// error) and Status codes that are no documented state cannot come from a mislabelled id, so
/// they are left to the checks.
pub fn precondition_problem(exchange: &Exchange, id: &str, state: RequestState) -> Option<String> {
    let response = exchange.ok()?;
    let shown = match response.status {
        400 | 404 | 410 => format!("GET answered {} (no such request)", response.status),
        200 => match shown_status(response)? {
            code if code == state.code() => return None,
            code if RequestState::ALL.iter().any(|known| known.code() == code) => {
                format!("GET shows Status {code}")
            }
            _ => return None,
        },
        _ => return None,
    };
    Some(format!(
        "precondition: the provider staged {id} as {state} (Status {}) but {shown}; check the \
         --ids file or the state endpoint (this is not a verdict on the server)",
        state.code()
    ))
}

fn shown_status(response: &ReceivedResponse) -> Option<i64> {
    let Some(serde_json::Value::Object(body)) = response.json() else {
        return None;
    };
    let (_, value) = body
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Status"))?;
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
}

/// Why an answer means the harness could not test the case, if it does: a 401 or 407 to a
/// request that carried the run's credentials (the authentication broke mid-run; judging it as
/// a refusal would pass every refusal case on a broken handshake), or a 429/503 (throttled or
/// unavailable: the answer is about load, not about the request).
pub fn untestable(
    client: &HttpClient,
    request: &OutgoingRequest,
    response: &ReceivedResponse,
) -> Option<String> {
    let credentialed = request.credentials && client.has_credentials();
    match response.status {
        401 | 407 if credentialed => Some(format!(
            "authentication failed mid-run: {} {} carried the run's credentials and was \
             answered {}{}; check the credentials and the --auth mode (`cmconform doctor`)",
            request.method,
            request.path,
            response.status,
            response
                .header("www-authenticate")
                .or_else(|| response.header("proxy-authenticate"))
                .map(|challenge| format!(" ({challenge})"))
                .unwrap_or_default()
        )),
        429 | 503 => Some(format!(
            "the target answered {} {} with {}{}: throttled or unavailable, so the case could \
             not be tested",
            request.method,
            request.path,
            response.status,
            response
                .header("retry-after")
                .map(|wait| format!(" (Retry-After: {wait}; one wait within --timeout)"))
                .unwrap_or_default()
        )),
        _ => None,
    }
}

/// How long a 429/503 asks to wait (`Retry-After` in seconds or as an HTTP date), when that is
/// within `limit`: the one retry the runner allows itself.
pub fn retry_delay(response: &ReceivedResponse, limit: Duration) -> Option<Duration> {
    if !matches!(response.status, 429 | 503) {
        return None;
    }
    let value = response.header("retry-after")?.trim();
    let delay = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .unwrap_or_default()
        }
    };
    (delay <= limit).then_some(delay)
}

/// Sends `request` as the run's policy allows: one retry after a `Retry-After` within
/// `--timeout`, then `Err` with the reason the case errors when the answer is untestable.
pub async fn send(client: &HttpClient, request: &OutgoingRequest) -> Result<Exchange, String> {
    let mut exchange = client.send(request).await;
    if let Some(delay) = exchange
        .ok()
        .and_then(|response| retry_delay(response, client.timeout()))
    {
        tokio::time::sleep(delay).await;
        exchange = client.send(request).await;
    }
    match exchange.ok().and_then(|r| untestable(client, request, r)) {
        Some(reason) => Err(reason),
        None => Ok(exchange),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::testing::answer;

    fn received(status: u16, headers: &[(&str, &str)], body: &str) -> ReceivedResponse {
        match answer(status, headers, body).response {
            Ok(received) => received,
            Err(error) => panic!("a hand-written answer: {error}"),
        }
    }

    #[test]
    fn retry_after_is_honoured_only_within_the_limit() {
        let limit = Duration::from_secs(10);
        let table = [
            (429, Some("2"), Some(Duration::from_secs(2))),
            (503, Some("10"), Some(limit)),
            (503, Some("11"), None),
            (429, None, None),
            (429, Some("soon"), None),
            (500, Some("1"), None),
        ];
        for (status, header, expected) in table {
            let headers: Vec<(&str, &str)> =
                header.iter().map(|value| ("Retry-After", *value)).collect();
            assert_eq!(
                retry_delay(&received(status, &headers, ""), limit),
                expected,
                "{status} {header:?}"
            );
        }
    }

    #[test]
    fn request_ids_are_read_in_every_net_spelling() {
        let id = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";
        let prefix = crate::contract::REQUESTS_PATH;
        for segment in [
            id.to_string(),
            id.to_ascii_uppercase(),
            id.replace('-', ""),
            format!("{{{id}}}"),
            id.bytes().map(|b| format!("%{b:02X}")).collect(),
        ] {
            assert_eq!(
                path_request_id(&format!("{prefix}/{segment}")).map(|u| u.to_string()),
                Some(id.to_string()),
                "{segment}"
            );
        }
        assert_eq!(path_request_id(&format!("{prefix}/not-a-guid")), None);
        assert_eq!(path_request_id(&format!("{prefix}/x/{id}")), None);
    }

    #[test]
    fn the_staged_state_is_read_leniently_and_compared() {
        let approved = RequestState::Approved;
        let shows = |status: u16, body: &str| {
            precondition_problem(&answer(status, &[], body), "id", approved)
        };
        assert_eq!(shows(200, r#"{"Status":3}"#), None);
        assert_eq!(shows(200, r#"{"status":"3"}"#), None);
        // Not a documented state: the server's spelling problem, judged by the checks.
        assert_eq!(shows(200, r#"{"Status":7}"#), None);
        let wrong = shows(200, r#"{"Status":8}"#).unwrap_or_default();
        assert!(
            wrong.contains("staged id as approved (Status 3) but GET shows Status 8"),
            "{wrong}"
        );
        let gone = shows(404, "").unwrap_or_default();
        assert!(
            gone.contains("GET answered 404 (no such request)"),
            "{gone}"
        );
        // No Request at all: the server's answer, judged by the checks.
        for (status, body) in [
            (200, "<html>"),
            (200, r#"{"Uuid":"x"}"#),
            (307, ""),
            (500, ""),
        ] {
            assert_eq!(shows(status, body), None, "{status} {body}");
        }
    }
}
