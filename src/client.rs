//! The HTTP client: sends one planned request to the target and records the exchange exactly as
//! it happened (status, headers, body bytes, timing) or the transport error that prevented it.
//! Secrets are masked when the exchange is recorded, so nothing downstream can leak them.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Default cap on response bodies; a larger answer is a finding, not a crash.
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024 * 1024;
const MASK: &str = "********";

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

#[derive(Debug, Clone, Serialize)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    /// Headers as sent, secrets masked.
    pub headers: Vec<(String, String)>,
    #[serde(serialize_with = "serialize_body")]
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceivedResponse {
    pub status: u16,
    /// Headers as received, secrets masked.
    pub headers: Vec<(String, String)>,
    #[serde(serialize_with = "serialize_body")]
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
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
}

/// One request and what came back.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub request: SentRequest,
    #[serde(serialize_with = "serialize_response")]
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
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: String,
    /// `-H` headers, credentials among them.
    pub extra_headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub body_limit: usize,
    /// Ignore proxy environment variables (always so for the embedded loopback server).
    pub no_proxy: bool,
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: ClientConfig,
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
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout);
        if config.no_proxy {
            builder = builder.no_proxy();
        }
        let inner = builder
            .build()
            .map_err(|error| ClientError::Build(error.to_string()))?;
        Ok(HttpClient { inner, config })
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    pub fn has_credentials(&self) -> bool {
        self.config
            .extra_headers
            .iter()
            .any(|(name, _)| is_credential_header(name))
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
        let headers = self.headers_for(request);
        let sent = SentRequest {
            method: request.method.clone(),
            url: mask_url(&url),
            headers: mask_headers(&headers),
            body: request.body.clone().unwrap_or_default(),
        };
        let started = Instant::now();
        let response = self.transmit(request, &url, &headers).await;
        Exchange {
            request: sent,
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

    fn headers_for(&self, request: &OutgoingRequest) -> Vec<(String, String)> {
        let mut headers = request.headers.clone();
        for (name, value) in &self.config.extra_headers {
            if request.credentials || !is_credential_header(name) {
                headers.push((name.clone(), value.clone()));
            }
        }
        headers
    }

    async fn transmit(
        &self,
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
        let mut builder = self.inner.request(method, url).headers(header_map);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let response = builder.send().await.map_err(|error| self.classify(error))?;
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
        let limit = self.config.body_limit;
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

/// The error and its causes on one line: reqwest's top-level message alone hides the reason.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Headers whose values authenticate the caller.
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    )
}

/// Headers whose values must never be shown: credentials, session cookies, and anything that
/// names itself a token, key, secret or password.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    is_credential_header(&name)
        || name == "set-cookie"
        || ["token", "secret", "password", "api-key", "apikey"]
            .iter()
            .any(|word| name.contains(word))
}

pub fn mask_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if is_secret_header(name) {
                mask_value(value)
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect()
}

/// Keeps an auth scheme visible (`Negotiate ********`) because it helps diagnosis and is not secret.
fn mask_value(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _))
            if ["basic", "bearer", "negotiate", "ntlm"]
                .contains(&scheme.to_ascii_lowercase().as_str()) =>
        {
            format!("{scheme} {MASK}")
        }
        _ => MASK.to_string(),
    }
}

fn mask_header_arg(text: &str) -> String {
    match text.split_once(':') {
        Some((name, _)) => format!("{name}: {MASK}"),
        None => MASK.to_string(),
    }
}

/// Masks user info and secret-looking query parameters in a URL.
pub fn mask_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return url.to_string();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some(MASK));
    }
    let secret_query = parsed.query_pairs().any(|(key, _)| is_secret_header(&key));
    if secret_query {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if is_secret_header(&key) {
                    MASK.to_string()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // Url::parse normalizes the path (e.g. resolves `..`); keep the path as the user wrote it.
    if parsed.password().is_none() && !secret_query {
        return url.to_string();
    }
    parsed.to_string()
}

fn serialize_body<S: serde::Serializer>(body: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(body))
}

impl SentRequest {
    /// A shell command that reproduces the request (secrets already masked).
    pub fn to_curl(&self) -> String {
        let mut command = format!("curl -sS -i -X {} {}", self.method, shell_quote(&self.url));
        for (name, value) in &self.headers {
            command.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
        }
        if !self.body.is_empty()
            || self
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            command.push_str(&format!(" --data-binary {}", shell_bytes(&self.body)));
        }
        command
    }
}

/// Single-quotes for POSIX shells.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Bytes as a shell word: plain single quotes for printable text, `$'...'` escapes otherwise, so
/// the exact bytes (invalid UTF-8 and control characters included) reach curl.
fn shell_bytes(bytes: &[u8]) -> String {
    let printable = std::str::from_utf8(bytes)
        .is_ok_and(|text| text.chars().all(|c| !c.is_control() || c == '\n'));
    if printable {
        return shell_quote(&String::from_utf8_lossy(bytes));
    }
    let mut word = String::from("$'");
    for &byte in bytes {
        match byte {
            b'\'' => word.push_str("\\'"),
            b'\\' => word.push_str("\\\\"),
            0x20..=0x7e => word.push(byte as char),
            _ => word.push_str(&format!("\\x{byte:02x}")),
        }
    }
    word.push('\'');
    word
}

#[cfg(test)]
mod tests {
    use super::*;

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
