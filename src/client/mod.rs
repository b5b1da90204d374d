//! The HTTP client: sends one planned request to the target and records the exchange exactly as
//! it happened (status, headers, body bytes, timing) or the transport error that prevented it.
//! Secrets are masked when the exchange is recorded, so nothing downstream can leak them.
//!
//! `connection` builds the TLS/proxy/timeout side, `ntlm_pool` keeps NTLM-authenticated
//! connections, `secrets` masks what must never be shown, `curl` renders a request for replay.

use crate::auth::{self, AuthError, Authenticator, ntlm};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod connection;
mod curl;
mod ntlm_pool;

use crate::redact::mask_header_arg;
pub use crate::redact::{
    error_chain, is_credential_header, is_secret_header, mask_headers, mask_url,
};
pub use connection::{Connection, INSECURE_NOTICE, TlsOptions, http_builder, plain_client};
use ntlm_pool::{Handshake, NtlmPool};

/// Default cap on response bodies; a larger answer is a finding, not a crash.
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// A request ready to go on the wire (the runner has substituted the id).
#[derive(Debug, Clone, Serialize)]
pub struct OutgoingRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Whether the run's credentials (and other `-H` headers) are added.
    pub credentials: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    /// Headers as sent, secrets masked.
    pub headers: Vec<(String, String)>,
    #[serde(
        serialize_with = "serialize_body",
        deserialize_with = "deserialize_body"
    )]
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceivedResponse {
    pub status: u16,
    /// Headers as received, secrets masked.
    pub headers: Vec<(String, String)>,
    #[serde(
        serialize_with = "serialize_body",
        deserialize_with = "deserialize_body"
    )]
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum TransportError {
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    #[error("body larger than the {0}-byte limit")]
    BodyTooLarge(usize),
    #[error("malformed or truncated HTTP: {0}")]
    Protocol(String),
    #[error("authentication could not be carried out: {0}")]
    Auth(String),
}

/// One request and what came back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    pub request: SentRequest,
    #[serde(
        serialize_with = "serialize_response",
        deserialize_with = "deserialize_response"
    )]
    pub response: Result<ReceivedResponse, TransportError>,
    pub elapsed_ms: f64,
}

/// `{"received": {...}}` or `{"transport_error": {...}}`: readable in the JSON report.
fn serialize_response<S: serde::Serializer>(
    response: &Result<ReceivedResponse, TransportError>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Repr<'a> {
        Received(&'a ReceivedResponse),
        TransportError(&'a TransportError),
    }
    match response {
        Ok(received) => Repr::Received(received).serialize(serializer),
        Err(error) => Repr::TransportError(error).serialize(serializer),
    }
}

/// Reads back what `serialize_response` wrote (`cmconform merge`).
fn deserialize_response<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Result<ReceivedResponse, TransportError>, D::Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    enum Repr {
        Received(ReceivedResponse),
        TransportError(TransportError),
    }
    Ok(match Repr::deserialize(deserializer)? {
        Repr::Received(received) => Ok(received),
        Repr::TransportError(error) => Err(error),
    })
}

impl Exchange {
    pub fn ok(&self) -> Option<&ReceivedResponse> {
        self.response.as_ref().ok()
    }
}

impl ReceivedResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("--base-url '{0}' is not an http(s) URL")]
    BaseUrl(String),
    #[error("-H '{0}': expected 'Name: value'")]
    Header(String),
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
    #[error("{flag} {path}: {message}")]
    Tls {
        flag: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("--proxy {url}: {message}")]
    Proxy { url: String, message: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: String,
    /// `-H` headers, credentials among them.
    pub extra_headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub connection: Connection,
    /// Ignore proxy settings (always so for the embedded loopback server).
    pub no_proxy: bool,
    /// Refuse a mutating request to an id the provider did not stage unless a GET shows that
    /// it names no request (shared deployments; see [`HttpClient::guard`]).
    pub guard_unstaged: bool,
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    /// For requests sent without credentials while NTLM authenticates connections: a client
    /// whose connections are never authenticated.
    bare: reqwest::Client,
    config: Arc<ClientConfig>,
    auth: Arc<Authenticator>,
    ntlm: Option<Arc<NtlmPool>>,
    /// Secrets known when the client was built (headers, passwords), for scrubbing.
    secrets: Arc<Vec<String>>,
}

impl HttpClient {
    pub fn new(mut config: ClientConfig) -> Result<HttpClient, ClientError> {
        let base = config.base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://"))
            || reqwest::Url::parse(&base).is_err()
        {
            return Err(ClientError::BaseUrl(config.base_url));
        }
        config.base_url = base;
        for (name, value) in &config.extra_headers {
            if HeaderName::from_bytes(name.as_bytes()).is_err()
                || HeaderValue::from_str(value).is_err()
            {
                return Err(ClientError::Header(name.clone()));
            }
        }
        let build = |builder: reqwest::ClientBuilder| {
            builder
                .build()
                .map_err(|error| ClientError::Build(error.to_string()))
        };
        let inner = build(http_builder(
            &config.connection,
            config.timeout,
            config.no_proxy,
        )?)?;
        let bare = build(http_builder(
            &config.connection,
            config.timeout,
            config.no_proxy,
        )?)?;
        let auth = Authenticator::from_settings(&config.connection.auth, inner.clone())?;
        let mut secrets = auth.secrets();
        for (name, value) in &config.extra_headers {
            if is_secret_header(name) {
                secrets.push(value.clone());
                if let Some((_, credential)) = value.split_once(' ') {
                    secrets.push(credential.trim().to_string());
                }
            }
        }
        secrets.retain(|secret| secret.len() >= 4);
        let config = Arc::new(config);
        let ntlm = auth
            .is_ntlm()
            .then(|| Arc::new(NtlmPool::new(config.clone())));
        Ok(HttpClient {
            inner,
            bare,
            config,
            auth: Arc::new(auth),
            ntlm,
            secrets: Arc::new(secrets),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// Whether requests carry credentials (an `--auth` mode, or an `Authorization`/`Cookie`
    /// header given with `-H`).
    pub fn has_credentials(&self) -> bool {
        !self.auth.is_none()
            || self
                .config
                .extra_headers
                .iter()
                .any(|(name, _)| is_credential_header(name))
    }

    /// Every secret this client knows (for scrubbing text shown to people).
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = self.secrets.as_ref().clone();
        if let Authenticator::Adfs(source) = self.auth.as_ref() {
            secrets.extend(source.secrets());
        }
        secrets
    }

    /// Parses a curl-style `Name: value` header.
    pub fn parse_header(text: &str) -> Result<(String, String), ClientError> {
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| ClientError::Header(mask_header_arg(text)))?;
        let name = name.trim();
        if name.is_empty() || HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(ClientError::Header(mask_header_arg(text)));
        }
        Ok((name.to_string(), value.trim().to_string()))
    }

    /// Sends `request` and records the exchange; never fails: transport problems are recorded.
    pub async fn send(&self, request: &OutgoingRequest) -> Exchange {
        let url = format!("{}{}", self.config.base_url, request.path);
        let started = Instant::now();
        let (headers, response) = if request.credentials && self.ntlm.is_some() {
            self.send_ntlm(request, &url).await
        } else {
            let mut headers = self.headers_for(request);
            let response = match self.auth_header(request).await {
                Ok(header) => {
                    headers.extend(header);
                    let client = if request.credentials {
                        &self.inner
                    } else {
                        &self.bare
                    };
                    self.transmit(client, request, &url, &headers).await
                }
                Err(error) => Err(error),
            };
            (headers, response)
        };
        let secrets = self.secrets();
        let response = response.map(|mut received| {
            received.headers = received
                .headers
                .into_iter()
                .map(|(name, value)| (name, auth::scrub(&value, &secrets)))
                .collect();
            received.body = auth::scrub_bytes(received.body, &secrets);
            received
        });
        Exchange {
            request: SentRequest {
                method: request.method.clone(),
                url: mask_url(&url),
                headers: mask_headers(&headers),
                body: request.body.clone().unwrap_or_default(),
            },
            response,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }

    /// A plain GET of `path` with the run's credentials (the state reads before and after a PUT).
    pub async fn get(&self, path: &str) -> Exchange {
        self.send(&OutgoingRequest {
            method: "GET".into(),
            path: path.into(),
            headers: Vec::new(),
            body: None,
            credentials: true,
        })
        .await
    }

    /// The safety rule for shared deployments, in one place: a request that may change state
    /// (anything but GET, HEAD, OPTIONS) goes only to the id the provider staged for the case;
    /// to any other path only when a GET of that path first answers 404 or 400, i.e. it names
    /// no request. `Err` carries the reason the case is skipped; nothing was changed.
    pub async fn guard(
        &self,
        request: &OutgoingRequest,
        staged: Option<&str>,
    ) -> Result<(), String> {
        if !self.config.guard_unstaged
            || ["GET", "HEAD", "OPTIONS"]
                .iter()
                .any(|method| request.method.eq_ignore_ascii_case(method))
        {
            return Ok(());
        }
        if let (Some(staged), Some(id)) = (staged, path_request_id(&request.path))
            && uuid::Uuid::parse_str(staged).is_ok_and(|staged| staged == id)
        {
            return Ok(());
        }
        let probe = self
            .send(&OutgoingRequest {
                method: "GET".into(),
                path: request.path.clone(),
                headers: Vec::new(),
                body: None,
                credentials: true,
            })
            .await;
        match probe.response {
            Ok(received) if matches!(received.status, 400 | 404) => Ok(()),
            Ok(received) => Err(format!(
                "safety: {} {} targets a request the provider did not stage, and a GET of it \
                 answered {} (it may name a real request), so it was not sent",
                request.method, request.path, received.status
            )),
            Err(error) => Err(format!(
                "safety: {} {} targets a request the provider did not stage, and a GET to check \
                 that it names no request failed ({error}), so it was not sent",
                request.method, request.path
            )),
        }
    }

    fn headers_for(&self, request: &OutgoingRequest) -> Vec<(String, String)> {
        let mut headers = request.headers.clone();
        for (name, value) in &self.config.extra_headers {
            if request.credentials || !is_credential_header(name) {
                headers.push((name.clone(), value.clone()));
            }
        }
        headers
    }

    async fn auth_header(
        &self,
        request: &OutgoingRequest,
    ) -> Result<Option<(String, String)>, TransportError> {
        if !request.credentials {
            return Ok(None);
        }
        self.auth
            .header()
            .await
            .map_err(|error| TransportError::Auth(error.to_string()))
    }

    /// A credentialed request under NTLM: on a pooled connection, handshaking first when the
    /// connection is not (or no longer) authenticated. A 401 on an authenticated connection
    /// means the server forgot it (or it is a new connection): the handshake runs again once,
    /// and the request is resent (a 401 means it was not carried out).
    async fn send_ntlm(
        &self,
        request: &OutgoingRequest,
        url: &str,
    ) -> (
        Vec<(String, String)>,
        Result<ReceivedResponse, TransportError>,
    ) {
        let base = self.headers_for(request);
        let (Some(pool), Authenticator::Ntlm(credentials)) = (&self.ntlm, self.auth.as_ref())
        else {
            let response = self.transmit(&self.inner, request, url, &base).await;
            return (base, response);
        };
        let mut connection = match pool.take() {
            Ok(connection) => connection,
            Err(error) => return (base, Err(error)),
        };
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            let mut headers = base.clone();
            if !connection.authenticated {
                match self
                    .ntlm_handshake(&connection.client, credentials, url)
                    .await
                {
                    Ok(Handshake::Authenticate(value)) => {
                        headers.push(("Authorization".into(), value))
                    }
                    Ok(Handshake::NotNeeded) => connection.authenticated = true,
                    Ok(Handshake::NoChallenge) => {}
                    Err(error) => break (headers, Err(error)),
                }
            }
            let was_authenticated = connection.authenticated;
            let response = self
                .transmit(&connection.client, request, url, &headers)
                .await;
            let refused = response
                .as_ref()
                .is_ok_and(|received| received.status == 401);
            connection.authenticated = response.is_ok() && !refused;
            if refused && was_authenticated && attempt < 2 {
                continue;
            }
            break (headers, response);
        };
        pool.put(connection);
        outcome
    }

    /// Type 1 on a GET of `url`, the 401's type 2 challenge, and the type 3 answer to send with
    /// the real request on the same connection. Offers `NTLM`, then `Negotiate` (raw NTLMSSP
    /// inside Negotiate, which Windows accepts) when the server only offers that.
    async fn ntlm_handshake(
        &self,
        client: &reqwest::Client,
        credentials: &crate::auth::NtlmCredentials,
        url: &str,
    ) -> Result<Handshake, TransportError> {
        let negotiate =
            ntlm::negotiate_token().map_err(|error| TransportError::Auth(error.to_string()))?;
        let mut schemes = vec!["NTLM".to_string()];
        while let Some(scheme) = schemes.pop() {
            let headers = vec![("Authorization".to_string(), format!("{scheme} {negotiate}"))];
            let probe = OutgoingRequest {
                method: "GET".into(),
                path: String::new(),
                headers: Vec::new(),
                body: None,
                credentials: true,
            };
            let answer = self.transmit(client, &probe, url, &headers).await?;
            if answer.status != 401 {
                return Ok(Handshake::NotNeeded);
            }
            let offered: Vec<&str> = answer
                .headers
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case("www-authenticate"))
                .map(|(_, value)| value.as_str())
                .collect();
            if let Some((scheme, token)) = ntlm::challenge_from(offered.iter().copied()) {
                let answer = ntlm::authenticate_token(credentials, &token)
                    .map_err(|error| TransportError::Auth(error.to_string()))?;
                return Ok(Handshake::Authenticate(format!("{scheme} {answer}")));
            }
            let offers_negotiate = offered.iter().any(|value| {
                value
                    .split(',')
                    .any(|offer| offer.trim().eq_ignore_ascii_case("negotiate"))
            });
            if scheme == "NTLM" && offers_negotiate {
                schemes.push("Negotiate".into());
            }
        }
        Ok(Handshake::NoChallenge)
    }

    async fn transmit(
        &self,
        client: &reqwest::Client,
        request: &OutgoingRequest,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<ReceivedResponse, TransportError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|error| {
            TransportError::Protocol(format!("method '{}': {error}", request.method))
        })?;
        let mut header_map = HeaderMap::new();
        for (name, value) in headers {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) else {
                return Err(TransportError::Protocol(format!(
                    "header '{name}' cannot be sent"
                )));
            };
            header_map.append(name, value);
        }
        // Only a connection that could not be established is retried: nothing was sent on it.
        // Once a request may have reached the server it is never sent again. Every retry fits
        // in the request's own timeout, so retries never stretch a run.
        let mut attempt = 0;
        let deadline = Instant::now() + self.config.timeout;
        let response = loop {
            let mut builder = client
                .request(method.clone(), url)
                .headers(header_map.clone());
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            }
            match builder.send().await {
                Ok(response) => break response,
                Err(error)
                    if error.is_connect()
                        && attempt < self.config.connection.retries
                        && Instant::now() + retry_wait(attempt) < deadline
                        && !error_chain(&error).contains("certificate") =>
                {
                    tokio::time::sleep(retry_wait(attempt)).await;
                    attempt += 1;
                }
                Err(error) => return Err(self.classify(error)),
            }
        };
        let status = response.status().as_u16();
        let headers = mask_headers(&header_pairs(response.headers()));
        let body = self.read_body(response).await?;
        Ok(ReceivedResponse {
            status,
            headers,
            body,
        })
    }

    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, TransportError> {
        let limit = self.config.connection.max_body;
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(TransportError::BodyTooLarge(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.classify(error))?
        {
            if body.len() + chunk.len() > limit {
                return Err(TransportError::BodyTooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn classify(&self, error: reqwest::Error) -> TransportError {
        if error.is_timeout() {
            TransportError::Timeout(self.config.timeout)
        } else if error.is_connect() {
            TransportError::Connect(error_chain(&error))
        } else {
            TransportError::Protocol(error_chain(&error))
        }
    }
}

/// The longest wait between two connection attempts.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// The wait before retry `attempt` (0-based): 200 ms, doubling, at most [`MAX_RETRY_WAIT`].
pub fn retry_wait(attempt: u32) -> Duration {
    Duration::from_millis(200u64 << attempt.min(10)).min(MAX_RETRY_WAIT)
}

/// The GUID a request path names (`.../requests/{id}`, any casing of the prefix, the id in any
/// spelling .NET accepts: hyphens or not, braces, percent-encoded).
fn path_request_id(path: &str) -> Option<uuid::Uuid> {
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
    let decoded = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()?;
    if decoded.to_ascii_lowercase().starts_with("urn:") {
        return None;
    }
    uuid::Uuid::parse_str(&decoded).ok()
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn serialize_body<S: serde::Serializer>(body: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(body))
}

/// A body as the reports write it: text (invalid UTF-8 was replaced when it was written).
fn deserialize_body<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<u8>, D::Error> {
    String::deserialize(deserializer).map(String::into_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_double_up_to_five_seconds() {
        let waits: Vec<u64> = (0..8)
            .map(|attempt| retry_wait(attempt).as_millis() as u64)
            .collect();
        assert_eq!(waits, [200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        assert_eq!(retry_wait(u32::MAX), MAX_RETRY_WAIT);
    }

    #[test]
    fn secrets_are_masked_but_schemes_stay() {
        let headers = vec![
            (
                "Authorization".to_string(),
                "Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1".to_string(),
            ),
            ("Cookie".to_string(), "session=abc".to_string()),
            ("X-Trace".to_string(), "1".to_string()),
        ];
        let masked = mask_headers(&headers);
        assert_eq!(masked[0].1, "Negotiate ********");
        assert_eq!(masked[1].1, "********");
        assert_eq!(masked[2].1, "1");
    }

    #[test]
    fn url_secrets_are_masked() {
        let url = mask_url("https://user:hunter2@host/x?access_token=abc&a=1");
        assert!(!url.contains("hunter2") && !url.contains("abc"), "{url}");
        assert_eq!(mask_url("http://h/a/../b"), "http://h/a/../b");
    }

    #[test]
    fn curl_keeps_exact_bytes() {
        let sent = SentRequest {
            method: "PUT".into(),
            url: "http://h/x".into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: vec![b'{', 0xff, b'\''],
        };
        assert_eq!(
            sent.to_curl(),
            "curl -sS -i -X PUT 'http://h/x' -H 'Content-Type: application/json' --data-binary $'{\\xff\\''"
        );
    }

    #[test]
    fn header_arguments_parse_curl_style() {
        assert_eq!(
            HttpClient::parse_header("Authorization: Bearer x").ok(),
            Some(("Authorization".to_string(), "Bearer x".to_string()))
        );
        let error = HttpClient::parse_header("Authorization Bearer secret")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("-H '********': expected 'Name: value'")
        );
    }
}
