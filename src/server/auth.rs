//! Authentication of the reference server: which credentials it accepts ([`Credentials`]) and
//! the check each API exchange passes first ([`check`]). NTLM is verified for real, per
//! connection, as IIS does: a type 1 message is answered 401 with a fresh challenge, a type 3
//! message that proves the password authenticates the connection, and later requests on it need
//! no `Authorization` header.

use crate::auth::NtlmCredentials;
use crate::auth::ntlm::{self, ClientMessage};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::sync::{Arc, Mutex};

/// What a request must carry to be let in.
#[derive(Clone)]
pub enum Credentials {
    /// Any non-blank `Authorization` value (stands in for Windows Integrated Authentication).
    AnyNonEmpty,
    /// Exactly this `Authorization` value, byte for byte.
    Exact(String),
    /// `Authorization: Basic` with this user and password.
    Basic { user: String, password: String },
    /// `Authorization: Bearer` with this token.
    Bearer(String),
    /// A `Cookie` header holding this `name=value` pair.
    Cookie(String),
    /// NTLM (NTLMv2) for this account, verified per connection.
    Ntlm {
        user: String,
        domain: String,
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    /// Redacted: the expected values are secrets and must not reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Credentials::AnyNonEmpty => "AnyNonEmpty",
            Credentials::Exact(_) => "Exact(<redacted>)",
            Credentials::Basic { .. } => "Basic(<redacted>)",
            Credentials::Bearer(_) => "Bearer(<redacted>)",
            Credentials::Cookie(_) => "Cookie(<redacted>)",
            Credentials::Ntlm { .. } => "Ntlm(<redacted>)",
        };
        f.write_str(name)
    }
}

impl PartialEq for Credentials {
    fn eq(&self, other: &Credentials) -> bool {
        self.kind() == other.kind() && self.secret() == other.secret()
    }
}

impl Eq for Credentials {}

impl Credentials {
    fn kind(&self) -> &'static str {
        match self {
            Credentials::AnyNonEmpty => "any",
            Credentials::Exact(_) => "exact",
            Credentials::Basic { .. } => "basic",
            Credentials::Bearer(_) => "bearer",
            Credentials::Cookie(_) => "cookie",
            Credentials::Ntlm { .. } => "ntlm",
        }
    }

    fn secret(&self) -> String {
        match self {
            Credentials::AnyNonEmpty => String::new(),
            Credentials::Exact(value) | Credentials::Bearer(value) | Credentials::Cookie(value) => {
                value.clone()
            }
            Credentials::Basic { user, password } => format!("{user}:{password}"),
            Credentials::Ntlm {
                user,
                domain,
                password,
            } => format!("{domain}\\{user}:{password}"),
        }
    }

    /// The `WWW-Authenticate` values of a plain 401.
    pub(super) fn challenges(&self) -> Vec<String> {
        match self {
            Credentials::Basic { .. } => vec!["Basic realm=\"cmconform\"".into()],
            Credentials::Bearer(_) => vec!["Bearer".into()],
            Credentials::Ntlm { .. } => vec!["NTLM".into(), "Negotiate".into()],
            Credentials::AnyNonEmpty | Credentials::Exact(_) | Credentials::Cookie(_) => {
                vec!["Negotiate".into()]
            }
        }
    }
}

/// Per-connection authentication state (NTLM authenticates connections).
#[derive(Debug, Clone, Default)]
pub struct Session(Arc<Mutex<SessionState>>);

#[derive(Debug, Default)]
struct SessionState {
    /// The challenge sent on this connection, waiting for its type 3 answer.
    challenge: Option<[u8; 8]>,
    authenticated: bool,
}

impl Session {
    fn state(&self) -> std::sync::MutexGuard<'_, SessionState> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The outcome of the check.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthDecision {
    Allow,
    /// 401 with these `WWW-Authenticate` values.
    Deny(Vec<String>),
}

/// Checks one exchange's credentials.
pub fn check(credentials: &Credentials, session: &Session, headers: &HeaderMap) -> AuthDecision {
    let authorization = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::trim);
    let allowed = match credentials {
        Credentials::AnyNonEmpty => headers
            .get(AUTHORIZATION)
            .is_some_and(|value| !value.as_bytes().trim_ascii().is_empty()),
        Credentials::Exact(expected) => headers
            .get(AUTHORIZATION)
            .is_some_and(|value| value.as_bytes() == expected.as_bytes()),
        Credentials::Basic { user, password } => authorization
            .and_then(|value| scheme_token(value, "basic"))
            .and_then(|token| BASE64.decode(token).ok())
            .is_some_and(|decoded| decoded == format!("{user}:{password}").as_bytes()),
        Credentials::Bearer(token) => authorization
            .and_then(|value| scheme_token(value, "bearer"))
            .is_some_and(|given| given == token),
        Credentials::Cookie(expected) => headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .any(|pair| pair.trim() == expected.trim()),
        Credentials::Ntlm {
            user,
            domain,
            password,
        } => {
            let expected = NtlmCredentials {
                user: user.clone(),
                domain: domain.clone(),
                password: crate::auth::Secret::new(password.clone()),
            };
            return check_ntlm(&expected, session, authorization);
        }
    };
    if allowed {
        AuthDecision::Allow
    } else {
        AuthDecision::Deny(credentials.challenges())
    }
}

/// `token` of `Scheme token` when the scheme is `scheme` (case-insensitive).
fn scheme_token<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, token) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(token.trim())
}

fn check_ntlm(
    expected: &NtlmCredentials,
    session: &Session,
    authorization: Option<&str>,
) -> AuthDecision {
    let plain = || AuthDecision::Deny(vec!["NTLM".into(), "Negotiate".into()]);
    let token = authorization.and_then(|value| {
        let (scheme, token) = value.split_once(' ')?;
        (scheme.eq_ignore_ascii_case("ntlm") || scheme.eq_ignore_ascii_case("negotiate"))
            .then(|| (scheme.to_string(), token.trim().to_string()))
    });
    let mut state = session.state();
    let Some((scheme, token)) = token else {
        // No NTLM header: an authenticated connection needs none.
        return if state.authenticated {
            AuthDecision::Allow
        } else {
            plain()
        };
    };
    match ntlm::parse_client_token(&token) {
        Some(ClientMessage::Negotiate) => {
            let challenge = *uuid::Uuid::new_v4().as_bytes();
            let mut server_challenge = [0u8; 8];
            server_challenge.copy_from_slice(&challenge[..8]);
            state.challenge = Some(server_challenge);
            state.authenticated = false;
            let token = ntlm::challenge_token(server_challenge, &expected.domain);
            AuthDecision::Deny(vec![format!("{scheme} {token}")])
        }
        Some(ClientMessage::Authenticate(message)) => {
            // Each challenge answers once; a type 3 without one on this connection fails.
            let verified = state
                .challenge
                .take()
                .is_some_and(|challenge| ntlm::verify(&message, challenge, expected));
            state.authenticated = verified;
            if verified {
                AuthDecision::Allow
            } else {
                plain()
            }
        }
        None => {
            state.authenticated = false;
            plain()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: axum::http::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
        headers
    }

    #[test]
    fn static_modes() {
        let session = Session::default();
        let basic = Credentials::Basic {
            user: "u".into(),
            password: "p".into(),
        };
        assert_eq!(
            check(&basic, &session, &headers(AUTHORIZATION, "Basic dTpw")),
            AuthDecision::Allow
        );
        assert!(matches!(
            check(&basic, &session, &headers(AUTHORIZATION, "Basic dTpx")),
            AuthDecision::Deny(_)
        ));
        let bearer = Credentials::Bearer("t0k".into());
        assert_eq!(
            check(&bearer, &session, &headers(AUTHORIZATION, "Bearer t0k")),
            AuthDecision::Allow
        );
        let cookie = Credentials::Cookie("s=1".into());
        assert_eq!(
            check(&cookie, &session, &headers(COOKIE, "a=b; s=1")),
            AuthDecision::Allow
        );
        assert_eq!(
            check(&cookie, &session, &HeaderMap::new()),
            AuthDecision::Deny(vec!["Negotiate".into()])
        );
    }

    #[test]
    fn ntlm_authenticates_the_connection() {
        let credentials = Credentials::Ntlm {
            user: "alice".into(),
            domain: "CONTOSO".into(),
            password: "pw-1234".into(),
        };
        let client = NtlmCredentials {
            user: "alice".into(),
            domain: "CONTOSO".into(),
            password: crate::auth::Secret::new("pw-1234"),
        };
        let session = Session::default();
        assert!(matches!(
            check(&credentials, &session, &HeaderMap::new()),
            AuthDecision::Deny(_)
        ));
        let negotiate = format!("NTLM {}", ntlm::negotiate_token().unwrap_or_default());
        let AuthDecision::Deny(challenge) =
            check(&credentials, &session, &headers(AUTHORIZATION, &negotiate))
        else {
            panic!("a type 1 message is answered with a challenge");
        };
        let (_, token) =
            ntlm::challenge_from(challenge.iter().map(String::as_str)).unwrap_or_default();
        let answer = ntlm::authenticate_token(&client, &token).unwrap_or_default();
        let authenticate = format!("NTLM {answer}");
        assert_eq!(
            check(
                &credentials,
                &session,
                &headers(AUTHORIZATION, &authenticate)
            ),
            AuthDecision::Allow
        );
        // The connection stays authenticated; a replayed type 3 does not.
        assert_eq!(
            check(&credentials, &session, &HeaderMap::new()),
            AuthDecision::Allow
        );
        assert!(matches!(
            check(
                &credentials,
                &session,
                &headers(AUTHORIZATION, &authenticate)
            ),
            AuthDecision::Deny(_)
        ));
        // Another connection is not authenticated.
        assert!(matches!(
            check(&credentials, &Session::default(), &HeaderMap::new()),
            AuthDecision::Deny(_)
        ));
    }
}
