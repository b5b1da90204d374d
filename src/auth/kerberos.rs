//! Kerberos for `--auth negotiate`: which service principal (SPN) the tokens are for, where the
//! initiator's credentials come from, and which step a GSSAPI failure stopped at. The calls into
//! the library are in [`super::gssapi`]; the HTTP side is `client::kerberos_pool`.

use super::gssapi::{Context, Credential, GssError, Gssapi};
use super::{AuthError, Secret};
use std::sync::Arc;

/// How `--auth negotiate` authenticates, ready to make contexts.
#[derive(Debug)]
pub struct Kerberos {
    gssapi: Arc<Gssapi>,
    /// `--spn`, when given; otherwise `HTTP/<host>` of the base URL.
    spn: Option<String>,
    /// `--user`/`--password`: a ticket is asked for with them instead of the environment's.
    password: Option<(String, Secret)>,
}

impl Kerberos {
    /// Loads the library (exit 2 naming it when absent) and takes the settings.
    pub fn new(
        spn: Option<String>,
        user: Option<String>,
        password: Option<Secret>,
    ) -> Result<Kerberos, AuthError> {
        let password = match (user.filter(|u| !u.is_empty()), password) {
            (Some(user), Some(password)) if !password.expose().is_empty() => Some((user, password)),
            (Some(_), _) => {
                return Err(AuthError::Kerberos(format!(
                    "--auth negotiate with --user needs --password (or {}); without --user the \
                     ticket comes from the environment (kinit, KRB5CCNAME or KRB5_CLIENT_KTNAME)",
                    crate::flag_env::env_name("password")
                )));
            }
            (None, _) => None,
        };
        if let Some(spn) = spn.as_deref() {
            check_spn(spn)?;
        }
        let gssapi = Gssapi::load().map_err(AuthError::Kerberos)?;
        Ok(Kerberos {
            gssapi,
            spn,
            password,
        })
    }

    /// The SPN for `base_url`: `--spn`, or `HTTP/<host>`.
    pub fn spn_for(&self, base_url: &str) -> Result<String, AuthError> {
        match &self.spn {
            Some(spn) => Ok(spn.clone()),
            None => spn_from_url(base_url),
        }
    }

    /// The password, for scrubbing.
    pub fn password(&self) -> Option<&Secret> {
        self.password.as_ref().map(|(_, password)| password)
    }

    /// Initiator credentials: from the password when one was given (the KDC is asked now),
    /// otherwise `None`, meaning the environment's ticket. Blocks on the KDC.
    pub fn credential(&self) -> Result<Option<Arc<Credential>>, KerberosFailure> {
        let Some((user, password)) = &self.password else {
            return Ok(None);
        };
        self.gssapi
            .password_credential(user, password.expose())
            .map(|credential| Some(Arc::new(credential)))
            .map_err(|error| KerberosFailure::of(&error, user))
    }

    /// A fresh context towards `spn` and its first token, bound to `channel_binding` when the
    /// connection has one. Blocks on the KDC when no service ticket is cached yet.
    pub fn first_token(
        &self,
        spn: &str,
        credential: Option<Arc<Credential>>,
        channel_binding: Option<Vec<u8>>,
    ) -> Result<(Context, Vec<u8>), KerberosFailure> {
        let mut context = Context::new(Arc::clone(&self.gssapi), spn, credential, channel_binding)
            .map_err(|error| KerberosFailure::of(&error, spn))?;
        let token = context
            .step(None)
            .map_err(|error| KerberosFailure::of(&error, spn))?;
        Ok((context, token))
    }

    /// Where the initiator's ticket comes from, for people.
    pub fn source(&self) -> String {
        match &self.password {
            Some((user, _)) => format!("a ticket for {user} asked for with --password"),
            None => {
                "the ticket of the environment (kinit, KRB5CCNAME or KRB5_CLIENT_KTNAME)".into()
            }
        }
    }
}

/// `HTTP/<host>` of `base_url` (no port: SPNs name hosts).
pub fn spn_from_url(base_url: &str) -> Result<String, AuthError> {
    reqwest::Url::parse(base_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string))
        .map(|host| {
            format!(
                "HTTP/{}",
                host.trim_start_matches('[').trim_end_matches(']')
            )
        })
        .ok_or_else(|| {
            AuthError::Kerberos(format!(
                "--base-url '{base_url}' names no host to make the SPN HTTP/<host> of: pass --spn"
            ))
        })
}

fn check_spn(spn: &str) -> Result<(), AuthError> {
    let valid = spn
        .split_once('/')
        .is_some_and(|(service, host)| !service.is_empty() && !host.is_empty())
        && !spn.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(())
    } else {
        Err(AuthError::Kerberos(format!(
            "--spn '{spn}': expected SERVICE/host or SERVICE/host@REALM, e.g. HTTP/cm.contoso.com"
        )))
    }
}

/// The step a Kerberos failure on the client's side stopped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KerberosStep {
    /// No ticket to start from (no credential cache, an empty or expired one).
    NoTicket,
    /// No KDC of the realm answered (or none is configured).
    KdcUnreachable,
    /// The KDC knows no such service principal, or none for that host.
    WrongSpn,
    /// The KDC refused the user or password of `--user`/`--password`.
    WrongPassword,
    /// Anything else the library reported (clock skew, encryption types, ...).
    Other,
}

/// The base of MIT's krb5 com_err table; minor codes are offsets from it.
const KRB5_BASE: i64 = -1_765_328_384;
/// The base of MIT's GSSAPI krb5 mechanism table (KG_*).
const K5G_BASE: i64 = 39_756_032;

/// Minor codes and the step they mean (MIT krb5's com_err table, stable across releases).
const MINOR_STEPS: &[(i64, KerberosStep)] = &[
    (KRB5_BASE + 6, KerberosStep::WrongPassword), // client not found in Kerberos database
    (KRB5_BASE + 7, KerberosStep::WrongSpn),      // server not found in Kerberos database
    (KRB5_BASE + 23, KerberosStep::WrongPassword), // password has expired
    (KRB5_BASE + 24, KerberosStep::WrongPassword), // preauthentication failed
    (KRB5_BASE + 31, KerberosStep::WrongPassword), // decrypt integrity check failed
    (KRB5_BASE + 32, KerberosStep::NoTicket),     // ticket expired
    (KRB5_BASE + 141, KerberosStep::NoTicket),    // matching credential not found
    (KRB5_BASE + 154, KerberosStep::KdcUnreachable), // cannot find KDC for requested realm
    (KRB5_BASE + 156, KerberosStep::KdcUnreachable), // cannot contact any KDC
    (KRB5_BASE + 185, KerberosStep::NoTicket),    // cannot find ticket for requested realm
    (KRB5_BASE + 195, KerberosStep::NoTicket),    // no credentials cache found
    (KRB5_BASE + 203, KerberosStep::NoTicket),    // no credentials supplied
    (KRB5_BASE + 217, KerberosStep::WrongSpn),    // cannot determine realm for host
    (KRB5_BASE + 220, KerberosStep::KdcUnreachable), // cannot resolve network address for KDC
    (KRB5_BASE + 243, KerberosStep::WrongSpn),    // cannot determine realm for numeric host
    (K5G_BASE + 12, KerberosStep::NoTicket),      // KG_EMPTY_CCACHE: credential cache is empty
];

/// GSS_S_NO_CRED and GSS_S_CREDENTIALS_EXPIRED (routine errors, bits 16-23).
const NO_CREDENTIAL_MAJORS: [u32; 2] = [7 << 16, 11 << 16];

impl KerberosStep {
    /// The step a GSSAPI error stopped at: by the mechanism's code first, then by the major.
    pub fn of(major: u32, minor: u32) -> KerberosStep {
        let signed = i64::from(minor as i32);
        let by_minor = MINOR_STEPS
            .iter()
            .find(|(code, _)| *code == signed || *code == i64::from(minor))
            .map(|(_, step)| *step);
        by_minor.unwrap_or(if NO_CREDENTIAL_MAJORS.contains(&(major & 0x00ff_0000)) {
            KerberosStep::NoTicket
        } else {
            KerberosStep::Other
        })
    }
}

/// A failure before any token went out: the step, the principal it concerns (SPN or user) and
/// the library's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerberosFailure {
    pub step: KerberosStep,
    pub principal: String,
    pub detail: String,
}

impl KerberosFailure {
    fn of(error: &GssError, principal: &str) -> KerberosFailure {
        KerberosFailure {
            step: KerberosStep::of(error.major, error.minor),
            principal: principal.to_string(),
            detail: error.text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_named_by_their_step() {
        let cases: [(u32, i64, KerberosStep); 8] = [
            (13 << 16, KRB5_BASE + 195, KerberosStep::NoTicket),
            (13 << 16, KRB5_BASE + 156, KerberosStep::KdcUnreachable),
            (13 << 16, KRB5_BASE + 7, KerberosStep::WrongSpn),
            (13 << 16, KRB5_BASE + 24, KerberosStep::WrongPassword),
            (13 << 16, K5G_BASE + 12, KerberosStep::NoTicket),
            (7 << 16, 0, KerberosStep::NoTicket),
            (11 << 16, 0, KerberosStep::NoTicket),
            (13 << 16, KRB5_BASE + 37, KerberosStep::Other), // clock skew
        ];
        for (major, minor, expected) in cases {
            assert_eq!(
                KerberosStep::of(major, minor as i32 as u32),
                expected,
                "{major:#x} {minor}"
            );
        }
    }

    #[test]
    fn the_spn_is_http_at_the_host_of_the_base_url() {
        let cases = [
            ("https://cm.contoso.com/", "HTTP/cm.contoso.com"),
            ("http://localhost:8080/cm", "HTTP/localhost"),
            ("http://[::1]:8080", "HTTP/::1"),
        ];
        for (url, spn) in cases {
            assert_eq!(spn_from_url(url).ok().as_deref(), Some(spn), "{url}");
        }
        assert!(spn_from_url("not a url").is_err());
    }

    #[test]
    fn spn_overrides_must_name_a_service_and_a_host() {
        for good in ["HTTP/cm.contoso.com", "HTTP/cm@CONTOSO.COM"] {
            assert!(check_spn(good).is_ok(), "{good}");
        }
        for bad in ["cm.contoso.com", "HTTP/", "/host", "HTTP/a b"] {
            let error = check_spn(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains("--spn"), "{bad}: {error}");
        }
    }
}
