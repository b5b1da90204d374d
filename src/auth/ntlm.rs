//! NTLM (MS-NLMP) over HTTP: the client side (NEGOTIATE and AUTHENTICATE messages, NTLMv2
//! responses, from the `ntlmclient` crate) and the server side the embedded reference server
//! uses to really verify a client (a CHALLENGE message, and the NTLMv2 proof recomputed with the
//! crate's NTOWFv2 and RustCrypto's HMAC-MD5).
//!
//! NTLM authenticates a connection: the handshake (type 1 -> 401 with type 2 -> type 3) must
//! happen on the connection that then carries the requests. The HTTP client drives that
//! (`client.rs`); this module only makes and checks the messages.

use super::{AuthError, NtlmCredentials};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use ntlmclient::{AuthenticateMessage, Flags, Message, NegotiateMessage};

/// The workstation name the client announces.
const WORKSTATION: &str = "CMCONFORM";

fn client_flags() -> Flags {
    Flags::NEGOTIATE_UNICODE
        | Flags::REQUEST_TARGET
        | Flags::NEGOTIATE_NTLM
        | Flags::NEGOTIATE_ALWAYS_SIGN
        | Flags::NEGOTIATE_NTLM2_KEY
        | Flags::NEGOTIATE_TARGET_INFO
        | Flags::NEGOTIATE_128BIT
        | Flags::NEGOTIATE_56BIT
}

/// The NEGOTIATE (type 1) message.
pub fn negotiate_message() -> Result<Vec<u8>, AuthError> {
    let message = Message::Negotiate(NegotiateMessage {
        flags: client_flags(),
        supplied_domain: String::new(),
        supplied_workstation: String::new(),
        os_version: Default::default(),
    });
    message
        .to_bytes()
        .map_err(|error| AuthError::Ntlm(format!("cannot encode the negotiate message: {error}")))
}

/// The base64 NEGOTIATE (type 1) message.
pub fn negotiate_token() -> Result<String, AuthError> {
    negotiate_message().map(|bytes| BASE64.encode(bytes))
}

/// The server's challenge from `WWW-Authenticate` values: `(scheme, base64 token)` of the first
/// `NTLM <token>` or `Negotiate <token>` whose token is an NTLM message.
pub fn challenge_from<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<(String, String)> {
    values
        .into_iter()
        .flat_map(|value| value.split(','))
        .filter_map(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("ntlm") || scheme.eq_ignore_ascii_case("negotiate")
        })
        .find(|(_, token)| {
            BASE64
                .decode(token.trim())
                .is_ok_and(|bytes| bytes.starts_with(b"NTLMSSP\0"))
        })
        .map(|(scheme, token)| (scheme.to_string(), token.trim().to_string()))
}

/// The base64 AUTHENTICATE (type 3) message answering `challenge` (base64 type 2).
pub fn authenticate_token(
    credentials: &NtlmCredentials,
    challenge: &str,
) -> Result<String, AuthError> {
    let bytes = BASE64
        .decode(challenge)
        .map_err(|error| AuthError::Ntlm(format!("the challenge is not base64: {error}")))?;
    authenticate_message(credentials, &bytes).map(|bytes| BASE64.encode(bytes))
}

/// The AUTHENTICATE (type 3) message answering the CHALLENGE (type 2) message `bytes`.
pub fn authenticate_message(
    credentials: &NtlmCredentials,
    bytes: &[u8],
) -> Result<Vec<u8>, AuthError> {
    // The parser indexes fixed-size fields only after checking lengths; guard anyway, since the
    // challenge comes from the server.
    let parsed = std::panic::catch_unwind(|| Message::try_from(bytes))
        .map_err(|_| AuthError::Ntlm("malformed challenge message".into()))?;
    let challenge = match parsed {
        Ok(Message::Challenge(challenge)) => challenge,
        Ok(other) => {
            return Err(AuthError::Ntlm(format!(
                "expected a challenge (type 2) message, got type {}",
                other.message_number()
            )));
        }
        Err(error) => {
            return Err(AuthError::Ntlm(format!(
                "malformed challenge message: {error}"
            )));
        }
    };
    let target_info: Vec<u8> = challenge
        .target_information
        .iter()
        .flat_map(|entry| entry.to_bytes())
        .collect();
    let creds = ntlmclient::Credentials {
        username: credentials.user.clone(),
        password: credentials.password.expose().to_string(),
        domain: credentials.domain.clone(),
    };
    let response = ntlmclient::respond_challenge_ntlm_v2(
        challenge.challenge,
        &target_info,
        ntlmclient::get_ntlm_time(),
        &creds,
    );
    // No key exchange is negotiated, so no session key goes on the wire.
    let message = Message::Authenticate(AuthenticateMessage {
        lm_response: response.lm_response,
        ntlm_response: response.ntlm_response,
        domain_name: credentials.domain.clone(),
        user_name: credentials.user.clone(),
        workstation_name: WORKSTATION.to_string(),
        session_key: Vec::new(),
        // ALWAYS_SIGN without SIGN: no message signing, and the mechListMIC that SPNEGO wants
        // is then the fixed one SSPI sends ([`spnego::ALWAYS_SIGN_MIC`](super::spnego)).
        flags: Flags::NEGOTIATE_UNICODE
            | Flags::NEGOTIATE_NTLM
            | Flags::NEGOTIATE_ALWAYS_SIGN
            | Flags::NEGOTIATE_NTLM2_KEY,
        os_version: Default::default(),
    });
    message.to_bytes().map_err(|error| {
        AuthError::Ntlm(format!("cannot encode the authenticate message: {error}"))
    })
}

// ---- server side (the embedded reference server) ----

/// What a client sent in `Authorization: NTLM|Negotiate <token>`.
#[derive(Debug)]
pub enum ClientMessage {
    Negotiate,
    Authenticate(Box<AuthenticateMessage>),
}

/// Decodes a client's token; `None` when it is not a type 1 or type 3 message.
pub fn parse_client_token(token: &str) -> Option<ClientMessage> {
    let bytes = BASE64.decode(token.trim()).ok()?;
    let kind = bytes
        .strip_prefix(b"NTLMSSP\0")
        .and_then(|rest| rest.get(..4))
        .map(|kind| u32::from_le_bytes([kind[0], kind[1], kind[2], kind[3]]))?;
    // A type 1 carries nothing the server needs (and `ntlmclient` refuses the short ones that
    // Windows sends), so only its kind is read.
    if kind == 1 {
        return Some(ClientMessage::Negotiate);
    }
    // The parser indexes fixed-size fields only after checking lengths; a panic on hostile
    // input would only end one connection of the reference server, but guard anyway.
    let parsed = std::panic::catch_unwind(|| Message::try_from(bytes.as_slice())).ok()?;
    match parsed.ok()? {
        Message::Authenticate(message) => Some(ClientMessage::Authenticate(Box::new(message))),
        _ => None,
    }
}

/// The CHALLENGE (type 2) message for `server_challenge`, base64, announcing `domain`.
///
/// Written here field by field (MS-NLMP 2.2.1.2) because `ntlmclient`'s encoder of this message
/// misplaces the reserved field; the layout is plain bytes, no cryptography.
pub fn challenge_token(server_challenge: [u8; 8], domain: &str) -> String {
    let utf16 = |text: &str| -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|unit| unit.to_le_bytes())
            .collect()
    };
    let target_name = utf16(domain);
    let mut target_info = Vec::new();
    for (kind, value) in [(2u16, utf16(domain)), (1u16, utf16("CMCONFORM"))] {
        target_info.extend_from_slice(&kind.to_le_bytes());
        target_info.extend_from_slice(&(value.len() as u16).to_le_bytes());
        target_info.extend_from_slice(&value);
    }
    target_info.extend_from_slice(&[0, 0, 0, 0]); // MsvAvEOL
    let flags = Flags::NEGOTIATE_UNICODE
        | Flags::REQUEST_TARGET
        | Flags::NEGOTIATE_NTLM
        | Flags::NEGOTIATE_ALWAYS_SIGN
        | Flags::TARGET_TYPE_DOMAIN
        | Flags::NEGOTIATE_NTLM2_KEY
        | Flags::NEGOTIATE_TARGET_INFO
        | Flags::NEGOTIATE_128BIT
        | Flags::NEGOTIATE_56BIT;
    const HEADER: usize = 56;
    let security_buffer = |length: usize, offset: usize| -> Vec<u8> {
        let mut buffer = Vec::with_capacity(8);
        buffer.extend_from_slice(&(length as u16).to_le_bytes());
        buffer.extend_from_slice(&(length as u16).to_le_bytes());
        buffer.extend_from_slice(&(offset as u32).to_le_bytes());
        buffer
    };
    let mut message = Vec::with_capacity(HEADER + target_name.len() + target_info.len());
    message.extend_from_slice(b"NTLMSSP\0");
    message.extend_from_slice(&2u32.to_le_bytes());
    message.extend_from_slice(&security_buffer(target_name.len(), HEADER));
    message.extend_from_slice(&flags.bits().to_le_bytes());
    message.extend_from_slice(&server_challenge);
    message.extend_from_slice(&[0; 8]); // Reserved
    message.extend_from_slice(&security_buffer(
        target_info.len(),
        HEADER + target_name.len(),
    ));
    message.extend_from_slice(&[0; 8]); // Version (not negotiated)
    message.extend_from_slice(&target_name);
    message.extend_from_slice(&target_info);
    BASE64.encode(message)
}

/// Whether `message` proves knowledge of `expected`'s password for `server_challenge`: the user
/// and domain match (case-insensitively) and the NTLMv2 proof (HMAC-MD5 keyed with NTOWFv2 over
/// the server challenge and the client's blob) is the one the response carries. NTLMv1
/// responses (24 bytes) are refused.
pub fn verify(
    message: &AuthenticateMessage,
    server_challenge: [u8; 8],
    expected: &NtlmCredentials,
) -> bool {
    if !message.user_name.eq_ignore_ascii_case(&expected.user)
        || !message.domain_name.eq_ignore_ascii_case(&expected.domain)
    {
        return false;
    }
    // NTProofStr (16 bytes) then the blob, which is at least 28 bytes.
    let Some((proof, blob)) = message.ntlm_response.split_at_checked(16) else {
        return false;
    };
    if blob.len() < 28 {
        return false;
    }
    let key = ntlmclient::ntlm_v2_password_func(&ntlmclient::Credentials {
        username: message.user_name.clone(),
        password: expected.password.expose().to_string(),
        domain: message.domain_name.clone(),
    });
    let Ok(mut mac) = <Hmac<md5::Md5> as Mac>::new_from_slice(&key) else {
        return false;
    };
    mac.update(&server_challenge);
    mac.update(blob);
    mac.verify_slice(proof).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Secret;

    fn alice(password: &str) -> NtlmCredentials {
        NtlmCredentials {
            user: "alice".into(),
            domain: "CONTOSO".into(),
            password: Secret::new(password),
        }
    }

    fn handshake(client: &NtlmCredentials, server: &NtlmCredentials) -> bool {
        let negotiate = negotiate_token().unwrap_or_default();
        assert!(matches!(
            parse_client_token(&negotiate),
            Some(ClientMessage::Negotiate)
        ));
        let server_challenge = *b"\x01\x23\x45\x67\x89\xab\xcd\xef";
        let challenge = challenge_token(server_challenge, &server.domain);
        let header = format!("NTLM {challenge}");
        let (scheme, token) = challenge_from([header.as_str()]).unwrap_or_default();
        assert_eq!(scheme, "NTLM");
        let answer = authenticate_token(client, &token).unwrap_or_default();
        match parse_client_token(&answer) {
            Some(ClientMessage::Authenticate(message)) => {
                verify(&message, server_challenge, server)
            }
            other => panic!("expected an authenticate message, got {other:?}"),
        }
    }

    #[test]
    fn right_password_verifies_and_wrong_does_not() {
        assert!(handshake(&alice("Pa55word!"), &alice("Pa55word!")));
        assert!(!handshake(&alice("wrong"), &alice("Pa55word!")));
        let mut other_user = alice("Pa55word!");
        other_user.user = "bob".into();
        assert!(!handshake(&other_user, &alice("Pa55word!")));
    }

    #[test]
    fn garbage_tokens_are_not_messages() {
        assert!(parse_client_token("not base64!").is_none());
        assert!(parse_client_token(&BASE64.encode(b"NTLMSSP\0\x03\0\0\0")).is_none());
        assert!(challenge_from(["Negotiate", "Basic realm=\"x\""]).is_none());
    }
}
