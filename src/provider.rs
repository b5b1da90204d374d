//! Provider states: how the runner obtains a request that is in a given life-cycle state before
//! a case runs. Either a state endpoint stages a fresh request (`--state-url`, and the embedded
//! server's `/_cmconform/states`), or a file lists ids staged by hand on a real deployment
//! (`--ids`), each used at most once.

use crate::contract::lifecycle::RequestState;
use std::collections::{BTreeMap, VecDeque};
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

/// How requests reach the state endpoint.
#[derive(Debug)]
pub enum StateClient {
    /// TLS and proxy settings only.
    Plain(reqwest::Client),
    /// The run's authentication, on a client whose base URL is the endpoint's origin.
    Authenticated(crate::client::HttpClient),
}

/// Where staged requests come from.
#[derive(Debug)]
pub enum Provider {
    /// `POST url` with `{"state": s, "action": "setup"}` answers `{"id": guid}`.
    StateUrl {
        client: StateClient,
        url: String,
        /// `--state-header` headers on every state request.
        headers: Vec<(String, String)>,
        /// Cap on the endpoint's answers (`--max-body`).
        max_body: usize,
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
    /// `client` carries the connection's TLS and proxy settings (see `client::plain_client`);
    /// answers larger than `max_body` are refused.
    pub fn state_url(url: &str, client: reqwest::Client, max_body: usize) -> Provider {
        Provider::StateUrl {
            client: StateClient::Plain(client),
            url: url.into(),
            headers: Vec::new(),
            max_body,
        }
    }

    /// A state endpoint with `--state-auth` and `--state-header`.
    pub fn state_url_with(
        url: &str,
        client: StateClient,
        headers: Vec<(String, String)>,
        max_body: usize,
    ) -> Provider {
        Provider::StateUrl {
            client,
            url: url.into(),
            headers,
            max_body,
        }
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
            Provider::StateUrl {
                client,
                url,
                headers,
                max_body,
            } => stage_via_url(client, url, headers, *max_body, state)
                .await
                .map(Staged::Id),
            Provider::Ids(ids) => Ok(take_id(ids, state)),
            Provider::Unavailable => Ok(Staged::Skip(format!(
                "needs a request in state '{state}': pass --state-url or --ids"
            ))),
        }
    }
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

async fn stage_via_url(
    client: &StateClient,
    url: &str,
    headers: &[(String, String)],
    max_body: usize,
    state: RequestState,
) -> Result<String, ProviderError> {
    let failure = |message: String| ProviderError::StateUrl {
        url: crate::client::mask_url(url),
        message,
    };
    let body = serde_json::json!({ "state": state.name(), "action": "setup" });
    let (status, text) = match client {
        StateClient::Plain(client) => {
            let mut request = client.post(url).json(&body);
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
            let response = request.send().await.map_err(|error| {
                failure(format!(
                    "setup of '{state}' failed: {}",
                    crate::client::error_chain(&error)
                ))
            })?;
            let status = response.status().as_u16();
            let text = crate::capped::read_text(response, max_body)
                .await
                .map_err(|error| failure(format!("setup of '{state}': {error}")))?;
            (status, text)
        }
        StateClient::Authenticated(client) => {
            let path = reqwest::Url::parse(url)
                .map(|parsed| match parsed.query() {
                    Some(query) => format!("{}?{query}", parsed.path()),
                    None => parsed.path().to_string(),
                })
                .map_err(|error| failure(format!("not a URL: {error}")))?;
            let mut request_headers =
                vec![("Content-Type".to_string(), "application/json".to_string())];
            request_headers.extend(headers.iter().cloned());
            let exchange = client
                .send(&crate::client::OutgoingRequest {
                    method: "POST".into(),
                    path,
                    headers: request_headers,
                    body: Some(body.to_string().into_bytes()),
                    credentials: true,
                })
                .await;
            let received = exchange
                .response
                .map_err(|error| failure(format!("setup of '{state}' failed: {error}")))?;
            (received.status, received.body_text())
        }
    };
    if status != 200 {
        let why = if status == 401 {
            " (the endpoint wants credentials: --state-auth same, or --state-header)"
        } else {
            ""
        };
        return Err(failure(format!(
            "setup of '{state}' answered {status}, expected 200{why}"
        )));
    }
    let answer: serde_json::Value = serde_json::from_str(&text)
        .map_err(|_| failure(format!("setup of '{state}': answer is not JSON")))?;
    answer
        .get("id")
        .and_then(serde_json::Value::as_str)
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
        .map(str::to_string)
        .ok_or_else(|| failure(format!("setup of '{state}': answer has no GUID 'id'")))
}

/// The origin of `url` (`scheme://host[:port]`), the base of an authenticated state client.
pub fn origin(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
