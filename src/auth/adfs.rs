//! ADFS-issued tokens (CONTRACT.md section 2): OAuth2 client credentials against the token
//! endpoint (`https://adfs.contoso.com/adfs/oauth2/token`), `resource` naming the CM web
//! application. The token is cached and fetched again shortly before it expires.

use super::{AuthError, Secret};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the token endpoint is asked.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub resource: Option<String>,
    pub scope: Option<String>,
}

#[derive(Debug)]
struct Cached {
    token: Secret,
    /// When to fetch a new one (before the real expiry).
    refresh_at: Instant,
}

/// A cached client-credentials token.
#[derive(Debug)]
pub struct TokenSource {
    http: reqwest::Client,
    request: TokenRequest,
    cache: tokio::sync::Mutex<Option<Cached>>,
    /// Every token issued so far, for scrubbing.
    issued: Mutex<Vec<String>>,
    /// Cap on the token endpoint's answer (`--max-body`).
    max_body: usize,
}

/// Lifetime assumed when the endpoint gives no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

impl TokenSource {
    pub fn new(http: reqwest::Client, request: TokenRequest) -> TokenSource {
        TokenSource {
            http,
            request,
            cache: tokio::sync::Mutex::new(None),
            issued: Mutex::new(Vec::new()),
            max_body: crate::client::DEFAULT_BODY_LIMIT,
        }
    }

    /// Caps the token endpoint's answer (`--max-body`, as for every other read).
    pub fn set_max_body(&mut self, limit: usize) {
        self.max_body = limit;
    }

    /// The client secret and every token issued so far.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.request.client_secret.expose().to_string()];
        let issued = self
            .issued
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        secrets.extend(issued.iter().cloned());
        secrets
    }

    /// A valid access token: the cached one, or a fresh one when it is about to expire.
    pub async fn token(&self) -> Result<String, AuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.expose().to_string());
        }
        let (token, lifetime) = self.fetch().await?;
        // Refresh a minute early, or halfway through short lifetimes.
        let margin = Duration::from_secs(60).min(lifetime / 2);
        *cache = Some(Cached {
            token: Secret::new(token.clone()),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        self.issued
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(token.clone());
        Ok(token)
    }

    /// Forgets the cached token (after the API refused it).
    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }

    async fn fetch(&self) -> Result<(String, Duration), AuthError> {
        let failure = |message: String| AuthError::Token {
            url: crate::redact::mask_url(&self.request.url),
            message,
        };
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.request.client_id.as_str()),
            ("client_secret", self.request.client_secret.expose()),
        ];
        if let Some(resource) = &self.request.resource {
            form.push(("resource", resource));
        }
        if let Some(scope) = &self.request.scope {
            form.push(("scope", scope));
        }
        let response = self
            .http
            .post(&self.request.url)
            .header("Accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|error| failure(crate::redact::error_chain(&error)))?;
        let status = response.status();
        let text = crate::capped::read_text(response, self.max_body)
            .await
            .map_err(|error| failure(error.to_string()))?;
        let secret = [self.request.client_secret.expose().to_string()];
        if !status.is_success() {
            let detail = super::scrub(text.chars().take(300).collect::<String>().trim(), &secret);
            return Err(failure(format!("answered {status}: {detail}")));
        }
        let answer: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| failure("the answer is not JSON".into()))?;
        let token = answer
            .get("access_token")
            .and_then(serde_json::Value::as_str)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| failure("the answer has no access_token".into()))?;
        // `expires_in` is a number (RFC 6749); some servers send it as a string.
        let lifetime = match answer.get("expires_in") {
            Some(serde_json::Value::Number(number)) => number.as_f64(),
            Some(serde_json::Value::String(text)) => text.parse::<f64>().ok(),
            _ => None,
        }
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map_or(DEFAULT_LIFETIME, |seconds| {
            Duration::from_secs_f64(seconds.min(86_400.0))
        });
        Ok((token.to_string(), lifetime))
    }
}
