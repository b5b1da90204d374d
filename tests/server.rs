//! The embedded reference server, driven over real HTTP on 127.0.0.1 with reqwest: the
//! documented example, the refusals, the life-cycle table, the state endpoint, and for every
//! fault a demonstration that it really breaks its rule.

mod common;

use cmconform::contract::lifecycle::{RequestState, TargetStatus, transition};
use cmconform::server::{Credentials, Dialect, Fault, RunningServer, ServerConfig, spawn};
use common::documented_answer;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

const AUTH: &str = "Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag";
const EXAMPLE_ID: &str = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";
const PATH: &str = "/CertificateManagement/api/v1.0/requests";
const JSON_TYPE: &str = "application/json; charset=utf-8";
const NOT_COMPLETED: &str = "0001-01-01T00:00:00";

/// The documented field order is the harness's own list (section 3, in the order of section 4).
use cmconform::contract::request_fields::DOCUMENTED_FIELDS as FIELD_ORDER;

/// A test server and a client for it.
struct Harness {
    server: RunningServer,
    client: Client,
}

impl Harness {
    async fn start(fault: Option<Fault>) -> Harness {
        Harness::with_config(ServerConfig {
            fault,
            ..ServerConfig::default()
        })
        .await
    }

    async fn with_config(config: ServerConfig) -> Harness {
        let server = spawn(config, 0).await.expect("server starts");
        assert!(server.addr().ip().is_loopback());
        Harness {
            server,
            client: client(Duration::from_secs(10)),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    fn request_url(&self, id: &str) -> String {
        self.url(&format!("{PATH}/{id}"))
    }

    async fn stage(&self, state: RequestState) -> String {
        let answer: Value = self
            .client
            .post(self.server.state_url())
            .json(&json!({ "state": state.name(), "action": "setup" }))
            .send()
            .await
            .expect("state endpoint answers")
            .json()
            .await
            .expect("state answer is JSON");
        answer["id"]
            .as_str()
            .expect("state answer has an id")
            .to_string()
    }

    fn put_request(&self, id: &str, body: &str) -> reqwest::RequestBuilder {
        self.put_typed(id, body, "application/json")
    }

    /// A PUT with the given Content-Type (reqwest's `header` adds, it does not replace).
    fn put_typed(&self, id: &str, body: &str, content_type: &str) -> reqwest::RequestBuilder {
        self.client
            .put(self.request_url(id))
            .header(AUTHORIZATION, AUTH)
            .header(CONTENT_TYPE, content_type)
            .body(body.to_string())
    }

    async fn put(&self, id: &str, target: TargetStatus) -> Response {
        self.put_request(id, &format!(r#"{{"status":"{}"}}"#, target.wire()))
            .send()
            .await
            .expect("PUT answers")
    }

    /// The canonical Completed PUT without an Authorization header.
    async fn put_anonymously(&self, id: &str) -> Response {
        self.client
            .put(self.request_url(id))
            .header(CONTENT_TYPE, "application/json")
            .body(r#"{"status":"Completed"}"#)
            .send()
            .await
            .expect("PUT answers")
    }

    async fn get(&self, id: &str) -> Response {
        self.get_path(&format!("{PATH}/{id}")).await
    }

    /// An authenticated GET of any path.
    async fn get_path(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header(AUTHORIZATION, AUTH)
            .send()
            .await
            .expect("GET answers")
    }

    async fn get_json(&self, id: &str) -> Value {
        let response = self.get(id).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("GET answer is JSON")
    }

    async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

fn client(timeout: Duration) -> Client {
    Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("client builds")
}

fn header(response: &Response, name: reqwest::header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

/// Status, JSON body, and the framing rules every conformant answer follows.
async fn conformant_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    assert_eq!(header(&response, CONTENT_TYPE), JSON_TYPE);
    let declared: usize = header(&response, CONTENT_LENGTH)
        .parse()
        .expect("Content-Length");
    let bytes = response.bytes().await.expect("body");
    assert_eq!(bytes.len(), declared);
    (status, serde_json::from_slice(&bytes).expect("JSON body"))
}

fn keys(json: &Value) -> Vec<&str> {
    json.as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn timestamp(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(text).expect("ISO timestamp")
}

/// Asserts a conformant 500: a correlation ID in the message and in its field, no stack trace.
fn assert_internal_error(body: &Value) {
    let message = body["Message"].as_str().expect("Message");
    let correlation = body["CorrelationId"].as_str().expect("CorrelationId");
    assert!(uuid::Uuid::parse_str(correlation).is_ok());
    assert_eq!(
        message,
        format!("An error has occurred. Correlation ID: {correlation}")
    );
    let text = body.to_string();
    assert!(
        !text.contains(" at ") && !text.contains("System."),
        "{text}"
    );
}

#[tokio::test]
async fn documented_example_reproduces() {
    let harness = Harness::start(None).await;
    let before = harness.get_json(EXAMPLE_ID).await;
    assert_eq!(before["Status"], 3);
    assert_eq!(before["Completed"], NOT_COMPLETED);

    let url = harness.url(&format!(
        "/certificatemanagement/api/v1.0/requests/{EXAMPLE_ID}"
    ));
    let response = harness
        .client
        .put(url)
        .header(AUTHORIZATION, AUTH)
        .header(CONTENT_TYPE, "application/json")
        .body("{\n    \"status\":\"Completed\"\n}")
        .send()
        .await
        .expect("PUT answers");
    let (status, body) = conformant_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&body), FIELD_ORDER);
    let completed = body["Completed"].as_str().expect("Completed is a string");
    assert!(completed.ends_with('Z'));
    assert!(timestamp(completed) > timestamp("2015-07-07T23:36:21.93Z"));
    let mut expected = documented_answer();
    expected["Completed"] = body["Completed"].clone();
    assert_eq!(body, expected);

    let after = harness.get_json(EXAMPLE_ID).await;
    assert_eq!(after, body, "GET shows what the PUT answered");
    let again = harness.put(EXAMPLE_ID, TargetStatus::Completed).await;
    assert_eq!(
        again.status(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "Completed is final"
    );
    harness.shutdown().await;
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_refused_and_change_nothing() {
    let harness = Harness::with_config(ServerConfig {
        credentials: Credentials::Exact(AUTH.into()),
        ..ServerConfig::default()
    })
    .await;
    let id = harness.stage(RequestState::Approved).await;
    for authorization in [None, Some("Negotiate other"), Some("")] {
        let mut request = harness
            .client
            .put(harness.request_url(&id))
            .header(CONTENT_TYPE, "application/json")
            .body(r#"{"status":"Completed"}"#);
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        let response = request.send().await.expect("answers");
        assert_eq!(header(&response, WWW_AUTHENTICATE), "Negotiate");
        let (status, body) = conformant_json(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
        assert!(body["Message"].is_string() && body["CorrelationId"].is_string());
    }
    let unauthenticated_get = harness
        .client
        .get(harness.request_url(&id))
        .send()
        .await
        .expect("answers");
    assert_eq!(unauthenticated_get.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(harness.get_json(&id).await["Status"], 3);
    assert_eq!(
        harness.put(&id, TargetStatus::Completed).await.status(),
        StatusCode::OK
    );
    harness.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_are_refused_and_change_nothing() {
    let harness = Harness::start(None).await;
    let id = harness.stage(RequestState::Approved).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let cases: Vec<(reqwest::RequestBuilder, StatusCode)> = vec![
        (
            harness.put_typed(&id, r#"{"status":"Completed"}"#, "text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            harness
                .client
                .put(harness.request_url(&id))
                .header(AUTHORIZATION, AUTH)
                .body(r#"{"status":"Completed"}"#),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            harness.put_typed(&id, r#"{"status":"Completed"}"#, "application/xml"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (harness.put_request(&id, ""), StatusCode::BAD_REQUEST),
        (
            harness.put_request(&id, r#"{"status":"Completed""#),
            StatusCode::BAD_REQUEST,
        ),
        (
            harness.put_request(&id, r#"{"status":"completed"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            harness.put_request(&id, r#"{"status":"Approved"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            harness.put_request(&id, r#"{"status":8}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            harness.put_request(&id, r#"["Completed"]"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            harness.put_request(&id, r#"{"Status":"Completed"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            harness.put_request("not-a-guid", r#"{"status":"Completed"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            harness.put_request(&unknown, r#"{"status":"Completed"}"#),
            StatusCode::NOT_FOUND,
        ),
        (
            harness
                .client
                .get(harness.request_url(&unknown))
                .header(AUTHORIZATION, AUTH),
            StatusCode::NOT_FOUND,
        ),
        (
            harness
                .client
                .post(harness.request_url(&id))
                .header(AUTHORIZATION, AUTH),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            harness
                .client
                .get(harness.url("/CertificateManagement/api/v1.0/profiles/x"))
                .header(AUTHORIZATION, AUTH),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (index, (request, expected)) in cases.into_iter().enumerate() {
        let (status, body) = conformant_json(request.send().await.expect("answers")).await;
        assert_eq!(status, expected, "case {index}");
        assert!(
            body["Message"].is_string() && body["CorrelationId"].is_string(),
            "case {index}"
        );
    }
    assert_eq!(harness.get_json(&id).await["Status"], 3, "nothing changed");
    harness.shutdown().await;
}

#[tokio::test]
async fn guid_forms_and_case_insensitive_paths_are_accepted() {
    let harness = Harness::start(None).await;
    let id = harness.stage(RequestState::Executing).await;
    let upper = id.to_uppercase();
    let plain = id.replace('-', "");
    for form in [upper.clone(), plain, format!("{{{id}}}")] {
        let body = harness.get_json(&form).await;
        assert_eq!(body["Uuid"], id.as_str(), "{form}");
    }
    let response = harness
        .get_path(&format!("/CERTIFICATEMANAGEMENT/API/V1.0/REQUESTS/{upper}"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let braced = format!("{{{upper}}}");
    let charset = harness.put_typed(
        &braced,
        r#"{"status":"Canceled"}"#,
        "application/json; charset=utf-8",
    );
    let (status, body) = conformant_json(charset.send().await.expect("answers")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["Uuid"],
        id.as_str(),
        "the answer names the canonical GUID"
    );
    assert_eq!(body["Status"], 17);
    harness.shutdown().await;
}

#[tokio::test]
async fn every_transition_follows_the_table() {
    let harness = Harness::start(None).await;
    for from in RequestState::ALL {
        for target in TargetStatus::ALL {
            let id = harness.stage(from).await;
            let before = harness.get_json(&id).await;
            let (status, body) = conformant_json(harness.put(&id, target).await).await;
            let after = harness.get_json(&id).await;
            match transition(from, target) {
                Some(to) => {
                    assert_eq!(status, StatusCode::OK, "{from} + {target:?}");
                    assert_eq!(body["Status"], to.code());
                    assert_eq!(body["Uuid"], id.as_str());
                    assert_eq!(after, body);
                    for field in [
                        "RequestType",
                        "Submitted",
                        "OriginatorUserUuid",
                        "ProfileTemplateUuid",
                    ] {
                        assert_eq!(body[field], before[field], "{field}");
                    }
                    if to == RequestState::Completed {
                        let completed = timestamp(body["Completed"].as_str().unwrap_or_default());
                        assert!(
                            completed
                                >= timestamp(before["Submitted"].as_str().unwrap_or_default())
                        );
                    } else {
                        assert_eq!(body["Completed"], before["Completed"]);
                    }
                }
                None => {
                    assert_eq!(
                        status,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "{from} + {target:?}"
                    );
                    assert_internal_error(&body);
                    assert_eq!(after, before, "refusal keeps the state");
                }
            }
        }
    }
    harness.shutdown().await;
}

#[tokio::test]
async fn state_endpoint_stages_every_state() {
    let harness = Harness::start(None).await;
    for state in RequestState::ALL {
        let id = harness.stage(state).await;
        let body = harness.get_json(&id).await;
        assert_eq!(keys(&body), FIELD_ORDER);
        assert_eq!(body["Uuid"], id.as_str());
        assert_eq!(body["Status"], state.code());
        let submitted = timestamp(body["Submitted"].as_str().unwrap_or_default());
        match body["Completed"].as_str().unwrap_or_default() {
            NOT_COMPLETED => assert_ne!(state, RequestState::Completed),
            completed => {
                assert_eq!(state, RequestState::Completed);
                assert!(timestamp(completed) >= submitted);
            }
        }
    }
    let bad = [
        r#"{"state":"nope","action":"setup"}"#,
        r#"{"action":"setup"}"#,
        "x",
    ];
    for body in bad {
        let response = harness
            .client
            .post(harness.server.state_url())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .expect("answers");
        let (status, answer) = conformant_json(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(answer["Message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    harness.shutdown().await;
}

/// Two conflicting PUTs on one Approved request at once: Completed and Canceled.
async fn race(harness: &Harness) -> Vec<StatusCode> {
    let id = harness.stage(RequestState::Approved).await;
    let (a, b) = tokio::join!(
        harness.put(&id, TargetStatus::Completed),
        harness.put(&id, TargetStatus::Canceled)
    );
    vec![a.status(), b.status()]
}

#[tokio::test]
async fn concurrent_conflicting_puts_have_one_winner() {
    let harness = Harness::start(None).await;
    for _ in 0..5 {
        let statuses = race(&harness).await;
        let winners = statuses
            .iter()
            .filter(|status| **status == StatusCode::OK)
            .count();
        assert_eq!(winners, 1, "{statuses:?}");
    }
    harness.shutdown().await;
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let harness = Harness::start(None).await;
    let url = harness.request_url(EXAMPLE_ID);
    let _ = harness.get(EXAMPLE_ID).await; // leaves a kept-alive connection open
    harness.shutdown().await;
    assert!(
        client(Duration::from_secs(2))
            .get(&url)
            .send()
            .await
            .is_err()
    );

    let server = spawn(ServerConfig::default(), 0)
        .await
        .expect("server starts");
    let url = format!("{}{PATH}/{EXAMPLE_ID}", server.base_url());
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        client(Duration::from_secs(2))
            .get(&url)
            .send()
            .await
            .is_err()
    );
}

// ---------------------------------------------------------------------------------------------
// Dialects: the faithful ways to answer where the contract leaves a choice.

async fn start_dialect(name: &str) -> Harness {
    let Some(dialect) = Dialect::from_name(name) else {
        panic!("no dialect {name}")
    };
    Harness::with_config(ServerConfig {
        dialect,
        ..ServerConfig::default()
    })
    .await
}

/// A PUT with the given Content-Type and body on a fresh Approved request: the answer's status,
/// and the Status that GET shows afterwards.
async fn put_on_approved(harness: &Harness, content_type: &str, body: &str) -> (StatusCode, Value) {
    let id = harness.stage(RequestState::Approved).await;
    let response = harness
        .put_typed(&id, body, content_type)
        .send()
        .await
        .expect("PUT answers");
    (
        response.status(),
        harness.get_json(&id).await["Status"].clone(),
    )
}

#[tokio::test]
async fn the_default_dialect_is_strict() {
    assert_eq!(ServerConfig::default().dialect.name, "strict");
    assert_eq!(Dialect::ALL.len(), 3);
}

#[tokio::test]
async fn aspnet_binds_open_inputs_as_the_canonical_request() {
    let harness = start_dialect("aspnet").await;
    let form = "application/x-www-form-urlencoded";
    for (content_type, body) in [
        ("application/json", r#"{"status":"Completed"}"#),
        ("application/json", r#"{"status":"completed"}"#),
        ("application/json", r#"{"STATUS":"COMPLETED"}"#),
        (
            "application/json",
            r#"{"status":"Completed","comment":"ignored"}"#,
        ),
        (
            "application/json",
            r#"{"status":"Canceled","status":"Completed"}"#,
        ),
        (
            "application/json",
            "{status:'Completed' /* Json.NET reads this */}",
        ),
        ("application/json", r#"{"status":8}"#),
        ("text/json", r#"{"status":"Completed"}"#),
        (
            "application/json; charset=utf-8",
            r#"{"status":"Completed"}"#,
        ),
        (form, "status=Completed"),
        (form, "Status=completed"),
    ] {
        let (status, after) = put_on_approved(&harness, content_type, body).await;
        assert_eq!(status, StatusCode::OK, "{content_type} {body}");
        assert_eq!(after, 8, "{content_type} {body}");
    }
    let (status, after) = put_on_approved(&harness, "application/json", r#"{"status":17}"#).await;
    assert_eq!((status, after), (StatusCode::OK, json!(17)));
    harness.shutdown().await;
}

#[tokio::test]
async fn aspnet_refuses_what_binds_no_documented_status_and_changes_nothing() {
    let harness = start_dialect("aspnet").await;
    for (content_type, body, expected) in [
        ("application/json", "", StatusCode::INTERNAL_SERVER_ERROR),
        ("application/json", "{}", StatusCode::INTERNAL_SERVER_ERROR),
        (
            "application/json",
            "null",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            "application/json",
            r#"{"status":null}"#,
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            "application/json",
            r#"{"status":"Approved"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            r#"{"status":3}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            r#"{"status":"8"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            r#"["Completed"]"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            r#"{"status":"Completed""#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "text/plain",
            r#"{"status":"Completed"}"#,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let id = harness.stage(RequestState::Approved).await;
        let response = harness
            .put_typed(&id, body, content_type)
            .send()
            .await
            .expect("answers");
        let (status, answer) = conformant_json(response).await;
        assert_eq!(status, expected, "{content_type} {body}");
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            assert_internal_error(&answer);
        }
        assert_eq!(
            harness.get_json(&id).await["Status"],
            3,
            "{body}: nothing changed"
        );
    }
    harness.shutdown().await;
}

#[tokio::test]
async fn aspnet_answers_401_with_the_iis_page_and_every_answer_with_iis_headers() {
    let harness = start_dialect("aspnet").await;
    let id = harness.stage(RequestState::Approved).await;
    let denied = harness.put_anonymously(&id).await;
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&denied, CONTENT_TYPE), "text/html");
    let challenges: Vec<&str> = denied
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    assert_eq!(challenges, ["Negotiate", "NTLM"]);
    for (name, value) in [
        ("cache-control", "no-cache"),
        ("pragma", "no-cache"),
        ("expires", "-1"),
        ("server", "Microsoft-IIS/10.0"),
        ("x-powered-by", "ASP.NET"),
    ] {
        assert_eq!(
            denied.headers().get(name).and_then(|v| v.to_str().ok()),
            Some(value)
        );
        let got = harness.get(&id).await;
        assert_eq!(
            got.headers().get(name).and_then(|v| v.to_str().ok()),
            Some(value)
        );
    }
    let page = denied.text().await.unwrap_or_default();
    assert!(page.contains("401 - Unauthorized: Access is denied due to invalid credentials."));
    assert_eq!(harness.get_json(&id).await["Status"], 3);
    harness.shutdown().await;
}

#[tokio::test]
async fn aspnet_routes_every_guid_form_and_percent_encoded_paths() {
    let harness = start_dialect("aspnet").await;
    let id = harness.stage(RequestState::Executing).await;
    for path in [
        format!("{PATH}/({id})"),
        format!("{PATH}/%28{}%29", id.to_uppercase()),
        format!("{PATH}/{{{id}}}"),
        format!("{PATH}/{}", id.replace('-', "")),
        format!("/Certificate%4Danagement/api/v1.0/requests/{id}"),
    ] {
        let response = harness.get_path(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["Uuid"], id.as_str(), "{path}");
    }
    let strict = Harness::start(None).await;
    let other = strict.stage(RequestState::Executing).await;
    let response = strict.get_path(&format!("{PATH}/({other})")).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "the P form is IIS routing only"
    );
    strict.shutdown().await;
    harness.shutdown().await;
}

#[tokio::test]
async fn aspnet_writes_seven_digit_timestamps_and_repeats_completion_idempotently() {
    let harness = start_dialect("aspnet").await;
    let id = harness.stage(RequestState::Approved).await;
    let first = put_ok(&harness, &id, TargetStatus::Completed).await;
    let completed = first["Completed"].as_str().unwrap_or_default().to_string();
    let fraction = completed
        .trim_end_matches('Z')
        .split_once('.')
        .map_or("", |(_, digits)| digits);
    assert!(completed.ends_with('Z'), "{completed}");
    assert!(
        fraction.len() <= 7 && !fraction.ends_with('0'),
        "{completed}"
    );
    let again = put_ok(&harness, &id, TargetStatus::Completed).await;
    assert_eq!(again, first, "a repeat answers the unchanged request");
    assert_eq!(harness.get_json(&id).await, first, "and changes nothing");
    let canceled = harness.put(&id, TargetStatus::Canceled).await;
    assert_eq!(canceled.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(harness.get_json(&id).await, first);
    harness.shutdown().await;
}

#[tokio::test]
async fn nocontent_answers_every_success_with_204_and_no_body() {
    let harness = start_dialect("nocontent").await;
    for from in RequestState::ALL {
        for target in TargetStatus::ALL {
            let id = harness.stage(from).await;
            let before = harness.get_json(&id).await;
            let response = harness.put(&id, target).await;
            let after = harness.get_json(&id).await;
            match transition(from, target) {
                Some(to) => {
                    assert_eq!(
                        response.status(),
                        StatusCode::NO_CONTENT,
                        "{from} + {target:?}"
                    );
                    assert!(response.headers().get(CONTENT_TYPE).is_none());
                    assert!(response.bytes().await.expect("body").is_empty());
                    assert_eq!(after["Status"], to.code(), "GET shows the new state");
                }
                None => {
                    let (status, body) = conformant_json(response).await;
                    assert_eq!(
                        status,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "{from} + {target:?}"
                    );
                    assert_internal_error(&body);
                    assert_eq!(after, before);
                }
            }
        }
    }
    harness.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Faults: each demonstration shows the rule broken, against a server with only that fault.

/// Every fault of the catalogue breaks its rule, each against its own server, all at once; a
/// fault added to the catalogue without a demonstration fails here by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_breaks_its_rule() {
    let runs: Vec<_> = Fault::ALL
        .iter()
        .map(|&fault| (fault, tokio::spawn(demonstrate(fault))))
        .collect();
    let mut broken = Vec::new();
    for (fault, run) in runs {
        if let Err(error) = run.await {
            broken.push(format!("{fault}: {error}"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

async fn demonstrate(fault: Fault) {
    let harness = Harness::with_config(ServerConfig {
        fault: Some(fault),
        slow_delay: Duration::from_secs(1),
        ..ServerConfig::default()
    })
    .await;
    let id = harness.stage(RequestState::Approved).await;
    match fault.name() {
        "success_201" => demo_success_201(&harness, id).await,
        "text_content_type" => demo_text_content_type(&harness, id).await,
        "missing_field" => demo_missing_field(&harness, id).await,
        "camel_case_keys" => demo_camel_case_keys(&harness, id).await,
        "wrong_status_code" => demo_wrong_status_code(&harness, id).await,
        "status_as_string" => demo_status_as_string(&harness, id).await,
        "boolean_as_string" => demo_boolean_as_string(&harness, id).await,
        "null_array" => demo_null_array(&harness, id).await,
        "duplicate_members" => demo_duplicate_members(&harness, id).await,
        "uuid_mismatch" => demo_uuid_mismatch(&harness, id).await,
        "completed_not_set" => demo_completed_not_set(&harness, id).await,
        "completed_not_iso" => demo_completed_not_iso(&harness, id).await,
        "immutable_changed" => demo_immutable_changed(&harness, id).await,
        "completed_far_future" => demo_completed_far_future(&harness, id).await,
        "not_persisted" => demo_not_persisted(&harness, id).await,
        "invalid_status_accepted" => demo_invalid_status_accepted(&harness, id).await,
        "refusal_changes_state" => demo_refusal_changes_state(&harness, id).await,
        "refusal_deletes_request" => demo_refusal_deletes_request(&harness, id).await,
        "final_state_reopened" => demo_final_state_reopened(&harness, id).await,
        "repeat_restamps" => demo_repeat_restamps(&harness, id).await,
        "abandoned_wrong_code" => demo_abandoned_wrong_code(&harness, id).await,
        "unknown_id_200" => demo_unknown_id_200(&harness, id).await,
        "unknown_id_get_500" => demo_unknown_id_get_500(&harness, id).await,
        "auth_lost_mid_run" => demo_auth_lost_mid_run(&harness, id).await,
        "credentials_ignored" => demo_credentials_ignored(&harness, id).await,
        "stack_trace_500" => demo_stack_trace_500(&harness, id).await,
        "race_loser_trace" => demo_race_loser_trace(&harness, id).await,
        "error_page_trace" => demo_error_page_trace(&harness, id).await,
        "truncated_json" => demo_truncated_json(&harness, id).await,
        "short_body" => demo_short_body(&harness, id).await,
        "slow_answer" => demo_slow_answer(&harness, id).await,
        "stall_1_in_50" => demo_stall_1_in_50(&harness, id).await,
        "case_sensitive_path" => demo_case_sensitive_path(&harness, id).await,
        "extra_field" => demo_extra_field(&harness, id).await,
        "huge_body" => demo_huge_body(&harness, id).await,
        "garbage_http" => demo_garbage_http(&harness, id).await,
        "no_lock" => demo_no_lock(&harness, id).await,
        "chunked_body" => demo_chunked_body(&harness, id).await,
        "error_as_html" => demo_error_as_html(&harness, id).await,
        other => panic!("{other} has no demonstration: add one to tests/server.rs"),
    }
    harness.shutdown().await;
}

async fn demo_success_201(harness: &Harness, id: String) {
    assert_eq!(
        harness.put(&id, TargetStatus::Completed).await.status(),
        StatusCode::CREATED
    );
}

async fn demo_text_content_type(harness: &Harness, id: String) {
    let response = harness.put(&id, TargetStatus::Completed).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, CONTENT_TYPE).starts_with("text/plain"));
}

async fn demo_missing_field(harness: &Harness, id: String) {
    let body = put_ok(harness, &id, TargetStatus::Completed).await;
    assert!(body.get("Flags").is_none() && body.get("Status").is_some());
    assert!(harness.get_json(&id).await.get("Flags").is_none());
}

async fn demo_camel_case_keys(harness: &Harness, id: String) {
    let body = put_ok(harness, &id, TargetStatus::Completed).await;
    assert_eq!(body["uuid"], id.as_str());
    assert_eq!(body["status"], 8);
    assert!(body.get("Uuid").is_none() && body.get("requestType").is_some());
}

async fn demo_wrong_status_code(harness: &Harness, id: String) {
    assert_eq!(
        put_ok(harness, &id, TargetStatus::Completed).await["Status"],
        7
    );
    assert_eq!(harness.get_json(&id).await["Status"], 7);
}

async fn demo_status_as_string(harness: &Harness, id: String) {
    assert_eq!(
        put_ok(harness, &id, TargetStatus::Completed).await["Status"],
        "8"
    );
    assert_eq!(harness.get_json(&id).await["Status"], "8");
}

async fn demo_boolean_as_string(harness: &Harness, id: String) {
    let body = harness.get_json(&id).await;
    assert!(matches!(
        body["IsSmartcard"].as_str(),
        Some("true" | "false")
    ));
    assert!(body["IsEnrollmentAgent"].is_boolean());
}

async fn demo_null_array(harness: &Harness, id: String) {
    assert!(put_ok(harness, &id, TargetStatus::Completed).await["DataCollection"].is_null());
}

/// Status appears twice in the bytes of PUT and GET answers, 99 first; a parser that keeps the
/// last member sees the real Status.
async fn demo_duplicate_members(harness: &Harness, id: String) {
    let put = harness.put(&id, TargetStatus::Completed).await;
    assert_eq!(put.status(), StatusCode::OK);
    let get = harness.get(&id).await;
    for body in [put.text().await, get.text().await] {
        let body = body.unwrap_or_default();
        assert!(body.starts_with(r#"{"Status":99,"#), "{body}");
        assert!(body.contains(r#","Status":8,"#), "{body}");
        let parsed: Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(parsed["Status"], 8);
    }
}

async fn demo_uuid_mismatch(harness: &Harness, id: String) {
    let body = put_ok(harness, &id, TargetStatus::Completed).await;
    let answered = body["Uuid"].as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(answered).is_ok());
    assert_ne!(answered, id);
    assert_eq!(harness.get_json(&id).await["Uuid"], id.as_str());
}

async fn demo_completed_not_set(harness: &Harness, id: String) {
    let body = put_ok(harness, &id, TargetStatus::Completed).await;
    assert_eq!(body["Status"], 8);
    assert_eq!(body["Completed"], NOT_COMPLETED);
}

async fn demo_completed_not_iso(harness: &Harness, id: String) {
    let body = put_ok(harness, &id, TargetStatus::Completed).await;
    let completed = body["Completed"].as_str().unwrap_or_default();
    assert!(chrono::DateTime::parse_from_rfc3339(completed).is_err());
    assert!(completed.contains('/') && (completed.ends_with(" AM") || completed.ends_with(" PM")));
}

async fn demo_immutable_changed(harness: &Harness, id: String) {
    let before = harness.get_json(&id).await;
    let body = put_ok(harness, &id, TargetStatus::Completed).await;
    assert_ne!(body["RequestType"], before["RequestType"]);
    assert_eq!(
        harness.get_json(&id).await["RequestType"],
        body["RequestType"]
    );
}

async fn demo_not_persisted(harness: &Harness, id: String) {
    assert_eq!(
        put_ok(harness, &id, TargetStatus::Completed).await["Status"],
        8
    );
    assert_eq!(harness.get_json(&id).await["Status"], 3);
}

async fn demo_invalid_status_accepted(harness: &Harness, id: String) {
    for status in ["completed", "Approved", "Foo"] {
        let response = harness
            .put_request(&id, &format!(r#"{{"status":"{status}"}}"#))
            .send()
            .await
            .expect("answers");
        let (code, body) = conformant_json(response).await;
        assert_eq!(code, StatusCode::OK, "{status}");
        assert_eq!(body["Status"], 3);
    }
    let (code, _) = conformant_json(
        harness
            .put_request(&id, "{}")
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::BAD_REQUEST,
        "other body errors stay refused"
    );
}

async fn demo_refusal_changes_state(harness: &Harness, _id: String) {
    let pending = harness.stage(RequestState::Pending).await;
    let (status, body) =
        conformant_json(harness.put(&pending, TargetStatus::Completed).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_internal_error(&body);
    assert_eq!(harness.get_json(&pending).await["Status"], 8);
}

async fn demo_completed_far_future(harness: &Harness, id: String) {
    let body = put_ok(harness, &id, TargetStatus::Completed).await;
    assert_eq!(body["Completed"], "9999-12-31T23:59:59.9999999Z");
    assert_eq!(harness.get_json(&id).await["Completed"], body["Completed"]);
}

async fn demo_refusal_deletes_request(harness: &Harness, id: String) {
    let pending = harness.stage(RequestState::Pending).await;
    let (status, body) =
        conformant_json(harness.put(&pending, TargetStatus::Completed).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_internal_error(&body);
    assert_eq!(harness.get(&pending).await.status(), StatusCode::NOT_FOUND);
    // A success leaves the request in place.
    put_ok(harness, &id, TargetStatus::Completed).await;
    assert_eq!(harness.get_json(&id).await["Status"], 8);
}

async fn demo_repeat_restamps(harness: &Harness, _id: String) {
    let completed = harness.stage(RequestState::Completed).await;
    let before = harness.get_json(&completed).await;
    let body = put_ok(harness, &completed, TargetStatus::Completed).await;
    assert_eq!(body["Status"], 8);
    assert_ne!(
        body["Completed"], before["Completed"],
        "a repeat that changes Completed"
    );
    let canceled = harness.stage(RequestState::Canceled).await;
    let response = harness.put(&canceled, TargetStatus::Completed).await;
    assert!(!response.status().is_success(), "{}", response.status());
}

async fn demo_final_state_reopened(harness: &Harness, _id: String) {
    for state in [
        RequestState::Canceled,
        RequestState::Failed,
        RequestState::Denied,
        RequestState::Completed,
    ] {
        let final_id = harness.stage(state).await;
        assert_eq!(
            put_ok(harness, &final_id, TargetStatus::Abandoned).await["Status"],
            9,
            "{state}"
        );
    }
    let pending = harness.stage(RequestState::Pending).await;
    let response = harness.put(&pending, TargetStatus::Completed).await;
    assert_eq!(
        response.status(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "non-final refusals stay"
    );
}

async fn demo_abandoned_wrong_code(harness: &Harness, id: String) {
    assert_eq!(
        put_ok(harness, &id, TargetStatus::Abandoned).await["Status"],
        17
    );
}

async fn demo_unknown_id_200(harness: &Harness, _id: String) {
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(harness.get_json(&unknown).await["Uuid"], unknown.as_str());
    assert_eq!(
        put_ok(harness, &unknown, TargetStatus::Completed).await["Uuid"],
        unknown.as_str()
    );
}

async fn demo_unknown_id_get_500(harness: &Harness, id: String) {
    let unknown = uuid::Uuid::new_v4().to_string();
    let get = harness.get(&unknown).await;
    assert_eq!(get.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = get.text().await.unwrap_or_default();
    assert!(!body.contains("NullReferenceException"), "{body}");
    assert_eq!(
        put_ok(harness, &unknown, TargetStatus::Completed).await["Uuid"],
        unknown.as_str()
    );
    // Known ids are served as ever.
    assert_eq!(harness.get_json(&id).await["Uuid"], id.as_str());
}

/// The first 40 credentialed requests pass (staging is not authenticated, so it does not
/// count), every later one is answered 401 with a challenge.
async fn demo_auth_lost_mid_run(harness: &Harness, id: String) {
    for _ in 0..40 {
        assert_eq!(harness.get(&id).await.status(), StatusCode::OK);
    }
    let denied = harness.get(&id).await;
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    assert!(denied.headers().contains_key("www-authenticate"));
    assert_eq!(
        harness.put(&id, TargetStatus::Completed).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn demo_credentials_ignored(harness: &Harness, id: String) {
    let response = harness.put_anonymously(&id).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(harness.get_json(&id).await["Status"], 8);
}

async fn demo_stack_trace_500(harness: &Harness, _id: String) {
    let pending = harness.stage(RequestState::Pending).await;
    let (status, body) =
        conformant_json(harness.put(&pending, TargetStatus::Completed).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let text = body.to_string();
    assert!(text.contains("System.InvalidOperationException"), "{text}");
    assert!(
        text.contains(
            r"\r\n   at Microsoft.Clm.Provision.ExecuteOperations.Complete(Guid requestUuid)"
        ),
        "{text}"
    );
}

async fn demo_error_page_trace(harness: &Harness, _id: String) {
    let pending = harness.stage(RequestState::Pending).await;
    let response = harness.put(&pending, TargetStatus::Completed).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let page = response.text().await.unwrap_or_default();
    assert!(
        page.contains("Server Error in '/CertificateManagement' Application."),
        "{page}"
    );
    assert!(page.contains("[ClmException: "), "{page}");
    assert!(
        page.contains(
            "   Microsoft.Clm.Provision.ExecuteOperations.Complete(Guid requestUuid) +40"
        ),
        "{page}"
    );
}

async fn demo_race_loser_trace(harness: &Harness, id: String) {
    // An ordinary refusal hides its exception.
    let pending = harness.stage(RequestState::Pending).await;
    let (status, body) =
        conformant_json(harness.put(&pending, TargetStatus::Completed).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_internal_error(&body);
    // The PUT that comes moments after another one moved the request lost the race.
    put_ok(harness, &id, TargetStatus::Completed).await;
    let (status, body) = conformant_json(harness.put(&id, TargetStatus::Canceled).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let text = body.to_string();
    assert!(
        text.contains("System.Data.SqlClient.SqlException"),
        "{text}"
    );
    assert!(text.contains(r"\r\n   at "), "{text}");
}

async fn demo_truncated_json(harness: &Harness, id: String) {
    let response = harness.put(&id, TargetStatus::Completed).await;
    assert_eq!(response.status(), StatusCode::OK);
    let declared: usize = header(&response, CONTENT_LENGTH)
        .parse()
        .expect("Content-Length");
    let bytes = response.bytes().await.expect("the cut body arrives whole");
    assert_eq!(bytes.len(), declared);
    assert!(bytes.starts_with(b"{\"Uuid\""));
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());
}

async fn demo_short_body(harness: &Harness, id: String) {
    let response = harness.put(&id, TargetStatus::Completed).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.bytes().await.is_err(),
        "the body ends before its Content-Length"
    );
}

async fn demo_slow_answer(harness: &Harness, id: String) {
    let impatient = client(Duration::from_millis(200));
    let error = impatient
        .put(harness.request_url(&id))
        .header(AUTHORIZATION, AUTH)
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"status":"Completed"}"#)
        .send()
        .await
        .expect_err("times out");
    assert!(error.is_timeout(), "{error}");
}

/// Of 50 consecutive GETs one waits 300 ms: a 200 ms client times out on it, and the server
/// goes on answering.
async fn demo_stall_1_in_50(harness: &Harness, id: String) {
    let impatient = client(Duration::from_millis(200));
    let mut timed_out = 0;
    for _ in 0..50 {
        let answer = impatient
            .get(harness.request_url(&id))
            .header(AUTHORIZATION, AUTH)
            .send()
            .await;
        if answer.is_err_and(|error| error.is_timeout()) {
            timed_out += 1;
        }
    }
    assert!(timed_out >= 1, "no request of 50 stalled");
    assert_eq!(harness.get_json(&id).await["Uuid"], id.as_str());
}

async fn demo_case_sensitive_path(harness: &Harness, id: String) {
    let response = harness
        .get_path(&format!("/certificatemanagement/api/v1.0/requests/{id}"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        harness.get_json(&id).await["Uuid"],
        id.as_str(),
        "documented casing works"
    );
}

async fn demo_extra_field(harness: &Harness, id: String) {
    let body = harness.get_json(&id).await;
    assert!(body["RequestData"].is_string());
    assert_eq!(keys(&body).len(), 22);
}

async fn demo_huge_body(harness: &Harness, id: String) {
    let response = harness.put(&id, TargetStatus::Completed).await;
    assert_eq!(response.status(), StatusCode::OK);
    let declared: usize = header(&response, CONTENT_LENGTH)
        .parse()
        .expect("Content-Length");
    assert!(declared > 9 * 1024 * 1024, "{declared}");
}

async fn demo_garbage_http(harness: &Harness, id: String) {
    // The GET keeps a connection alive; the PUT on it must still get garbage.
    assert_eq!(harness.get(&id).await.status(), StatusCode::OK);
    let error = harness
        .put_request(&id, r#"{"status":"Completed"}"#)
        .send()
        .await
        .expect_err("garbage is not HTTP");
    assert!(!error.is_timeout(), "{error}");
    assert_eq!(
        harness.get_json(&id).await["Status"],
        8,
        "the PUT itself happened"
    );
}

async fn demo_no_lock(harness: &Harness, _id: String) {
    let statuses = race(harness).await;
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK]);
}

async fn demo_chunked_body(harness: &Harness, id: String) {
    let answer = harness.put(&id, TargetStatus::Completed).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.headers().get(CONTENT_LENGTH).is_none());
    assert_eq!(
        header(&answer, reqwest::header::TRANSFER_ENCODING),
        "chunked"
    );
    let body: Value = answer
        .json()
        .await
        .expect("the chunked body is the Request");
    assert_eq!(body["Status"], 8);
}

async fn demo_error_as_html(harness: &Harness, id: String) {
    let unsupported = harness
        .put_typed(&id, r#"{"status":"Completed"}"#, "text/plain")
        .send()
        .await
        .expect("answers");
    assert_eq!(unsupported.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(header(&unsupported, CONTENT_TYPE).starts_with("text/html"));
    let missing = harness.get(&uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(header(&missing, CONTENT_TYPE).starts_with("text/html"));
    assert!(missing.text().await.unwrap_or_default().contains("<html>"));
}

/// A PUT expected to succeed conformantly on the wire (200, JSON framing); its body.
async fn put_ok(harness: &Harness, id: &str, target: TargetStatus) -> Value {
    let (status, body) = conformant_json(harness.put(id, target).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}
