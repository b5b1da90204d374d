//! Where faults act. [`Behaviour`] is the server's configured fault seen as a set of hooks, one
//! per kind of decision (routing, authentication, life cycle, serialization, framing of the
//! answer); each hook is conformant unless its own faults are active, and each fault appears in
//! exactly one hook. Handlers ask the hooks and never test for a fault themselves.

use super::faults::Fault;
use super::model::{NOT_COMPLETED, RequestObject, dotnet_timestamp};
use super::respond::{self, ApiError};
use super::wire::{Hijack, short_body};
use crate::contract::lifecycle::{self, RequestState, TargetStatus};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::time::Duration;
use uuid::Uuid;

/// Which answer carries a Request object, for faults that only touch one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    /// A GET of a request.
    Get,
    /// A PUT that succeeded (the state moved, or was claimed to).
    PutSuccess,
}

/// The configured fault, if any, as hooks.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    fault: Option<Fault>,
    slow_delay: Duration,
}

/// How long the `no_lock` PUT holds its stale read before writing: long enough that concurrent
/// PUTs reliably overlap, short enough to keep tests quick.
const RACE_WINDOW: Duration = Duration::from_millis(100);

/// Size of the Comment of the `huge_body` answer: past the harness's 8 MiB cap.
const HUGE_COMMENT_BYTES: usize = 9 * 1024 * 1024 + 512 * 1024;

impl Behaviour {
    pub fn new(fault: Option<Fault>, slow_delay: Duration) -> Behaviour {
        Behaviour { fault, slow_delay }
    }

    fn is(self, fault: Fault) -> bool {
        self.fault == Some(fault)
    }

    /// Routing: `path` without `prefix`, compared ASCII-case-insensitively as IIS does, or
    /// exactly under `case_sensitive_path`.
    pub fn strip_prefix<'a>(self, path: &'a str, prefix: &str) -> Option<&'a str> {
        let head = path.get(..prefix.len())?;
        let matches = if self.is(Fault::CaseSensitivePath) {
            head == prefix
        } else {
            head.eq_ignore_ascii_case(prefix)
        };
        matches.then(|| path.get(prefix.len()..)).flatten()
    }

    /// Authentication: whether every request is admitted whatever its credentials
    /// (`credentials_ignored`); otherwise `auth::check` decides.
    pub fn ignores_credentials(self) -> bool {
        self.is(Fault::CredentialsIgnored)
    }

    /// Body validation: whether a `status` string outside the three wire values is answered as
    /// a no-op success instead of 400 (`invalid_status_accepted`).
    pub fn accepts_unknown_status(self) -> bool {
        self.is(Fault::InvalidStatusAccepted)
    }

    /// Lookup: whether an unknown GUID is answered with a made-up request (`unknown_id_200`).
    pub fn fabricates_unknown_ids(self) -> bool {
        self.is(Fault::UnknownId200)
    }

    /// The life cycle: the one table of section 5, except that `final_state_reopened` lets
    /// final states move and `abandoned_wrong_code` sends Abandoned to Canceled.
    pub fn transition(self, from: RequestState, target: TargetStatus) -> Option<RequestState> {
        let to = if self.is(Fault::FinalStateReopened) && from.is_final() {
            destination(target)
        } else {
            lifecycle::transition(from, target)
        }?;
        if self.is(Fault::AbandonedWrongCode) && target == TargetStatus::Abandoned {
            return Some(RequestState::Canceled);
        }
        Some(to)
    }

    /// The state a refused PUT leaves behind: unchanged, or under `refusal_changes_state` the
    /// state the target would have led to.
    pub fn state_after_refusal(self, from: RequestState, target: TargetStatus) -> RequestState {
        if self.is(Fault::RefusalChangesState) {
            destination(target).unwrap_or(from)
        } else {
            from
        }
    }

    /// The `Status` code written for `state` (`wrong_status_code`: Completed becomes 7).
    pub fn status_code(self, state: RequestState) -> i64 {
        if self.is(Fault::WrongStatusCode) && state == RequestState::Completed {
            7
        } else {
            state.code()
        }
    }

    /// The `Completed` value written when a request completes at `at`.
    pub fn completion_stamp(self, at: DateTime<Utc>) -> String {
        match self.fault {
            Some(Fault::CompletedNotSet) => NOT_COMPLETED.into(),
            Some(Fault::CompletedNotIso) => at.format("%-m/%-d/%Y %-I:%M:%S %p").to_string(),
            _ => dotnet_timestamp(at),
        }
    }

    /// Changes a successful PUT makes besides Status and Completed: none, or under
    /// `immutable_changed` a different RequestType.
    pub fn side_effects(self, object: &mut RequestObject) {
        if self.is(Fault::ImmutableChanged) {
            object.request_type = object.request_type % 12 + 1;
        }
    }

    /// Whether a successful PUT stores its new state (`not_persisted`: it only answers it).
    pub fn persists_success(self) -> bool {
        !self.is(Fault::NotPersisted)
    }

    /// `None`: a PUT reads and writes under one lock. `Some(wait)` (`no_lock`): it reads, lets
    /// go of the lock, waits, then writes what it decided from the stale read.
    pub fn race_window(self) -> Option<Duration> {
        self.is(Fault::NoLock).then_some(RACE_WINDOW)
    }

    /// Serialization: the faults that change the Request JSON of an answer.
    pub fn apply_to_request_json(self, exchange: Exchange, json: &mut Value) {
        let Some(object) = json.as_object_mut() else {
            return;
        };
        match (self.fault, exchange) {
            (Some(Fault::MissingField), _) => {
                object.shift_remove("Flags");
            }
            (Some(Fault::CamelCaseKeys), _) => *object = camel_case_keys(std::mem::take(object)),
            (Some(Fault::StatusAsString), _) => stringify(object, "Status"),
            (Some(Fault::BooleanAsString), _) => stringify(object, "IsSmartcard"),
            (Some(Fault::NullArray), _) => {
                object.insert("DataCollection".into(), Value::Null);
            }
            (Some(Fault::ExtraField), _) => {
                object.insert("RequestData".into(), Value::String(REQUEST_DATA.into()));
            }
            (Some(Fault::UuidMismatch), Exchange::PutSuccess) => {
                object.insert("Uuid".into(), Value::String(Uuid::new_v4().to_string()));
            }
            (Some(Fault::HugeBody), Exchange::PutSuccess) => {
                object.insert(
                    "Comment".into(),
                    Value::String("A".repeat(HUGE_COMMENT_BYTES)),
                );
            }
            _ => {}
        }
    }

    /// Framing: the HTTP answer of a successful PUT carrying `json`.
    pub async fn success_answer(self, json: &Value, hijack: &Hijack) -> Response {
        let body = json.to_string().into_bytes();
        match self.fault {
            Some(Fault::Success201) => respond::json_bytes(StatusCode::CREATED, body),
            Some(Fault::TextContentType) => {
                respond::bytes(StatusCode::OK, "text/plain; charset=utf-8", body)
            }
            Some(Fault::TruncatedJson) => {
                let half = body.len() / 2;
                respond::json_bytes(StatusCode::OK, body[..half].to_vec())
            }
            Some(Fault::ShortBody) => short_body(body),
            Some(Fault::ChunkedBody) => respond::json_chunked(StatusCode::OK, body),
            Some(Fault::SlowAnswer) => {
                tokio::time::sleep(self.slow_delay).await;
                respond::json_bytes(StatusCode::OK, body)
            }
            Some(Fault::GarbageHttp) => {
                // The connection layer swaps whatever hyper writes for this answer for garbage.
                hijack.arm();
                respond::json_bytes(StatusCode::OK, body)
            }
            _ => respond::json_bytes(StatusCode::OK, body),
        }
    }

    /// The body of an error answer: JSON with a correlation ID, except that `stack_trace_500`
    /// adds the exception dump to 500s and `error_as_html` turns 4xx into HTML pages.
    pub fn error_answer(self, error: &ApiError) -> Response {
        match self.fault {
            Some(Fault::StackTrace500) if error.status == StatusCode::INTERNAL_SERVER_ERROR => {
                respond::error_json_with_trace(error)
            }
            Some(Fault::ErrorAsHtml) if error.status.is_client_error() => {
                respond::error_html(error)
            }
            _ => respond::error_json(error),
        }
    }
}

/// The state `target` leads to wherever the table allows it (it is the same from every state),
/// read from the table rather than restated.
fn destination(target: TargetStatus) -> Option<RequestState> {
    RequestState::ALL
        .into_iter()
        .find_map(|from| lifecycle::transition(from, target))
}

/// A plausible undocumented payload for `extra_field`: base64 of a PKCS#10 header.
const REQUEST_DATA: &str = "MIICvDCCAaQCAQAwdzELMAkGA1UEBhMCVVMxDTALBgNVBAgMBFV0YWgx";

fn camel_case_keys(object: Map<String, Value>) -> Map<String, Value> {
    object
        .into_iter()
        .map(|(key, value)| {
            let mut chars = key.chars();
            let camel = chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or_default();
            (camel, value)
        })
        .collect()
}

fn stringify(object: &mut Map<String, Value>, key: &str) {
    if let Some(value) = object.get_mut(key) {
        *value = Value::String(value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::model::documented_example;

    fn with(fault: Fault) -> Behaviour {
        Behaviour::new(Some(fault), Duration::from_secs(1))
    }

    fn conformant() -> Behaviour {
        Behaviour::new(None, Duration::from_secs(1))
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
        let reopened = with(Fault::FinalStateReopened);
        assert_eq!(
            reopened.transition(RequestState::Failed, TargetStatus::Completed),
            Some(RequestState::Completed)
        );
        assert_eq!(
            reopened.transition(RequestState::Pending, TargetStatus::Completed),
            None
        );
        let abandoned = with(Fault::AbandonedWrongCode);
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
        with(Fault::CamelCaseKeys).apply_to_request_json(Exchange::Get, &mut json);
        assert!(json.get("requestType").is_some() && json.get("RequestType").is_none());
        assert!(json.get("isDataCollectionComplete").is_some());

        let mut json = example_json();
        with(Fault::StatusAsString).apply_to_request_json(Exchange::Get, &mut json);
        assert_eq!(json["Status"], "3");

        let mut json = example_json();
        with(Fault::MissingField).apply_to_request_json(Exchange::Get, &mut json);
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
        with(Fault::UuidMismatch).apply_to_request_json(Exchange::Get, &mut json);
        assert_eq!(
            json,
            example_json(),
            "uuid_mismatch only touches PUT answers"
        );
    }

    #[test]
    fn authorization_rules() {
        use super::super::Credentials;
        use super::super::auth::{Session, Verdict, check};
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
            check(credentials, &session, headers) == Verdict::Allow
        };
        assert!(allowed(&any, &with_header("Negotiate abc")));
        assert!(!allowed(&any, &with_header("  ")));
        assert!(!allowed(&any, &HeaderMap::new()));
        assert!(allowed(&exact, &with_header("Negotiate abc")));
        assert!(!allowed(
            &Credentials::Exact("Negotiate ab".into()),
            &with_header("Negotiate abc")
        ));
        assert!(with(Fault::CredentialsIgnored).ignores_credentials());
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
            with(Fault::CompletedNotIso).completion_stamp(at),
            "11/28/2026 3:01:02 AM"
        );
        assert_eq!(
            with(Fault::CompletedNotSet).completion_stamp(at),
            NOT_COMPLETED
        );
    }
}
