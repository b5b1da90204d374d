//! NTLM on connections the client owns: each handshake (NEGOTIATE, the 401 with the CHALLENGE,
//! AUTHENTICATE with the request it authenticates) runs on one TCP connection, which then
//! carries later requests without a new handshake until the server closes it, as IIS allows.
//! Connections are checked out exclusively, so under `--jobs N` each worker holds its own.
//!
//! The wire form follows the server's offer and is learned once per run: raw NTLMSSP under
//! `NTLM`; under `Negotiate` raw NTLMSSP first and, when the server refuses that, NTLM wrapped
//! in SPNEGO. The step a failed handshake stopped at is kept for the pre-flight and `doctor`.

use super::TransportError;
use super::handshake::{HandshakeStep, offer_scheme, offers};
use super::owned::{Answer, Failure, Outgoing, OwnedConnection};
use super::pinned::{Connections, lock};
use crate::auth::{NtlmCredentials, ntlm, spnego};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::sync::Mutex;

/// Handshakes one request may start before it gives up (a server that closes the connection
/// after each challenge would otherwise loop forever).
const MAX_HANDSHAKES: u32 = 3;

/// How NTLM goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireForm {
    /// `Authorization: NTLM <NTLMSSP>`.
    Ntlm,
    /// `Authorization: Negotiate <NTLMSSP>` (what Windows clients send and IIS accepts).
    NegotiateRaw,
    /// `Authorization: Negotiate <SPNEGO(NTLMSSP)>`, for acceptors that insist on SPNEGO.
    NegotiateSpnego,
}

impl WireForm {
    fn scheme(self) -> &'static str {
        match self {
            WireForm::Ntlm => "NTLM",
            WireForm::NegotiateRaw | WireForm::NegotiateSpnego => "Negotiate",
        }
    }

    /// How this form is named to people.
    pub fn describe(self) -> &'static str {
        match self {
            WireForm::Ntlm => "NTLM",
            WireForm::NegotiateRaw => "NTLM inside Negotiate (raw NTLMSSP)",
            WireForm::NegotiateSpnego => "NTLM inside Negotiate (SPNEGO-wrapped)",
        }
    }

    /// The form to start with for what the server offers.
    fn for_offer(offered: &[String]) -> Option<WireForm> {
        let offers = |scheme: &str| offered.iter().any(|o| offer_scheme(o) == Some(scheme));
        if offers("ntlm") {
            Some(WireForm::Ntlm)
        } else if offers("negotiate") {
            Some(WireForm::NegotiateRaw)
        } else {
            None
        }
    }

    fn wrap(self, ntlm_message: &[u8], first: bool) -> String {
        let bytes = match (self, first) {
            (WireForm::NegotiateSpnego, true) => spnego::wrap_initial(ntlm_message),
            (WireForm::NegotiateSpnego, false) => spnego::wrap_response(ntlm_message),
            _ => ntlm_message.to_vec(),
        };
        format!("{} {}", self.scheme(), BASE64.encode(bytes))
    }
}

/// What a handshake came to.
enum Handshake {
    /// Send the request with this `Authorization` value.
    Authorize(String),
    /// The server did not ask for authentication.
    NotNeeded,
    /// The connection closed mid-handshake: start again on a new one.
    Restart,
}

/// Authenticated connections to one endpoint, each used by one request at a time.
pub(super) struct NtlmPool {
    connections: Connections,
    credentials: NtlmCredentials,
    form: Mutex<Option<WireForm>>,
    failure: Mutex<Option<HandshakeStep>>,
}

impl std::fmt::Debug for NtlmPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtlmPool").finish_non_exhaustive()
    }
}

impl NtlmPool {
    pub(super) fn new(connections: Connections, credentials: NtlmCredentials) -> NtlmPool {
        NtlmPool {
            connections,
            credentials,
            form: Mutex::new(None),
            failure: Mutex::new(None),
        }
    }

    /// The step the last failed handshake stopped at.
    pub(super) fn failure(&self) -> Option<HandshakeStep> {
        lock(&self.failure).clone()
    }

    /// The wire form learned so far.
    pub(super) fn form(&self) -> Option<WireForm> {
        *lock(&self.form)
    }

    /// Sends `request` on an authenticated connection, handshaking first when it is not (or no
    /// longer) one. A 401 on a connection authenticated before means the server forgot it: the
    /// handshake runs again and the request is resent (a 401 was not carried out).
    pub(super) async fn send(&self, request: &Outgoing<'_>) -> Result<Answer, TransportError> {
        let mut pinned = self.connections.checkout().await?;
        let mut handshakes = 0;
        loop {
            let mut authorization = None;
            if !pinned.authenticated {
                if handshakes == MAX_HANDSHAKES {
                    *lock(&self.failure) = Some(HandshakeStep::ChallengeOnOtherConnection);
                    return Err(TransportError::Auth(
                        HandshakeStep::ChallengeOnOtherConnection.to_string(),
                    ));
                }
                handshakes += 1;
                match self
                    .handshake(&mut pinned.connection, request.target)
                    .await?
                {
                    Handshake::Authorize(value) => authorization = Some(value),
                    Handshake::NotNeeded => {}
                    Handshake::Restart => {
                        pinned = self.connections.fresh().await?;
                        continue;
                    }
                }
            }
            let mut headers = request.headers.to_vec();
            headers.extend(
                authorization
                    .clone()
                    .map(|v| ("Authorization".to_string(), v)),
            );
            let outgoing = Outgoing {
                headers: &headers,
                ..*request
            };
            let Some(answer) = self.connections.exchange(&mut pinned, &outgoing).await? else {
                continue;
            };
            if answer.response.status == 401 {
                if authorization.is_none() && pinned.authenticated {
                    pinned.authenticated = false;
                    if !answer.keep_alive || !pinned.connection.is_open() {
                        pinned = self.connections.fresh().await?;
                    }
                    continue;
                }
                if authorization.is_some() {
                    *lock(&self.failure) = Some(HandshakeStep::Refused {
                        form: self.form().unwrap_or(WireForm::Ntlm),
                        offered: offers(&answer.response),
                    });
                }
                return Ok(answer);
            }
            pinned.authenticated = true;
            self.connections.give_back(pinned, answer.keep_alive);
            return Ok(answer);
        }
    }

    /// One GET with `authorization` on `connection`.
    async fn probe(
        &self,
        connection: &mut OwnedConnection,
        target: &str,
        authorization: Option<String>,
    ) -> Result<Option<Answer>, TransportError> {
        let headers: Vec<(String, String)> = authorization
            .map(|value| ("Authorization".to_string(), value))
            .into_iter()
            .collect();
        let probe = Outgoing {
            method: "GET",
            target,
            headers: &headers,
            body: &[],
        };
        match connection
            .exchange(&self.connections.endpoint, &probe)
            .await
        {
            Ok(answer) => Ok(Some(answer)),
            Err(Failure::NotSent) => Ok(None),
            Err(Failure::Transport(error)) => Err(error),
        }
    }

    /// Learns the wire form from an anonymous GET's 401 (once per run), then NEGOTIATE and
    /// CHALLENGE on `connection`; returns the AUTHENTICATE value to send with the request.
    async fn handshake(
        &self,
        connection: &mut OwnedConnection,
        target: &str,
    ) -> Result<Handshake, TransportError> {
        let mut form = match self.form() {
            Some(form) => form,
            None => {
                let Some(answer) = self.probe(connection, target, None).await? else {
                    return Ok(Handshake::Restart);
                };
                if answer.response.status != 401 {
                    return Ok(Handshake::NotNeeded);
                }
                let offered = offers(&answer.response);
                let Some(form) = WireForm::for_offer(&offered) else {
                    return Err(self.fail(HandshakeStep::NoSchemeOffered { offered }));
                };
                *lock(&self.form) = Some(form);
                if !answer.keep_alive || !connection.is_open() {
                    return Ok(Handshake::Restart);
                }
                form
            }
        };
        let negotiate = ntlm::negotiate_message().map_err(auth_error)?;
        loop {
            let Some(answer) = self
                .probe(connection, target, Some(form.wrap(&negotiate, true)))
                .await?
            else {
                return Ok(Handshake::Restart);
            };
            if answer.response.status != 401 {
                return Ok(Handshake::NotNeeded);
            }
            let Some(challenge) = challenge_in(&answer.response, form) else {
                let offered = offers(&answer.response);
                if form == WireForm::NegotiateRaw {
                    // Refused raw NTLMSSP inside Negotiate: SPNEGO from now on, for the run.
                    form = WireForm::NegotiateSpnego;
                    *lock(&self.form) = Some(form);
                    if !answer.keep_alive || !connection.is_open() {
                        return Ok(Handshake::Restart);
                    }
                    continue;
                }
                return Err(self.fail(HandshakeStep::NoChallenge { form, offered }));
            };
            if !answer.keep_alive || !connection.is_open() {
                return Ok(Handshake::Restart);
            }
            let authenticate =
                ntlm::authenticate_message(&self.credentials, &challenge).map_err(auth_error)?;
            return Ok(Handshake::Authorize(form.wrap(&authenticate, false)));
        }
    }

    fn fail(&self, step: HandshakeStep) -> TransportError {
        let error = TransportError::Auth(step.to_string());
        *lock(&self.failure) = Some(step);
        error
    }
}

fn auth_error(error: crate::auth::AuthError) -> TransportError {
    TransportError::Auth(error.to_string())
}

/// The CHALLENGE message in a 401 under `form`'s scheme (unwrapped from SPNEGO if need be).
fn challenge_in(answer: &super::ReceivedResponse, form: WireForm) -> Option<Vec<u8>> {
    offers(answer).iter().find_map(|offer| {
        let (scheme, token) = offer.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case(form.scheme()) {
            return None;
        }
        let bytes = BASE64.decode(token.trim()).ok()?;
        let bytes = if bytes.starts_with(b"NTLMSSP\0") {
            bytes
        } else {
            spnego::unwrap_response(&bytes)?
        };
        bytes.starts_with(b"NTLMSSP\0\x02\0\0\0").then_some(bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(values: &[&str]) -> super::super::ReceivedResponse {
        super::super::ReceivedResponse::new(
            401,
            values
                .iter()
                .map(|value| ("WWW-Authenticate".to_string(), value.to_string()))
                .collect(),
            Vec::new(),
        )
    }

    #[test]
    fn the_form_follows_the_offer() {
        let cases: [(&[&str], Option<WireForm>); 5] = [
            (&["Negotiate", "NTLM"], Some(WireForm::Ntlm)),
            (&["Negotiate, NTLM"], Some(WireForm::Ntlm)),
            (&["Negotiate"], Some(WireForm::NegotiateRaw)),
            (&["Basic realm=\"a, b\", charset=\"UTF-8\""], None),
            (&[], None),
        ];
        for (values, expected) in cases {
            assert_eq!(
                WireForm::for_offer(&offers(&answer(values))),
                expected,
                "{values:?}"
            );
        }
        assert_eq!(
            offers(&answer(&["Basic realm=\"x\", charset=\"UTF-8\", NTLM"])),
            vec!["Basic realm=\"x\"", "NTLM"]
        );
    }

    #[test]
    fn challenges_are_found_raw_or_wrapped_under_the_right_scheme() {
        let raw = b"NTLMSSP\0\x02\0\0\0rest".to_vec();
        let wrapped = {
            // A server NegTokenResp: [1] SEQUENCE { [2] OCTET STRING raw }.
            let inner = [&[0x04, raw.len() as u8][..], &raw].concat();
            let field = [&[0xa2, inner.len() as u8][..], &inner].concat();
            let seq = [&[0x30, field.len() as u8][..], &field].concat();
            [&[0xa1, seq.len() as u8][..], &seq].concat()
        };
        let ntlm = format!("NTLM {}", BASE64.encode(&raw));
        let negotiate = format!("Negotiate {}", BASE64.encode(&wrapped));
        assert_eq!(
            challenge_in(&answer(&[&ntlm]), WireForm::Ntlm),
            Some(raw.clone())
        );
        assert_eq!(
            challenge_in(&answer(&[&ntlm]), WireForm::NegotiateRaw),
            None
        );
        assert_eq!(
            challenge_in(&answer(&[&negotiate]), WireForm::NegotiateSpnego),
            Some(raw)
        );
        assert_eq!(
            challenge_in(&answer(&["Negotiate"]), WireForm::NegotiateRaw),
            None
        );
    }
}
