//! Provider states: how the runner obtains a request that is in a given life-cycle state before
//! a case runs. Either a state endpoint stages a fresh request (`--state-url`, and the embedded
//! server's `/_cmconform/states`), or a file lists ids staged by hand on a real deployment
//! (`--ids`), each used at most once.
//!
//! State changes follow Pact's provider-state protocol: `POST {"state", "params", "action"}`,
//! with `action` `setup` before a case and, with `--state-teardown`, `teardown` after it for
//! every request the case staged. `--state-map` names our states by the free-text descriptions a
//! Pact provider knows ("a request in state Approved").

use crate::contract::lifecycle::RequestState;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{path}: cannot read the ids file")]
    IdsIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {pointer}: {message}")]
    IdsInvalid {
        path: PathBuf,
        pointer: String,
        message: String,
    },
    #[error("state endpoint {url}: {message}")]
    StateUrl { url: String, message: String },
    #[error("{path}: cannot read the state map")]
    MapIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {key}: {message}")]
    MapInvalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// Pact-style state changes: the description sent for each of our states (`--state-map`; our
/// state name when the map has none), and whether staged requests are torn down after each case
/// (`--state-teardown`).
#[derive(Debug, Clone, Default)]
pub struct PactStates {
    pub descriptions: BTreeMap<RequestState, String>,
    pub teardown: bool,
}

impl PactStates {
    /// Reads a `--state-map` file: a JSON object from a free-text description to one of our
    /// states (any case). A state several descriptions map to is sent as the first of them.
    pub fn new(map: Option<&Path>, teardown: bool) -> Result<PactStates, ProviderError> {
        let descriptions = match map {
            Some(path) => read_state_map(path)?,
            None => BTreeMap::new(),
        };
        Ok(PactStates {
            descriptions,
            teardown,
        })
    }

    /// What the state endpoint is asked for to get a request in `state`.
    pub fn description(&self, state: RequestState) -> String {
        self.descriptions
            .get(&state)
            .cloned()
            .unwrap_or_else(|| state.name().to_string())
    }
}

fn read_state_map(path: &Path) -> Result<BTreeMap<RequestState, String>, ProviderError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProviderError::MapIo {
        path: path.into(),
        source,
    })?;
    let invalid = |key: &str, message: String| ProviderError::MapInvalid {
        path: path.into(),
        key: format!("{key:?}"),
        message,
    };
    let document: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| invalid("/", format!("invalid JSON: {error}")))?;
    let object = document.as_object().ok_or_else(|| {
        invalid(
            "/",
            "expected an object from a provider-state description to a state name".into(),
        )
    })?;
    let mut descriptions = BTreeMap::new();
    for (description, value) in object {
        if description.trim().is_empty() {
            return Err(invalid(description, "empty description".into()));
        }
        let state: RequestState = value
            .as_str()
            .ok_or_else(|| format!("expected a state name, not {value}"))
            .and_then(str::parse)
            .map_err(|message| invalid(description, message))?;
        descriptions
            .entry(state)
            .or_insert_with(|| description.clone());
    }
    Ok(descriptions)
}

tokio::task_local! {
    /// The requests staged by the case running on this task (`--state-teardown`).
    static STAGED: RefCell<Vec<(RequestState, String)>>;
}

/// `--state-auth`: whether the state endpoint gets the run's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StateAuth {
    /// Only the --state-header headers.
    #[default]
    None,
    /// The run's --auth mode (NTLM and Kerberos included) and -H headers, as for the API.
    Same,
}

/// How requests reach the state endpoint: a client whose base URL is the endpoint's origin (it
/// may be another origin than the API's, and NTLM pins connections per origin).
#[derive(Debug)]
pub struct StateClient {
    pub client: crate::client::HttpClient,
    /// `--state-auth same`: the run's authentication (NTLM and Kerberos included) and -H
    /// headers go along; otherwise the client carries none.
    pub credentials: bool,
}

/// Where staged requests come from.
#[derive(Debug)]
pub enum Provider {
    /// `POST url` with `{"state": s, "action": "setup"}` answers `{"id": guid}`.
    StateUrl {
        client: StateClient,
        url: String,
        /// The path and query requests go to on `client`'s origin.
        path: String,
        /// `--state-header` headers on every state request.
        headers: Vec<(String, String)>,
        pact: PactStates,
    },
    /// Pre-staged ids, consumed in file order.
    Ids(Mutex<BTreeMap<RequestState, VecDeque<String>>>),
    /// No way to stage requests: cases that need one are skipped.
    Unavailable,
}

/// What the provider could do for one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staged {
    Id(String),
    /// The case is skipped, for this reason.
    Skip(String),
}

impl Provider {
    /// A state endpoint reached through `client` (its TLS, proxy and `--max-body` settings),
    /// with `--state-header` `headers`; `None` when `url` is not an absolute URL.
    pub fn state_url(
        url: &str,
        client: StateClient,
        headers: Vec<(String, String)>,
    ) -> Option<Provider> {
        let parsed = reqwest::Url::parse(url).ok()?;
        let path = match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_string(),
        };
        Some(Provider::StateUrl {
            client,
            url: url.into(),
            path,
            headers,
            pact: PactStates::default(),
        })
    }

    /// A state endpoint that speaks Pact's descriptions and tears down (`--state-map`,
    /// `--state-teardown`); other providers are returned unchanged.
    pub fn with_pact(mut self, states: PactStates) -> Provider {
        if let Provider::StateUrl { pact, .. } = &mut self {
            *pact = states;
        }
        self
    }

    /// Reads an `--ids` file: `{"approved": ["guid", ...], "pending": [...], ...}`.
    pub fn ids_file(path: &Path) -> Result<Provider, ProviderError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProviderError::IdsIo {
            path: path.into(),
            source,
        })?;
        let invalid = |pointer: String, message: String| ProviderError::IdsInvalid {
            path: path.into(),
            pointer,
            message,
        };
        let document: serde_json::Value = serde_json::from_str(&text)
            .map_err(|error| invalid("/".into(), format!("invalid JSON: {error}")))?;
        let object = document.as_object().ok_or_else(|| {
            invalid(
                "/".into(),
                "expected an object from state name to a list of ids".into(),
            )
        })?;
        let mut ids = BTreeMap::new();
        for (name, list) in object {
            let state: RequestState = name
                .parse()
                .map_err(|message| invalid(format!("/{name}"), message))?;
            let list = list.as_array().ok_or_else(|| {
                invalid(format!("/{name}"), "expected a list of GUID strings".into())
            })?;
            let mut queue = VecDeque::new();
            for (index, id) in list.iter().enumerate() {
                let id = id
                    .as_str()
                    .filter(|id| uuid::Uuid::parse_str(id).is_ok())
                    .ok_or_else(|| {
                        invalid(format!("/{name}/{index}"), "expected a GUID string".into())
                    })?;
                queue.push_back(id.to_string());
            }
            ids.insert(state, queue);
        }
        Ok(Provider::Ids(Mutex::new(ids)))
    }

    /// Hands out a pre-staged id at once (`--ids`), so the caller decides the order ids go in;
    /// `None` when staging needs the network (`stage` does it then).
    pub fn reserve(&self, state: RequestState) -> Option<Staged> {
        match self {
            Provider::Ids(ids) => Some(take_id(ids, state)),
            Provider::StateUrl { .. } | Provider::Unavailable => None,
        }
    }

    /// Obtains a request in `state`.
    pub async fn stage(&self, state: RequestState) -> Result<Staged, ProviderError> {
        match self {
            Provider::StateUrl { pact, .. } => {
                let body = state_change(pact, state, "setup", serde_json::json!({}));
                let id = self.post_state(&body, state, "setup").await?;
                let id = staged_id(&id).ok_or_else(|| {
                    self.failure(format!(
                        "setup of '{state}': answer has no GUID 'id' (nor 'result.id')"
                    ))
                })?;
                if pact.teardown {
                    // Outside a case's scope (no teardown asked) there is nothing to record.
                    let _ = STAGED.try_with(|staged| staged.borrow_mut().push((state, id.clone())));
                }
                Ok(Staged::Id(id))
            }
            Provider::Ids(ids) => Ok(take_id(ids, state)),
            Provider::Unavailable => Ok(Staged::Skip(format!(
                "needs a request in state '{state}': pass --state-url or --ids"
            ))),
        }
    }
}

impl Provider {
    /// Runs one case; with `--state-teardown`, then asks the state endpoint to tear down every
    /// request the case staged. A failed teardown is a warning on stderr: the case was judged.
    pub async fn scoped<F: Future>(&self, case: F) -> F::Output {
        let teardown = matches!(self, Provider::StateUrl { pact, .. } if pact.teardown);
        if !teardown {
            return case.await;
        }
        let (output, staged) = STAGED
            .scope(RefCell::new(Vec::new()), async {
                let output = case.await;
                (output, STAGED.with(RefCell::take))
            })
            .await;
        for (state, id) in staged {
            if let Err(error) = self.teardown(state, &id).await {
                eprintln!("warning: {error}");
            }
        }
        output
    }

    async fn teardown(&self, state: RequestState, id: &str) -> Result<(), ProviderError> {
        let Provider::StateUrl { pact, .. } = self else {
            return Ok(());
        };
        let mut body = state_change(pact, state, "teardown", serde_json::json!({ "id": id }));
        // Pact puts it in `params`; services written for the first state protocol read it at
        // the top level.
        body["id"] = serde_json::json!(id);
        self.post_state(&body, state, "teardown").await.map(|_| ())
    }

    fn failure(&self, message: String) -> ProviderError {
        let url = match self {
            Provider::StateUrl { url, .. } => crate::client::mask_url(url),
            _ => String::new(),
        };
        ProviderError::StateUrl { url, message }
    }

    /// POSTs one state change and returns the answer parsed as JSON; only 200 is success.
    async fn post_state(
        &self,
        body: &serde_json::Value,
        state: RequestState,
        action: &str,
    ) -> Result<serde_json::Value, ProviderError> {
        let Provider::StateUrl {
            client,
            path,
            headers,
            ..
        } = self
        else {
            return Err(self.failure(format!("{action} of '{state}': no state endpoint")));
        };
        let what = format!("{action} of '{state}'");
        let (status, text) = send_state(client, path, headers, body, &what)
            .await
            .map_err(|message| self.failure(message))?;
        if status != 200 {
            let why = if status == 401 {
                " (the endpoint wants credentials: --state-auth same, or --state-header)"
            } else {
                ""
            };
            return Err(self.failure(format!("{what} answered {status}, expected 200{why}")));
        }
        match action {
            // A teardown's answer carries nothing we use (Pact: an empty body or `{}`).
            "teardown" => Ok(serde_json::Value::Null),
            _ => serde_json::from_str(&text)
                .map_err(|_| self.failure(format!("{what}: answer is not JSON"))),
        }
    }
}

/// The body of a state change, as Pact's provider-state protocol has it.
fn state_change(
    pact: &PactStates,
    state: RequestState,
    action: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({ "state": pact.description(state), "params": params, "action": action })
}

/// The staged GUID of a setup's answer: `{"id": G}`, or Pact-style values nested in a result
/// object, `{"result": {"id": G}}`.
fn staged_id(answer: &serde_json::Value) -> Option<String> {
    let id = answer
        .get("id")
        .or_else(|| answer.get("result").and_then(|result| result.get("id")))?;
    id.as_str()
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
        .map(str::to_string)
}

/// An `--ids` file for `cases`: for each state exactly as many placeholder GUIDs as the cases
/// need (`list --ids-template`, `init`), numbered so each is easy to find and replace.
pub fn ids_template<'a>(cases: impl IntoIterator<Item = &'a crate::plan::Case>) -> String {
    let mut counts: BTreeMap<RequestState, usize> = BTreeMap::new();
    for (state, count) in cases.into_iter().filter_map(crate::plan::Case::needs) {
        *counts.entry(state).or_default() += count;
    }
    let mut serial = 0u128;
    let lines: Vec<String> = counts
        .iter()
        .map(|(state, count)| {
            let ids: Vec<String> = (0..*count)
                .map(|_| {
                    serial += 1;
                    format!("    \"{}\"", uuid::Uuid::from_u128(serial).hyphenated())
                })
                .collect();
            format!("  \"{state}\": [\n{}\n  ]", ids.join(",\n"))
        })
        .collect();
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}

fn take_id(ids: &Mutex<BTreeMap<RequestState, VecDeque<String>>>, state: RequestState) -> Staged {
    // A poisoned lock only means another case panicked mid-pop; the queue itself is intact.
    let mut ids = ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match ids.get_mut(&state).and_then(VecDeque::pop_front) {
        Some(id) => Staged::Id(id),
        None => Staged::Skip(format!("no id left for state '{state}' in the --ids file")),
    }
}

/// Sends one state change; the answer's status and text, or why there is none.
async fn send_state(
    state: &StateClient,
    path: &str,
    headers: &[(String, String)],
    body: &serde_json::Value,
    what: &str,
) -> Result<(u16, String), String> {
    let mut request_headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    request_headers.extend(headers.iter().cloned());
    let exchange = state
        .client
        .send(&crate::client::OutgoingRequest {
            method: "POST".into(),
            path: path.to_string(),
            headers: request_headers,
            body: Some(body.to_string().into()),
            credentials: state.credentials,
        })
        .await;
    let received = exchange
        .response
        .map_err(|error| format!("{what} failed: {error}"))?;
    Ok((received.status, received.body_text()))
}

/// The origin of `url` (`scheme://host[:port]`), the base URL of the state client; with
/// `user_info`, the URL's `user:password@` too (without `--state-auth same` they are the state
/// endpoint's Basic credentials, which reqwest sends for such a base URL).
pub fn origin(url: &str, user_info: bool) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let user = match (parsed.username(), parsed.password()) {
        (user, password) if user_info && (!user.is_empty() || password.is_some()) => {
            format!("{user}:{}@", password.unwrap_or_default())
        }
        _ => String::new(),
    };
    Some(match parsed.port() {
        Some(port) => format!("{}://{user}{host}:{port}", parsed.scheme()),
        None => format!("{}://{user}{host}", parsed.scheme()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_keep_user_info_only_when_asked() {
        let table = [
            ("http://h:81/s?x", false, Some("http://h:81")),
            ("http://u:p@h:81/s", false, Some("http://h:81")),
            ("http://u:p@h:81/s", true, Some("http://u:p@h:81")),
            ("https://u@h/s", true, Some("https://u:@h")),
            ("https://h/s", true, Some("https://h")),
            ("not a url", true, None),
        ];
        for (url, user_info, expected) in table {
            assert_eq!(origin(url, user_info).as_deref(), expected, "{url}");
        }
    }

    fn write_ids(text: &str) -> (PathBuf, Result<Provider, ProviderError>) {
        let path =
            std::env::temp_dir().join(format!("cmconform-ids-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, text).ok();
        let provider = Provider::ids_file(&path);
        std::fs::remove_file(&path).ok();
        (path, provider)
    }

    #[tokio::test]
    async fn ids_are_used_once_then_skipped() {
        let (_, provider) = write_ids(r#"{"approved": ["a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099"]}"#);
        let provider = provider.expect("valid ids file");
        let first = provider.stage(RequestState::Approved).await.ok();
        assert_eq!(
            first,
            Some(Staged::Id("a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099".into()))
        );
        let second = provider.stage(RequestState::Approved).await.ok();
        assert!(matches!(second, Some(Staged::Skip(reason)) if reason.contains("no id left")));
    }

    #[test]
    fn staged_ids_come_bare_or_nested_in_a_result() {
        let id = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";
        let cases = [
            (serde_json::json!({ "id": id }), Some(id)),
            (serde_json::json!({ "result": { "id": id } }), Some(id)),
            (
                serde_json::json!({ "id": id, "result": { "id": "x" } }),
                Some(id),
            ),
            (
                serde_json::json!({ "result": { "id": "not-a-guid" } }),
                None,
            ),
            (serde_json::json!({ "result": id }), None),
            (serde_json::json!({ "ID": id }), None),
            (serde_json::json!([id]), None),
        ];
        for (answer, expected) in cases {
            assert_eq!(staged_id(&answer).as_deref(), expected, "{answer}");
        }
    }

    fn write_map(text: &str) -> Result<PactStates, String> {
        let path =
            std::env::temp_dir().join(format!("cmconform-map-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, text).ok();
        let states = PactStates::new(Some(&path), true).map_err(|error| error.to_string());
        std::fs::remove_file(&path).ok();
        states
    }

    #[test]
    fn state_maps_send_descriptions_and_name_the_bad_key() {
        let states = write_map(
            r#"{"a request in state Approved": "Approved", "an approved request": "approved",
                "a pending request": "PENDING"}"#,
        );
        let states = states.unwrap_or_default();
        assert_eq!(
            states.description(RequestState::Approved),
            "a request in state Approved"
        );
        assert_eq!(
            states.description(RequestState::Pending),
            "a pending request"
        );
        assert_eq!(states.description(RequestState::Failed), "failed");
        let body = state_change(
            &states,
            RequestState::Failed,
            "teardown",
            serde_json::json!({"id": "g"}),
        );
        assert_eq!(
            body,
            serde_json::json!({"state": "failed", "params": {"id": "g"}, "action": "teardown"})
        );
        let bad = [
            (
                r#"{"a request": "approval"}"#,
                r#""a request": unknown state 'approval'"#,
            ),
            (
                r#"{"a request": 3}"#,
                r#""a request": expected a state name, not 3"#,
            ),
            (r#"{" ": "approved"}"#, r#"" ": empty description"#),
            (r#"["approved"]"#, r#""/": expected an object"#),
            ("{", r#""/": invalid JSON"#),
        ];
        for (text, message) in bad {
            let error = write_map(text).err().unwrap_or_default();
            assert!(error.contains(message), "{text}: {error}");
            assert!(error.contains("cmconform-map-"), "names the file: {error}");
        }
    }

    #[test]
    fn bad_ids_files_name_the_pointer() {
        let (_, provider) = write_ids(r#"{"approved": ["x"]}"#);
        let message = provider
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(
            message.ends_with("/approved/0: expected a GUID string"),
            "{message}"
        );
        let (_, provider) = write_ids(r#"{"approvd": []}"#);
        let message = provider
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("/approvd: unknown state 'approvd'"),
            "{message}"
        );
    }
}
