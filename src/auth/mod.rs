//! Authentication to a real deployment: the modes the CM REST API is deployed with (CONTRACT.md
//! section 2: Windows Integrated Authentication, an ADFS-issued token, a session cookie) and
//! the plain ones useful in front of proxies and test servers.
//!
//! - `basic`, `bearer`, `cookie`: one fixed header per request ([`Authenticator::header`]);
//! - `adfs`: OAuth2 client credentials against a token endpoint, the token cached and refreshed
//!   before it expires ([`adfs::TokenSource`]);
//! - `ntlm`: the connection-oriented NTLM handshake, driven by the HTTP client over one kept-alive
//!   connection ([`ntlm`]);
//! - `negotiate`: Kerberos through SPNEGO with the platform GSSAPI, loaded at run time
//!   ([`kerberos`], [`gssapi`]), driven by the HTTP client on pinned connections like NTLM.
//!
//! Secrets live in [`Secret`], whose `Debug` is redacted, and every secret a mode uses is listed
//! by [`Authenticator::secrets`] so that the client can scrub it from anything it records.

pub mod adfs;
pub mod gssapi;
pub mod kerberos;
pub mod ntlm;
pub mod spnego;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::fmt;

/// `--auth MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMode {
    /// No authentication besides `-H` headers.
    #[default]
    None,
    /// `Authorization: Basic` from --user and --password.
    Basic,
    /// `Authorization: Bearer` from --token.
    Bearer,
    /// `Cookie:` from --cookie (e.g. a session cookie of an ADFS sign-in).
    Cookie,
    /// An ADFS (OAuth2 client credentials) token from --token-url, cached and refreshed.
    Adfs,
    /// NTLM (Windows Integrated Authentication) from --user, --domain and --password.
    Ntlm,
    /// Kerberos (SPNEGO) with the ticket from kinit, or --user/--password; loads
    /// libgssapi_krb5.so.2 at run time.
    Negotiate,
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            AuthMode::None => "none",
            AuthMode::Basic => "basic",
            AuthMode::Bearer => "bearer",
            AuthMode::Cookie => "cookie",
            AuthMode::Adfs => "adfs",
            AuthMode::Ntlm => "ntlm",
            AuthMode::Negotiate => "negotiate",
        };
        f.write_str(name)
    }
}

/// A secret string: `Debug` never shows it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What the user gave for authentication (flags, environment).
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    pub mode: AuthMode,
    /// User name; for NTLM `DOMAIN\user` is accepted when no domain is given.
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub domain: Option<String>,
    pub token: Option<Secret>,
    pub cookie: Option<Secret>,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// The ADFS `resource` (the relying party identifier of the CM web application).
    pub resource: Option<String>,
    /// An OAuth2 `scope`, for token endpoints that want one instead of `resource`.
    pub scope: Option<String>,
    /// `--spn` (negotiate): the service principal instead of `HTTP/<host>`.
    pub spn: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "--auth {mode} needs {what}: pass {flag} or set {}",
        crate::flag_env::env_name(.flag.trim_start_matches('-'))
    )]
    Missing {
        mode: AuthMode,
        what: &'static str,
        flag: &'static str,
    },
    #[error("{0}")]
    Kerberos(String),
    #[error("ADFS token endpoint {url}: {message}")]
    Token { url: String, message: String },
    #[error("NTLM: {0}")]
    Ntlm(String),
}

/// NTLM credentials (the password never goes on the wire).
#[derive(Debug, Clone)]
pub struct NtlmCredentials {
    pub user: String,
    pub domain: String,
    pub password: Secret,
}

/// How the run authenticates, ready to use.
#[derive(Debug)]
pub enum Authenticator {
    None,
    /// One header on every credentialed request.
    Header {
        name: String,
        value: Secret,
    },
    Adfs(adfs::TokenSource),
    Ntlm(NtlmCredentials),
    Negotiate(std::sync::Arc<kerberos::Kerberos>),
}

impl Authenticator {
    /// Checks that the mode has what it needs; `http` is used for the ADFS token endpoint.
    pub fn from_settings(
        settings: &AuthSettings,
        http: reqwest::Client,
    ) -> Result<Authenticator, AuthError> {
        let need = Needs(settings);
        Ok(match settings.mode {
            AuthMode::None => Authenticator::None,
            AuthMode::Basic => {
                let credentials = format!("{}:{}", need.user()?, need.password()?);
                Authenticator::with_header(
                    "Authorization",
                    format!("Basic {}", BASE64.encode(credentials)),
                )
            }
            AuthMode::Bearer => {
                let token = need.secret(&settings.token, "a token", "--token")?;
                Authenticator::with_header("Authorization", format!("Bearer {token}"))
            }
            AuthMode::Cookie => Authenticator::with_header(
                "Cookie",
                need.secret(&settings.cookie, "a cookie string", "--cookie")?,
            ),
            AuthMode::Adfs => {
                Authenticator::Adfs(adfs::TokenSource::new(http, need.token_request()?))
            }
            AuthMode::Ntlm => Authenticator::Ntlm(need.ntlm()?),
            AuthMode::Negotiate => {
                Authenticator::Negotiate(std::sync::Arc::new(kerberos::Kerberos::new(
                    settings.spn.clone(),
                    settings.user.clone(),
                    settings.password.clone(),
                )?))
            }
        })
    }

    /// One header on every credentialed request.
    fn with_header(name: &str, value: String) -> Authenticator {
        Authenticator::Header {
            name: name.into(),
            value: Secret::new(value),
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Authenticator::None)
    }

    /// The header a credentialed request carries (`None` for NTLM and Kerberos: the client
    /// handshakes).
    pub async fn header(&self) -> Result<Option<(String, String)>, AuthError> {
        match self {
            Authenticator::Header { name, value } => {
                Ok(Some((name.clone(), value.expose().to_string())))
            }
            Authenticator::Adfs(source) => {
                let token = source.token().await?;
                Ok(Some(("Authorization".into(), format!("Bearer {token}"))))
            }
            Authenticator::None | Authenticator::Ntlm(_) | Authenticator::Negotiate(_) => Ok(None),
        }
    }

    /// Every secret string this mode knows, as given and as it appears on the wire, for
    /// scrubbing. (ADFS access tokens are added by the token source as they are issued.)
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = Vec::new();
        match self {
            Authenticator::None => {}
            Authenticator::Header { value, .. } => {
                let value = value.expose();
                secrets.push(value.to_string());
                if let Some((scheme, credential)) = value.split_once(' ') {
                    secrets.push(credential.to_string());
                    if scheme.eq_ignore_ascii_case("basic")
                        && let Ok(decoded) = BASE64.decode(credential)
                    {
                        let decoded = String::from_utf8_lossy(&decoded).into_owned();
                        if let Some((_, password)) = decoded.split_once(':') {
                            secrets.push(password.to_string());
                        }
                        secrets.push(decoded);
                    }
                }
                // Each cookie's value on its own, too.
                for pair in value.split(';') {
                    if let Some((_, cookie)) = pair.split_once('=') {
                        secrets.push(cookie.trim().to_string());
                    }
                }
            }
            Authenticator::Adfs(source) => secrets.extend(source.secrets()),
            Authenticator::Ntlm(credentials) => {
                secrets.push(credentials.password.expose().to_string())
            }
            Authenticator::Negotiate(kerberos) => {
                secrets.extend(kerberos.password().map(|p| p.expose().to_string()))
            }
        }
        // Very short strings would mask ordinary text; they are masked by header name anyway.
        secrets.retain(|secret| secret.len() >= 4);
        secrets
    }
}

/// Replaces every occurrence of each secret in `text` by `********`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .fold(text.to_string(), |text, secret| {
            text.replace(secret.as_str(), "********")
        })
}

/// [`scrub`] on bytes (response bodies may not be UTF-8).
pub fn scrub_bytes(bytes: Vec<u8>, secrets: &[String]) -> Vec<u8> {
    let mut bytes = bytes;
    for secret in secrets.iter().map(String::as_bytes) {
        if secret.is_empty() || bytes.len() < secret.len() {
            continue;
        }
        if !bytes.windows(secret.len()).any(|window| window == secret) {
            continue;
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index..].starts_with(secret) {
                out.extend_from_slice(b"********");
                index += secret.len();
            } else {
                out.push(bytes[index]);
                index += 1;
            }
        }
        bytes = out;
    }
    bytes
}

/// The settings a mode needs, each present and non-empty, or an error naming its flag and
/// environment variable.
struct Needs<'a>(&'a AuthSettings);

impl Needs<'_> {
    fn value(
        &self,
        value: Option<&str>,
        what: &'static str,
        flag: &'static str,
    ) -> Result<String, AuthError> {
        value
            .filter(|value| !value.is_empty())
            .map(str::to_string)
            .ok_or(AuthError::Missing {
                mode: self.0.mode,
                what,
                flag,
            })
    }

    fn secret(
        &self,
        value: &Option<Secret>,
        what: &'static str,
        flag: &'static str,
    ) -> Result<String, AuthError> {
        self.value(value.as_ref().map(Secret::expose), what, flag)
    }

    fn user(&self) -> Result<String, AuthError> {
        self.value(self.0.user.as_deref(), "a user name", "--user")
    }

    fn password(&self) -> Result<String, AuthError> {
        self.secret(&self.0.password, "a password", "--password")
    }

    /// The client-credentials request of `--auth adfs`.
    fn token_request(&self) -> Result<adfs::TokenRequest, AuthError> {
        let settings = self.0;
        Ok(adfs::TokenRequest {
            url: self.value(
                settings.token_url.as_deref(),
                "a token endpoint",
                "--token-url",
            )?,
            client_id: self.value(settings.client_id.as_deref(), "a client id", "--client-id")?,
            client_secret: Secret::new(self.secret(
                &settings.client_secret,
                "a client secret",
                "--client-secret",
            )?),
            resource: settings.resource.clone(),
            scope: settings.scope.clone(),
        })
    }

    /// NTLM credentials; `DOMAIN\user` gives the domain when `--domain` does not.
    fn ntlm(&self) -> Result<NtlmCredentials, AuthError> {
        let user = self.user()?;
        let (domain, user) = match (&self.0.domain, user.split_once('\\')) {
            (Some(domain), _) => (domain.clone(), user),
            (None, Some((domain, name))) => (domain.to_string(), name.to_string()),
            (None, None) => (String::new(), user),
        };
        Ok(NtlmCredentials {
            user,
            domain,
            password: Secret::new(self.password()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mode: AuthMode) -> AuthSettings {
        AuthSettings {
            mode,
            user: Some("CONTOSO\\alice".into()),
            password: Some(Secret::new("hunter2-pw")),
            token: Some(Secret::new("tok-123456")),
            cookie: Some(Secret::new("session=abcdef; other=zzzzzz")),
            ..AuthSettings::default()
        }
    }

    #[tokio::test]
    async fn basic_header_and_its_secrets() {
        let auth = Authenticator::from_settings(&settings(AuthMode::Basic), reqwest::Client::new())
            .expect("basic is complete");
        let header = auth.header().await.ok().flatten();
        assert_eq!(
            header,
            Some((
                "Authorization".to_string(),
                "Basic Q09OVE9TT1xhbGljZTpodW50ZXIyLXB3".to_string()
            ))
        );
        let secrets = auth.secrets();
        assert!(secrets.contains(&"hunter2-pw".to_string()), "{secrets:?}");
        assert!(secrets.contains(&"CONTOSO\\alice:hunter2-pw".to_string()));
    }

    #[test]
    fn ntlm_splits_domain_from_user() {
        let auth = Authenticator::from_settings(&settings(AuthMode::Ntlm), reqwest::Client::new());
        match auth {
            Ok(Authenticator::Ntlm(credentials)) => {
                assert_eq!(
                    (credentials.domain.as_str(), credentials.user.as_str()),
                    ("CONTOSO", "alice")
                );
            }
            other => panic!("expected NTLM credentials, got {other:?}"),
        }
    }

    #[test]
    fn missing_and_unsupported_modes_explain_themselves() {
        let error = Authenticator::from_settings(
            &AuthSettings {
                mode: AuthMode::Bearer,
                ..AuthSettings::default()
            },
            reqwest::Client::new(),
        )
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
        assert_eq!(
            error,
            "--auth bearer needs a token: pass --token or set CMCONFORM_TOKEN"
        );
        let user_without_password = AuthSettings {
            password: None,
            ..settings(AuthMode::Negotiate)
        };
        let error = Authenticator::from_settings(&user_without_password, reqwest::Client::new())
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("needs --password"), "{error}");
    }

    #[test]
    fn scrubbing_masks_every_occurrence() {
        let secrets = vec!["s3cret".to_string()];
        assert_eq!(
            scrub("a s3cret b s3cret", &secrets),
            "a ******** b ********"
        );
        assert_eq!(
            scrub_bytes(b"xs3crety".to_vec(), &secrets),
            b"x********y".to_vec()
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        assert_eq!(format!("{:?}", Secret::new("x")), "Secret(<redacted>)");
    }
}
