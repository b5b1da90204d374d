//! The decisions a fault can change ([`Hook`]), and the small functions that make the changes.
//! A fault row of the catalogue (`faults.rs`) names one hook; [`Behaviour`] consults it at the
//! one place that decision is made. Adding a fault whose change fits an existing kind of hook is
//! one row; a new kind of change is one more variant here and one more question in
//! `behaviour.rs`.
//!
//! [`Behaviour`]: super::behaviour::Behaviour

use super::model::{NOT_COMPLETED, RequestObject};
use super::respond::{self, ApiError};
use crate::contract::lifecycle::{self, RequestState, TargetStatus};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::time::Duration;
use uuid::Uuid;

/// Which answer carries a Request object, for hooks that only touch one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// A GET of a request.
    Get,
    /// A PUT that succeeded (the state moved, or was claimed to).
    PutSuccess,
}

/// The one decision a fault changes, and how.
#[derive(Debug, Clone, Copy)]
pub enum Hook {
    /// Routing compares the API path prefix byte for byte (IIS compares it case-insensitively).
    ExactRouting,
    /// Every request is admitted whatever its credentials.
    AdmitAll,
    /// A `status` string outside the three wire values is answered as a no-op success.
    AcceptUnknownStatus,
    /// An unknown GUID is answered with a made-up request.
    FabricateUnknownIds,
    /// A GET of an unknown GUID fails with 500, while a PUT to it answers a made-up success.
    FabricateUnknownPuts,
    /// After this many requests that carried an `Authorization` header, every further one is
    /// answered 401 (the server's authentication broke in the middle of a run).
    AuthLostAfter(usize),
    /// The life-cycle table as the server applies it (the conformant one is
    /// [`lifecycle::transition`]).
    Transition(fn(RequestState, TargetStatus) -> Option<RequestState>),
    /// The state a refused PUT leaves behind (conformant: the state it found).
    AfterRefusal(fn(RequestState, TargetStatus) -> RequestState),
    /// A refused PUT deletes the request it refused (conformant: the request stays as it was).
    DeleteOnRefusal,
    /// The `Status` code written for a state (conformant: [`RequestState::code`]).
    StatusCode(fn(RequestState) -> i64),
    /// The `Completed` value written when a request completes at an instant.
    CompletionStamp(fn(DateTime<Utc>) -> String),
    /// A change a successful PUT makes besides Status and Completed (conformant: none).
    SideEffect(fn(&mut RequestObject)),
    /// A successful PUT answers its new state without storing it.
    SkipStore,
    /// A PUT decides from a read taken before this pause and writes after it, without the lock.
    RaceWindow(Duration),
    /// A change to the Request JSON of answers: every answer, or `only` the one named.
    RequestJson {
        only: Option<AnswerKind>,
        change: fn(&mut Map<String, Value>),
    },
    /// The serialized Request JSON of every answer that carries one (GET and successful PUT),
    /// changed as text: for changes a JSON value cannot hold, such as a member named twice.
    RequestText(fn(String) -> String),
    /// The HTTP answer of a successful PUT, from its JSON bytes.
    SuccessAnswer(fn(Vec<u8>) -> Response),
    /// A successful PUT waits the server's configured slow delay before answering.
    SlowSuccess,
    /// One API request in [`STALL_EVERY`] waits [`STALL_DELAY`] before it is handled.
    Stall,
    /// The connection layer replaces the answer of a successful PUT by bytes that are not HTTP.
    GarbageSuccess,
    /// The rendering of an error answer; `None` leaves the conformant one.
    ErrorAnswer(fn(&ApiError) -> Option<Response>),
}

/// How long the `no_lock` PUT holds its stale read before writing: long enough that concurrent
/// PUTs reliably overlap, short enough to keep tests quick.
pub const RACE_WINDOW: Duration = Duration::from_millis(100);

/// How many credentialed requests `auth_lost_mid_run` lets through: some cases of a run pass
/// before its authentication breaks.
pub const AUTH_LOST_AFTER: usize = 40;

/// `stall_1_in_50`: every 50th API request stalls...
pub const STALL_EVERY: u64 = 50;
/// ... for 300 ms: past a 200 ms p99 gate (2% of requests stalled puts the p99 on them), well
/// inside any exchange timeout, so every `run` check still passes.
pub const STALL_DELAY: Duration = Duration::from_millis(300);

/// Size of the Comment of the `huge_body` answer: past the harness's 8 MiB cap.
const HUGE_COMMENT_BYTES: usize = 9 * 1024 * 1024 + 512 * 1024;

/// A plausible undocumented payload for `extra_field`: base64 of a PKCS#10 header.
const REQUEST_DATA: &str = "MIICvDCCAaQCAQAwdzELMAkGA1UEBhMCVVMxDTALBgNVBAgMBFV0YWgx";

/// The state `target` leads to wherever the table allows it (it is the same from every state),
/// read from the table rather than restated.
pub fn destination(target: TargetStatus) -> Option<RequestState> {
    RequestState::ALL
        .into_iter()
        .find_map(|from| lifecycle::transition(from, target))
}

// Life cycle and storage.

pub fn reopen_final_states(from: RequestState, target: TargetStatus) -> Option<RequestState> {
    if from.is_final() {
        destination(target)
    } else {
        lifecycle::transition(from, target)
    }
}

/// `repeat_restamps`: completing a Completed request succeeds again (and so writes a new stamp).
pub fn complete_again(from: RequestState, target: TargetStatus) -> Option<RequestState> {
    match (from, target) {
        (RequestState::Completed, TargetStatus::Completed) => Some(RequestState::Completed),
        _ => lifecycle::transition(from, target),
    }
}

pub fn abandon_to_canceled(from: RequestState, target: TargetStatus) -> Option<RequestState> {
    let to = lifecycle::transition(from, target)?;
    Some(if target == TargetStatus::Abandoned {
        RequestState::Canceled
    } else {
        to
    })
}

pub fn store_refused_target(from: RequestState, target: TargetStatus) -> RequestState {
    destination(target).unwrap_or(from)
}

pub fn completed_as_7(state: RequestState) -> i64 {
    if state == RequestState::Completed {
        7
    } else {
        state.code()
    }
}

pub fn never_completed(_: DateTime<Utc>) -> String {
    NOT_COMPLETED.into()
}

/// `completed_far_future`: the largest value .NET's DateTime can hold.
pub fn far_future_stamp(_: DateTime<Utc>) -> String {
    "9999-12-31T23:59:59.9999999Z".into()
}

pub fn us_locale_stamp(at: DateTime<Utc>) -> String {
    at.format("%-m/%-d/%Y %-I:%M:%S %p").to_string()
}

pub fn change_request_type(object: &mut RequestObject) {
    object.request_type = object.request_type % 12 + 1;
}

// The Request JSON.

pub fn drop_flags(object: &mut Map<String, Value>) {
    object.shift_remove("Flags");
}

pub fn camel_case_keys(object: &mut Map<String, Value>) {
    *object = std::mem::take(object)
        .into_iter()
        .map(|(key, value)| {
            let mut chars = key.chars();
            let camel = chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or_default();
            (camel, value)
        })
        .collect();
}

pub fn status_as_string(object: &mut Map<String, Value>) {
    stringify(object, "Status");
}

pub fn smartcard_as_string(object: &mut Map<String, Value>) {
    stringify(object, "IsSmartcard");
}

fn stringify(object: &mut Map<String, Value>, key: &str) {
    if let Some(value) = object.get_mut(key) {
        *value = Value::String(value.to_string());
    }
}

pub fn null_data_collection(object: &mut Map<String, Value>) {
    object.insert("DataCollection".into(), Value::Null);
}

pub fn add_request_data(object: &mut Map<String, Value>) {
    object.insert("RequestData".into(), Value::String(REQUEST_DATA.into()));
}

pub fn random_uuid(object: &mut Map<String, Value>) {
    object.insert("Uuid".into(), Value::String(Uuid::new_v4().to_string()));
}

pub fn huge_comment(object: &mut Map<String, Value>) {
    object.insert(
        "Comment".into(),
        Value::String("A".repeat(HUGE_COMMENT_BYTES)),
    );
}

/// `duplicate_members`: a stale `"Status":99` first, the real Status later in the object; a
/// parser that keeps the last member (serde, Json.NET) sees nothing wrong.
pub fn status_named_twice(json: String) -> String {
    match json.strip_prefix('{') {
        Some(rest) if rest.starts_with('}') => json,
        Some(rest) => format!("{{\"Status\":99,{rest}"),
        None => json,
    }
}

// Framing of answers.

pub fn created_201(body: Vec<u8>) -> Response {
    respond::json_bytes(StatusCode::CREATED, body)
}

pub fn text_plain(body: Vec<u8>) -> Response {
    respond::bytes(StatusCode::OK, "text/plain; charset=utf-8", body)
}

pub fn cut_in_half(body: Vec<u8>) -> Response {
    let half = body.len() / 2;
    respond::json_bytes(StatusCode::OK, body[..half].to_vec())
}

pub fn short_body(body: Vec<u8>) -> Response {
    super::wire::short_body(body)
}

pub fn chunked(body: Vec<u8>) -> Response {
    respond::json_chunked(StatusCode::OK, body)
}

pub fn trace_in_500(error: &ApiError) -> Option<Response> {
    (error.status == StatusCode::INTERNAL_SERVER_ERROR)
        .then(|| respond::error_json_with_trace(error))
}

/// `race_loser_trace`: only the answer of a PUT that lost a race carries the trace.
pub fn trace_in_lost_race(error: &ApiError) -> Option<Response> {
    let lost = error
        .exception
        .as_ref()
        .is_some_and(|exception| exception.type_name == respond::SQL_EXCEPTION);
    lost.then(|| respond::error_json_with_trace(error))
}

/// `error_page_trace`: 500s are ASP.NET's own error page, stack trace included.
pub fn error_page_500(error: &ApiError) -> Option<Response> {
    (error.status == StatusCode::INTERNAL_SERVER_ERROR)
        .then(|| respond::error_page_with_trace(error))
}

pub fn html_4xx(error: &ApiError) -> Option<Response> {
    error
        .status
        .is_client_error()
        .then(|| respond::error_html(error))
}
