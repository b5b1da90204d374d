//! Where dialects and faults act. [`Behaviour`] is the server's configured dialect and fault
//! seen as a set of questions, one per kind of decision (routing, authentication, life cycle,
//! serialization, framing of the answer). Each answers as the dialect's row says unless the
//! fault's [`Hook`] is the one for that decision. Handlers ask these questions and never test
//! for a dialect or a fault themselves.

use super::dialect::{Challenge, Dialect, Routing, Success};
use super::faults::Fault;
use super::hooks::{self, AnswerKind, Hook};
use super::model::{RequestObject, completion_time, dotnet_timestamp};
use super::respond::{self, ApiError};
use super::wire::Hijack;
use crate::contract::lifecycle::{self, RequestState, TargetStatus};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::borrow::Cow;
use std::time::Duration;

/// The configured dialect, and the configured fault (if any) as the hook it changes.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    dialect: &'static Dialect,
    hook: Option<Hook>,
    slow_delay: Duration,
}

impl Behaviour {
    pub fn new(dialect: &'static Dialect, fault: Option<Fault>, slow_delay: Duration) -> Behaviour {
        Behaviour {
            dialect,
            hook: fault.map(Fault::hook),
            slow_delay,
        }
    }

    pub fn dialect(self) -> &'static Dialect {
        self.dialect
    }

    /// Routing: `path` without `prefix`, compared ASCII-case-insensitively as IIS does, or
    /// exactly under [`Hook::ExactRouting`].
    pub fn strip_prefix<'a>(self, path: &'a str, prefix: &str) -> Option<&'a str> {
        let head = path.get(..prefix.len())?;
        let matches = if matches!(self.hook, Some(Hook::ExactRouting)) {
            head == prefix
        } else {
            head.eq_ignore_ascii_case(prefix)
        };
        matches.then(|| path.get(prefix.len()..)).flatten()
    }

    /// The path routing sees: as sent, or percent-decoded first as IIS does (an escape that is
    /// not UTF-8 is left as sent, and then routes nowhere).
    pub fn routed_path(self, raw: &str) -> Cow<'_, str> {
        match self.dialect.routing {
            Routing::Canonical => Cow::Borrowed(raw),
            Routing::Iis => percent_encoding::percent_decode_str(raw)
                .decode_utf8()
                .unwrap_or(Cow::Borrowed(raw)),
        }
    }

    /// Authentication: whether every request is admitted whatever its credentials; otherwise
    /// `auth::check` decides.
    pub fn ignores_credentials(self) -> bool {
        matches!(self.hook, Some(Hook::AdmitAll))
    }

    /// Body validation: whether a `status` string outside the three wire values is answered as
    /// a no-op success instead of 400.
    pub fn accepts_unknown_status(self) -> bool {
        matches!(self.hook, Some(Hook::AcceptUnknownStatus))
    }

    /// Lookup: whether an unknown GUID is answered with a made-up request in an answer of
    /// `kind`.
    pub fn fabricates_unknown_ids(self, kind: AnswerKind) -> bool {
        match self.hook {
            Some(Hook::FabricateUnknownIds) => true,
            Some(Hook::FabricateUnknownPuts) => kind == AnswerKind::PutSuccess,
            _ => false,
        }
    }

    /// Lookup: whether a GET of an unknown GUID fails with 500 instead of 404.
    pub fn fails_unknown_gets(self) -> bool {
        matches!(self.hook, Some(Hook::FabricateUnknownPuts))
    }

    /// Authentication: after how many credentialed requests every further one is denied.
    pub fn loses_authentication_after(self) -> Option<usize> {
        match self.hook {
            Some(Hook::AuthLostAfter(count)) => Some(count),
            _ => None,
        }
    }

    /// The life cycle: the one table of section 5, unless a hook replaces it.
    pub fn transition(self, from: RequestState, target: TargetStatus) -> Option<RequestState> {
        match self.hook {
            Some(Hook::Transition(table)) => table(from, target),
            _ => lifecycle::transition(from, target),
        }
    }

    /// Whether a PUT of `target` on a request in `current` is a repeat that the dialect answers
    /// with success and no change. A fault that replaces the life cycle decides repeats too,
    /// so `repeat_restamps` shows in the idempotent dialect as in the others.
    pub fn repeats_as_noop(self, current: RequestState, target: TargetStatus) -> bool {
        !matches!(self.hook, Some(Hook::Transition(_)))
            && self.dialect.repeat.is_noop(current, target)
    }

    /// The state a refused PUT leaves behind: unchanged, unless a hook says otherwise.
    pub fn state_after_refusal(self, from: RequestState, target: TargetStatus) -> RequestState {
        match self.hook {
            Some(Hook::AfterRefusal(after)) => after(from, target),
            _ => from,
        }
    }

    /// Whether a refused PUT deletes the request it refused.
    pub fn deletes_on_refusal(self) -> bool {
        matches!(self.hook, Some(Hook::DeleteOnRefusal))
    }

    /// The `Status` code written for `state`.
    pub fn status_code(self, state: RequestState) -> i64 {
        match self.hook {
            Some(Hook::StatusCode(code)) => code(state),
            _ => state.code(),
        }
    }

    /// The instant a request submitted at `submitted` completes now, with the dialect's
    /// precision.
    pub fn completion_instant(self, submitted: DateTime<Utc>) -> DateTime<Utc> {
        completion_time(submitted, self.dialect.stamp_digits)
    }

    /// The `Completed` value written when a request completes at `at`.
    pub fn completion_stamp(self, at: DateTime<Utc>) -> String {
        match self.hook {
            Some(Hook::CompletionStamp(stamp)) => stamp(at),
            _ => dotnet_timestamp(at),
        }
    }

    /// Changes a successful PUT makes besides Status and Completed: none, unless hooked.
    pub fn side_effects(self, object: &mut RequestObject) {
        if let Some(Hook::SideEffect(change)) = self.hook {
            change(object);
        }
    }

    /// Whether a successful PUT stores its new state (or only answers it).
    pub fn persists_success(self) -> bool {
        !matches!(self.hook, Some(Hook::SkipStore))
    }

    /// `None`: a PUT reads and writes under one lock. `Some(wait)`: it reads, lets go of the
    /// lock, waits, then writes what it decided from the stale read.
    pub fn race_window(self) -> Option<Duration> {
        match self.hook {
            Some(Hook::RaceWindow(wait)) => Some(wait),
            _ => None,
        }
    }

    /// Serialization: the Request JSON of an answer, as a hook changes it.
    pub fn apply_to_request_json(self, exchange: AnswerKind, json: &mut Value) {
        let (Some(Hook::RequestJson { only, change }), Some(object)) =
            (self.hook, json.as_object_mut())
        else {
            return;
        };
        if only.is_none_or(|only| only == exchange) {
            change(object);
        }
    }

    /// Serialization: the bytes of a Request JSON answer, as a text hook changes them.
    pub fn request_bytes(self, json: &Value) -> Vec<u8> {
        let text = json.to_string();
        match self.hook {
            Some(Hook::RequestText(change)) => change(text),
            _ => text,
        }
        .into_bytes()
    }

    /// Latency: how long the API request numbered `count` (from 0, in arrival order) waits
    /// before it is handled; `None` for no wait.
    pub fn stall(self, count: u64) -> Option<Duration> {
        let stalls = matches!(self.hook, Some(Hook::Stall));
        (stalls && count % hooks::STALL_EVERY == hooks::STALL_EVERY - 1)
            .then_some(hooks::STALL_DELAY)
    }

    /// Framing: the HTTP answer of a successful PUT carrying `json` (or, in a dialect that
    /// answers no body, not carrying it).
    pub async fn success_answer(self, json: &Value, hijack: &Hijack) -> Response {
        let body = match self.dialect.success {
            Success::Request => self.request_bytes(json),
            Success::NoContent => Vec::new(),
        };
        match self.hook {
            Some(Hook::SuccessAnswer(frame)) => frame(body),
            Some(Hook::SlowSuccess) => {
                tokio::time::sleep(self.slow_delay).await;
                self.dialect_success(body)
            }
            Some(Hook::GarbageSuccess) => {
                // The connection layer swaps whatever hyper writes for this answer for garbage.
                hijack.arm();
                self.dialect_success(body)
            }
            _ => self.dialect_success(body),
        }
    }

    fn dialect_success(self, body: Vec<u8>) -> Response {
        match self.dialect.success {
            Success::Request => respond::json_bytes(StatusCode::OK, body),
            Success::NoContent => respond::no_content(),
        }
    }

    /// The 401 of a request without valid credentials, offering `challenges`: the API's error
    /// (as any error), or IIS's page, which comes before the API and so before its faults.
    pub fn unauthorized(self, error: &ApiError, challenges: &[String]) -> Response {
        let (mut response, challenges) = match self.dialect.challenge {
            Challenge::Json => (self.error_answer(error), challenges.to_vec()),
            Challenge::IisPage => (respond::iis_unauthorized(), iis_challenges(challenges)),
        };
        for challenge in challenges {
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.headers_mut().append(WWW_AUTHENTICATE, value);
            }
        }
        response
    }

    /// Adds the dialect's headers to an answer of the API.
    pub fn decorate(self, response: &mut Response) {
        for &(name, value) in self.dialect.headers {
            response.headers_mut().insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
    }

    /// The body of an error answer: JSON with a correlation ID, unless a hook renders it.
    pub fn error_answer(self, error: &ApiError) -> Response {
        match self.hook {
            Some(Hook::ErrorAnswer(render)) => render(error),
            _ => None,
        }
        .unwrap_or_else(|| respond::error_json(error))
    }
}

/// IIS with Windows Authentication offers both of its providers, Negotiate first, wherever it
/// offers Negotiate.
fn iis_challenges(challenges: &[String]) -> Vec<String> {
    let mut offered = challenges.to_vec();
    if offered.iter().any(|c| c == "Negotiate") && !offered.iter().any(|c| c == "NTLM") {
        offered.push("NTLM".into());
    }
    offered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::faults::named;
    use crate::server::hooks::destination;
    use crate::server::model::{NOT_COMPLETED, documented_example};

    fn with(fault: &str) -> Behaviour {
        Behaviour::new(
            Dialect::strict(),
            Some(named(fault)),
            Duration::from_secs(1),
        )
    }

    fn conformant() -> Behaviour {
        Behaviour::new(Dialect::strict(), None, Duration::from_secs(1))
    }

    fn example_json() -> Value {
        serde_json::to_value(documented_example().0).unwrap_or_default()
    }

    #[test]
    fn conformant_behaviour_follows_the_table() {
        for from in RequestState::ALL {
            for target in TargetStatus::ALL {
                assert_eq!(
                    conformant().transition(from, target),
                    lifecycle::transition(from, target)
                );
                assert_eq!(conformant().state_after_refusal(from, target), from);
            }
        }
        assert_eq!(
            destination(TargetStatus::Abandoned),
            Some(RequestState::Failed)
        );
    }

    #[test]
    fn transition_faults_change_only_their_cases() {
        let reopened = with("final_state_reopened");
        assert_eq!(
            reopened.transition(RequestState::Failed, TargetStatus::Completed),
            Some(RequestState::Completed)
        );
        assert_eq!(
            reopened.transition(RequestState::Pending, TargetStatus::Completed),
            None
        );
        let abandoned = with("abandoned_wrong_code");
        assert_eq!(
            abandoned.transition(RequestState::Approved, TargetStatus::Abandoned),
            Some(RequestState::Canceled)
        );
        assert_eq!(
            abandoned.transition(RequestState::Pending, TargetStatus::Abandoned),
            None
        );
    }

    #[test]
    fn json_faults_touch_one_field() {
        let mut json = example_json();
        with("camel_case_keys").apply_to_request_json(AnswerKind::Get, &mut json);
        assert!(json.get("requestType").is_some() && json.get("RequestType").is_none());
        assert!(json.get("isDataCollectionComplete").is_some());

        let mut json = example_json();
        with("status_as_string").apply_to_request_json(AnswerKind::Get, &mut json);
        assert_eq!(json["Status"], "3");

        let mut json = example_json();
        with("missing_field").apply_to_request_json(AnswerKind::Get, &mut json);
        let keys: Vec<String> = json
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(keys.len(), 20);
        assert_eq!(
            keys.get(3).map(String::as_str),
            Some("DataCollection"),
            "order kept"
        );

        let mut json = example_json();
        with("uuid_mismatch").apply_to_request_json(AnswerKind::Get, &mut json);
        assert_eq!(
            json,
            example_json(),
            "uuid_mismatch only touches PUT answers"
        );
    }

    #[test]
    fn duplicate_members_names_status_twice_and_the_last_one_wins() {
        let json = example_json();
        let bytes = with("duplicate_members").request_bytes(&json);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with(r#"{"Status":99,"Uuid":"#), "{text}");
        assert_eq!(text.matches(r#""Status":"#).count(), 2);
        let parsed: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(parsed, json, "serde keeps the last Status");
        assert_eq!(
            conformant().request_bytes(&json),
            json.to_string().into_bytes()
        );
    }

    #[test]
    fn authorization_rules() {
        use super::super::Credentials;
        use super::super::auth::{AuthDecision, Session, check};
        use axum::http::HeaderMap;
        use axum::http::HeaderValue;
        use axum::http::header::AUTHORIZATION;
        let with_header = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
            headers
        };
        let session = Session::default();
        let any = Credentials::AnyNonEmpty;
        let exact = Credentials::Exact("Negotiate abc".into());
        let allowed = |credentials: &Credentials, headers: &HeaderMap| {
            check(credentials, &session, headers) == AuthDecision::Allow
        };
        assert!(allowed(&any, &with_header("Negotiate abc")));
        assert!(!allowed(&any, &with_header("  ")));
        assert!(!allowed(&any, &HeaderMap::new()));
        assert!(allowed(&exact, &with_header("Negotiate abc")));
        assert!(!allowed(
            &Credentials::Exact("Negotiate ab".into()),
            &with_header("Negotiate abc")
        ));
        assert!(with("credentials_ignored").ignores_credentials());
        assert!(!conformant().ignores_credentials());
    }

    #[test]
    fn completion_stamps() {
        let at = DateTime::parse_from_rfc3339("2026-11-28T03:01:02.123Z")
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(
            conformant().completion_stamp(at),
            "2026-11-28T03:01:02.123Z"
        );
        assert_eq!(
            with("completed_not_iso").completion_stamp(at),
            "11/28/2026 3:01:02 AM"
        );
        assert_eq!(
            with("completed_not_set").completion_stamp(at),
            NOT_COMPLETED
        );
    }

    #[test]
    fn completion_instants_keep_the_dialects_precision() {
        use chrono::Timelike;
        let submitted = DateTime::UNIX_EPOCH;
        for (dialect, unit) in [
            ("strict", 1_000_000),
            ("aspnet", 100),
            ("nocontent", 1_000_000),
        ] {
            let Some(dialect) = Dialect::from_name(dialect) else {
                panic!("no dialect {dialect}")
            };
            let at = Behaviour::new(dialect, None, Duration::ZERO).completion_instant(submitted);
            assert_eq!(at.nanosecond() % unit, 0, "{dialect}: {at}");
            assert!(at > submitted);
        }
    }
}
