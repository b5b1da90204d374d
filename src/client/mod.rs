//! The HTTP client: sends one planned request to the target and records the exchange exactly as
//! it happened (status, headers, body bytes, timing) or the transport error that prevented it.
//! The request's own credentials are masked when it is recorded; answers are kept as received,
//! since the checks judge the bytes, and are masked when a report is made of them
//! (`report::CaseReport::redacted`).
//!
//! `connection` builds the TLS/proxy/timeout side and `tls` the rustls settings of the
//! connections the client owns; `owned` and `pinned` keep the connections that NTLM
//! (`ntlm_pool`) and Kerberos (`kerberos_pool`) authenticate, `channel_binding` binds them to
//! their TLS connection, `handshake` names their steps; `direct` keeps the connections every
//! other request goes on when no proxy is in between (reqwest carries requests through a
//! proxy), `exact` says which URL went on the wire;
//! `pace` keeps a run under `--rate`, `curl` renders a request for replay.

use crate::auth::{AuthError, Authenticator};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

mod answer_json;
mod channel_binding;
mod connection;
mod curl;
mod direct;
mod exact;
pub use curl::ReplayAuth;
mod handshake;
mod kerberos_pool;
mod ntlm_pool;
mod owned;
mod pace;
mod pinned;
mod tls;

use crate::redact::mask_header_arg;
pub use crate::redact::{
    error_chain, is_credential_header, is_secret_header, mask_headers, mask_url,
};
pub use connection::{Connection, INSECURE_NOTICE, TlsOptions, http_builder, plain_client};
use direct::Direct;
pub use handshake::{HandshakeStep, offers};
use kerberos_pool::KerberosPool;
use ntlm_pool::NtlmPool;
pub use ntlm_pool::WireForm;
pub use pace::{Pacer, Rate};

/// `, WWW-Authenticate offered: A | B` listing every offer of a 401, or nothing without one.
pub fn offered_schemes(received: &ReceivedResponse) -> String {
    let offered = offers(received);
    if offered.is_empty() {
        String::new()
    } else {
        format!(", WWW-Authenticate offered: {}", offered.join(" | "))
    }
}

/// Default cap on response bodies; a larger answer is a finding, not a crash.
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// A request as planned (its path may hold the `{id}` placeholders, see `plan`) and, once
/// resolved, as it goes on the wire. The body is shared: cloning a request, sending it and
/// recording it never copies the bytes.
#[derive(Debug, Clone, Serialize)]
pub struct OutgoingRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    #[serde(serialize_with = "serialize_optional_bytes")]
    pub body: Option<Bytes>,
    /// Whether the run's credentials (and other `-H` headers) are added.
    pub credentials: bool,
}

impl OutgoingRequest {
    /// A credentialed GET of `path`: the reads around a case and the guard's probe.
    pub fn get(path: &str) -> OutgoingRequest {
        OutgoingRequest {
            method: "GET".into(),
            path: path.into(),
            headers: Vec::new(),
            body: None,
            credentials: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    /// Headers as sent, secrets masked.
    pub headers: Vec<(String, String)>,
    /// The body sent, shared with the request that was sent (a report keeps a copy of its head
    /// only, see [`SentRequest::bound_body`]).
    #[serde(
        serialize_with = "serialize_body",
        deserialize_with = "deserialize_shared_body"
    )]
    pub body: Bytes,
    /// How a replay authenticates when the run handshakes (NTLM, Kerberos): the tokens it sent
    /// were good once only, so they are not among the headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<ReplayAuth>,
    /// Set when a report keeps only the head of the body (`--evidence-bytes`): a generated
    /// huge body is 1.1 MiB, and 100,000 cases must fit a report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceivedResponse {
    pub status: u16,
    /// Headers as received (masked only in reports).
    pub headers: Vec<(String, String)>,
    #[serde(
        serialize_with = "serialize_body",
        deserialize_with = "deserialize_body"
    )]
    pub body: Vec<u8>,
    /// Set when a report keeps only the head of the body (`--evidence-bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
    /// The body parsed as JSON, once: many checks read the same answer.
    #[serde(skip)]
    parsed: OnceLock<Option<serde_json::Value>>,
}

/// What a report left out of a body: its whole length and digest, and how much it kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// Bytes of the whole body.
    pub length: usize,
    /// `sha256:<hex>` of the whole body (as reported: secrets masked).
    pub sha256: String,
    /// Bytes kept in the report.
    pub kept: usize,
}

impl Truncation {
    /// Keeps at most `keep` bytes of `body` (cut at a character boundary) and says what was cut:
    /// the whole body's length and digest. `None` when the body fits.
    pub fn cut(body: &mut Vec<u8>, keep: usize) -> Option<Truncation> {
        let truncation = Truncation::of(body, keep)?;
        body.truncate(truncation.kept);
        body.shrink_to_fit();
        Some(truncation)
    }

    /// What keeping at most `keep` bytes of `body` leaves out, cut at a character boundary;
    /// `None` when the body fits.
    pub fn of(body: &[u8], keep: usize) -> Option<Truncation> {
        if body.len() <= keep {
            return None;
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, body);
        let hex: String = digest
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let mut cut = keep;
        // Back off continuation bytes so a UTF-8 body stays readable.
        while cut > 0 && body.get(cut).is_some_and(|byte| byte & 0xC0 == 0x80) {
            cut -= 1;
        }
        Some(Truncation {
            length: body.len(),
            sha256: format!("sha256:{hex}"),
            kept: cut,
        })
    }
}

impl SentRequest {
    /// Keeps at most `keep` bytes of the body for a report, as [`ReceivedResponse::bound_body`]:
    /// the kept head is copied, so the report no longer holds the whole shared body.
    pub fn bound_body(&mut self, keep: usize) {
        if let Some(truncation) = Truncation::of(&self.body, keep) {
            self.body = Bytes::copy_from_slice(&self.body[..truncation.kept]);
            self.truncated = Some(truncation);
        }
    }
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
    /// The connection closed before any byte of an answer (a kept-alive connection the target
    /// had closed, or a target that hangs up). A GET was retried once on a fresh connection
    /// first; a PUT never is, since it may have taken effect.
    #[error("connection closed by the target before any answer: {0}")]
    Closed(String),
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
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> ReceivedResponse {
        ReceivedResponse {
            status,
            headers,
            body,
            truncated: None,
            parsed: OnceLock::new(),
        }
    }

    /// Keeps at most `keep` bytes of the body (cut at a character boundary), recording the whole
    /// body's length and digest. Only reports are bounded: the checks have judged the whole body.
    pub fn bound_body(&mut self, keep: usize) {
        if let Some(truncation) = Truncation::cut(&mut self.body, keep) {
            self.truncated = Some(truncation);
            self.parsed = OnceLock::new();
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON, parsed on first use (the body is not changed after an answer is
    /// recorded, so the parse stays valid).
    pub fn json(&self) -> Option<&serde_json::Value> {
        self.parsed
            .get_or_init(|| answer_json::parse(&self.body))
            .as_ref()
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
    #[error("-H {0}")]
    OwnedHeader(String),
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
    /// it names no request (shared deployments; see `policy::guard`).
    pub guard_unstaged: bool,
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    /// Never reuses a connection: the one retry of a GET whose kept-alive connection was dead,
    /// and every PUT once the target is known to close kept-alive connections.
    fresh: reqwest::Client,
    /// Set once a kept-alive connection was found closed by the target.
    closes_idle: Arc<AtomicBool>,
    /// For requests sent without credentials while NTLM authenticates connections: a client
    /// whose connections are never authenticated.
    bare: reqwest::Client,
    config: Arc<ClientConfig>,
    auth: Arc<Authenticator>,
    /// NTLM or Kerberos: the connections their handshakes pin.
    pinned: Option<Arc<PinnedAuth>>,
    /// Secrets known when the client was built (headers, passwords), for scrubbing.
    secrets: Arc<Vec<String>>,
    /// `--rate`: every request waits for its slot.
    pacer: Option<Arc<Pacer>>,
    /// No proxy in between: the keep-alive connections every request not pinned by a
    /// handshake goes on (`direct`); reqwest carries requests only through a proxy.
    direct: Option<Arc<Direct>>,
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
        let builder = || {
            http_builder(
                &config.connection,
                config.timeout,
                config.no_proxy,
                &config.base_url,
            )
        };
        let inner = build(builder()?)?;
        let bare = build(builder()?)?;
        let fresh = build(builder()?.pool_max_idle_per_host(0))?;
        let mut auth = Authenticator::from_settings(&config.connection.auth, inner.clone())?;
        if let Authenticator::Adfs(source) = &mut auth {
            source.set_max_body(config.connection.max_body);
        }
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
        let pinned = PinnedAuth::for_auth(&auth, &config)?.map(Arc::new);
        // User info in the base URL: reqwest sends it as Basic credentials, as it always did.
        let user_info = reqwest::Url::parse(&config.base_url)
            .is_ok_and(|url| !url.username().is_empty() || url.password().is_some());
        let direct = if exact::direct(&config) && !user_info {
            let endpoint =
                owned::Endpoint::new(&config.base_url, &config.connection, config.timeout)?;
            Some(Arc::new(Direct::new(endpoint)))
        } else {
            None
        };
        Ok(HttpClient {
            inner,
            fresh,
            closes_idle: Arc::new(AtomicBool::new(false)),
            bare,
            config,
            auth: Arc::new(auth),
            pinned,
            secrets: Arc::new(secrets),
            pacer: None,
            direct,
        })
    }

    /// Keeps every request this client (and its clones) sends under `rate`.
    pub fn with_rate(mut self, rate: Option<Rate>) -> HttpClient {
        self.pacer = rate.map(|rate| Arc::new(Pacer::new(rate)));
        self
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
        if let Some(problem) = crate::contract::headers::header_problem(name, value) {
            return Err(ClientError::OwnedHeader(problem));
        }
        Ok((name.to_string(), value.trim().to_string()))
    }

    /// Sends `request` and records the exchange; never fails: transport problems are recorded.
    pub async fn send(&self, request: &OutgoingRequest) -> Exchange {
        if let Some(pacer) = &self.pacer {
            pacer.wait().await;
        }
        let url = format!("{}{}", self.config.base_url, request.path);
        let started = Instant::now();
        let (url, headers, response) =
            if let (true, Some(pool)) = (request.credentials, &self.pinned) {
                // Pinned connections are always direct (a proxy is refused when they are built).
                let url = exact::wire(&url, true);
                let (headers, response) = self.send_pinned(pool, request, &url).await;
                (url, headers, response)
            } else {
                let mut headers = self.headers_for(request);
                let (url, response) = match self.auth_header(request).await {
                    Ok(header) => {
                        headers.extend(header);
                        self.transmit_any(request, url, &headers).await
                    }
                    Err(error) => (url, Err(error)),
                };
                (url, headers, response)
            };
        Exchange {
            request: SentRequest {
                method: request.method.clone(),
                url: mask_url(&url),
                headers: mask_headers(&headers),
                body: request.body.clone().unwrap_or_default(),
                auth: request
                    .credentials
                    .then(|| ReplayAuth::for_settings(&self.config.connection.auth))
                    .flatten(),
                truncated: None,
            },
            response,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }

    /// Readies `count` kept-alive connections for requests about to leave together (race
    /// rounds). Direct connections only: NTLM and Kerberos connections are authenticated by the
    /// request that uses them, and reqwest (behind a proxy) keeps its own pool. None under
    /// `--rate`, whose slots keep the requests from leaving together anyway.
    pub async fn warm(&self, count: usize) {
        if let (None, Some(direct), None) = (&self.pinned, &self.direct, &self.pacer) {
            direct.warm(count).await;
        }
    }

    /// A plain GET of `path` with the run's credentials (the state reads before and after a PUT).
    pub async fn get(&self, path: &str) -> Exchange {
        self.send(&OutgoingRequest::get(path)).await
    }

    /// Whether the run's policy guards requests to ids the provider did not stage (shared
    /// deployments; `policy::guard` applies it).
    pub fn guards_unstaged(&self) -> bool {
        self.config.guard_unstaged
    }

    /// How long one answer may take (`--timeout`).
    pub fn timeout(&self) -> Duration {
        self.config.timeout
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

    /// A credentialed request under NTLM or Kerberos, on a pinned connection (see `ntlm_pool`,
    /// `kerberos_pool`). The headers recorded carry no `Authorization`: a one-use token is no
    /// use to a reader, the reproduction says `curl --ntlm` or `curl --negotiate` instead.
    async fn send_pinned(
        &self,
        pool: &PinnedAuth,
        request: &OutgoingRequest,
        url: &str,
    ) -> (
        Vec<(String, String)>,
        Result<ReceivedResponse, TransportError>,
    ) {
        let headers = self.headers_for(request);
        // `url` is already as it goes on the wire (see `exact::wire`).
        let Some(target) = exact::origin_form(url) else {
            let error = TransportError::Protocol(format!("URL '{}' has no path", mask_url(url)));
            return (headers, Err(error));
        };
        let outgoing = owned::Outgoing {
            method: &request.method,
            target,
            headers: &headers,
            body: request.body.as_deref().unwrap_or_default(),
        };
        let response = match pool {
            PinnedAuth::Ntlm(pool) => pool.send(&outgoing).await,
            PinnedAuth::Kerberos(pool) => pool.send(&outgoing).await,
        };
        (headers, response.map(|answer| answer.response))
    }

    /// Why the NTLM or Kerberos handshake failed last, naming the step (`None` when it did
    /// not, or the run uses neither).
    pub fn handshake_failure(&self) -> Option<HandshakeStep> {
        self.pinned.as_ref().and_then(|pool| match pool.as_ref() {
            PinnedAuth::Ntlm(pool) => pool.failure(),
            PinnedAuth::Kerberos(pool) => pool.failure(),
        })
    }

    /// The NTLM wire form learned from the server's offer, once a handshake ran.
    pub fn wire_form(&self) -> Option<WireForm> {
        match self.pinned.as_deref() {
            Some(PinnedAuth::Ntlm(pool)) => pool.form(),
            _ => None,
        }
    }

    /// How the handshake that authenticated went, for `doctor` (`None` without one).
    pub fn handshake_summary(&self) -> Option<String> {
        match self.pinned.as_deref()? {
            PinnedAuth::Ntlm(pool) => pool.form().map(|form| {
                format!(
                    "{} handshake, negotiate -> challenge -> authenticate on one connection",
                    form.describe()
                )
            }),
            PinnedAuth::Kerberos(pool) => Some(format!(
                "Kerberos through SPNEGO for {} with {}: ticket -> token -> the server's \
                 mutual-authentication token verified",
                pool.spn(),
                pool.source()
            )),
        }
    }

    /// A request no handshake pins: on a direct connection when no proxy is in between and
    /// hyper can write its target as given, else through reqwest (see `exact`). Returns the
    /// URL as it went on the wire.
    async fn transmit_any(
        &self,
        request: &OutgoingRequest,
        url: String,
        headers: &[(String, String)],
    ) -> (String, Result<ReceivedResponse, TransportError>) {
        if let Some(direct) = &self.direct
            && let Some(target) = exact::origin_form(&url)
            && target.parse::<hyper::Uri>().is_ok()
        {
            let mut headers = headers.to_vec();
            // What the pooled client sent unasked, so that a target answering by Accept
            // answers the same.
            if !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
            {
                headers.push(("accept".to_string(), "*/*".to_string()));
            }
            let outgoing = owned::Outgoing {
                method: &request.method,
                target,
                headers: &headers,
                body: request.body.as_deref().unwrap_or_default(),
            };
            // One deadline for the connection, its retries and the answer, as the pooled
            // client had.
            let timeout = self.config.timeout;
            let response = tokio::time::timeout(timeout, direct.send(&outgoing))
                .await
                .unwrap_or(Err(TransportError::Timeout(timeout)));
            return (url, response);
        }
        let url = exact::wire(&url, false);
        let client = if request.credentials {
            &self.inner
        } else {
            &self.bare
        };
        let response = self.transmit(client, request, &url, headers).await;
        (url, response)
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
        // A GET (a safe method: PUT is idempotent but never resent here) that found its
        // kept-alive connection closed goes once more on a new connection; once the target is
        // known to close kept-alive connections, other methods go on new connections at once.
        // (Not NTLM connections, whose authentication would be lost.)
        let pooled = std::ptr::eq(client, &self.inner) || std::ptr::eq(client, &self.bare);
        let mut fresh_retry = method.is_safe() && pooled;
        let mut client = client;
        if pooled && !method.is_safe() && self.closes_idle.load(Ordering::Relaxed) {
            client = &self.fresh;
        }
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
                Err(error) if fresh_retry && closed_before_answer(&error) => {
                    self.closes_idle.store(true, Ordering::Relaxed);
                    fresh_retry = false;
                    client = &self.fresh;
                }
                Err(error) => {
                    if closed_before_answer(&error) {
                        self.closes_idle.store(true, Ordering::Relaxed);
                    }
                    return Err(self.classify(error));
                }
            }
        };
        let status = response.status().as_u16();
        // As received: the checks judge raw evidence, reports mask it.
        let headers = header_pairs(response.headers());
        let body = self.read_body(response).await?;
        Ok(ReceivedResponse::new(status, headers, body))
    }

    async fn read_body(&self, response: reqwest::Response) -> Result<Vec<u8>, TransportError> {
        crate::capped::read_body(response, self.config.connection.max_body)
            .await
            .map_err(|error| match error {
                crate::capped::CappedError::TooLarge(limit) => TransportError::BodyTooLarge(limit),
                crate::capped::CappedError::Transport(error) => self.classify(error),
            })
    }

    fn classify(&self, error: reqwest::Error) -> TransportError {
        if error.is_timeout() {
            TransportError::Timeout(self.config.timeout)
        } else if error.is_connect() {
            TransportError::Connect(error_chain(&error))
        } else if closed_before_answer(&error) {
            TransportError::Closed(error_chain(&error))
        } else {
            TransportError::Protocol(error_chain(&error))
        }
    }
}

/// Whether a request failed because its connection closed before any answer: hyper's
/// "incomplete message", or a reset, abort or broken pipe under it.
fn closed_before_answer(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(current) = source {
        if current
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
        {
            return true;
        }
        if current.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            )
        }) {
            return true;
        }
        source = current.source();
    }
    false
}

/// The connection-oriented authentications, each on connections it pins.
#[derive(Debug)]
enum PinnedAuth {
    Ntlm(NtlmPool),
    Kerberos(KerberosPool),
}

impl PinnedAuth {
    /// The pool `auth` needs for `config`'s target, if it handshakes.
    fn for_auth(auth: &Authenticator, config: &ClientConfig) -> Result<Option<Self>, ClientError> {
        let mode = match auth {
            Authenticator::Ntlm(_) => "ntlm",
            Authenticator::Negotiate(_) => "negotiate",
            _ => return Ok(None),
        };
        if let Some(proxy) = &config.connection.proxy {
            return Err(ClientError::Proxy {
                url: mask_url(proxy),
                message: format!(
                    "--auth {mode} pins each handshake to one direct connection; going through \
                     a proxy (CONNECT) is not supported"
                ),
            });
        }
        let endpoint = owned::Endpoint::new(&config.base_url, &config.connection, config.timeout)?;
        let connections = pinned::Connections::new(endpoint);
        Ok(match auth {
            Authenticator::Ntlm(credentials) => Some(PinnedAuth::Ntlm(NtlmPool::new(
                connections,
                credentials.clone(),
            ))),
            Authenticator::Negotiate(kerberos) => {
                let spn = kerberos.spn_for(&config.base_url)?;
                Some(PinnedAuth::Kerberos(KerberosPool::new(
                    connections,
                    Arc::clone(kerberos),
                    spn,
                )))
            }
            _ => None,
        })
    }
}

/// The longest wait between two connection attempts.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// The wait before retry `attempt` (0-based): 200 ms, doubling, at most [`MAX_RETRY_WAIT`].
pub fn retry_wait(attempt: u32) -> Duration {
    Duration::from_millis(200u64 << attempt.min(10)).min(MAX_RETRY_WAIT)
}

pub(super) fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
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

/// [`deserialize_body`] for a shared body.
fn deserialize_shared_body<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Bytes, D::Error> {
    deserialize_body(deserializer).map(Bytes::from)
}

/// A planned body as its bytes (as a `Vec<u8>` would serialize).
fn serialize_optional_bytes<S: serde::Serializer>(
    body: &Option<Bytes>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    body.as_deref().serialize(serializer)
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
        // Each on its own: user info alone, a secret query alone.
        let url = mask_url("https://user:hunter2@host/x");
        assert!(!url.contains("hunter2"), "{url}");
        let url = mask_url("http://h/x?access_token=abc");
        assert!(!url.contains("abc"), "{url}");
        assert_eq!(mask_url("http://h/x?a=1"), "http://h/x?a=1");
    }

    #[test]
    fn curl_keeps_exact_bytes() {
        let sent = SentRequest {
            method: "PUT".into(),
            url: "http://h/x".into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: vec![b'{', 0xff, b'\''].into(),
            auth: None,
            truncated: None,
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
