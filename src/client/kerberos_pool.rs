//! Kerberos (`--auth negotiate`) on connections the client owns, like NTLM: a connection that
//! authenticated keeps carrying requests without a token, as IIS allows, and when the server
//! asks again (a 401 there) a fresh context makes a fresh token, since Kerberos tokens are
//! single use. The first request on a connection carries its token at once (one round trip,
//! no anonymous probe); the server's mutual-authentication token in the answer is verified
//! before the answer is believed. Over https each token carries the connection's
//! `tls-server-end-point` channel binding (Extended Protection). The step a failure stopped at
//! is kept for the pre-flight and `doctor`.

use super::TransportError;
use super::handshake::{HandshakeStep, offer_scheme, offers};
use super::owned::{Answer, Outgoing};
use super::pinned::{Connections, Pinned, lock};
use crate::auth::gssapi::{Context, Credential};
use crate::auth::kerberos::{Kerberos, KerberosFailure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::sync::{Arc, Mutex};

/// Tokens one request may send before it gives up (each 401 on an authenticated connection or
/// connection closed under a request costs one).
const MAX_TOKENS: u32 = 3;

type CredentialResult = Result<Option<Arc<Credential>>, KerberosFailure>;

pub(super) struct KerberosPool {
    connections: Connections,
    kerberos: Arc<Kerberos>,
    spn: String,
    /// The password credential (asked for once per run, so a wrong password is tried once).
    credential: tokio::sync::OnceCell<CredentialResult>,
    failure: Mutex<Option<HandshakeStep>>,
}

impl std::fmt::Debug for KerberosPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KerberosPool")
            .field("spn", &self.spn)
            .finish_non_exhaustive()
    }
}

/// A token sent, and the context that must verify the server's answer to it.
struct Sent {
    context: Context,
}

impl KerberosPool {
    pub(super) fn new(connections: Connections, kerberos: Arc<Kerberos>, spn: String) -> Self {
        KerberosPool {
            connections,
            kerberos,
            spn,
            credential: tokio::sync::OnceCell::new(),
            failure: Mutex::new(None),
        }
    }

    /// The step the last failed handshake stopped at.
    pub(super) fn failure(&self) -> Option<HandshakeStep> {
        lock(&self.failure).clone()
    }

    /// The service principal the tokens are for.
    pub(super) fn spn(&self) -> &str {
        &self.spn
    }

    pub(super) fn source(&self) -> String {
        self.kerberos.source()
    }

    fn fail(&self, step: HandshakeStep) -> TransportError {
        let error = TransportError::Auth(step.to_string());
        *lock(&self.failure) = Some(step);
        error
    }

    /// A fresh context and its first token, off the async threads (the library may ask the
    /// KDC for a ticket).
    async fn first_token(
        &self,
        channel_binding: Option<Vec<u8>>,
    ) -> Result<(Context, String), TransportError> {
        let credential = self
            .credential
            .get_or_init(|| {
                let kerberos = Arc::clone(&self.kerberos);
                async move {
                    tokio::task::spawn_blocking(move || kerberos.credential())
                        .await
                        .unwrap_or_else(|error| Err(panicked(&error)))
                }
            })
            .await
            .clone()
            .map_err(|failure| self.fail(HandshakeStep::Kerberos(failure)))?;
        let kerberos = Arc::clone(&self.kerberos);
        let spn = self.spn.clone();
        let made = tokio::task::spawn_blocking(move || {
            kerberos.first_token(&spn, credential, channel_binding)
        })
        .await
        .unwrap_or_else(|error| Err(panicked(&error)));
        let (context, token) =
            made.map_err(|failure| self.fail(HandshakeStep::Kerberos(failure)))?;
        Ok((context, format!("Negotiate {}", BASE64.encode(token))))
    }

    /// Sends `request` on an authenticated connection, with a fresh token when the connection
    /// is not (or no longer) authenticated. A 401 without a token on an authenticated
    /// connection means the server asks again: the request is resent with a fresh token (a
    /// 401 was not carried out).
    pub(super) async fn send(&self, request: &Outgoing<'_>) -> Result<Answer, TransportError> {
        let mut pinned = self.connections.checkout().await?;
        let mut tokens = 0;
        loop {
            let mut headers = request.headers.to_vec();
            let mut sent = None;
            if !pinned.authenticated {
                if tokens == MAX_TOKENS {
                    return Err(TransportError::Auth(format!(
                        "Kerberos: {MAX_TOKENS} fresh tokens for {} were sent for one request \
                         and the server still asked again",
                        self.spn
                    )));
                }
                tokens += 1;
                let binding = pinned.connection.channel_binding().map(<[u8]>::to_vec);
                let (context, authorization) = self.first_token(binding).await?;
                headers.push(("Authorization".to_string(), authorization));
                sent = Some(Sent { context });
            }
            let outgoing = Outgoing {
                headers: &headers,
                ..*request
            };
            let Some(answer) = self.connections.exchange(&mut pinned, &outgoing).await? else {
                continue;
            };
            match self.judge(&mut pinned, sent, &answer)? {
                Disposition::Done => {
                    self.connections.give_back(pinned, answer.keep_alive);
                    return Ok(answer);
                }
                Disposition::Refused => return Ok(answer),
                Disposition::AskedAgain => {
                    if !answer.keep_alive || !pinned.connection.is_open() {
                        pinned = self.connections.fresh().await?;
                    }
                }
            }
        }
    }

    /// What an answer means for the connection it came on.
    fn judge(
        &self,
        pinned: &mut Pinned,
        sent: Option<Sent>,
        answer: &Answer,
    ) -> Result<Disposition, TransportError> {
        let response = &answer.response;
        match (response.status, sent) {
            (401, None) => {
                pinned.authenticated = false;
                Ok(Disposition::AskedAgain)
            }
            (401, Some(_)) => {
                let offered = offers(response);
                let step = if offered
                    .iter()
                    .any(|offer| offer_scheme(offer) == Some("negotiate"))
                {
                    HandshakeStep::TokenRefused {
                        spn: self.spn.clone(),
                        offered,
                    }
                } else {
                    HandshakeStep::NoSchemeOffered { offered }
                };
                *lock(&self.failure) = Some(step);
                Ok(Disposition::Refused)
            }
            (_, Some(Sent { mut context })) => {
                let Some(token) = negotiate_token(response) else {
                    return Err(self.fail(HandshakeStep::MutualAuthentication {
                        spn: self.spn.clone(),
                        detail: format!(
                            "its {} carried no WWW-Authenticate: Negotiate token to verify",
                            response.status
                        ),
                    }));
                };
                let verified = context
                    .step(Some(&token))
                    .map_err(|error| error.text)
                    .and_then(|_| {
                        if context.is_complete() {
                            Ok(())
                        } else {
                            Err("the context is still incomplete after the server's token".into())
                        }
                    });
                verified.map_err(|detail| {
                    self.fail(HandshakeStep::MutualAuthentication {
                        spn: self.spn.clone(),
                        detail,
                    })
                })?;
                pinned.authenticated = true;
                Ok(Disposition::Done)
            }
            (_, None) => Ok(Disposition::Done),
        }
    }
}

enum Disposition {
    /// The answer stands; the connection may carry more.
    Done,
    /// The token was refused: the 401 is the answer.
    Refused,
    /// An authenticated connection was answered 401: a fresh token, the same request.
    AskedAgain,
}

fn panicked(error: &tokio::task::JoinError) -> KerberosFailure {
    KerberosFailure {
        step: crate::auth::kerberos::KerberosStep::Other,
        principal: String::new(),
        detail: format!("the Kerberos call did not finish: {error}"),
    }
}

/// The server's `Negotiate` token in an answer's `WWW-Authenticate`, decoded.
fn negotiate_token(answer: &super::ReceivedResponse) -> Option<Vec<u8>> {
    offers(answer).iter().find_map(|offer| {
        let (scheme, token) = offer.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("negotiate") {
            return None;
        }
        BASE64.decode(token.trim()).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_token_is_found_under_negotiate_only() {
        let answer = |values: &[&str]| {
            super::super::ReceivedResponse::new(
                200,
                values
                    .iter()
                    .map(|value| ("WWW-Authenticate".to_string(), value.to_string()))
                    .collect(),
                Vec::new(),
            )
        };
        let cases: [(&[&str], Option<Vec<u8>>); 5] = [
            (
                &["Negotiate oRQwEqADCgEAoQsGCSqGSIb3EgECAg=="],
                Some(vec![
                    0xa1, 0x14, 0x30, 0x12, 0xa0, 0x03, 0x0a, 0x01, 0x00, 0xa1, 0x0b, 0x06, 0x09,
                    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
                ]),
            ),
            (&["NTLM TlRMTVNTUAAC"], None),
            (&["Negotiate"], None),
            (&["Negotiate !!not base64"], None),
            (&[], None),
        ];
        for (values, expected) in cases {
            assert_eq!(negotiate_token(&answer(values)), expected, "{values:?}");
        }
    }
}
