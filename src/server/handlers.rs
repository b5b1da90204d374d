//! The exchanges: routing of API paths (case-insensitive, as IIS), authentication, GET and PUT
//! of a request, the provider-state endpoint, and the log line of each exchange.
//!
//! Handlers hold the conformant logic; every deviation is asked of [`Behaviour`].

use super::ConnState;
use super::auth::AuthDecision;
use super::behaviour::Behaviour;
use super::binding::{BodyVerdict, read_put_body};
use super::dialect::Routing;
use super::hooks::AnswerKind;
use super::model::{RequestObject, generated_request};
use super::respond::{self, ApiError, Exception};
use super::store::{Removal, StoredRequest};
use super::update::{PutOutcome, apply_put};
use crate::contract::REQUESTS_PATH;
use crate::contract::lifecycle::{RequestState, TargetStatus};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::header::ALLOW;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use uuid::Uuid;

/// Marks an answer that the connection layer will replace by garbage, for the log line.
#[derive(Debug, Clone, Copy)]
pub struct Garbled;

/// Middleware: one stderr line per exchange when logging is on. Only the method, the path and
/// the status are written: never header values (Authorization, Cookie) nor bodies.
pub async fn log_exchange(State(log): State<bool>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    if log {
        let note = if response.extensions().get::<Garbled>().is_some() {
            " (sent as garbage)"
        } else {
            ""
        };
        super::log::line(format!(
            "cmconform server: {method} {path} -> {}{note}",
            response.status().as_u16()
        ));
    }
    response
}

/// Everything but the provider-state endpoint: the CM REST API.
pub async fn api(
    State(conn): State<ConnState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let count = conn.app.api_requests.fetch_add(1, Ordering::Relaxed);
    if let Some(delay) = conn.app.behaviour.stall(count) {
        tokio::time::sleep(delay).await;
    }
    let mut response = match unauthorized(&conn, &headers) {
        Some(denied) => denied,
        None => exchange(&conn, method, &uri, &headers, body).await,
    };
    conn.app.behaviour.decorate(&mut response);
    response
}

/// The 401 of a request that is not let in, or `None` to go on.
fn unauthorized(conn: &ConnState, headers: &HeaderMap) -> Option<Response> {
    let behaviour = conn.app.behaviour;
    if behaviour.ignores_credentials() {
        return None;
    }
    let credentials = &conn.app.config.credentials;
    let decision = match super::auth::check(credentials, &conn.auth, headers) {
        AuthDecision::Allow if conn.app.authentication_lost() => {
            AuthDecision::Deny(credentials.challenges())
        }
        decision => decision,
    };
    let AuthDecision::Deny(challenges) = decision else {
        return None;
    };
    let error = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Authorization has been denied for this request.",
    );
    Some(behaviour.unauthorized(&error, &challenges))
}

/// Routing, then GET or PUT of one request.
async fn exchange(
    conn: &ConnState,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let behaviour = conn.app.behaviour;
    let path = behaviour.routed_path(uri.path());
    let Some(segment) = request_id_segment(behaviour, &path) else {
        let message = format!("No HTTP resource was found that matches the request URI '{path}'.");
        return fail(conn, ApiError::new(StatusCode::NOT_FOUND, message));
    };
    if method != Method::GET && method != Method::PUT {
        let message = format!("The requested resource does not support http method '{method}'.");
        let error = ApiError::new(StatusCode::METHOD_NOT_ALLOWED, message);
        return fail(conn, error.with_header(ALLOW, "GET, PUT"));
    }
    let Some(id) = parse_guid(segment, behaviour.dialect().routing) else {
        let message = format!("The value '{segment}' is not a valid request id: expected a GUID.");
        return fail(conn, ApiError::new(StatusCode::BAD_REQUEST, message));
    };
    let result = if method == Method::GET {
        get_request(conn, id)
    } else {
        put_request(conn, id, headers, body).await
    };
    result.unwrap_or_else(|error| fail(conn, error))
}

/// Renders an error as the behaviour wants it; a 500's exception goes to the server log only,
/// next to its correlation ID, as IIS does.
fn fail(conn: &ConnState, error: ApiError) -> Response {
    if let (true, Some(exception)) = (conn.app.config.log, &error.exception) {
        super::log::line(format!(
            "cmconform server: correlation {}: {}",
            error.correlation,
            exception.dump()
        ));
    }
    conn.app.behaviour.error_answer(&error)
}

/// The raw `{id}` segment of `/CertificateManagement/api/v1.0/requests/{id}`, if `path` is one.
fn request_id_segment(behaviour: Behaviour, path: &str) -> Option<&str> {
    let segment = behaviour
        .strip_prefix(path, REQUESTS_PATH)?
        .strip_prefix('/')?;
    (!segment.is_empty() && !segment.contains('/')).then_some(segment)
}

/// The GUID of an `{id}` segment (the parenthesized form only under IIS routing).
fn parse_guid(segment: &str, routing: Routing) -> Option<Uuid> {
    crate::contract::guid::from_segment(segment, routing == Routing::Iis)
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("The request {id} was not found."),
    )
}

/// The 500 of a GET of an unknown id under `unknown_id_get_500`: the lookup dereferences the
/// missing request (the exception goes to the log, the client sees the correlation ID).
fn lookup_failure(id: Uuid) -> ApiError {
    ApiError::internal(Exception {
        type_name: "System.NullReferenceException",
        message: format!("Object reference not set to an instance of an object (request {id})."),
        frames: vec!["Microsoft.Clm.Rest.Controllers.RequestsController.Get(Guid id)".into()],
    })
}

/// A request made up for an unknown id (the `unknown_id_200` fault): realistic, Approved, and
/// carrying the asked-for id; never stored.
fn fabricated(id: Uuid) -> RequestObject {
    let (mut object, _) = generated_request(RequestState::Approved);
    object.uuid = id;
    object
}

fn request_json(behaviour: Behaviour, exchange: AnswerKind, object: &RequestObject) -> Value {
    let mut json = serde_json::to_value(object).unwrap_or(Value::Null);
    behaviour.apply_to_request_json(exchange, &mut json);
    json
}

fn get_request(conn: &ConnState, id: Uuid) -> Result<Response, ApiError> {
    let behaviour = conn.app.behaviour;
    let object = match conn.app.store.get(id) {
        Some(stored) => stored.object,
        None if behaviour.fabricates_unknown_ids(AnswerKind::Get) => fabricated(id),
        None if behaviour.fails_unknown_gets() => return Err(lookup_failure(id)),
        None => return Err(not_found(id)),
    };
    let json = request_json(behaviour, AnswerKind::Get, &object);
    let body = behaviour.request_bytes(&json);
    Ok(respond::json_bytes(StatusCode::OK, body))
}

async fn put_request(
    conn: &ConnState,
    id: Uuid,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let behaviour = conn.app.behaviour;
    let body = body.map_err(|rejection| {
        ApiError::new(
            rejection.status(),
            format!("The request body could not be read: {rejection}"),
        )
    })?;
    let binding = behaviour.dialect().binding;
    let object = match read_put_body(binding, headers, &body)? {
        BodyVerdict::Target(target) => match apply_put(&conn.app, id, target).await {
            Some(PutOutcome::Accepted(object)) => *object,
            Some(PutOutcome::Refused { from }) => {
                let store = &conn.app.store;
                let lost = store
                    .get(id)
                    .is_some_and(|r| r.moved_within(LOST_RACE_WINDOW));
                return Err(refusal(id, from, target, lost));
            }
            None if behaviour.fabricates_unknown_ids(AnswerKind::PutSuccess) => fabricated(id),
            None => return Err(not_found(id)),
        },
        BodyVerdict::UnknownStatus(_) if behaviour.accepts_unknown_status() => {
            match conn.app.store.get(id) {
                Some(StoredRequest { object, .. }) => object,
                None => return Err(not_found(id)),
            }
        }
        BodyVerdict::UnknownStatus(status) => {
            let message = format!(
                "'{status}' is not a valid status: expected \"Completed\", \"Canceled\" or \"Abandoned\"."
            );
            return Err(ApiError::new(StatusCode::BAD_REQUEST, message));
        }
    };
    let json = request_json(behaviour, AnswerKind::PutSuccess, &object);
    let mut response = behaviour.success_answer(&json, &conn.hijack).await;
    if conn.hijack.is_armed() {
        response.extensions_mut().insert(Garbled);
    }
    Ok(response)
}

/// The CM SDK refusing a transition: it throws, and the API answers 500 (section 2).
/// How soon after another PUT moved a request a refusal counts as that PUT's lost race.
const LOST_RACE_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

/// The exception behind a refusal: a PUT that lost a race to another one moments ago meets the
/// database's deadlock, any other the operation's own check (the answer hides both).
fn refusal(id: Uuid, from: RequestState, target: TargetStatus, lost_race: bool) -> ApiError {
    if lost_race {
        return ApiError::internal(Exception {
            type_name: respond::SQL_EXCEPTION,
            message: "Transaction (Process ID 57) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.".into(),
            frames: vec![
                "System.Data.SqlClient.SqlConnection.OnError(SqlException exception, Boolean breakConnection, Action`1 wrapCloseInAction)".into(),
                "Microsoft.Clm.Data.RequestStore.UpdateStatus(Guid requestUuid, Int32 status)".into(),
                "Microsoft.Clm.Rest.Controllers.RequestsController.Put(Guid id, RequestStatusUpdate update)".into(),
            ],
        });
    }
    let operation = match target {
        TargetStatus::Completed => {
            "Microsoft.Clm.Provision.ExecuteOperations.Complete(Guid requestUuid)"
        }
        TargetStatus::Canceled => {
            "Microsoft.Clm.Provision.RequestOperations.Cancel(Guid requestUuid)"
        }
        TargetStatus::Abandoned => {
            "Microsoft.Clm.Provision.RequestOperations.Abandon(Guid requestUuid)"
        }
    };
    ApiError::internal(Exception {
        type_name: "System.InvalidOperationException",
        message: format!(
            "The request {id} is in status {} ({}) and cannot be set to {}.",
            from.name(),
            from.code(),
            target.wire()
        ),
        frames: vec![
            operation.into(),
            "Microsoft.Clm.Rest.Controllers.RequestsController.Put(Guid id, RequestStatusUpdate update)".into(),
            "lambda_method(Closure , Object , Object[] )".into(),
            "System.Web.Http.Controllers.ReflectedHttpActionDescriptor.ActionExecutor.Execute(Object instance, Object[] arguments)".into(),
        ],
    })
}

/// `POST /_cmconform/states`, the Pact-style provider-state endpoint. No authentication and no
/// fault: the harness must always be able to stage states.
/// - `{"state": "<state>", "action": "setup"}` (or no action) stages a fresh request in that
///   state and answers `{"id": "<guid>"}`;
/// - `{"state": "<state>", "action": "teardown", "params": {"id": "<guid>"}}` (or `"id"` at the
///   top level) forgets that request and
///   answers `{"id": "<guid>", "removed": true}` (`false` if it was already gone: evicted or
///   torn down before, so a repeated teardown is harmless). The documented example is not
///   staged and cannot be torn down (400).
pub async fn stage(
    State(conn): State<ConnState>,
    method: Method,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if method != Method::POST {
        let error = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Use POST, not {method}."),
        );
        return respond::error_json(&error.with_header(ALLOW, "POST"));
    }
    let action = body
        .map_err(|rejection| rejection.to_string())
        .and_then(|body| staging_request(&body));
    match action {
        Ok(StateAction::Setup(state)) => setup(&conn, state),
        Ok(StateAction::Teardown(id)) => teardown(&conn, id),
        Err(message) => respond::error_json(&ApiError::new(StatusCode::BAD_REQUEST, message)),
    }
}

fn setup(conn: &ConnState, state: RequestState) -> Response {
    let mut staged = StoredRequest::generated(state);
    staged.object.status = conn.app.behaviour.status_code(state);
    let id = staged.id();
    conn.app.store.insert(staged);
    respond::json_value(StatusCode::OK, &json!({ "id": id }))
}

fn teardown(conn: &ConnState, id: Uuid) -> Response {
    let removed = match conn.app.store.remove(id) {
        Removal::Removed => true,
        Removal::Unknown => false,
        Removal::Pinned => {
            let message =
                format!("{id} is the documented example, not a staged request: it stays.");
            return respond::error_json(&ApiError::new(StatusCode::BAD_REQUEST, message));
        }
    };
    respond::json_value(StatusCode::OK, &json!({ "id": id, "removed": removed }))
}

/// What a state-endpoint body asks for.
#[derive(Debug, PartialEq)]
enum StateAction {
    Setup(RequestState),
    Teardown(Uuid),
}

/// The action a staging body asks for, or what is wrong with the body. A teardown names its
/// state too (Pact sends it); it must be a state, but the id alone says what to forget.
fn staging_request(body: &[u8]) -> Result<StateAction, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| format!("body is not JSON: {error}"))?;
    let object = value.as_object().ok_or("body must be a JSON object")?;
    let state: RequestState = match object.get("state") {
        Some(Value::String(name)) => name.parse()?,
        Some(other) => return Err(format!("'state' must be a string, not {other}")),
        None => return Err("body has no 'state' property".into()),
    };
    match object.get("action") {
        None => Ok(StateAction::Setup(state)),
        Some(Value::String(action)) if action == "setup" => Ok(StateAction::Setup(state)),
        // Pact carries the id in `params`; a top-level `id` is accepted too.
        Some(Value::String(action)) if action == "teardown" => match object
            .get("params")
            .and_then(|params| params.get("id"))
            .or_else(|| object.get("id"))
        {
            Some(Value::String(id)) => Uuid::parse_str(id)
                .map(StateAction::Teardown)
                .map_err(|_| format!("'id' must be a GUID, not \"{id}\"")),
            Some(other) => Err(format!("'id' must be a GUID string, not {other}")),
            None => Err("a teardown needs the 'id' that its setup answered".into()),
        },
        Some(other) => Err(format!(
            "'action' must be \"setup\" or \"teardown\", not {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::dialect::Dialect;
    use crate::server::faults::named;
    use std::time::Duration;

    #[test]
    fn routing_is_case_insensitive_unless_faulted() {
        let conformant = Behaviour::new(Dialect::strict(), None, Duration::ZERO);
        let id = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";
        let lower = format!("/certificatemanagement/api/v1.0/requests/{id}");
        assert_eq!(request_id_segment(conformant, &lower), Some(id));
        assert_eq!(
            request_id_segment(conformant, "/CertificateManagement/api/v1.0/requests/"),
            None
        );
        assert_eq!(
            request_id_segment(conformant, "/CertificateManagement/api/v1.0/requests/a/b"),
            None
        );
        let strict = Behaviour::new(
            Dialect::strict(),
            Some(named("case_sensitive_path")),
            Duration::ZERO,
        );
        assert_eq!(request_id_segment(strict, &lower), None);
        assert_eq!(
            request_id_segment(strict, &format!("{REQUESTS_PATH}/{id}")),
            Some(id)
        );
    }

    #[test]
    fn guid_forms() {
        let id = Uuid::from_u128(0xa9b4b42c_cc50_4c9b_89d1_bbc0bcd5a099);
        for form in [
            "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099",
            "A9B4B42C-CC50-4C9B-89D1-BBC0BCD5A099",
            "a9b4b42ccc504c9b89d1bbc0bcd5a099",
            "{a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099}",
            "%7Ba9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099%7D",
        ] {
            for routing in [Routing::Canonical, Routing::Iis] {
                assert_eq!(parse_guid(form, routing), Some(id), "{form}");
            }
        }
        let parenthesized = "(a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099)";
        assert_eq!(parse_guid(parenthesized, Routing::Iis), Some(id));
        assert_eq!(
            parse_guid("%28a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099%29", Routing::Iis),
            Some(id)
        );
        assert_eq!(parse_guid(parenthesized, Routing::Canonical), None);
        assert_eq!(
            parse_guid("(a9b4b42ccc504c9b89d1bbc0bcd5a099)", Routing::Iis),
            None
        );
        for form in [
            "%+a",
            "not-a-guid",
            "urn:uuid:a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099",
            "%zz",
            "%",
            "%FF",
        ] {
            assert_eq!(parse_guid(form, Routing::Iis), None, "{form}");
        }
    }

    #[test]
    fn staging_bodies() {
        use StateAction::{Setup, Teardown};
        let id = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";
        let teardown = format!(r#"{{"state":"approved","action":"teardown","id":"{id}"}}"#);
        let pact =
            format!(r#"{{"state":"Approved","action":"teardown","params":{{"id":"{id}"}}}}"#);
        let ok: [(&[u8], StateAction); 5] = [
            (
                br#"{"state":"approved","action":"setup"}"#,
                Setup(RequestState::Approved),
            ),
            // State names are case-insensitive (Pact states say "Approved").
            (br#"{"state":"Approved"}"#, Setup(RequestState::Approved)),
            (br#"{"state":"failed"}"#, Setup(RequestState::Failed)),
            (
                teardown.as_bytes(),
                Teardown(Uuid::from_u128(0xa9b4b42c_cc50_4c9b_89d1_bbc0bcd5a099)),
            ),
            (
                pact.as_bytes(),
                Teardown(Uuid::from_u128(0xa9b4b42c_cc50_4c9b_89d1_bbc0bcd5a099)),
            ),
        ];
        for (body, action) in ok {
            assert_eq!(staging_request(body), Ok(action));
        }
        let errors: [(&[u8], &str); 6] = [
            (br#"{"state":"Approval"}"#, "expected one of"),
            (
                br#"{"state":"approved","action":"teardown"}"#,
                "needs the 'id'",
            ),
            (
                br#"{"state":"approved","action":"teardown","id":"x"}"#,
                "must be a GUID",
            ),
            (
                br#"{"state":"approved","action":"teardown","id":5}"#,
                "GUID string",
            ),
            (br#"{"state":"approved","action":"reset"}"#, "\"teardown\""),
            (b"nope", "not JSON"),
        ];
        for (body, expected) in errors {
            let result = staging_request(body);
            assert!(
                result.as_ref().is_err_and(|m| m.contains(expected)),
                "{}: {result:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
